// Resize's arithmetic: output sizes from scales or sizes, the coordinate transformation of each output index,
// and per-axis interpolation weights (nearest, linear, cubic, antialiased), applied one axis at a time.

import { KernelError, ShapeError, assertNever } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { isBigInt, isInt, intRange } from '../ir/dtype.js';
import { allocate, setElement } from '../ir/tensor.js';
import type { Tensor, TensorData } from '../ir/tensor.js';
import { checkAllocation, product, rowStrides } from './conv-window.js';

export type ResizeMode = 'nearest' | 'linear' | 'cubic';
export type CoordMode =
  | 'half_pixel' | 'half_pixel_symmetric' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric'
  | 'tf_crop_and_resize' | 'tf_half_pixel_for_nn';
export type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';
export type AspectPolicy = 'stretch' | 'not_larger' | 'not_smaller';

function oneOf<T extends string>(v: string, allowed: readonly T[], what: string): T {
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new ShapeError(`${what} must be one of ${allowed.join(', ')}; got '${v}'`);
}

export interface ResizeAttrs {
  readonly antialias: number;
  readonly axes?: readonly number[] | undefined;
  readonly coordinate_transformation_mode: string;
  readonly cubic_coeff_a: number;
  readonly exclude_outside: number;
  readonly extrapolation_value: number;
  readonly keep_aspect_ratio_policy: string;
  readonly mode: string;
  readonly nearest_mode: string;
}

export interface ResizeOptions {
  readonly mode: ResizeMode;
  readonly coord: CoordMode;
  readonly nearest: NearestMode;
  readonly policy: AspectPolicy;
  readonly antialias: boolean;
  readonly excludeOutside: boolean;
  readonly cubicA: number;
  readonly extrapolation: number;
}

export function resizeOptions(a: ResizeAttrs): ResizeOptions {
  return {
    mode: oneOf(a.mode === 'bilinear' ? 'linear' : a.mode, ['nearest', 'linear', 'cubic'] as const, 'mode'),
    coord: oneOf(a.coordinate_transformation_mode, ['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel',
      'align_corners', 'asymmetric', 'tf_crop_and_resize', 'tf_half_pixel_for_nn'] as const, 'coordinate_transformation_mode'),
    nearest: oneOf(a.nearest_mode, ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const, 'nearest_mode'),
    policy: oneOf(a.keep_aspect_ratio_policy, ['stretch', 'not_larger', 'not_smaller'] as const, 'keep_aspect_ratio_policy'),
    antialias: a.antialias !== 0,
    excludeOutside: a.exclude_outside !== 0,
    cubicA: a.cubic_coeff_a,
    extrapolation: a.extrapolation_value,
  };
}

/** The axes Resize acts on, normalised and checked for duplicates. */
export function resizeAxes(axes: readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const out = axes.map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= rank) throw new ShapeError(`axes value ${a} is out of range for rank ${rank}`);
    return a < 0 ? a + rank : a;
  });
  if (new Set(out).size !== out.length) throw new ShapeError(`axes must not repeat, got [${axes.join(',')}]`);
  return out;
}

/** Per full-rank axis: output length, scale, the length the coordinate formulas use, and the roi. */
export interface ResizePlan {
  readonly outDims: number[];
  readonly scales: number[];
  readonly outLengths: number[];
  readonly roi: [number, number][];
}

/** Output geometry from sizes (exact lengths; keep_aspect_ratio_policy may shrink them) or from scales. */
export function planResize(
  inDims: readonly number[], axes: readonly number[], policy: AspectPolicy,
  scales: readonly number[] | undefined, sizes: readonly number[] | undefined, roi: readonly number[] | undefined,
): ResizePlan {
  const rank = inDims.length;
  const outDims = [...inDims];
  const sc = new Array<number>(rank).fill(1);
  const outLengths = inDims.map((d) => d);
  if ((scales === undefined) === (sizes === undefined)) throw new ShapeError(`exactly one of scales and sizes must be given`);
  if (sizes !== undefined) {
    if (sizes.length !== axes.length) throw new ShapeError(`sizes has ${sizes.length} values; expected ${axes.length}`);
    if (sizes.some((s) => !Number.isInteger(s) || s < 0)) throw new ShapeError(`sizes must be non-negative integers, got [${sizes.join(',')}]`);
    if (policy === 'stretch') {
      axes.forEach((a, i) => { outDims[a] = sizes[i]!; sc[a] = sizes[i]! / inDims[a]!; outLengths[a] = sizes[i]!; });
    } else {
      const ratios = axes.map((a, i) => sizes[i]! / inDims[a]!);
      const s = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      axes.forEach((a) => { sc[a] = s; outDims[a] = Math.floor(s * inDims[a]! + 0.5); outLengths[a] = s * inDims[a]!; });
    }
  } else {
    if (scales!.length !== axes.length) throw new ShapeError(`scales has ${scales!.length} values; expected ${axes.length}`);
    if (scales!.some((s) => !(s > 0) || !Number.isFinite(s))) throw new ShapeError(`scales must be positive, got [${scales!.join(',')}]`);
    axes.forEach((a, i) => { sc[a] = scales![i]!; outDims[a] = Math.floor(scales![i]! * inDims[a]!); outLengths[a] = scales![i]! * inDims[a]!; });
  }
  const r: [number, number][] = inDims.map(() => [0, 1]);
  if (roi !== undefined) {
    if (roi.length !== 2 * axes.length) throw new ShapeError(`roi has ${roi.length} values; expected ${2 * axes.length}`);
    axes.forEach((a, i) => { r[a] = [roi[i]!, roi[axes.length + i]!]; });
  }
  return { outDims, scales: sc, outLengths, roi: r };
}

const f = Math.fround;

/** Input coordinate of output index x on one axis (NaN-free; tf_crop_and_resize may land outside the input).
 *  Nearest mode repeats onnxruntime's float32 arithmetic so ties round exactly as it does. */
function originalCoord(o: ResizeOptions, x: number, scale: number, inLen: number, outLen: number, outInt: number, roi: [number, number]): number {
  const r = o.mode === 'nearest' ? f : (v: number) => v;
  switch (o.coord) {
    case 'half_pixel': return r(r(r(x + 0.5) / scale) - 0.5);
    case 'half_pixel_symmetric': {
      const adjustment = outInt / outLen;
      const offset = (inLen / 2) * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case 'pytorch_half_pixel': return outLen > 1 ? r(r(r(x + 0.5) / scale) - 0.5) : 0;
    case 'align_corners': return outLen === 1 ? 0 : r(r(x * (inLen - 1)) / (outLen - 1));
    case 'asymmetric': return r(x / scale);
    case 'tf_half_pixel_for_nn': return r(r(x + 0.5) / scale);
    case 'tf_crop_and_resize': {
      const [s, e] = roi;
      return outLen > 1 ? s * (inLen - 1) + (x * (e - s) * (inLen - 1)) / (outLen - 1) : 0.5 * (s + e) * (inLen - 1);
    }
    default: return assertNever(o.coord, 'coordinate_transformation_mode');
  }
}

function nearestIndex(mode: NearestMode, x: number): number {
  const fl = Math.floor(x);
  if (fl === x) return x;
  const frac = x - fl;
  switch (mode) {
    case 'round_prefer_floor': return frac <= 0.5 ? fl : fl + 1;
    case 'round_prefer_ceil': return frac < 0.5 ? fl : fl + 1;
    case 'floor': return fl;
    case 'ceil': return fl + 1;
    default: return assertNever(mode, 'nearest_mode');
  }
}

function cubic(d: number, a: number): number {
  const x = Math.abs(d);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/** One output position's taps on one axis: input indices and weights; `extrapolate` when outside the roi. */
export interface Taps { readonly idx: number[]; readonly w: number[]; readonly extrapolate: boolean }

function axisTaps(o: ResizeOptions, x: number, scale: number, inLen: number, outLen: number, outInt: number, roi: [number, number]): Taps {
  const xo = originalCoord(o, x, scale, inLen, outLen, outInt, roi);
  if (o.coord === 'tf_crop_and_resize' && (xo < 0 || xo > inLen - 1)) return { idx: [], w: [], extrapolate: true };
  const clampIdx = (i: number): number => Math.min(Math.max(i, 0), inLen - 1);
  if (o.mode === 'nearest') return { idx: [clampIdx(nearestIndex(o.nearest, xo))], w: [1], extrapolate: false };
  const base = Math.floor(xo);
  const ratio = xo - base;
  // Antialiasing widens the filter by 1/scale when downsampling.
  const s = o.antialias ? Math.min(scale, 1) : 1;
  const support = o.mode === 'linear' ? 1 : 2;
  const start = o.antialias ? Math.floor(-support / s) + 1 : 1 - support;
  const n = 2 - 2 * start;
  const raw: number[] = []; const pos: number[] = [];
  for (let i = start; i < start + n; i++) {
    const d = (i - ratio) * s;
    raw.push(o.mode === 'linear' ? Math.max(0, 1 - Math.abs(d)) : cubic(d, o.cubicA));
    pos.push(base + i);
  }
  let w = raw;
  if (o.antialias) { const sum = w.reduce((p, q) => p + q, 0); w = w.map((v) => v / sum); }
  if (o.excludeOutside) {
    w = w.map((v, k) => (pos[k]! < 0 || pos[k]! >= inLen ? 0 : v));
    const sum = w.reduce((p, q) => p + q, 0);
    w = w.map((v) => v / sum);
  }
  return { idx: pos.map(clampIdx), w, extrapolate: false };
}

export function tapsFor(o: ResizeOptions, plan: ResizePlan, axis: number, inLen: number): Taps[] {
  const out: Taps[] = [];
  for (let x = 0; x < plan.outDims[axis]!; x++) {
    out.push(axisTaps(o, x, plan.scales[axis]!, inLen, plan.outLengths[axis]!, plan.outDims[axis]!, plan.roi[axis]!));
  }
  return out;
}

export function changes(o: ResizeOptions, plan: ResizePlan, inDims: readonly number[], axis: number): boolean {
  return o.coord === 'tf_crop_and_resize' || plan.outDims[axis] !== inDims[axis] || plan.scales[axis] !== 1;
}

/** Nearest: a gather, exact for every element type. */
function resizeNearest(x: Tensor, o: ResizeOptions, plan: ResizePlan): Tensor {
  const rank = x.dims.length;
  const total = product(plan.outDims);
  const maps = x.dims.map((d, a) => changes(o, plan, x.dims, a) ? tapsFor(o, plan, a, d).map((t) => (t.extrapolate ? -1 : t.idx[0]!)) : undefined);
  const inStrides = rowStrides(x.dims);
  const data = allocate(x.dtype, total);
  const src = x.data as ArrayLike<unknown> as { [i: number]: unknown };
  const dst = data as unknown as { [i: number]: unknown };
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < total; i++) {
    let off = 0; let extrapolate = false;
    for (let a = 0; a < rank; a++) {
      const m = maps[a];
      const j = m ? m[idx[a]!]! : idx[a]!;
      if (j < 0) { extrapolate = true; break; }
      off += j * inStrides[a]!;
    }
    if (extrapolate) setElement(x.dtype, data as TensorData, i, o.extrapolation);
    else dst[i] = src[off];
    for (let a = rank - 1; a >= 0; a--) { if (++idx[a]! < plan.outDims[a]!) break; idx[a] = 0; }
  }
  return { dtype: x.dtype, dims: plan.outDims, data };
}

/** Linear and cubic: separable passes in doubles, innermost axis first (as the ONNX reference nests them). */
function resizeFiltered(x: Tensor, o: ResizeOptions, plan: ResizePlan): Tensor {
  if (x.dtype === 'string' || x.dtype === 'bool') throw new KernelError(`mode ${o.mode} needs a numeric input, got ${x.dtype}`);
  let dims = [...x.dims];
  let cur = Float64Array.from(x.data as ArrayLike<number | bigint>, (v) => Number(v));
  for (let a = dims.length - 1; a >= 0; a--) {
    if (!changes(o, plan, x.dims, a)) continue;
    const taps = tapsFor(o, plan, a, dims[a]!);
    const outer = product(dims.slice(0, a)); const inner = product(dims.slice(a + 1));
    const inLen = dims[a]!; const outLen = plan.outDims[a]!;
    const next = new Float64Array(outer * outLen * inner);
    for (let p = 0; p < outer; p++) {
      for (let q = 0; q < outLen; q++) {
        const t = taps[q]!;
        for (let r = 0; r < inner; r++) {
          let v = 0;
          if (t.extrapolate) v = o.extrapolation;
          else for (let k = 0; k < t.idx.length; k++) v += t.w[k]! * cur[(p * inLen + t.idx[k]!) * inner + r]!;
          next[(p * outLen + q) * inner + r] = v;
        }
      }
    }
    cur = next;
    dims = [...dims.slice(0, a), outLen, ...dims.slice(a + 1)];
  }
  const data = allocate(x.dtype, cur.length);
  // Integer results truncate like the reference's cast, but saturate rather than wrap (cubic overshoots).
  const [lo, hi] = isInt(x.dtype) && !isBigInt(x.dtype) ? intRange(x.dtype) : [-Infinity, Infinity];
  for (let i = 0; i < cur.length; i++) setElement(x.dtype, data, i, Math.min(Math.max(cur[i]!, lo), hi));
  return { dtype: x.dtype, dims: plan.outDims, data };
}

export function resize(x: Tensor, o: ResizeOptions, plan: ResizePlan): Tensor {
  checkAllocation(product(plan.outDims));
  if (x.dims.some((d) => d === 0) && product(plan.outDims) !== 0) throw new KernelError(`cannot resize an empty tensor to [${plan.outDims.join(',')}]`);
  return o.mode === 'nearest' ? resizeNearest(x, o, plan) : resizeFiltered(x, o, plan);
}

export const RESIZE_ROI_TYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16'];
