// Helpers shared by the quantisation ops: rounding, saturation, and mapping an element to its scale/zero point
// (per-tensor, per-axis or blocked).

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { intRange } from '../ir/dtype.js';
import { bf16Round, f16Round } from '../ir/float16.js';
import type { Tensor } from '../ir/tensor.js';
import { getNumber, stridesOf } from '../ir/tensor.js';
import type { TensorType } from '../ir/types.js';
import { normAxis } from './util.js';

/** Integer types a quantised tensor may have. */
export const QUANT_INT_TYPES: readonly DType[] = ['int8', 'uint8', 'int16', 'uint16', 'int32', 'int4', 'uint4', 'int2', 'uint2'];
/** Element types of scales (ONNX: float, float16, bfloat16). */
/** The 8-bit operand types of ConvInteger, MatMulInteger and the QLinear ops. */
export const INT8ISH: readonly DType[] = ['int8', 'uint8'];
export const SCALE_TYPES: readonly DType[] = ['float32', 'float16', 'bfloat16'];

/** Round half to even (numpy rint), the rounding every ONNX quantiser uses. */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  // Math.round rounds .5 up; step back when that landed on an odd number
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Clamp to an integer dtype's range; NaN maps to 0 (as ORT's saturating cast does). */
export function saturate(x: number, dtype: DType): number {
  if (Number.isNaN(x)) return 0;
  const [lo, hi] = intRange(dtype);
  return x < lo ? lo : x > hi ? hi : x;
}

/** Round a float result to the storage precision of a float dtype (float32 division happens in float32). */
export function roundToFloat(x: number, dtype: DType): number {
  switch (dtype) {
    case 'float32': return Math.fround(x);
    case 'float16': return f16Round(x);
    case 'bfloat16': return bf16Round(x);
    default: return x;
  }
}

/** How scale/zero point relate to the data: one value, one per slice along `axis`, or one per block. */
export type QuantLayout =
  | { readonly kind: 'tensor' }
  | { readonly kind: 'axis'; readonly axis: number }
  | { readonly kind: 'block'; readonly axis: number; readonly blockSize: number };

/** Decide the layout from the scale's shape (static check where dims are known). */
export function quantLayout(x: TensorType, scale: TensorType, axisAttr: number, blockSize: number, what = 'scale'): QuantLayout {
  const s = scale.shape;
  if (blockSize < 0) throw new ShapeError(`block_size must be >= 0, got ${blockSize}`);
  if (s === undefined) return blockSize > 0 ? { kind: 'block', axis: axisAttr, blockSize } : { kind: 'tensor' };
  if (blockSize === 0 && (s.length === 0 || (s.length === 1 && s[0] === 1))) return { kind: 'tensor' };
  const rank = x.shape?.length;
  if (blockSize === 0) {
    if (s.length !== 1) throw new ShapeError(`${what} must be a scalar or 1-D for per-axis quantisation, got rank ${s.length}`);
    if (rank === undefined) return { kind: 'axis', axis: axisAttr };
    const axis = normAxis(axisAttr, rank);
    const d = x.shape![axis]!;
    if (typeof d === 'number' && typeof s[0] === 'number' && d !== s[0]) {
      throw new ShapeError(`per-axis ${what} has ${s[0]} elements but axis ${axis} has size ${d}`);
    }
    return { kind: 'axis', axis };
  }
  if (rank === undefined) return { kind: 'block', axis: axisAttr, blockSize };
  if (s.length !== rank) throw new ShapeError(`blocked ${what} must have the input's rank ${rank}, got ${s.length}`);
  const axis = normAxis(axisAttr, rank);
  x.shape!.forEach((d, k) => {
    const sd = s[k]!;
    if (typeof d !== 'number' || typeof sd !== 'number') return;
    const want = k === axis ? Math.ceil(d / blockSize) : d;
    if (sd !== want) throw new ShapeError(`blocked ${what} dim ${k} must be ${want} (block_size ${blockSize}), got ${sd}`);
  });
  return { kind: 'block', axis, blockSize };
}

/** Same check at run time on concrete dims; returns a map from data flat index to scale flat index. */
export function scaleIndexer(x: Tensor, scale: Tensor, axisAttr: number, blockSize: number): (i: number) => number {
  const xt: TensorType = { kind: 'tensor', dtype: x.dtype, shape: x.dims };
  const st: TensorType = { kind: 'tensor', dtype: scale.dtype, shape: scale.dims };
  let layout: QuantLayout;
  try { layout = quantLayout(xt, st, axisAttr, blockSize); } catch (e) { throw new KernelError((e as Error).message); }
  switch (layout.kind) {
    case 'tensor': return () => 0;
    case 'axis': {
      const d = x.dims[layout.axis]!;
      const inner = stridesOf(x.dims)[layout.axis]!;
      return (i) => Math.floor(i / inner) % d;
    }
    case 'block': {
      const { axis, blockSize: bs } = layout;
      const d = x.dims[axis]!;
      const inner = stridesOf(x.dims)[axis]!;
      const sd = scale.dims[axis]!;
      return (i) => {
        const innerIdx = i % inner;
        const c = Math.floor(i / inner) % d;
        const outer = Math.floor(i / (inner * d));
        return (outer * sd + Math.floor(c / bs)) * inner + innerIdx;
      };
    }
  }
}

/** Zero point i as a number (0 when absent). */
export function zeroAt(zp: Tensor | undefined, i: number): number {
  return zp === undefined ? 0 : getNumber(zp, i);
}

/** The zero point must have the scale's shape (ONNX requires it). */
export function checkZeroPointShape(scale: TensorType, zp: TensorType | undefined, what = 'zero point'): void {
  if (zp?.shape === undefined || scale.shape === undefined) return;
  const a = scale.shape, b = zp.shape;
  const same = a.length === b.length && a.every((d, k) => typeof d !== 'number' || typeof b[k] !== 'number' || d === b[k]);
  const bothOne = a.every((d) => d === 1) && b.every((d) => d === 1);
  if (!same && !bothOne) throw new ShapeError(`${what} shape [${b.join(',')}] must match scale shape [${a.join(',')}]`);
}

