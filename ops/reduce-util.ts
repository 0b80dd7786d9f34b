// Numeric helpers shared by the reduce, normalization, matmul and signal families: reading shape-like int
// inputs, size limits, float element types, building float outputs with float16/bfloat16 rounding.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { dtypeFromOnnx } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { allocate, roundToDType, sizeOf } from '../ir/tensor.js';
import type { Dim, TensorType } from '../ir/types.js';
import type { InferContext } from './schema.js';
import { checkElements } from '../ir/limits.js';

export const FLOAT_TYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16'];
/** Numeric types most arithmetic ops of these families accept (ONNX's "all numeric" minus 8/16-bit ints). */
export const WIDE_NUMERIC: readonly DType[] = [...FLOAT_TYPES, 'int32', 'int64', 'uint32', 'uint64'];
export const ALL_NUMERIC: readonly DType[] = [...WIDE_NUMERIC, 'int8', 'int16', 'uint8', 'uint16'];

/** Largest tensor a kernel of these families will allocate (elements): guards against hostile shapes. */
export const MAX_ELEMENTS = 2 ** 28;

export function checkSize(n: number, what = 'output'): void {
  checkElements(n, what);
}

/** Most loop iterations one kernel call may take (joint index spaces, direct DFTs): guards against hangs. */
export const MAX_WORK = 2 ** 33;

export function checkWork(n: number, what: string): void {
  if (!Number.isFinite(n) || n > MAX_WORK) {
    throw new KernelError(`${what} would take ${n} steps, more than the limit ${MAX_WORK}`);
  }
}

/** Element i as a double (bigints converted; exactness is the caller's concern). */
export function num(t: Tensor, i: number): number {
  return Number(t.data[i]);
}

/** All elements as doubles. */
export function numbers(t: Tensor): Float64Array {
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return out;
}

/** A float tensor of `dtype` from doubles, rounded to the type's precision. */
export function floatTensor(dtype: DType, dims: readonly number[], values: ArrayLike<number>): Tensor {
  const data = allocate(dtype, values.length) as Float32Array | Float64Array;
  for (let i = 0; i < values.length; i++) data[i] = values[i]!;
  return roundToDType({ dtype, dims: [...dims], data });
}

/** Values of an integer tensor as safe JS integers; KernelError for anything else. */
export function intValues(t: Tensor, what: string): number[] {
  if (t.dtype !== 'int64' && t.dtype !== 'int32' && t.dtype !== 'uint64' && t.dtype !== 'uint32'
    && t.dtype !== 'int16' && t.dtype !== 'int8' && t.dtype !== 'uint8' && t.dtype !== 'uint16') {
    throw new KernelError(`${what} must be an integer tensor, got ${t.dtype}`);
  }
  const out: number[] = [];
  for (let i = 0; i < t.data.length; i++) {
    const v = Number(t.data[i]);
    if (!Number.isSafeInteger(v)) throw new KernelError(`${what} value ${String(t.data[i])} is out of range`);
    out.push(v);
  }
  return out;
}

/** A scalar (or one-element) integer input. */
export function scalarInt(t: Tensor, what: string): number {
  if (t.data.length !== 1) throw new KernelError(`${what} must hold exactly one value, got ${t.data.length}`);
  return intValues(t, what)[0]!;
}

/** A scalar (or one-element) numeric input as a double. */
export function scalarNum(t: Tensor, what: string): number {
  if (t.data.length !== 1) throw new KernelError(`${what} must hold exactly one value, got ${t.data.length}`);
  return Number(t.data[0]);
}

/** Values of constant input i as integers at inference time, or undefined when not constant. */
export function constInts(ctx: InferContext<unknown>, i: number): number[] | undefined {
  const t = ctx.constant(i);
  if (t === undefined) {
    // a shape being computed (Shape -> Gather ...) may still be known element by element
    const v = ctx.shapeValue?.(i);
    return v !== undefined && v.every((d): d is number => typeof d === 'number') ? [...v] : undefined;
  }
  try { return intValues(t, `input ${i}`); } catch (e) {
    if (e instanceof KernelError) throw new ShapeError(e.message);
    throw e;
  }
}

/** Normalise an axis at run time (KernelError when out of range). */
export function runAxis(axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new KernelError(`${what} ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** The ONNX element type code of an `output_datatype`/`stash_type`-style attribute as a DType. */
export function dtypeAttr(code: number, allowed: readonly DType[], what: string): DType {
  let t: DType;
  try { t = dtypeFromOnnx(code); } catch { throw new ShapeError(`${what} ${code} is not a supported element type`); }
  if (!allowed.includes(t)) throw new ShapeError(`${what} ${t} is not allowed; expected one of ${allowed.join(', ')}`);
  return t;
}

/** Product of dims [from, to) of a concrete shape. */
export function spanSize(dims: readonly number[], from: number, to = dims.length): number {
  return sizeOf(dims.slice(from, to));
}

/** Requires the tensor type to have a float element type. */
export function expectFloat(t: TensorType, what: string): void {
  if (!FLOAT_TYPES.includes(t.dtype)) throw new ShapeError(`${what} has element type ${t.dtype}; expected a float type`);
}

/** A dim that is known equal to n, or symbolic; ShapeError if it is a different number. */
export function expectDim(d: Dim | undefined, n: Dim, what: string): void {
  if (typeof d === 'number' && typeof n === 'number' && d !== n) throw new ShapeError(`${what} is ${d}; expected ${n}`);
}
