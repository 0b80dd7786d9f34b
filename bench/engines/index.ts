// The benchmarked engines, in the order they run within each iteration.

import { onnxcWasm, onnxcWasmRelaxed } from './onnxc-wasm.js';
import { ortNode } from './ort-node.js';
import { ortWeb } from './ort-web.js';
import { onnxcWebGpu } from './onnxc-webgpu.js';
import { ortNodeWebGpu } from './ort-webgpu.js';
import type { Engine, EngineName } from './types.js';

/** onnxc-webgpu and ort-node-webgpu run on the same adapter, one after the other in each iteration. */
export const ENGINES: readonly Engine[] = [onnxcWasm, ortWeb, ortNode, onnxcWebGpu, ortNodeWebGpu];

/** Engines run only when --engines names them: onnxc's relaxed-SIMD build. */
export const OPTIONAL_ENGINES: readonly Engine[] = [onnxcWasmRelaxed];

export function engineByName(name: string): Engine | undefined {
  return [...ENGINES, ...OPTIONAL_ENGINES].find((e) => e.name === (name as EngineName));
}
