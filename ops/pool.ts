// Window pools (AveragePool, MaxPool with Indices, LpPool) and global pools; ROI pools and MaxUnpool are in
// pool-roi.ts and registered here.

import { KernelError, ShapeError, assertNever } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import type { Attr } from '../ir/graph.js';
import { allocate, roundToDType } from '../ir/tensor.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim, TensorType } from '../ir/types.js';
import type { AnyOpDef, ImportNode, InferContext } from './schema.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, tensorOf } from './util.js';
import { FLOAT_TYPES, checkAllocation, forEachIndex, makeWindow, numbers, product, spatialOf, windowAxis, windowDims } from './conv-window.js';
import type { Window, WindowAttrs } from './conv-window.js';
import { maxRoiPoolOp, maxUnpoolOp, roiAlignOp } from './pool-roi.js';

const MAXPOOL_TYPES: readonly DType[] = [...FLOAT_TYPES, 'int8', 'uint8'];

type PoolKind = { kind: 'avg'; includePad: boolean } | { kind: 'max' } | { kind: 'lp'; p: number };

/** Output type of a window pool: N and C kept, spatial dims from the window. */
function inferPool(ctx: InferContext<WindowAttrs & { kernel_shape: readonly number[] }>, allowed: readonly DType[]): TensorType {
  const x = inType(ctx, 0);
  expectDType(x, allowed, 'X');
  if (x.shape === undefined) return tensorOf(x.dtype);
  const spatial = spatialOf(x.shape);
  if (ctx.attrs.kernel_shape.length !== spatial.length) {
    throw new ShapeError(`kernel_shape has ${ctx.attrs.kernel_shape.length} values; X has ${spatial.length} spatial axes`);
  }
  const win = makeWindow(ctx.attrs.kernel_shape, ctx.attrs);
  return tensorOf(x.dtype, [x.shape[0]!, x.shape[1]!, ...windowDims(win, spatial, ctx.freshDim)]);
}

/** Pool every (n, c) plane of x; for max, also the flat argmax indices (row-major, or column-major within each
 *  plane when storage_order is 1). */
function pool(x: Tensor, win: Window, how: PoolKind, storageOrder = 0): { y: Tensor; indices?: Tensor } {
  const spatial = spatialOf(x.dims);
  if (win.kernel.length !== spatial.length) throw new KernelError(`kernel_shape has ${win.kernel.length} values; X has ${spatial.length} spatial axes`);
  const rank = spatial.length;
  const geo = spatial.map((d, a) => windowAxis(win, a, d));
  const out = geo.map((g) => g.out); const padBegin = geo.map((g) => g.padBegin); const padEnd = geo.map((g) => g.padEnd);
  const planes = x.dims[0]! * x.dims[1]!;
  const inSize = product(spatial); const outSize = product(out);
  checkAllocation(planes * outSize);
  const y = allocate(x.dtype, planes * outSize) as Float32Array | Float64Array | Int8Array | Uint8Array;
  const idx = how.kind === 'max' ? new BigInt64Array(planes * outSize) : undefined;
  const xd = numbers(x.data);
  // Per output position only the taps inside the input are visited (a kernel from an attribute may be huge and
  // mostly padding); the number of taps inside the padded area is counted per axis for count_include_pad.
  const rowStr: number[] = []; const colStr: number[] = [];
  for (let a = rank - 1, acc = 1; a >= 0; a--) { rowStr[a] = acc; acc *= spatial[a]!; }
  for (let a = 0, acc = 1; a < rank; a++) { colStr[a] = acc; acc *= spatial[a]!; }
  const first = new Array<number>(rank); const count = new Array<number>(rank);
  let offs = new Int32Array(0); let colOffs = new Int32Array(0);
  forEachIndex(out, (o, pos) => {
    let padded = 1;
    for (let a = 0; a < rank; a++) {
      const start = pos[a]! * win.strides[a]! - padBegin[a]!;
      const d = win.dilations[a]!; const k = win.kernel[a]!;
      // taps k with 0 <= start + k*d < in, and with -padBegin <= start + k*d < in + padEnd
      const lo = Math.max(0, Math.ceil(-start / d)); const hi = Math.min(k - 1, Math.floor((spatial[a]! - 1 - start) / d));
      const plo = Math.max(0, Math.ceil((-padBegin[a]! - start) / d));
      const phi = Math.min(k - 1, Math.floor((spatial[a]! + padEnd[a]! - 1 - start) / d));
      first[a] = start + lo * d; count[a] = Math.max(0, hi - lo + 1);
      padded *= Math.max(0, phi - plo + 1);
    }
    const n = product(count);
    if (offs.length < n) { offs = new Int32Array(n); colOffs = new Int32Array(n); }
    forEachIndex(count, (t, k) => {
      let off = 0; let col = 0;
      for (let a = 0; a < rank; a++) {
        const p = first[a]! + k[a]! * win.dilations[a]!;
        off += p * rowStr[a]!; col += p * colStr[a]!;
      }
      offs[t] = off; colOffs[t] = col;
    });
    for (let pl = 0; pl < planes; pl++) {
      const base = pl * inSize;
      switch (how.kind) {
        case 'avg': {
          let sum = 0;
          for (let t = 0; t < n; t++) sum += xd[base + offs[t]!]!;
          const divisor = how.includePad ? padded : n;
          y[pl * outSize + o] = divisor === 0 ? NaN : sum / divisor;
          break;
        }
        case 'max': {
          let best = -Infinity; let at = -1;
          for (let t = 0; t < n; t++) {
            const v = xd[base + offs[t]!]!;
            if (at < 0 || v > best) { best = v; at = storageOrder === 1 ? colOffs[t]! : offs[t]!; }
          }
          y[pl * outSize + o] = best;
          idx![pl * outSize + o] = BigInt(at < 0 ? 0 : base + at);
          break;
        }
        case 'lp': {
          let sum = 0;
          for (let t = 0; t < n; t++) sum += Math.abs(xd[base + offs[t]!]!) ** how.p;
          y[pl * outSize + o] = sum ** (1 / how.p);
          break;
        }
        default: assertNever(how, 'pool kind');
      }
    }
  });
  const dims = [x.dims[0]!, x.dims[1]!, ...out];
  const yt = roundToDType({ dtype: x.dtype, dims, data: y } as Tensor);
  return idx ? { y: yt, indices: { dtype: 'int64', dims, data: idx } } : { y: yt };
}

const windowAttrs = {
  auto_pad: attr.string('NOTSET'),
  ceil_mode: attr.int(0),
  dilations: attr.ints(),
  kernel_shape: attr.ints.required(),
  pads: attr.ints(),
  strides: attr.ints(),
};

export const averagePoolOp = defineOp({
  op: 'AveragePool',
  attrs: { ...windowAttrs, count_include_pad: attr.int(0) },
  inputs: [1, 1],
  outputs: [1, 1],
  infer: (ctx) => [inferPool(ctx, FLOAT_TYPES)],
  run(ctx) {
    const win = makeWindow(ctx.attrs.kernel_shape, ctx.attrs);
    return [pool(input(ctx, 0), win, { kind: 'avg', includePad: ctx.attrs.count_include_pad !== 0 }).y];
  },
});

export const maxPoolOp = defineOp({
  op: 'MaxPool',
  attrs: { ...windowAttrs, storage_order: attr.int(0) },
  inputs: [1, 1],
  outputs: [1, 2],
  infer(ctx) {
    const y = inferPool(ctx, MAXPOOL_TYPES);
    if (ctx.attrs.storage_order !== 0 && ctx.attrs.storage_order !== 1) throw new ShapeError(`storage_order must be 0 or 1, got ${ctx.attrs.storage_order}`);
    return ctx.numOutputs > 1 ? [y, y.shape ? tensorOf('int64', y.shape) : tensorOf('int64')] : [y];
  },
  run(ctx) {
    const win = makeWindow(ctx.attrs.kernel_shape, ctx.attrs);
    const r = pool(input(ctx, 0), win, { kind: 'max' }, ctx.attrs.storage_order);
    return ctx.numOutputs > 1 ? [r.y, r.indices!] : [r.y];
  },
});

function checkP(p: number): void {
  if (!Number.isInteger(p) || p < 1) throw new ShapeError(`p must be a positive integer, got ${p}`);
}

export const lpPoolOp = defineOp({
  op: 'LpPool',
  attrs: { ...windowAttrs, p: attr.int(2) },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) { checkP(ctx.attrs.p); return [inferPool(ctx, FLOAT_TYPES)]; },
  run(ctx) {
    const win = makeWindow(ctx.attrs.kernel_shape, ctx.attrs);
    return [pool(input(ctx, 0), win, { kind: 'lp', p: ctx.attrs.p }).y];
  },
});

// ---- global pools: one window covering all spatial axes ---------------------------------------------

function inferGlobal(ctx: InferContext<unknown>): TensorType[] {
  const x = inType(ctx, 0);
  expectDType(x, FLOAT_TYPES, 'X');
  if (x.shape === undefined) return [tensorOf(x.dtype)];
  if (x.shape.length < 2) throw new ShapeError(`X must have rank >= 2 (N, C, spatial...), got rank ${x.shape.length}`);
  return [tensorOf(x.dtype, [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map((): Dim => 1)])];
}

function globalPool(x: Tensor, how: PoolKind): Tensor {
  if (x.dims.length < 2) throw new KernelError(`X must have rank >= 2, got ${x.dims.length}`);
  const planes = x.dims[0]! * x.dims[1]!;
  const size = product(x.dims.slice(2));
  const y = allocate(x.dtype, planes) as Float32Array | Float64Array;
  const xd = numbers(x.data);
  for (let pl = 0; pl < planes; pl++) {
    let acc = how.kind === 'max' ? -Infinity : 0;
    for (let i = 0; i < size; i++) {
      const v = xd[pl * size + i]!;
      switch (how.kind) {
        case 'avg': acc += v; break;
        case 'max': if (v > acc || Number.isNaN(v)) acc = Number.isNaN(acc) ? acc : v; break;
        case 'lp': acc += Math.abs(v) ** how.p; break;
        default: assertNever(how, 'pool kind');
      }
    }
    y[pl] = how.kind === 'avg' ? acc / size : how.kind === 'lp' ? acc ** (1 / how.p) : acc;
  }
  return roundToDType({ dtype: x.dtype, dims: [x.dims[0]!, x.dims[1]!, ...x.dims.slice(2).map(() => 1)], data: y });
}

export const globalAveragePoolOp = defineOp({
  op: 'GlobalAveragePool', attrs: {}, inputs: [1, 1], outputs: [1, 1],
  infer: inferGlobal,
  run: (ctx) => [globalPool(input(ctx, 0), { kind: 'avg', includePad: false })],
});

export const globalMaxPoolOp = defineOp({
  op: 'GlobalMaxPool', attrs: {}, inputs: [1, 1], outputs: [1, 1],
  infer: inferGlobal,
  run: (ctx) => [globalPool(input(ctx, 0), { kind: 'max' })],
});

export const globalLpPoolOp = defineOp({
  op: 'GlobalLpPool', attrs: { p: attr.int(2) }, inputs: [1, 1], outputs: [1, 1],
  infer(ctx) { checkP(ctx.attrs.p); return inferGlobal(ctx); },
  run: (ctx) => [globalPool(input(ctx, 0), { kind: 'lp', p: ctx.attrs.p })],
});

export const poolOps: AnyOpDef[] = [
  averagePoolOp, maxPoolOp, lpPoolOp, globalAveragePoolOp, globalMaxPoolOp, globalLpPoolOp,
  maxUnpoolOp, maxRoiPoolOp, roiAlignOp,
] as AnyOpDef[];
