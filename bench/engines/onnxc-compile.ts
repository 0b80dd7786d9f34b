// Child process of the onnxc engine: compile one model to an artifact folder and print one JSON line. A child,
// so the compile time is the compiler's alone and a compiler crash (Binaryen aborts are fatal to its module
// instance) cannot take the benchmark down with it.
//
// usage: onnxc-compile.ts MODEL OUT_DIR INPUT_SHAPES_JSON

import { inspect } from 'node:util';
import { compileToDir } from '../../compiler/compile.js';
import { loadModel } from '../../compiler/onnx/import.js';

export interface CompileResult {
  readonly ok: boolean;
  readonly error?: string;
  /** Import + compile + write, in ms (excludes process start). */
  readonly compileMs?: number;
  readonly files?: Readonly<Record<string, number>>;
  readonly kernels?: number;
}

function main(): void {
  const [path, dir, shapes] = process.argv.slice(2);
  if (!path || !dir || !shapes) throw new Error('usage: onnxc-compile.ts MODEL OUT_DIR INPUT_SHAPES_JSON');
  const t0 = performance.now();
  const model = loadModel(path);
  // embedLimit 0: every weight goes to weights.bin, so model.wasm's size is the generated code alone
  const r = compileToDir(model, 'wasm', dir, { inputShapes: JSON.parse(shapes) as Record<string, number[]>, embedLimit: 0 });
  const compileMs = performance.now() - t0;
  const out: CompileResult = { ok: true, compileMs, files: r.files, kernels: r.artifact.kernels.length };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

try {
  main();
} catch (e) {
  const out: CompileResult = { ok: false, error: e instanceof Error ? e.message : inspect(e, { depth: 2 }).slice(0, 500) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
