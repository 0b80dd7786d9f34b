// onnxc's wasm target: `compileToDir` in a child process (timed there), then the artifact is loaded the way a
// deployment loads it (model.wasm + weights.bin + manifest.json through runtime/wasm's createSession).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTsChild } from '../child.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { createSession, type TensorValue, type WasmManifest } from '../../runtime/wasm/index.js';
import type { CompileResult } from './onnxc-compile.js';
import type { Engine, PreparedEngine } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Compiles may be slow on big models; past this the row says so. */
const COMPILE_TIMEOUT_MS = 600_000;

function compileInChild(modelPath: string, dir: string, shapes: Record<string, readonly number[]>): CompileResult {
  const r = runTsChild<CompileResult>(join(here, 'onnxc-compile.ts'), [modelPath, dir, JSON.stringify(shapes)], COMPILE_TIMEOUT_MS);
  return r.value ?? { ok: false, error: `compiler process failed: ${r.error}` };
}

export class CompileFailure extends Error {}

const fileBytes = (path: string): number | undefined => (existsSync(path) ? statSync(path).size : undefined);

/** Load a compiled artifact folder through runtime/wasm, as a deployment would. */
export async function loadArtifact(dir: string): Promise<PreparedEngine> {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as WasmManifest;
  const wasm = readFileSync(join(dir, 'model.wasm'));
  const weights = manifest.weights.file ? readFileSync(join(dir, manifest.weights.file)) : undefined;
  const t0 = performance.now();
  const session = await createSession({ wasm, manifest, ...(weights ? { weights } : {}) });
  const loadMs = performance.now() - t0;
  return {
    info: {
      loadMs, codeBytes: wasm.length, loaderBytes: fileBytes(join(dir, 'loader.js')),
      weightBytes: manifest.weights.bytes, linearMemoryBytes: manifest.pages * 65536,
    },
    async run(feeds) {
      const f: Record<string, TensorValue> = {};
      for (const [n, t] of Object.entries(feeds)) f[n] = { type: t.dtype, dims: t.dims, data: t.data as TensorValue['data'] };
      const out = await session.run(f);
      return session.outputNames.map((n): Tensor => {
        const o = out[n]!;
        return makeTensor(o.type as Tensor['dtype'], o.dims, o.data as never);
      });
    },
    dispose: async () => {},
  };
}

export const onnxcWasm: Engine = {
  name: 'onnxc-wasm',
  summary: 'onnxc ahead-of-time wasm (SIMD) module, shapes fixed to the data set, run by runtime/wasm',
  async prepare(model, inputs, workDir) {
    const shapes = Object.fromEntries(Object.entries(inputs.feeds).map(([n, t]) => [n, t.dims]));
    const c = compileInChild(model.path, workDir, shapes);
    if (!c.ok) throw new CompileFailure(`onnxc cannot compile it: ${c.error}`);
    const p = await loadArtifact(workDir);
    return { ...p, info: { ...p.info, compileMs: c.compileMs! } };
  },
};
