// Float16 storage for the small float tensors quantisation writes (scales, short embedding tables), in standard ONNX:
// a float16 initializer and a Cast to float32, so every op still computes in float32 on exactly the stored values
// (widening float16 is exact). Half the bytes in the ONNX file; the wasm compile folds the Cast and its weights
// region stores such exactly-float16 tensors as 16 bits again (lowering/f16-weights.ts).

import type { Node } from '../../ir/graph.js';
import { f16Round } from '../../ir/float16.js';
import { onnxCode } from '../../ir/dtype.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';

/** Smallest normal float16: a scale below it would lose bits as a subnormal. */
const F16_MIN_NORMAL = 2 ** -14;

/** `s` rounded to float16 when it stays a normal float16 (the scale then costs 2 bytes with no loss), else `s`. */
export function f16Scale(s: number): number {
  const h = f16Round(s);
  return Number.isFinite(h) && Math.abs(h) >= F16_MIN_NORMAL ? h : s;
}

/** Every value finite and held exactly by float16. */
export function f16Exact(d: Float32Array): boolean {
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!) || f16Round(d[i]!) !== d[i]) return false;
  return true;
}

/** Every value that matters (above 2^-10 of the largest) keeps 10 bits in float16: none lost to the subnormal range. */
function roundsWell(d: Float32Array, h: Float32Array): boolean {
  let big = 0;
  for (let i = 0; i < d.length; i++) big = Math.max(big, Math.abs(d[i]!));
  for (let i = 0; i < d.length; i++) {
    if (Math.abs(d[i]!) > big * 2 ** -10 && Math.abs(h[i]! - d[i]!) > Math.abs(d[i]!) * 2 ** -10) return false;
  }
  return true;
}

export interface Stored {
  /** Initializers to add. */
  readonly inits: readonly [string, Tensor][];
  /** Nodes to add before the first reader of `out` (the Cast, when stored as float16). */
  readonly nodes: readonly Node[];
  /** The float32 value to read. */
  readonly out: string;
}

/**
 * A float32 tensor as an initializer named from `base`: float16 + Cast when it holds float16 values exactly (or
 * `round` says to round it to float16 first, and no value that matters falls to a float16 subnormal or overflows),
 * float32 otherwise.
 */
export function storeFloat(base: string, t: Tensor, fresh: (hint: string) => string, freshNode: (hint: string) => string, round = false): Stored {
  const d = t.data as Float32Array;
  const half = round ? Float32Array.from(d, f16Round) : d;
  if (!f16Exact(half) || (round && !roundsWell(d, half))) { const n = fresh(base); return { inits: [[n, t]], nodes: [], out: n }; }
  const h = fresh(`${base}_f16`), out = fresh(base);
  const cast: Node = {
    name: freshNode(`${base}/to_float32`), op: 'Cast', inputs: [h], outputs: [out],
    attrs: withDefaults(getOp('Cast')!, { to: { kind: 'int', value: onnxCode('float32') } }),
  };
  return { inits: [[h, makeTensor('float16', t.dims, half)]], nodes: [cast], out };
}
