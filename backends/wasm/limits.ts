// The wasm target's size limits, checked before anything reaches Binaryen: a memory plan past them is a typed error
// naming the limit, never a module that fails validation or to load. (Each buffer is held to WASM_MAX_BYTES by the
// shared buffer planner, lowering/buffer-plan.ts, through WASM_CAPABILITIES.)

import { LimitError } from '../../ir/errors.js';

/** Linear memory the generated code can address. Kernels compute element offsets and loop bounds as signed i32
 *  (and wasm32 memory stops at 4 GiB), so every tensor and the whole memory must stay below 2^31 bytes. */
export const WASM_MAX_BYTES = 2 ** 31;

const fmt = (n: number): string => (Number.isSafeInteger(n) ? String(n) : n.toExponential(3));

/** The whole memory (reserved bytes, arena with scratch, weights) fits the target. */
export function checkMemoryBytes(bytes: number, source?: string): void {
  if (!(bytes <= WASM_MAX_BYTES)) {
    throw new LimitError(`the module needs ${fmt(bytes)} bytes of linear memory (arena and weights); the wasm target addresses at most ${WASM_MAX_BYTES} bytes (2 GiB)`,
      { model: source, limit: 'wasmMemoryBytes', value: bytes });
  }
}
