// Specialising a compile on the values of small inputs (pads, target shapes, Resize scales, TopK's K) when the
// support check says a node needs them: what every backend's run-time adapter (compiler/compile.ts for wasm,
// backends/webgpu/model-backend.ts) decides the same way.

import { numberToBf16Bits, numberToF16Bits } from '../ir/float16.js';
import type { Tensor } from '../ir/tensor.js';
import { isTensor, type RuntimeValue } from '../ir/value.js';
import type { ReasonCode, UnsupportedNode } from './protocol.js';

/** Reasons that fixing small inputs as constants can remove. */
const NEEDS_VALUES: ReadonlySet<ReasonCode> = new Set(['dynamic-shape', 'data-dependent', 'missing-kernel']);

/** An input small enough to compile for its value: a scalar or vector of at most 64 int32/int64/float32/bool values
 *  (bool: an If or Loop condition that decides a sequence's length, lowering/sequences.ts), or 16-bit floats (Range's
 *  bounds in float16). */
export const isSmallInput = (v: RuntimeValue | undefined): v is Tensor =>
  isTensor(v) && (v.dtype === 'int64' || v.dtype === 'int32' || v.dtype === 'float32' || v.dtype === 'float16' || v.dtype === 'bfloat16' || v.dtype === 'bool') && v.data.length <= 64 && v.dims.length <= 1;

/** A fixed input's values as an artifact records them for the runtime to compare with the feed: 16-bit floats as
 *  their bits (the feed is their Uint16Array), the rest as decimal strings (exact for int64). */
export function fixedValues(f: Tensor): string[] {
  if (f.dtype === 'float16') return Array.from(f.data as Float32Array, (x) => String(numberToF16Bits(x)));
  if (f.dtype === 'bfloat16') return Array.from(f.data as Float32Array, (x) => String(numberToBf16Bits(x)));
  return Array.from(f.data as ArrayLike<number | bigint>, String);
}

/** The small inputs to fix as constants when a compile was refused for reasons their values can remove; undefined
 *  when there are none or the refusal is of another kind. */
export function smallInputsToFix(names: readonly string[], inputs: readonly (RuntimeValue | undefined)[], refused: readonly UnsupportedNode[]): Record<string, Tensor> | undefined {
  if (!refused.some((u) => NEEDS_VALUES.has(u.reason))) return undefined;
  const small = Object.fromEntries(names.flatMap((n, i) => { const v = inputs[i]; return isSmallInput(v) ? [[n, v] as const] : []; }));
  return Object.keys(small).length > 0 ? small : undefined;
}

/** A key for the compiled artifact of these shapes and small input values (a session cache key). */
export function specialisationKey(shapes: Readonly<Record<string, readonly number[]>>, inputs: readonly (RuntimeValue | undefined)[]): string {
  return JSON.stringify([shapes, inputs.map((v) => (isSmallInput(v) ? Array.from(v.data as ArrayLike<number | bigint>, String) : null))]);
}
