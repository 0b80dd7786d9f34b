// The benchmarked engines, in the order they run within each iteration.

import { onnxcWasm } from './onnxc-wasm.js';
import { ortNode } from './ort-node.js';
import { ortWeb } from './ort-web.js';
import type { Engine, EngineName } from './types.js';

export const ENGINES: readonly Engine[] = [onnxcWasm, ortWeb, ortNode];

export function engineByName(name: string): Engine | undefined {
  return ENGINES.find((e) => e.name === (name as EngineName));
}
