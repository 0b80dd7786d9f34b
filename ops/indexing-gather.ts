// Reading by index: Gather, GatherElements, GatherND, Compress, OneHot, NonZero. Negative indices count from the
// end; an index out of range is a KernelError, never a wrong read.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import { sizeOf, stridesOf } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, normAxis, tensorOf, withShape } from './util.js';
import { alloc, elems, type Elems, INDEX_DTYPES, intsOf, normIndex, NUMERIC_DTYPES, unravel } from './shape-common.js';

/** A run-time axis attribute, normalised; out of range is a KernelError. */
function axisOf(a: number, rank: number, what: string): number {
  if (!Number.isInteger(a) || a < -rank || a >= rank) throw new KernelError(`${what} ${a} is out of range for rank ${rank}`);
  return a < 0 ? a + rank : a;
}

/** Copies the slices at positions `idx` of `axis` (already in range) from src (of dims) to dst, in order:
 *  Gather and Compress are both this. */
function takeAlongAxis(src: Elems, dims: readonly number[], axis: number, idx: readonly number[], dst: Elems): void {
  const dim = dims[axis]!;
  const outer = sizeOf(dims.slice(0, axis));
  const inner = sizeOf(dims.slice(axis + 1));
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (const j of idx) {
      const base = (a * dim + j) * inner;
      for (let k = 0; k < inner; k++) dst[o++] = src[base + k]!;
    }
  }
}

const Gather = defineOp({
  op: 'Gather',
  attrs: { axis: attr.int(0) },
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const it = inType(ctx, 1);
    expectDType(it, INDEX_DTYPES, 'Gather indices');
    if (x.shape === undefined || it.shape === undefined) return [withShape(x, undefined)];
    const axis = normAxis(ctx.attrs.axis, x.shape.length, 'Gather axis');
    return [withShape(x, [...x.shape.slice(0, axis), ...it.shape, ...x.shape.slice(axis + 1)])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const ind = input(ctx, 1);
    const axis = axisOf(ctx.attrs.axis, x.dims.length, 'Gather axis');
    const dim = x.dims[axis]!;
    const idx = intsOf(ind).map((v) => normIndex(v, dim, 'Gather index'));
    const out = alloc(x.dtype, [...x.dims.slice(0, axis), ...ind.dims, ...x.dims.slice(axis + 1)]);
    takeAlongAxis(elems(x), x.dims, axis, idx, elems(out));
    return [out];
  },
});

const GatherElements = defineOp({
  op: 'GatherElements',
  attrs: { axis: attr.int(0) },
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const it = inType(ctx, 1);
    expectDType(it, INDEX_DTYPES, 'GatherElements indices');
    if (x.shape !== undefined) {
      normAxis(ctx.attrs.axis, x.shape.length, 'GatherElements axis');
      if (it.shape !== undefined && it.shape.length !== x.shape.length) {
        throw new ShapeError(`GatherElements indices rank ${it.shape.length} differs from data rank ${x.shape.length}`);
      }
    }
    return [withShape(x, it.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const ind = input(ctx, 1);
    const r = x.dims.length;
    const axis = axisOf(ctx.attrs.axis, r, 'GatherElements axis');
    if (ind.dims.length !== r) throw new KernelError(`GatherElements indices rank ${ind.dims.length} differs from data rank ${r}`);
    const out = alloc(x.dtype, ind.dims);
    const strides = stridesOf(x.dims);
    const src = elems(x), dst = elems(out);
    const iv = intsOf(ind);
    const pos = new Array<number>(r).fill(0);
    for (let i = 0; i < dst.length; i++) {
      unravel(i, ind.dims, pos);
      let j = 0;
      for (let k = 0; k < r; k++) {
        const c = k === axis ? normIndex(iv[i]!, x.dims[k]!, 'GatherElements index') : pos[k]!;
        if (c >= x.dims[k]!) throw new KernelError(`GatherElements indices dim ${k} exceeds data dim ${x.dims[k]}`);
        j += c * strides[k]!;
      }
      dst[i] = src[j]!;
    }
    return [out];
  },
});

const GatherND = defineOp({
  op: 'GatherND',
  attrs: { batch_dims: attr.int(0) },
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const it = inType(ctx, 1);
    expectDType(it, ['int64'], 'GatherND indices');
    const b = ctx.attrs.batch_dims;
    if (x.shape === undefined || it.shape === undefined) return [withShape(x, undefined)];
    const q = it.shape.length, r = x.shape.length;
    if (q < 1 || r < 1) throw new ShapeError('GatherND data and indices must have rank >= 1');
    if (b < 0 || b >= Math.min(q, r)) throw new ShapeError(`GatherND batch_dims ${b} must be < min(rank(data), rank(indices))`);
    const m = it.shape[q - 1]!;
    if (typeof m !== 'number') return [withShape(x, undefined)];
    if (m < 1 || b + m > r) throw new ShapeError(`GatherND indices last dim ${m} plus batch_dims ${b} exceeds data rank ${r}`);
    return [withShape(x, [...it.shape.slice(0, q - 1), ...x.shape.slice(b + m)])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const ind = input(ctx, 1);
    const b = ctx.attrs.batch_dims;
    const q = ind.dims.length, r = x.dims.length;
    if (q < 1 || r < 1 || b < 0 || b >= Math.min(q, r)) throw new KernelError(`GatherND batch_dims ${b} does not fit ranks ${r} and ${q}`);
    const m = ind.dims[q - 1]!;
    if (b + m > r) throw new KernelError(`GatherND indices last dim ${m} plus batch_dims ${b} exceeds data rank ${r}`);
    for (let k = 0; k < b; k++) {
      if (ind.dims[k] !== x.dims[k]) throw new KernelError(`GatherND batch dim ${k} differs: ${x.dims[k]} vs ${ind.dims[k]}`);
    }
    const batch = sizeOf(x.dims.slice(0, b));
    const slice = sizeOf(x.dims.slice(b + m));
    const perBatchData = sizeOf(x.dims.slice(b));
    const tuples = sizeOf(ind.dims.slice(b, q - 1));
    const out = alloc(x.dtype, [...ind.dims.slice(0, q - 1), ...x.dims.slice(b + m)]);
    const strides = stridesOf(x.dims.slice(b));
    const src = elems(x), dst = elems(out);
    const iv = intsOf(ind);
    let o = 0;
    for (let bi = 0; bi < batch; bi++) {
      for (let t = 0; t < tuples; t++) {
        const at = (bi * tuples + t) * m;
        let base = bi * perBatchData;
        for (let k = 0; k < m; k++) base += normIndex(iv[at + k]!, x.dims[b + k]!, 'GatherND index') * strides[k]!;
        for (let k = 0; k < slice; k++) dst[o++] = src[base + k]!;
      }
    }
    return [out];
  },
});

/** Positions Compress keeps: true conditions, which must lie within the dim. */
function kept(cond: Tensor, dim: number): number[] {
  const c = cond.data as Uint8Array;
  const out: number[] = [];
  for (let i = 0; i < c.length; i++) {
    if (!c[i]) continue;
    if (i >= dim) throw new KernelError(`Compress condition is true at ${i}, past the dim ${dim}`);
    out.push(i);
  }
  return out;
}

const Compress = defineOp({
  op: 'Compress',
  attrs: { axis: attr.int() },
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const ct = inType(ctx, 1);
    expectDType(ct, ['bool'], 'Compress condition');
    if (ct.shape !== undefined && ct.shape.length !== 1) throw new ShapeError(`Compress condition must be 1-D, got rank ${ct.shape.length}`);
    const c = ctx.constant(1);
    const count: Dim = c === undefined ? ctx.freshDim('compress') : (c.data as Uint8Array).reduce((a, v) => a + (v ? 1 : 0), 0);
    if (ctx.attrs.axis === undefined) return [withShape(x, [count])];
    if (x.shape === undefined) return [withShape(x, undefined)];
    const axis = normAxis(ctx.attrs.axis, x.shape.length, 'Compress axis');
    return [withShape(x, x.shape.map((d, k) => (k === axis ? count : d)))];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const cond = input(ctx, 1);
    if (cond.dtype !== 'bool' || cond.dims.length !== 1) throw new KernelError('Compress condition must be a 1-D bool tensor');
    const flat = ctx.attrs.axis === undefined;
    const dims = flat ? [x.data.length] : x.dims;
    const axis = flat ? 0 : axisOf(ctx.attrs.axis!, dims.length, 'Compress axis');
    const keep = kept(cond, dims[axis]!);
    const out = alloc(x.dtype, dims.map((d, k) => (k === axis ? keep.length : d)));
    takeAlongAxis(elems(x), dims, axis, keep, elems(out));
    return [out];
  },
});

/** OneHot's depth as a positive integer (float depths truncate, as the reference does). */
function oneHotDepth(t: Tensor, err: (m: string) => Error): number {
  if (t.data.length !== 1) throw err('OneHot depth must hold one element');
  const d = Math.trunc(Number(t.data[0]));
  if (!(d >= 1)) throw err(`OneHot depth must be >= 1, got ${d}`);
  return d;
}

const OneHot = defineOp({
  op: 'OneHot',
  attrs: { axis: attr.int(-1) },
  inputs: [3, 3],
  outputs: [1, 1],
  infer(ctx) {
    const it = inType(ctx, 0), dt = inType(ctx, 1), vt = inType(ctx, 2);
    expectDType(it, NUMERIC_DTYPES, 'OneHot indices');
    expectDType(dt, NUMERIC_DTYPES, 'OneHot depth');
    if (vt.shape !== undefined && (vt.shape.length !== 1 || (typeof vt.shape[0] === 'number' && vt.shape[0] !== 2))) {
      throw new ShapeError('OneHot values must be a 1-D tensor of 2 elements [off, on]');
    }
    if (it.shape === undefined) return [tensorOf(vt.dtype, undefined)];
    const r = it.shape.length + 1;
    const a = ctx.attrs.axis;
    if (a < -r || a >= r) throw new ShapeError(`OneHot axis ${a} is out of range for output rank ${r}`);
    const axis = a < 0 ? a + r : a;
    const c = ctx.constant(1);
    const depth: Dim = c === undefined ? ctx.freshDim('depth') : oneHotDepth(c, (m) => new ShapeError(m));
    return [tensorOf(vt.dtype, [...it.shape.slice(0, axis), depth, ...it.shape.slice(axis)])];
  },
  run(ctx) {
    const ind = input(ctx, 0);
    const depth = oneHotDepth(input(ctx, 1), (m) => new KernelError(m));
    const values = input(ctx, 2);
    if (values.data.length !== 2) throw new KernelError('OneHot values must hold 2 elements [off, on]');
    const r = ind.dims.length + 1;
    const axis = axisOf(ctx.attrs.axis, r, 'OneHot axis');
    const dims = [...ind.dims.slice(0, axis), depth, ...ind.dims.slice(axis)];
    const out = alloc(values.dtype, dims);
    const v = elems(values), dst = elems(out);
    for (let i = 0; i < dst.length; i++) dst[i] = v[0]!;
    const outer = sizeOf(ind.dims.slice(0, axis));
    const inner = sizeOf(ind.dims.slice(axis));
    const iv = intsOf(ind);
    for (let a = 0; a < outer; a++) {
      for (let k = 0; k < inner; k++) {
        let j = Math.trunc(iv[a * inner + k]!);
        if (j < 0) j += depth;
        // indices outside [-depth, depth) select nothing: the row stays all off
        if (j >= 0 && j < depth) dst[(a * depth + j) * inner + k] = v[1]!;
      }
    }
    return [out];
  },
});

function isNonZero(v: number | bigint | string): boolean {
  return typeof v === 'string' ? v !== '' : typeof v === 'bigint' ? v !== 0n : v !== 0;
}

const NonZero = defineOp({
  op: 'NonZero',
  attrs: {},
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const c = ctx.constant(0);
    const count: Dim = c === undefined ? ctx.freshDim('nonzero') : Array.from(elems(c) as ArrayLike<number | bigint | string>).filter(isNonZero).length;
    // a scalar reports one coordinate row, as onnxruntime does
    return [tensorOf('int64', [x.shape === undefined ? ctx.freshDim('rank') : Math.max(1, x.shape.length), count])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const r = x.dims.length;
    const src = elems(x);
    const hits: number[] = [];
    for (let i = 0; i < src.length; i++) if (isNonZero(src[i]!)) hits.push(i);
    const out = alloc('int64', [Math.max(1, r), hits.length]);
    const idx = new Array<number>(r).fill(0);
    hits.forEach((h, n) => {
      unravel(h, x.dims, idx);
      for (let k = 0; k < r; k++) out.data[k * hits.length + n] = BigInt(idx[k]!);
    });
    return [out];
  },
});

export const indexingGatherOps = [Gather, GatherElements, GatherND, Compress, OneHot, NonZero];
