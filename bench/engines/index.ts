// The benchmarked engines, in the order they run within each iteration.

import { onnxcWasm, onnxcWasm2t, onnxcWasmRelaxed } from './onnxc-wasm.js';
import { ortNode } from './ort-node.js';
import { ortWeb } from './ort-web.js';
import { ortWeb2t } from './ort-web-threads.js';
import { onnxcWebGpu } from './onnxc-webgpu.js';
import { ortNodeWebGpu } from './ort-webgpu.js';
import type { Engine, EngineName } from './types.js';

/** onnxc-wasm and ort-web-wasm run back to back in each iteration, then onnxc's relaxed-SIMD build (the
 *  relaxed/strict figure); onnxc-webgpu and ort-node-webgpu run on the same adapter, one after the other; the
 *  2-thread builds (onnxc compile --threads 2, onnxruntime-web numThreads 2) likewise. */
export const ENGINES: readonly Engine[] = [onnxcWasm, ortWeb, onnxcWasmRelaxed, onnxcWasm2t, ortWeb2t, ortNode, onnxcWebGpu, ortNodeWebGpu];

export function engineByName(name: string): Engine | undefined {
  return ENGINES.find((e) => e.name === (name as EngineName));
}
