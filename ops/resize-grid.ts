// GridSample (N-D, nearest/linear/cubic, zeros/border/reflection padding) and AffineGrid, which builds the
// sampling grid of an affine transform. Both follow the ONNX reference (itself PyTorch's grid_sample).

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { allocate, roundToDType, setElement, toNumbers } from '../ir/tensor.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, tensorOf } from './util.js';
import { FLOAT_TYPES, checkAllocation, forEachIndex, product, rowStrides, sameDim } from './conv-window.js';

const GRID_X_TYPES: readonly DType[] = [
  ...FLOAT_TYPES, 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
];

type Padding = 'zeros' | 'border' | 'reflection';
type SampleMode = 'nearest' | 'linear' | 'cubic';

function sampleMode(s: string): SampleMode {
  // Opset 16 spelled linear and cubic as bilinear and bicubic.
  if (s === 'linear' || s === 'bilinear') return 'linear';
  if (s === 'cubic' || s === 'bicubic') return 'cubic';
  if (s === 'nearest') return 'nearest';
  throw new ShapeError(`mode must be linear, nearest or cubic, got '${s}'`);
}

function paddingMode(s: string): Padding {
  if (s === 'zeros' || s === 'border' || s === 'reflection') return s;
  throw new ShapeError(`padding_mode must be zeros, border or reflection, got '${s}'`);
}

/** Reflect x by the nearer border until it lies within [lo, hi]. */
function reflect(x: number, lo: number, hi: number): number {
  const range = hi - lo;
  if (x < lo) {
    const dx = lo - x; const n = Math.trunc(dx / range); const r = dx - n * range;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi; const n = Math.trunc(dx / range); const r = dx - n * range;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

/** Round half to even (C's nearbyint). */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function cubicCoeffs(t: number): number[] {
  const a = -0.75;
  const c = (x: number): number => (x <= 1 ? ((a + 2) * x - (a + 3)) * x * x + 1 : ((a * x - 5 * a) * x + 8 * a) * x - 4 * a);
  return [c(t + 1), c(t), c(1 - t), c(2 - t)];
}

export const gridSampleOp = defineOp({
  op: 'GridSample',
  attrs: { align_corners: attr.int(0), mode: attr.string('linear'), padding_mode: attr.string('zeros') },
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const grid = inType(ctx, 1);
    expectDType(x, GRID_X_TYPES, 'X');
    expectDType(grid, FLOAT_TYPES, 'grid');
    sampleMode(ctx.attrs.mode);
    paddingMode(ctx.attrs.padding_mode);
    const rank = x.shape?.length ?? grid.shape?.length;
    if (rank !== undefined && rank < 3) throw new ShapeError(`X must have rank >= 3, got ${rank}`);
    if (x.shape && grid.shape) {
      if (grid.shape.length !== x.shape.length) throw new ShapeError(`grid has rank ${grid.shape.length}; X has rank ${x.shape.length}`);
      sameDim(grid.shape[0], x.shape[0], `grid's batch must equal X's`);
    }
    if (grid.shape) sameDim(grid.shape[grid.shape.length - 1], grid.shape.length - 2, `grid's last dim must equal the number of spatial axes`);
    if (rank === undefined) return [tensorOf(x.dtype)];
    const n: Dim = x.shape?.[0] ?? grid.shape![0]!;
    const c: Dim = x.shape?.[1] ?? ctx.freshDim('C');
    const spatial = grid.shape ? grid.shape.slice(1, -1) : Array.from({ length: rank - 2 }, () => ctx.freshDim('grid'));
    return [tensorOf(x.dtype, [n, c, ...spatial])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const grid = input(ctx, 1);
    const mode = sampleMode(ctx.attrs.mode);
    const pad = paddingMode(ctx.attrs.padding_mode);
    const ac = ctx.attrs.align_corners !== 0;
    const rank = x.dims.length - 2;
    if (rank < 1 || grid.dims.length !== rank + 2 || grid.dims[0] !== x.dims[0] || grid.dims[rank + 1] !== rank) {
      throw new KernelError(`grid [${grid.dims.join(',')}] does not fit X [${x.dims.join(',')}]`);
    }
    const [n, c] = x.dims as [number, number];
    const dims = x.dims.slice(2);
    const outSpatial = grid.dims.slice(1, -1);
    const outSize = product(outSpatial); const inSize = product(dims);
    checkAllocation(n * c * outSize);
    const xd = Float64Array.from(x.data as ArrayLike<number | bigint>, (v) => Number(v));
    const gd = toNumbers(grid);
    const strides = rowStrides(dims);
    const lo = dims.map(() => (ac ? 0 : -0.5));
    const hi = dims.map((d) => (ac ? d - 1 : d - 0.5));
    const acc = new Float64Array(n * c * outSize);
    const coords = new Array<number>(rank);
    // Index along one axis after padding, or -1 when it reads zero.
    const at = (i: number, a: number): number => {
      const d = dims[a]!;
      if (pad === 'zeros') return i >= 0 && i < d ? i : -1;
      if (pad === 'border') return Math.min(Math.max(i, 0), d - 1);
      return Math.trunc(reflect(i, lo[a]!, hi[a]!));
    };
    for (let ni = 0; ni < n; ni++) {
      forEachIndex(outSpatial, (p) => {
        // The grid lists coordinates innermost axis first (x, y, z).
        const g = (ni * outSize + p) * rank;
        for (let a = 0; a < rank; a++) {
          const v = gd[g + rank - 1 - a]!;
          const d = dims[a]!;
          let u = Math.fround(ac ? ((v + 1) / 2) * (d - 1) : ((v + 1) * d - 1) / 2);
          if (mode === 'nearest') u = rint(u);
          if (u < lo[a]! || u > hi[a]!) {
            if (pad === 'border') u = Math.min(Math.max(u, 0), d - 1);
            else if (pad === 'reflection') u = Math.fround(reflect(u, lo[a]!, hi[a]!));
          }
          coords[a] = u;
        }
        // Per axis: tap indices (after padding) and weights; the sample is their tensor product.
        const taps: { idx: number[]; w: number[] }[] = coords.map((u, a) => {
          if (mode === 'nearest') return { idx: [at(Math.trunc(u), a)], w: [1] };
          const b = Math.floor(u); const t = u - b;
          if (mode === 'linear') return { idx: [at(b, a), at(b + 1, a)], w: [1 - t, t] };
          return { idx: [at(b - 1, a), at(b, a), at(b + 1, a), at(b + 2, a)], w: cubicCoeffs(t) };
        });
        const combos = taps.map((t) => t.idx.length);
        for (let ci = 0; ci < c; ci++) {
          const base = (ni * c + ci) * inSize;
          let sum = 0;
          forEachIndex(combos, (_k, k) => {
            let off = 0; let w = 1;
            for (let a = 0; a < rank; a++) {
              const i = taps[a]!.idx[k[a]!]!;
              if (i < 0) { w = 0; break; }
              off += i * strides[a]!; w *= taps[a]!.w[k[a]!]!;
            }
            if (w !== 0) sum += w * xd[base + off]!;
          });
          acc[(ni * c + ci) * outSize + p] = sum;
        }
      });
    }
    const data = allocate(x.dtype, acc.length);
    for (let i = 0; i < acc.length; i++) setElement(x.dtype, data, i, acc[i]!);
    return [roundToDType({ dtype: x.dtype, dims: [n, c, ...outSpatial], data } as Tensor)];
  },
});

/** Normalised sample positions along an axis of `len` pixels. */
function baseCoords(len: number, ac: boolean): number[] {
  return Array.from({ length: len }, (_, i) => (ac ? (len > 1 ? -1 + (2 * i) / (len - 1) : -1) : -1 + (2 * i + 1) / len));
}

export const affineGridOp = defineOp({
  op: 'AffineGrid',
  attrs: { align_corners: attr.int(0) },
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const theta = inType(ctx, 0);
    const size = inType(ctx, 1);
    expectDType(theta, FLOAT_TYPES, 'theta');
    expectDType(size, ['int64'], 'size');
    const sizeC = ctx.constant(1);
    const len = sizeC ? sizeC.data.length : typeof size.shape?.[0] === 'number' ? size.shape[0] : undefined;
    if (len !== undefined && len !== 4 && len !== 5) throw new ShapeError(`size must have 4 (2-D) or 5 (3-D) values, got ${len}`);
    if (theta.shape) {
      if (theta.shape.length !== 3) throw new ShapeError(`theta must have rank 3, got ${theta.shape.length}`);
      if (len !== undefined) {
        sameDim(theta.shape[1], len - 2, `theta must be [N, ${len - 2}, ${len - 1}]`);
        sameDim(theta.shape[2], len - 1, `theta must be [N, ${len - 2}, ${len - 1}]`);
      }
    }
    if (len === undefined) return [tensorOf(theta.dtype)];
    if (sizeC) {
      const s = toNumbers(sizeC);
      if (theta.shape) sameDim(theta.shape[0], s[0], `theta's batch must equal size[0]`);
      return [tensorOf(theta.dtype, [s[0]!, ...s.slice(2), len - 2])];
    }
    // size computed from Shape ops is known symbolically even when not constant.
    const sv = ctx.shapeValue(1);
    if (sv && sv.length === len) return [tensorOf(theta.dtype, [sv[0]!, ...sv.slice(2), len - 2])];
    const spatial = Array.from({ length: len - 2 }, () => ctx.freshDim('grid'));
    return [tensorOf(theta.dtype, [theta.shape?.[0] ?? ctx.freshDim('N'), ...spatial, len - 2])];
  },
  run(ctx) {
    const theta = input(ctx, 0);
    const size = toNumbers(input(ctx, 1));
    const ac = ctx.attrs.align_corners !== 0;
    if (size.length !== 4 && size.length !== 5) throw new KernelError(`size must have 4 or 5 values, got ${size.length}`);
    if (size.some((d) => !Number.isInteger(d) || d < 0)) throw new KernelError(`size must be non-negative, got [${size.join(',')}]`);
    const r = size.length - 2;
    const n = size[0]!;
    if (theta.dims.join() !== [n, r, r + 1].join()) throw new KernelError(`theta must have shape [${n},${r},${r + 1}], got [${theta.dims.join(',')}]`);
    const spatial = size.slice(2);
    const total = n * product(spatial) * r;
    checkAllocation(total);
    const td = toNumbers(theta);
    // Per spatial axis (outermost first) the base coordinates; the grid lists them innermost first (x, y, z).
    const bases = spatial.map((d) => baseCoords(d, ac));
    const y = allocate(theta.dtype, total) as Float32Array | Float64Array;
    const point = new Array<number>(r + 1).fill(1);
    let o = 0;
    for (let ni = 0; ni < n; ni++) {
      forEachIndex(spatial, (_p, idx) => {
        for (let a = 0; a < r; a++) point[a] = bases[r - 1 - a]![idx[r - 1 - a]!]!;
        for (let row = 0; row < r; row++) {
          let v = 0;
          for (let k = 0; k <= r; k++) v += td[(ni * r + row) * (r + 1) + k]! * point[k]!;
          y[o++] = v;
        }
      });
    }
    return [roundToDType({ dtype: theta.dtype, dims: [n, ...spatial, r], data: y })];
  },
});
