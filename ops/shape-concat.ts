// Ops that rearrange or join whole tensors: Transpose, Concat, Split, Tile.

import { KernelError, ShapeError, UnsupportedOpError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import { stridesOf } from '../ir/tensor.js';
import type { Dim, TensorType } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, normAxis, optInType, optInput, withShape } from './util.js';
import { alloc, constInts, elems, intList, shapeLike, staticLength, unravel } from './shape-common.js';

function checkPerm(perm: readonly number[], rank: number, err: (m: string) => Error): number[] {
  if (perm.length !== rank) throw err(`perm [${perm.join(',')}] has ${perm.length} entries for rank ${rank}`);
  const seen = new Set<number>();
  for (const p of perm) {
    if (!Number.isInteger(p) || p < 0 || p >= rank || seen.has(p)) throw err(`perm [${perm.join(',')}] is not a permutation of 0..${rank - 1}`);
    seen.add(p);
  }
  return [...perm];
}

const defaultPerm = (rank: number): number[] => Array.from({ length: rank }, (_, i) => rank - 1 - i);

const Transpose = defineOp({
  op: 'Transpose',
  attrs: { perm: attr.ints() },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    if (x.shape === undefined) {
      return [withShape(x, ctx.attrs.perm ? ctx.attrs.perm.map(() => ctx.freshDim('transpose')) : undefined)];
    }
    const shape = x.shape;
    const perm = checkPerm(ctx.attrs.perm ?? defaultPerm(shape.length), shape.length, (m) => new ShapeError(m));
    return [withShape(x, perm.map((p) => shape[p]!))];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const r = x.dims.length;
    const perm = checkPerm(ctx.attrs.perm ?? defaultPerm(r), r, (m) => new KernelError(m));
    const dims = perm.map((p) => x.dims[p]!);
    const out = alloc(x.dtype, dims);
    const inStrides = stridesOf(x.dims);
    const strides = perm.map((p) => inStrides[p]!);
    const src = elems(x), dst = elems(out);
    const idx = new Array<number>(r).fill(0);
    for (let i = 0; i < dst.length; i++) {
      unravel(i, dims, idx);
      let j = 0;
      for (let k = 0; k < r; k++) j += idx[k]! * strides[k]!;
      dst[i] = src[j]!;
    }
    return [out];
  },
});

/** Unify two dims that must be equal: a number wins over a symbol. */
function unifyDim(a: Dim, b: Dim, what: string): Dim {
  if (a === b) return a;
  if (typeof a === 'number' && typeof b === 'number') throw new ShapeError(`${what}: dims ${a} and ${b} differ`);
  return typeof a === 'number' ? a : b;
}

const Concat = defineOp({
  op: 'Concat',
  attrs: { axis: attr.int.required() },
  inputs: [1, Infinity],
  outputs: [1, 1],
  infer(ctx) {
    const ts: TensorType[] = ctx.inputs.map((_, i) => inType(ctx, i));
    const first = ts[0]!;
    for (const t of ts) if (t.dtype !== first.dtype) throw new ShapeError(`Concat inputs must share one element type; got ${first.dtype} and ${t.dtype}`);
    const known = ts.filter((t) => t.shape !== undefined);
    if (known.length === 0) return [withShape(first, undefined)];
    const rank = known[0]!.shape!.length;
    if (rank === 0) throw new ShapeError('Concat inputs must have rank >= 1');
    const axis = normAxis(ctx.attrs.axis, rank, 'Concat axis');
    const out: Dim[] = [...known[0]!.shape!];
    let sum: number | undefined = 0;
    for (const t of ts) {
      if (t.shape === undefined) { sum = undefined; continue; }
      if (t.shape.length !== rank) throw new ShapeError(`Concat inputs must share one rank; got ${rank} and ${t.shape.length}`);
      t.shape.forEach((d, k) => { if (k !== axis) out[k] = unifyDim(out[k]!, d, `Concat dim ${k}`); });
      const d = t.shape[axis]!;
      sum = typeof d === 'number' && sum !== undefined ? sum + d : undefined;
    }
    // a single symbolic input along the axis (the rest empty) keeps its symbol
    const nonEmpty = ts.filter((t) => t.shape === undefined || t.shape[axis] !== 0);
    out[axis] = sum ?? (nonEmpty.length === 1 && nonEmpty[0]!.shape ? nonEmpty[0]!.shape[axis]! : ctx.freshDim('concat'));
    return [withShape(first, out)];
  },
  run(ctx) {
    const xs: Tensor[] = ctx.inputs.map((_, i) => input(ctx, i));
    const first = xs[0]!;
    const rank = first.dims.length;
    if (rank === 0) throw new KernelError('Concat inputs must have rank >= 1');
    const axis = ctx.attrs.axis < 0 ? ctx.attrs.axis + rank : ctx.attrs.axis;
    if (axis < 0 || axis >= rank) throw new KernelError(`Concat axis ${ctx.attrs.axis} is out of range for rank ${rank}`);
    const dims = [...first.dims];
    dims[axis] = 0;
    for (const x of xs) {
      if (x.dims.length !== rank || x.dims.some((d, k) => k !== axis && d !== first.dims[k])) {
        throw new KernelError(`Concat input dims [${x.dims.join(',')}] do not match [${first.dims.join(',')}] off axis ${axis}`);
      }
      dims[axis] += x.dims[axis]!;
    }
    const out = alloc(first.dtype, dims);
    const dst = elems(out);
    const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const rowOut = dims[axis]! * inner;
    let off = 0;
    for (const x of xs) {
      const src = elems(x);
      const row = x.dims[axis]! * inner;
      for (let o = 0; o < outer; o++) {
        for (let k = 0; k < row; k++) dst[o * rowOut + off + k] = src[o * row + k]!;
      }
      off += row;
    }
    return [out];
  },
});

/** Sizes of Split's outputs along the axis when no split input is given. */
function equalSplit(dim: number, n: number, numOutputs: number | undefined, err: (m: string) => Error): number[] {
  if (numOutputs === undefined) {
    if (dim % n !== 0) throw err(`Split of dim ${dim} into ${n} equal outputs is not even`);
    return new Array<number>(n).fill(dim / n);
  }
  // num_outputs (opset 18): ceil-sized chunks, the last one smaller
  const chunk = Math.ceil(dim / n);
  return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(dim, (i + 1) * chunk) - Math.min(dim, i * chunk)));
}

const Split = defineOp({
  op: 'Split',
  attrs: { axis: attr.int(0), num_outputs: attr.int() },
  inputs: [1, 2],
  outputs: [1, Infinity],
  infer(ctx) {
    const x = inType(ctx, 0);
    const st = optInType(ctx, 1);
    const n = ctx.numOutputs;
    const numOutputs = ctx.attrs.num_outputs;
    if (st) expectDType(st, ['int64'], 'Split split');
    if (st && numOutputs !== undefined) throw new ShapeError('Split takes either the split input or num_outputs, not both');
    if (numOutputs !== undefined && numOutputs !== n) throw new ShapeError(`Split num_outputs is ${numOutputs} but the node has ${n} outputs`);
    if (st && staticLength(st) !== undefined && staticLength(st) !== n) throw new ShapeError(`Split split has ${staticLength(st)} entries for ${n} outputs`);
    if (x.shape === undefined) return Array.from({ length: n }, () => withShape(x, undefined));
    const shape = x.shape;
    const axis = normAxis(ctx.attrs.axis, shape.length, 'Split axis');
    const dim = shape[axis]!;
    let sizes: Dim[];
    const split = st ? constInts(ctx, 1) : undefined;
    if (split !== undefined) {
      if (split.length !== n) throw new ShapeError(`Split split has ${split.length} entries for ${n} outputs`);
      if (split.some((s) => s < 0)) throw new ShapeError(`Split split [${split.join(',')}] has a negative size`);
      const total = split.reduce((a, b) => a + b, 0);
      if (typeof dim === 'number' && total !== dim) throw new ShapeError(`Split split [${split.join(',')}] sums to ${total}, not dim ${dim}`);
      sizes = split;
    } else if (st === undefined && typeof dim === 'number') {
      sizes = equalSplit(dim, n, numOutputs, (m) => new ShapeError(m));
    } else {
      sizes = Array.from({ length: n }, () => (n === 1 ? dim : ctx.freshDim('split')));
    }
    return sizes.map((s) => withShape(x, shape.map((d, k) => (k === axis ? s : d))));
  },
  run(ctx) {
    const x = input(ctx, 0);
    const st = optInput(ctx, 1);
    const n = ctx.numOutputs;
    const rank = x.dims.length;
    const axis = ctx.attrs.axis < 0 ? ctx.attrs.axis + rank : ctx.attrs.axis;
    if (axis < 0 || axis >= rank) throw new KernelError(`Split axis ${ctx.attrs.axis} is out of range for rank ${rank}`);
    const dim = x.dims[axis]!;
    let sizes: number[];
    if (st) {
      sizes = intList(st, 'Split split');
      if (sizes.length !== n || sizes.some((s) => s < 0) || sizes.reduce((a, b) => a + b, 0) !== dim) {
        throw new KernelError(`Split split [${sizes.join(',')}] does not divide dim ${dim} into ${n} outputs`);
      }
    } else {
      sizes = equalSplit(dim, n, ctx.attrs.num_outputs, (m) => new KernelError(m));
    }
    const outer = x.dims.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = x.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const src = elems(x);
    const outs: Tensor[] = [];
    let off = 0;
    for (const s of sizes) {
      const dims = x.dims.map((d, k) => (k === axis ? s : d));
      const out = alloc(x.dtype, dims);
      const dst = elems(out);
      const row = s * inner;
      for (let o = 0; o < outer; o++) {
        for (let k = 0; k < row; k++) dst[o * row + k] = src[o * dim * inner + off + k]!;
      }
      off += row;
      outs.push(out);
    }
    return outs;
  },
});

const Tile = defineOp({
  op: 'Tile',
  attrs: {},
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const rt = inType(ctx, 1);
    expectDType(rt, ['int64'], 'Tile repeats');
    const reps = shapeLike(ctx, 1);
    if (x.shape === undefined) {
      const n = reps?.length ?? staticLength(rt);
      return [withShape(x, n === undefined ? undefined : Array.from({ length: n }, () => ctx.freshDim('tile')))];
    }
    const shape = x.shape;
    if (reps === undefined) {
      return [withShape(x, shape.map((d) => (d === 0 ? 0 : ctx.freshDim('tile'))))];
    }
    if (reps.length !== shape.length) throw new ShapeError(`Tile repeats has ${reps.length} entries for rank ${shape.length}`);
    if (reps.some((r) => typeof r === 'number' && r < 0)) throw new ShapeError(`Tile repeats [${reps.join(',')}] has a negative entry`);
    return [withShape(x, shape.map((d, k) => {
      const r = reps[k]!;
      if (typeof d === 'number' && typeof r === 'number') return d * r;
      if (d === 1) return r;
      return r === 1 ? d : r === 0 || d === 0 ? 0 : ctx.freshDim('tile');
    }))];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const reps = intList(input(ctx, 1), 'Tile repeats');
    const r = x.dims.length;
    if (reps.length !== r || reps.some((v) => v < 0)) throw new KernelError(`Tile repeats [${reps.join(',')}] do not fit rank ${r}`);
    const dims = x.dims.map((d, k) => d * reps[k]!);
    const out = alloc(x.dtype, dims);
    const inStrides = stridesOf(x.dims);
    const src = elems(x), dst = elems(out);
    const idx = new Array<number>(r).fill(0);
    for (let i = 0; i < dst.length; i++) {
      unravel(i, dims, idx);
      let j = 0;
      for (let k = 0; k < r; k++) j += (idx[k]! % x.dims[k]!) * inStrides[k]!;
      dst[i] = src[j]!;
    }
    return [out];
  },
});

export const shapeConcatOps = [Transpose, Concat, Split, Tile];
