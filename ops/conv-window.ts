// Sliding-window geometry shared by Conv, ConvTranspose, DeformConv, Col2Im and the pools: strides, dilations,
// explicit and automatic padding, and output sizes (concrete at run time, symbolic at inference).

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import type { Dim, TensorType } from '../ir/types.js';
import { attr } from './schema.js';
import { expectDType } from './util.js';
import { checkElements } from '../ir/limits.js';

/** Conv's attributes, shared by Conv, ConvInteger, QLinearConv and onnxc.FusedConv. */
export const convAttrs = {
  auto_pad: attr.string('NOTSET'),
  dilations: attr.ints(),
  group: attr.int(1),
  kernel_shape: attr.ints(),
  pads: attr.ints(),
  strides: attr.ints(),
};

export const FLOAT_TYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16'];

/** Largest tensor (in elements) a kernel will allocate: a hostile model must not exhaust memory. */
export const MAX_ELEMENTS = 2 ** 28;

export function checkAllocation(n: number, what = 'output'): void {
  checkElements(n, what);
}

export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

export function parseAutoPad(s: string): AutoPad {
  if (s === 'NOTSET' || s === 'SAME_UPPER' || s === 'SAME_LOWER' || s === 'VALID') return s;
  throw new ShapeError(`auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '${s}'`);
}

/** The window of one op with every per-axis list filled in and validated. */
export interface Window {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  /** [x1_begin, x2_begin, ..., x1_end, x2_end, ...] as ONNX writes them. */
  readonly pads: readonly number[];
  readonly autoPad: AutoPad;
  readonly ceilMode: boolean;
}

export interface WindowAttrs {
  readonly strides?: readonly number[] | undefined;
  readonly dilations?: readonly number[] | undefined;
  readonly pads?: readonly number[] | undefined;
  readonly auto_pad?: string | undefined;
  readonly ceil_mode?: number | undefined;
}

function perAxis(v: readonly number[] | undefined, n: number, dflt: number, name: string, min: number): number[] {
  if (v === undefined) return new Array<number>(n).fill(dflt);
  if (v.length !== n) throw new ShapeError(`${name} has ${v.length} values; expected ${n} (one per spatial axis)`);
  for (const x of v) {
    if (!Number.isInteger(x) || x < min) throw new ShapeError(`${name} values must be integers >= ${min}, got [${v.join(',')}]`);
  }
  return [...v];
}

/** Validate and complete a window's attributes for `kernel` (one entry per spatial axis). */
export function makeWindow(kernel: readonly number[], a: WindowAttrs): Window {
  const n = kernel.length;
  for (const k of kernel) {
    if (!Number.isInteger(k) || k < 1) throw new ShapeError(`kernel_shape values must be positive integers, got [${kernel.join(',')}]`);
  }
  const autoPad = parseAutoPad(a.auto_pad ?? 'NOTSET');
  const pads = perAxis(a.pads, 2 * n, 0, 'pads', 0);
  return {
    kernel: [...kernel],
    strides: perAxis(a.strides, n, 1, 'strides', 1),
    dilations: perAxis(a.dilations, n, 1, 'dilations', 1),
    pads: autoPad === 'NOTSET' ? pads : new Array<number>(2 * n).fill(0),
    autoPad,
    ceilMode: (a.ceil_mode ?? 0) !== 0,
  };
}

/** Size of the kernel once dilated. */
export function effectiveKernel(w: Window, axis: number): number {
  return (w.kernel[axis]! - 1) * w.dilations[axis]! + 1;
}

/** Output size and the padding actually applied on one axis of a concrete input. */
export function windowAxis(w: Window, axis: number, inDim: number): { out: number; padBegin: number; padEnd: number } {
  const s = w.strides[axis]!;
  const k = effectiveKernel(w, axis);
  if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') {
    const out = Math.ceil(inDim / s);
    const total = Math.max(0, (out - 1) * s + k - inDim);
    const small = Math.floor(total / 2);
    // SAME_UPPER puts the odd extra pad at the end, SAME_LOWER at the beginning.
    const padBegin = w.autoPad === 'SAME_UPPER' ? small : total - small;
    return { out, padBegin, padEnd: total - padBegin };
  }
  const padBegin = w.autoPad === 'VALID' ? 0 : w.pads[axis]!;
  const padEnd = w.autoPad === 'VALID' ? 0 : w.pads[axis + w.kernel.length]!;
  const span = inDim + padBegin + padEnd - k;
  if (span < 0) {
    throw new ShapeError(`axis ${axis}: the dilated kernel (${k}) is larger than the padded input (${inDim + padBegin + padEnd})`);
  }
  let out = (w.ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // With ceil_mode the last window must start inside the input or its left padding.
  if (w.ceilMode && (out - 1) * s >= inDim + padBegin) out--;
  return { out, padBegin, padEnd };
}

/** Output spatial dims for inference: numbers where the input dim is known, symbols otherwise. */
export function windowDims(w: Window, inSpatial: readonly Dim[], freshDim: (hint?: string) => Dim): Dim[] {
  return inSpatial.map((d, axis) => {
    if (typeof d === 'number') return windowAxis(w, axis, d).out;
    const same = w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER';
    if (same && w.strides[axis] === 1) return d;
    if (w.autoPad === 'NOTSET' && w.strides[axis] === 1 && effectiveKernel(w, axis) === 1 + w.pads[axis]! + w.pads[axis + w.kernel.length]!) return d;
    return freshDim(`${d}_out`);
  });
}

/** Concrete output dims and begin pads. */
export function resolveWindow(w: Window, inSpatial: readonly number[]): { out: number[]; padBegin: number[] } {
  const out: number[] = [];
  const padBegin: number[] = [];
  inSpatial.forEach((d, axis) => {
    const r = windowAxis(w, axis, d);
    out.push(r.out);
    padBegin.push(r.padBegin);
  });
  return { out, padBegin };
}

/** Row-major strides of a shape. */
export function rowStrides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]!; }
  return s;
}

export function product(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Every multi-index of `dims` in row-major order (the array is reused between calls). */
export function forEachIndex(dims: readonly number[], fn: (flat: number, idx: readonly number[]) => void): void {
  const n = product(dims);
  const idx = new Array<number>(dims.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    fn(flat, idx);
    for (let a = dims.length - 1; a >= 0; a--) {
      if (++idx[a]! < dims[a]!) break;
      idx[a] = 0;
    }
  }
}

/** For one output position: the flat spatial input offset of each kernel tap, or -1 where the tap falls in the
 *  padding. `base[a]` is the input coordinate of tap 0 along axis a. */
export function tapOffsets(
  base: readonly number[], kernel: readonly number[], dilations: readonly number[],
  inSpatial: readonly number[], inStrides: readonly number[], out: Int32Array,
): void {
  const rank = kernel.length;
  forEachIndex(kernel, (t, k) => {
    let off = 0;
    for (let a = 0; a < rank; a++) {
      const p = base[a]! + k[a]! * dilations[a]!;
      if (p < 0 || p >= inSpatial[a]!) { off = -1; break; }
      off += p * inStrides[a]!;
    }
    out[t] = off;
  });
}

/** Check that two dims can be equal (symbols match anything). */
export function sameDim(a: Dim | undefined, b: Dim | undefined, rule: string): void {
  if (typeof a === 'number' && typeof b === 'number' && a !== b) throw new ShapeError(`${rule}: ${a} vs ${b}`);
}

/** The kernel's spatial shape from W's shape and the kernel_shape attribute (which must agree with W). */
export function kernelFrom(wShape: readonly Dim[] | undefined, attrKernel: readonly number[] | undefined, rank: number | undefined): number[] | undefined {
  if (attrKernel !== undefined) {
    if (rank !== undefined && attrKernel.length !== rank) throw new ShapeError(`kernel_shape has ${attrKernel.length} values; X has ${rank} spatial axes`);
    if (wShape) wShape.slice(2).forEach((d, i) => sameDim(d, attrKernel[i], `kernel_shape must match W's spatial dims`));
    return [...attrKernel];
  }
  if (wShape === undefined) return undefined;
  const k = wShape.slice(2);
  return k.every((d) => typeof d === 'number') ? (k as number[]) : undefined;
}

/** Spatial dims of a shape (after N and C); ShapeError when the rank is below 3. */
export function spatialOf<T>(shape: readonly T[], what = 'X'): T[] {
  if (shape.length < 3) throw new ShapeError(`${what} must have rank >= 3 (N, C, spatial...), got rank ${shape.length}`);
  return shape.slice(2);
}

/** Data as numbers (the op accepted only number-backed dtypes). */
export function numbers(data: unknown): ArrayLike<number> {
  return data as ArrayLike<number>;
}

/** Conv/ConvTranspose inference checks on the operands: X floating, W and B of X's type, group >= 1.
 *  Returns the group. */
export function checkConvOperands(x: TensorType, w: TensorType, b: TensorType | undefined, group: number): number {
  expectDType(x, FLOAT_TYPES, 'X');
  if (w.dtype !== x.dtype) throw new ShapeError(`W has element type ${w.dtype}; X has ${x.dtype}`);
  if (b && b.dtype !== x.dtype) throw new ShapeError(`B has element type ${b.dtype}; X has ${x.dtype}`);
  if (!Number.isInteger(group) || group < 1) throw new ShapeError(`group must be a positive integer, got ${group}`);
  return group;
}

/** B, when given with a shape, is 1-D with one value per output channel (M). */
export function checkBias(b: TensorType | undefined, m: Dim | undefined): void {
  if (!b?.shape) return;
  if (b.shape.length !== 1) throw new ShapeError(`B must be 1-D, got rank ${b.shape.length}`);
  sameDim(b.shape[0], m, 'B must have one value per output channel');
}
