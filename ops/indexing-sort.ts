// Order-based selection: TopK (ties by lower index), ArgMax/ArgMin (first or last extreme) and Unique (sorted or
// first-occurrence order, flat or along an axis, with indices, inverse indices and counts).

import { KernelError, ShapeError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import { fromValues } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import type { InferContext } from './schema.js';
import { expectDType, inType, input, normAxis, tensorOf, withShape } from './util.js';
import { alloc, elems, ORDERED_DTYPES } from './shape-common.js';

type Scalar = number | bigint | string;

/** Total order on elements: NaN sorts above every number and equals itself (numpy's convention). */
export function compareValues(a: Scalar, b: Scalar): number {
  if (typeof a === 'number' && typeof b === 'number') {
    const an = Number.isNaN(a), bn = Number.isNaN(b);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function splitAt(dims: readonly number[], axis: number): { outer: number; dim: number; inner: number } {
  return {
    outer: dims.slice(0, axis).reduce((a, b) => a * b, 1),
    dim: dims[axis]!,
    inner: dims.slice(axis + 1).reduce((a, b) => a * b, 1),
  };
}

function topKValue(t: Tensor, err: (m: string) => Error): number {
  if (t.data.length !== 1) throw err('TopK k must hold one element');
  const k = Number(t.data[0]);
  if (!Number.isInteger(k) || k < 0) throw err(`TopK k must be a non-negative integer, got ${k}`);
  return k;
}

const TopK = defineOp({
  op: 'TopK',
  attrs: { axis: attr.int(-1), largest: attr.int(1), sorted: attr.int(1) },
  inputs: [2, 2],
  outputs: [2, 2],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectDType(x, ORDERED_DTYPES.filter((t) => t !== 'string'), 'TopK input');
    expectDType(inType(ctx, 1), ['int64'], 'TopK k');
    if (x.shape === undefined) return [withShape(x, undefined), tensorOf('int64', undefined)];
    const axis = normAxis(ctx.attrs.axis, x.shape.length, 'TopK axis');
    const c = ctx.constant(1);
    const kv = ctx.shapeValue(1);
    const k: Dim = c !== undefined ? topKValue(c, (m) => new ShapeError(m)) : kv?.length === 1 ? kv[0]! : ctx.freshDim('topk');
    const d = x.shape[axis]!;
    if (typeof k === 'number' && typeof d === 'number' && k > d) throw new ShapeError(`TopK k ${k} exceeds axis dim ${d}`);
    const shape = x.shape.map((e, i) => (i === axis ? k : e));
    return [withShape(x, shape), tensorOf('int64', shape)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const k = topKValue(input(ctx, 1), (m) => new KernelError(m));
    const r = x.dims.length;
    const a = ctx.attrs.axis;
    if (a < -r || a >= r) throw new KernelError(`TopK axis ${a} is out of range for rank ${r}`);
    const axis = a < 0 ? a + r : a;
    const { outer, dim, inner } = splitAt(x.dims, axis);
    if (k > dim) throw new KernelError(`TopK k ${k} exceeds axis dim ${dim}`);
    const dims = x.dims.map((d, i) => (i === axis ? k : d));
    const values = alloc(x.dtype, dims), indices = alloc('int64', dims);
    const src = elems(x), dv = elems(values);
    const sign = ctx.attrs.largest ? -1 : 1;
    const order = Array.from({ length: dim }, (_, i) => i);
    for (let o = 0; o < outer; o++) {
      for (let n = 0; n < inner; n++) {
        const at = (i: number) => src[(o * dim + i) * inner + n]!;
        order.sort((p, q) => sign * compareValues(at(p), at(q)) || p - q);
        for (let j = 0; j < k; j++) {
          const to = (o * k + j) * inner + n;
          dv[to] = at(order[j]!);
          indices.data[to] = BigInt(order[j]!);
        }
        for (let i = 0; i < dim; i++) order[i] = i;
      }
    }
    return [values, indices];
  },
});

type ArgAttrs = { axis: number; keepdims: number; select_last_index: number };

function inferArg(ctx: InferContext<ArgAttrs>, op: string) {
  const x = inType(ctx, 0);
  expectDType(x, ORDERED_DTYPES.filter((t) => t !== 'string'), `${op} input`);
  if (x.shape === undefined) return [tensorOf('int64', undefined)];
  const axis = normAxis(ctx.attrs.axis, x.shape.length, `${op} axis`);
  const shape = ctx.attrs.keepdims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
  return [tensorOf('int64', shape)];
}

function runArg(x: Tensor, attrs: ArgAttrs, op: string, sign: 1 | -1): Tensor {
  const r = x.dims.length;
  if (attrs.axis < -r || attrs.axis >= r) throw new KernelError(`${op} axis ${attrs.axis} is out of range for rank ${r}`);
  const axis = attrs.axis < 0 ? attrs.axis + r : attrs.axis;
  const { outer, dim, inner } = splitAt(x.dims, axis);
  if (dim === 0) throw new KernelError(`${op} over an empty axis has no answer`);
  const dims = attrs.keepdims ? x.dims.map((d, i) => (i === axis ? 1 : d)) : x.dims.filter((_, i) => i !== axis);
  const out = alloc('int64', dims);
  const src = elems(x);
  const last = attrs.select_last_index !== 0;
  for (let o = 0; o < outer; o++) {
    for (let n = 0; n < inner; n++) {
      let best = 0;
      for (let i = 1; i < dim; i++) {
        const c = sign * compareValues(src[(o * dim + i) * inner + n]!, src[(o * dim + best) * inner + n]!);
        if (c > 0 || (c === 0 && last)) best = i;
      }
      out.data[o * inner + n] = BigInt(best);
    }
  }
  return out;
}

const argAttrs = { axis: attr.int(0), keepdims: attr.int(1), select_last_index: attr.int(0) };

const ArgMax = defineOp({
  op: 'ArgMax', attrs: argAttrs, inputs: [1, 1], outputs: [1, 1],
  infer: (ctx) => inferArg(ctx, 'ArgMax'),
  run: (ctx) => [runArg(input(ctx, 0), ctx.attrs, 'ArgMax', 1)],
});

const ArgMin = defineOp({
  op: 'ArgMin', attrs: argAttrs, inputs: [1, 1], outputs: [1, 1],
  infer: (ctx) => inferArg(ctx, 'ArgMin'),
  run: (ctx) => [runArg(input(ctx, 0), ctx.attrs, 'ArgMin', -1)],
});

const Unique = defineOp({
  op: 'Unique',
  attrs: { axis: attr.int(), sorted: attr.int(1) },
  inputs: [1, 1],
  outputs: [1, 4],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectDType(x, ORDERED_DTYPES, 'Unique input');
    const n = ctx.freshDim('unique');
    const counts = tensorOf('int64', [n]);
    if (ctx.attrs.axis === undefined) {
      const size = x.shape?.every((d) => typeof d === 'number') ? (x.shape as number[]).reduce((a, b) => a * b, 1) : ctx.freshDim('size');
      return [withShape(x, [n]), counts, tensorOf('int64', [size]), counts];
    }
    if (x.shape === undefined) return [withShape(x, undefined), counts, tensorOf('int64', [ctx.freshDim('unique')]), counts];
    const axis = normAxis(ctx.attrs.axis, x.shape.length, 'Unique axis');
    return [withShape(x, x.shape.map((d, i) => (i === axis ? n : d))), counts, tensorOf('int64', [x.shape[axis]!]), counts];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const flat = ctx.attrs.axis === undefined;
    const dims = flat ? [x.data.length] : x.dims;
    const r = dims.length;
    const a = flat ? 0 : ctx.attrs.axis!;
    if (a < -r || a >= r) throw new KernelError(`Unique axis ${a} is out of range for rank ${r}`);
    const axis = a < 0 ? a + r : a;
    const { outer, dim, inner } = splitAt(dims, axis);
    const src = elems(x);
    // slice i along the axis, flattened (lexicographic comparison of slices orders them as numpy does)
    const sliceOf = (i: number): Scalar[] => {
      const s: Scalar[] = [];
      for (let o = 0; o < outer; o++) for (let n = 0; n < inner; n++) s.push(src[(o * dim + i) * inner + n]!);
      return s;
    };
    const cmp = (p: Scalar[], q: Scalar[]): number => {
      for (let k = 0; k < p.length; k++) { const c = compareValues(p[k]!, q[k]!); if (c) return c; }
      return 0;
    };
    const slices = Array.from({ length: dim }, (_, i) => sliceOf(i));
    // sort slice positions by value (ties by position), so each run of equal slices starts at its first occurrence
    const byValue = Array.from({ length: dim }, (_, i) => i).sort((p, q) => cmp(slices[p]!, slices[q]!) || p - q);
    const groupOf = new Array<number>(dim);
    const groupFirst: number[] = [];
    byValue.forEach((i, k) => {
      if (k === 0 || cmp(slices[byValue[k - 1]!]!, slices[i]!) !== 0) groupFirst.push(i);
      groupOf[i] = groupFirst.length - 1;
    });
    const order = groupFirst.map((_, g) => g);
    if (!ctx.attrs.sorted) order.sort((p, q) => groupFirst[p]! - groupFirst[q]!);
    const posOf = new Array<number>(order.length);
    order.forEach((g, p) => { posOf[g] = p; });
    const u = order.length;
    const y = alloc(x.dtype, dims.map((d, i) => (i === axis ? u : d)));
    const dy = elems(y);
    order.forEach((g, p) => {
      const s = slices[groupFirst[g]!]!;
      let k = 0;
      for (let o = 0; o < outer; o++) for (let n = 0; n < inner; n++) dy[(o * u + p) * inner + n] = s[k++]!;
    });
    const inverse = Array.from({ length: dim }, (_, i) => posOf[groupOf[i]!]!);
    const counts = new Array<number>(u).fill(0);
    for (const p of inverse) counts[p]! += 1;
    const big = (v: number[]) => fromValues('int64', [v.length], v.map((n) => BigInt(n)));
    return [y, big(order.map((g) => groupFirst[g]!)), big(inverse), big(counts)];
  },
});

export const indexingSortOps = [TopK, ArgMax, ArgMin, Unique];
