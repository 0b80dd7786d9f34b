// The Reduce* family (opset 18 form: axes as an optional int64 input, keepdims, noop_with_empty_axes), one
// generic kernel with a number path (doubles) and an exact bigint path for int64/uint64.

import { KernelError, ShapeError, assertNever } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { isBigInt, isFloat, intRange } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { allocate, fromValues, roundToDType, sizeOf, stridesOf } from '../ir/tensor.js';
import type { Dim, ValueType } from '../ir/types.js';
import type { AnyOpDef, ImportNode, InferContext, LegacyContext, RunContext } from './schema.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf } from './util.js';
import { WIDE_NUMERIC, checkSize, constInts, intValues, runAxis } from './reduce-util.js';

type Kind = 'sum' | 'mean' | 'prod' | 'min' | 'max' | 'l1' | 'l2' | 'logsum' | 'logsumexp' | 'sumsquare';

const MINMAX_TYPES: readonly DType[] = [...WIDE_NUMERIC, 'int8', 'uint8', 'bool'];

const reduceAttrs = { keepdims: attr.int(1), noop_with_empty_axes: attr.int(0) };
type ReduceAttrs = { readonly keepdims: number; readonly noop_with_empty_axes: number };

/** Which axes to reduce: 'all', 'none' (noop) or a sorted unique list. */
type AxesPlan = 'all' | 'none' | number[];

function plan(axes: readonly number[] | undefined, rank: number, noop: boolean, err: (m: string) => Error): AxesPlan {
  if (axes === undefined || axes.length === 0) return noop ? 'none' : 'all';
  const out = new Set<number>();
  for (const a of axes) {
    if (!Number.isInteger(a) || a < -rank || a >= rank) throw err(`axis ${a} is out of range for rank ${rank}`);
    out.add(a < 0 ? a + rank : a);
  }
  return [...out].sort((x, y) => x - y);
}

function reducedShape<D extends Dim>(shape: readonly D[], axes: AxesPlan, keep: boolean): (D | 1)[] {
  if (axes === 'none') return [...shape];
  const isReduced = (k: number): boolean => axes === 'all' || axes.includes(k);
  const out: (D | 1)[] = [];
  shape.forEach((d, k) => { if (!isReduced(k)) out.push(d); else if (keep) out.push(1); });
  return out;
}

function inferReduce(kind: Kind, ctx: InferContext<ReduceAttrs>): ValueType[] {
  const data = inType(ctx, 0);
  expectDType(data, kind === 'min' || kind === 'max' ? MINMAX_TYPES : WIDE_NUMERIC, 'data');
  const axesT = optInType(ctx, 1);
  if (axesT) {
    expectDType(axesT, ['int64'], 'axes');
    if (axesT.shape && axesT.shape.length !== 1) throw new ShapeError(`axes must be 1-D, got rank ${axesT.shape.length}`);
  }
  const keep = ctx.attrs.keepdims !== 0;
  const noop = ctx.attrs.noop_with_empty_axes !== 0;
  const axes = axesT ? constInts(ctx, 1) : [];
  if (data.shape === undefined) return [tensorOf(data.dtype)];
  const rank = data.shape.length;
  if (axes !== undefined) {
    return [tensorOf(data.dtype, reducedShape(data.shape, plan(axes, rank, noop, (m) => new ShapeError(m)), keep))];
  }
  // Axes only known at run time.
  const count = axesT?.shape?.[0];
  if (count === 0) return [tensorOf(data.dtype, noop ? data.shape : keep ? data.shape.map(() => 1) : [])];
  if (keep) return [tensorOf(data.dtype, data.shape.map((d) => (d === 1 ? 1 : ctx.freshDim('reduce'))))];
  if (typeof count === 'number' && !noop) {
    return [tensorOf(data.dtype, Array.from({ length: Math.max(0, rank - count) }, () => ctx.freshDim('reduce')))];
  }
  return [tensorOf(data.dtype)];
}

/** For each input element, the flat index of the output element it reduces into. */
function outputIndexOf(dims: readonly number[], axes: AxesPlan): Int32Array | Float64Array {
  const n = sizeOf(dims);
  const keptDims = dims.map((d, k) => (axes === 'all' || (axes !== 'none' && axes.includes(k)) ? 1 : d));
  const outStrides = stridesOf(keptDims).map((s, k) => (keptDims[k] === 1 ? 0 : s));
  const map = n < 2 ** 31 ? new Int32Array(n) : new Float64Array(n);
  const coord = new Array<number>(dims.length).fill(0);
  let o = 0;
  for (let i = 0; i < n; i++) {
    map[i] = o;
    for (let k = dims.length - 1; k >= 0; k--) {
      coord[k]!++;
      o += outStrides[k]!;
      if (coord[k]! < dims[k]!) break;
      o -= outStrides[k]! * coord[k]!;
      coord[k] = 0;
    }
  }
  return map;
}

/** The result of reducing an empty set, as a double (for min/max: the type's extreme value). */
function emptyValue(kind: Kind, dtype: DType): number {
  switch (kind) {
    case 'sum': case 'l1': case 'l2': case 'sumsquare': return 0;
    case 'prod': return 1;
    case 'mean': return NaN;
    case 'logsum': case 'logsumexp': return -Infinity;
    case 'max': return isFloat(dtype) ? -Infinity : dtype === 'bool' ? 0 : intRange(dtype)[0];
    case 'min': return isFloat(dtype) ? Infinity : dtype === 'bool' ? 1 : intRange(dtype)[1];
    default: return assertNever(kind, 'reduce kind');
  }
}

function reduceNumbers(kind: Kind, x: Tensor, map: ArrayLike<number>, m: number, count: number[]): Float64Array {
  const acc = new Float64Array(m);
  const d = x.data as ArrayLike<number | bigint>;
  const n = d.length;
  switch (kind) {
    case 'sum': case 'mean': case 'logsum':
      for (let i = 0; i < n; i++) acc[map[i]!] += Number(d[i]);
      break;
    case 'prod':
      acc.fill(1);
      for (let i = 0; i < n; i++) acc[map[i]!] *= Number(d[i]);
      break;
    case 'l1':
      for (let i = 0; i < n; i++) acc[map[i]!] += Math.abs(Number(d[i]));
      break;
    case 'l2': case 'sumsquare':
      for (let i = 0; i < n; i++) { const v = Number(d[i]); acc[map[i]!] += v * v; }
      break;
    case 'min': case 'max': {
      const seen = new Uint8Array(m);
      for (let i = 0; i < n; i++) {
        const j = map[i]!; const v = Number(d[i]);
        // NaN wins and then stays, as numpy's min/max propagate it
        if (!seen[j]) { acc[j] = v; seen[j] = 1; }
        else if (!Number.isNaN(acc[j]!) && (Number.isNaN(v) || (kind === 'max' ? v > acc[j]! : v < acc[j]!))) acc[j] = v;
      }
      break;
    }
    case 'logsumexp': {
      // Subtract the max for stability; an infinite max is left unshifted so inf/-inf come out right.
      const mx = new Float64Array(m).fill(-Infinity);
      for (let i = 0; i < n; i++) { const v = Number(d[i]); if (v > mx[map[i]!]! || Number.isNaN(v)) mx[map[i]!] = v; }
      for (let j = 0; j < m; j++) if (!Number.isFinite(mx[j]!)) mx[j] = Number.isNaN(mx[j]!) ? NaN : 0;
      for (let i = 0; i < n; i++) acc[map[i]!] += Math.exp(Number(d[i]) - mx[map[i]!]!);
      for (let j = 0; j < m; j++) acc[j] = mx[j]! + Math.log(acc[j]!);
      return acc;
    }
    default: assertNever(kind, 'reduce kind');
  }
  for (let j = 0; j < m; j++) {
    if (count[j] === 0) { acc[j] = emptyValue(kind, x.dtype); continue; }
    if (kind === 'mean') acc[j] = acc[j]! / count[j]!;
    else if (kind === 'l2') acc[j] = Math.sqrt(acc[j]!);
    else if (kind === 'logsum') acc[j] = Math.log(acc[j]!);
  }
  return acc;
}

/** Exact reduction for int64/uint64; the kinds that need logs or roots go through doubles. */
function reduceBigInts(kind: Kind, x: Tensor, map: ArrayLike<number>, m: number, count: number[]): bigint[] {
  const d = x.data as BigInt64Array | BigUint64Array;
  const acc = new Array<bigint>(m).fill(kind === 'prod' ? 1n : 0n);
  const seen = new Uint8Array(m);
  for (let i = 0; i < d.length; i++) {
    const j = map[i]!; const v = d[i]!;
    switch (kind) {
      case 'sum': case 'mean': acc[j] = acc[j]! + v; break;
      case 'prod': acc[j] = acc[j]! * v; break;
      case 'l1': acc[j] = acc[j]! + (v < 0n ? -v : v); break;
      case 'sumsquare': acc[j] = acc[j]! + v * v; break;
      case 'min': if (!seen[j] || v < acc[j]!) acc[j] = v; seen[j] = 1; break;
      case 'max': if (!seen[j] || v > acc[j]!) acc[j] = v; seen[j] = 1; break;
      case 'l2': case 'logsum': case 'logsumexp': throw new Error('reduceBigInts: float-only kind');
      default: assertNever(kind, 'reduce kind');
    }
    // keep products and sums bounded: wrapping commutes with + and *
    if (kind !== 'min' && kind !== 'max') acc[j] = x.dtype === 'int64' ? BigInt.asIntN(64, acc[j]!) : BigInt.asUintN(64, acc[j]!);
  }
  for (let j = 0; j < m; j++) {
    if (count[j] === 0 && (kind === 'min' || kind === 'max')) {
      const lo = x.dtype === 'int64' ? -(2n ** 63n) : 0n;
      const hi = x.dtype === 'int64' ? 2n ** 63n - 1n : 2n ** 64n - 1n;
      acc[j] = kind === 'max' ? lo : hi;
    } else if (kind === 'mean') {
      if (count[j] === 0) throw new KernelError('ReduceMean of an empty set has no integer value');
      acc[j] = acc[j]! / BigInt(count[j]!);
    }
  }
  return acc;
}

function runReduce(kind: Kind, ctx: RunContext<ReduceAttrs>): Tensor[] {
  const x = input(ctx, 0);
  const axesT = optInput(ctx, 1);
  const axes = axesT ? intValues(axesT, 'axes') : undefined;
  const p = plan(axes, x.dims.length, ctx.attrs.noop_with_empty_axes !== 0, (msg) => new KernelError(msg));
  if (p === 'none') return [x];
  const outDims = reducedShape(x.dims, p, ctx.attrs.keepdims !== 0);
  const m = sizeOf(outDims);
  checkSize(m);
  const map = outputIndexOf(x.dims, p);
  const count = new Array<number>(m).fill(0);
  for (let i = 0; i < map.length; i++) count[map[i]!]!++;
  if (isBigInt(x.dtype) && kind !== 'l2' && kind !== 'logsum' && kind !== 'logsumexp') {
    return [fromValues(x.dtype, outDims, reduceBigInts(kind, x, map, m, count))];
  }
  const acc = reduceNumbers(kind, x, map, m, count);
  if (isFloat(x.dtype)) {
    const data = allocate(x.dtype, m) as Float32Array | Float64Array;
    data.set(acc);
    return [roundToDType({ dtype: x.dtype, dims: outDims, data })];
  }
  // Integer outputs: NaN (an empty mean) has no value; the rest truncate like a Cast.
  return [fromValues(x.dtype, outDims, Array.from(acc, (v) => (x.dtype === 'bool' ? v !== 0 : v)))];
}

function reduceOp(op: string, kind: Kind, axesInputSince: number): AnyOpDef {
  return defineOp({
    op,
    attrs: reduceAttrs,
    inputs: [1, 2],
    outputs: [1, 1],
    infer: (ctx) => inferReduce(kind, ctx),
    run: (ctx) => runReduce(kind, ctx),
  });
}

export const reduceOps: AnyOpDef[] = [
  reduceOp('ReduceL1', 'l1', 18),
  reduceOp('ReduceL2', 'l2', 18),
  reduceOp('ReduceLogSum', 'logsum', 18),
  reduceOp('ReduceLogSumExp', 'logsumexp', 18),
  reduceOp('ReduceMax', 'max', 18),
  reduceOp('ReduceMean', 'mean', 18),
  reduceOp('ReduceMin', 'min', 18),
  reduceOp('ReduceProd', 'prod', 18),
  reduceOp('ReduceSum', 'sum', 13),
  reduceOp('ReduceSumSquare', 'sumsquare', 18),
];
