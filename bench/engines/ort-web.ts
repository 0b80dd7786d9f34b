// onnxruntime-web's WebAssembly backend (SIMD, one thread) running in Node: the engine onnxc's wasm target is
// meant to beat. It loads its own ort-wasm-simd-threaded.wasm from node_modules/onnxruntime-web/dist.

import type { Engine } from './types.js';
import { ortSession, type OrtPackage } from './ort-session.js';

interface OrtWeb extends OrtPackage {
  readonly env: { wasm: { numThreads?: number; simd?: boolean | 'fixed' | 'relaxed'; proxy?: boolean } };
}

export const ortWeb: Engine = {
  name: 'ort-web-wasm',
  summary: 'onnxruntime-web wasm execution provider, SIMD, numThreads 1, graphOptimizationLevel all',
  async prepare(model) {
    const ort = (await import('onnxruntime-web')) as unknown as OrtWeb;
    // must be set before the first session: the wasm runtime is initialised once per process
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.simd = 'fixed';
    ort.env.wasm.proxy = false;
    return ortSession(ort, model.path, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  },
};
