// Compile one model to an artifact folder for the onnxc engine, timed. Also a child-process entry (the isolated
// mode) that prints the result as one JSON line: usage: onnxc-compile.ts MODEL OUT_DIR INPUT_SHAPES_JSON [strict|relaxed]

import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { compileToDir } from '../../compiler/compile.js';
import { loadModel } from '../../compiler/onnx/import.js';
import type { SimdMode } from '../../backends/wasm/relaxed.js';

export interface CompileResult {
  readonly ok: boolean;
  readonly error?: string;
  /** Import + compile + write, in ms (excludes process start). */
  readonly compileMs?: number;
  readonly files?: Readonly<Record<string, number>>;
  readonly kernels?: number;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : inspect(e, { depth: 2 }).slice(0, 500));

/** Import + compile + write, timed; every failure becomes { ok: false, error }. */
export function compileArtifact(path: string, dir: string, inputShapes: Readonly<Record<string, readonly number[]>>, simd: SimdMode = 'strict', threads = 1): CompileResult {
  try {
    const t0 = performance.now();
    const model = loadModel(path);
    // embedLimit 0: every weight goes to weights.bin, so model.wasm's size is the generated code alone
    const r = compileToDir(model, 'wasm', dir, { inputShapes, embedLimit: 0, ...(simd === 'relaxed' ? { simd } : {}), ...(threads > 1 ? { threads } : {}) });
    return { ok: true, compileMs: performance.now() - t0, files: r.files, kernels: r.artifact.kernels.length };
  } catch (e) {
    return { ok: false, error: message(e) };
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const [path, dir, shapes, simd] = process.argv.slice(2);
  const r = path && dir && shapes ? compileArtifact(path, dir, JSON.parse(shapes) as Record<string, number[]>, simd === 'relaxed' ? 'relaxed' : 'strict') : { ok: false, error: 'usage: onnxc-compile.ts MODEL OUT_DIR INPUT_SHAPES_JSON [strict|relaxed]' };
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
