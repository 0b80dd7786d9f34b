// onnxc's wasm target: `compileToDir` (timed), then the artifact is loaded the way a deployment loads it
// (model.wasm + weights.bin + manifest.json through runtime/wasm's createSession). The compile runs in this
// process by default; `isolated` runs it in a child, so a Binaryen abort (fatal to Binaryen's instance) cannot
// poison later models, at ~10 s per model on a 2-core machine (tsx transforming binaryen's 14 MB of JS).

import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { runTsChild } from '../child.js';
import { loadArtifact } from './onnxc-artifact.js';
import { compileArtifact, type CompileResult } from './onnxc-compile.js';
import { relaxedSimdAvailable } from '../relaxed-probe.js';
import type { Engine } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Compiles may be slow on big models; past this the row says so. */
const COMPILE_TIMEOUT_MS = 600_000;

function compileInChild(modelPath: string, dir: string, shapes: Record<string, readonly number[]>, simd: 'strict' | 'relaxed'): CompileResult {
  const r = runTsChild<CompileResult>(join(here, 'onnxc-compile.ts'), [modelPath, dir, JSON.stringify(shapes), simd], COMPILE_TIMEOUT_MS);
  return r.value ?? { ok: false, error: `compiler process failed: ${r.error}` };
}

export class CompileFailure extends Error {}

/** `relaxed`: the `compile --simd relaxed` build (fused multiply-adds), the same model beside the strict one. */
export function onnxcWasmEngine(opts: { isolated: boolean; relaxed?: boolean; threads?: number }): Engine {
  const simd = opts.relaxed ? 'relaxed' : 'strict';
  const threads = opts.threads ?? 1;
  return {
    name: threads === 2 ? 'onnxc-wasm-2t' : opts.relaxed ? 'onnxc-wasm-relaxed' : 'onnxc-wasm',
    summary: `onnxc ahead-of-time wasm (${opts.relaxed ? 'relaxed SIMD: f32x4.relaxed_madd in the GEMM/conv cores' : 'SIMD'}${threads > 1 ? `, compile --threads ${threads}: shared memory, ${threads - 1} worker` : ''}) module, shapes fixed to the data set, run by runtime/wasm; compiled ${opts.isolated ? 'in a child process' : 'in-process'}`,
    async prepare(model, inputs, workDir) {
      // Node 20 runs relaxed SIMD behind a V8 flag, read when a module is compiled (newer Node has it on)
      if (opts.relaxed && !relaxedSimdAvailable()) setFlagsFromString('--experimental-wasm-relaxed-simd');
      const shapes = Object.fromEntries(Object.entries(inputs.feeds).map(([n, t]) => [n, t.dims]));
      if (threads > 1 && opts.isolated) throw new CompileFailure('a threaded build compiles in-process only');
      const c = opts.isolated ? compileInChild(model.path, workDir, shapes, simd) : compileArtifact(model.path, workDir, shapes, simd, threads);
      if (!c.ok) throw new CompileFailure(`onnxc cannot compile it: ${c.error}`);
      const p = await loadArtifact(workDir);
      return { ...p, info: { ...p.info, compileMs: c.compileMs! } };
    },
  };
}

export const onnxcWasm: Engine = onnxcWasmEngine({ isolated: false });
export const onnxcWasmRelaxed: Engine = onnxcWasmEngine({ isolated: false, relaxed: true });
export const onnxcWasm2t: Engine = onnxcWasmEngine({ isolated: false, threads: 2 });
