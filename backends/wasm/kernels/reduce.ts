// Reductions over any set of axes: a loop nest over kept axes around a loop nest over reduced axes. float32
// accumulates in f32; every other dtype accumulates in f64 (converted on load and store). A float32 reduction whose
// last reduced axis is not the innermost (ReduceMean over C of NCHW, magika's LayerNorm over its middle axis) runs
// down the contiguous kept axes after it instead, four columns to a vector: each output still sums its inputs in
// the scalar loop's order, so the answers are the same bits. One over trailing axes takes four rows at a time, a
// lane each, for the same reason.

import type { Expr, Fn, Local } from '../fn.js';
import { collapse, nest } from '../layout.js';
import { expV, logV } from '../math.js';
import { floorTo, genericDims, guardedLoop } from '../dims-mode.js';
import { LANES, vectorLoop, viaVector } from '../simd.js';
import type { KernelGen } from './types.js';
import { attrNum, constInts, input, normAxis, output, requireDType, strides, withDTypes } from './util.js';
import { expF, ldF, logF, stF } from './scalar.js';

type Kind = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'sumsq' | 'l1' | 'l2' | 'logsumexp' | 'logsum';

function reduce(kind: Kind): KernelGen {
  return {
    constInputs: [1],
    emit(ctx) {
      const x = input(ctx, 0), y = output(ctx), fn = ctx.fn, m = ctx.m;
      const f32 = x.dtype === 'float32' && y.dtype === 'float32';
      const rank = x.dims.length;
      const given = ctx.inputs[1] ? constInts(ctx, 1)!.map((a) => normAxis(a, rank)) : [];
      const noop = given.length === 0 && attrNum(ctx, 'noop_with_empty_axes') !== 0;
      const axes = new Set(noop ? [] : given.length ? given : x.dims.map((_, i) => i));
      const xs = strides(x.dims);
      const kept = x.dims.map((_, i) => i).filter((i) => !axes.has(i));
      const red = [...axes].sort((a, b) => a - b);
      const keptDims = kept.map((i) => x.dims[i]!);
      const outStrides = strides(keptDims);
      const count = red.reduce((p, a) => p * x.dims[a]!, 1);
      if (y.size === 0) return m.nop();
      const acc = fn.forType(f32 ? 'f32' : 'f64'), v = fn.forType(f32 ? 'f32' : 'f64');
      const cst = (c: number): Expr => (f32 ? fn.cf32(c) : m.f64.const(c));
      const { init, step, finish } = f32
        ? formula(kind, count, m.f32, cst, (q) => viaVector(fn, (w) => expV(fn, w), q), (q) => viaVector(fn, (w) => logV(fn, w), q))
        : formula(kind, count, m.f64, cst, (q) => expF(fn, q), (q) => logF(fn, q));
      if (f32 && red.length > 0 && red[red.length - 1]! < rank - 1) {
        return columns(fn, kind, { x: x.ptr.base, y: y.ptr.base, dims: x.dims, red, kept, outStrides, count });
      }
      if (f32 && kept.length > 0 && red.length > 0 && red[0] === kept.length && kept.every((a, k) => a === k)) {
        return rows(fn, kind, x.ptr.base, y.ptr.base, keptDims.reduce((a, b) => a * b, 1), count);
      }
      const ko = collapse(keptDims, [outStrides, kept.map((i) => xs[i]!)]);
      const ro = collapse(red.map((a) => x.dims[a]!), [red.map((a) => xs[a]!)]);
      const base = fn.i32();
      return nest(fn, ko.dims, ko.sets, ([oOff, xOff]) => [
        fn.set(base, xOff!),
        fn.set(acc, cst(init)),
        fn.set(v, cst(0)),
        nest(fn, ro.dims, ro.sets, ([r]) => [
          fn.set(v, f32 ? fn.load('float32', { base: x.ptr.base, dyn: m.i32.shl(m.i32.add(fn.get(base), r!), fn.c32(2)) }) : ldF(fn, x, m.i32.add(fn.get(base), r!))),
          fn.set(acc, step(fn.get(acc), () => fn.get(v))),
        ]),
        f32 ? fn.store('float32', { base: y.ptr.base, dyn: m.i32.shl(oOff!, fn.c32(2)) }, finish(fn.get(acc))) : stF(fn, y, oOff!, finish(fn.get(acc))),
      ]);
    },
  };
}

/** The arithmetic a reduction's formula needs: binaryen's f32, f64 and f32x4 op groups alike. */
interface Arith {
  add(a: Expr, b: Expr): Expr; mul(a: Expr, b: Expr): Expr; max(a: Expr, b: Expr): Expr; min(a: Expr, b: Expr): Expr;
  div(a: Expr, b: Expr): Expr; abs(a: Expr): Expr; sqrt(a: Expr): Expr;
}

interface Formula { readonly init: number; readonly step: (a: Expr, b: () => Expr) => Expr; readonly finish: (a: Expr) => Expr }

/** A reduction's formula in arithmetic `o` (scalar f32/f64 or f32x4: the vector forms give each lane the scalar
 *  loop's f32 arithmetic), with `cst` a constant of o's type and exp/log in it. */
function formula(kind: Kind, count: number, o: Arith, cst: (c: number) => Expr, exp: (x: Expr) => Expr, log: (x: Expr) => Expr): Formula {
  const init = kind === 'max' ? -Infinity : kind === 'min' ? Infinity : kind === 'prod' ? 1 : 0;
  const step = (a: Expr, b: () => Expr): Expr => {
    switch (kind) {
      case 'sum': case 'mean': case 'logsum': return o.add(a, b());
      case 'max': return o.max(a, b());
      case 'min': return o.min(a, b());
      case 'prod': return o.mul(a, b());
      case 'sumsq': case 'l2': return o.add(a, o.mul(b(), b()));
      case 'l1': return o.add(a, o.abs(b()));
      case 'logsumexp': return o.add(a, exp(b()));
    }
  };
  const finish = (a: Expr): Expr => {
    switch (kind) {
      case 'mean': return o.div(a, cst(count));
      case 'l2': return o.sqrt(a);
      case 'logsumexp': case 'logsum': return log(a);
      default: return a;
    }
  };
  return { init, step, finish };
}

/** A reduction's formula on vectors (exp and log the formulas the scalar loop applies through a splat). */
const vectorFormula = (fn: Fn, kind: Kind, count: number): Formula =>
  formula(kind, count, fn.m.f32x4, (c) => fn.m.f32x4.splat(fn.cf32(c)), (q) => expV(fn, q), (q) => logV(fn, q));

/** Vectors of accumulators per column block: four keep the adds' latency hidden (one dependent chain per vector). */
const BLOCK = 4;

interface Columns {
  readonly x: number; readonly y: number; readonly dims: readonly number[]; readonly red: readonly number[];
  readonly kept: readonly number[]; readonly outStrides: readonly number[]; readonly count: number;
}

/** A float32 reduction whose kept axes after the last reduced one are `inner` contiguous columns in x and in y: for
 *  each combination of the kept axes before it, BLOCK vectors of columns, then single vectors, then single columns,
 *  each accumulated over the reduced axes in the scalar loop's order with the scalar formula applied lanewise. */
function columns(fn: Fn, kind: Kind, c: Columns): Expr {
  const m = fn.m, V = m.f32x4, xs = strides(c.dims), last = c.red[c.red.length - 1]!;
  const inner = c.dims.slice(last + 1).reduce((a, b) => a * b, 1);
  const outer = c.kept.filter((i) => i < last);
  const ko = collapse(outer.map((i) => c.dims[i]!), [outer.map((_, k) => c.outStrides[k]!), outer.map((i) => xs[i]!)]);
  const ro = collapse(c.red.map((a) => c.dims[a]!), [c.red.map((a) => xs[a]!)]);
  const { init, step, finish } = vectorFormula(fn, kind, c.count);
  const xBase = fn.i32(), yBase = fn.i32(), j = fn.i32(), at = fn.i32();
  const accs: Local[] = Array.from({ length: BLOCK }, () => fn.v128()), vals: Local[] = Array.from({ length: BLOCK }, () => fn.v128());
  // `width` vectors of columns from j (width 0: the one column j, in lane 0)
  const run = (width: number): Expr[] => {
    const n = Math.max(width, 1);
    const col = (): Expr => m.i32.add(fn.get(xBase), fn.get(j));
    const load = (k: number): Expr => (width === 0
      ? V.splat(fn.load('float32', { base: c.x, dyn: fn.get(at) }))
      : fn.loadV({ base: c.x + 16 * k, dyn: fn.get(at) }));
    const dst = (): Expr => m.i32.shl(m.i32.add(fn.get(yBase), fn.get(j)), fn.c32(2));
    return [
      ...accs.slice(0, n).map((a) => fn.set(a, V.splat(fn.cf32(init)))),
      nest(fn, ro.dims, ro.sets, ([r]) => [
        fn.set(at, m.i32.shl(m.i32.add(col(), r!), fn.c32(2))),
        ...accs.slice(0, n).flatMap((a, k) => [fn.set(vals[k]!, load(k)), fn.set(a, step(fn.get(a), () => fn.get(vals[k]!)))]),
      ]),
      ...accs.slice(0, n).map((a, k) => (width === 0
        ? fn.store('float32', { base: c.y, dyn: dst() }, V.extract_lane(finish(fn.get(a)), 0))
        : fn.storeV({ base: c.y + 16 * k, dyn: dst() }, finish(fn.get(a))))),
    ];
  };
  const W = BLOCK * LANES;
  const loop = (from: [number, () => Expr], to: [number, () => Expr], stepBy: number, body: () => Expr[]): Expr => (genericDims()
    ? guardedLoop(fn, j, from[1], to[1], body, stepBy)
    : fn.loop(j, from[0], to[0], body, stepBy));
  const blocks: [number, () => Expr] = [inner - (inner % W), floorTo(fn, inner, W)];
  const vecs: [number, () => Expr] = [inner - (inner % LANES), floorTo(fn, inner, LANES)];
  return nest(fn, ko.dims, ko.sets, ([oOff, xOff]) => [
    fn.set(yBase, oOff!),
    fn.set(xBase, xOff!),
    loop([0, () => fn.c32(0)], blocks, W, () => run(BLOCK)),
    loop(blocks, vecs, LANES, () => run(1)),
    loop(vecs, [inner, () => fn.c32(inner)], 1, () => run(0)),
  ]);
}

/** A float32 reduction over trailing axes: `outer` rows of `count` floats, four rows at a time with a lane each
 *  (gathered), so four sums run in parallel where the scalar loop waited on one add chain; each lane the scalar
 *  loop's steps in its order, so the same bits. The outer % 4 last rows take the same formula in lane 0. */
function rows(fn: Fn, kind: Kind, x: number, y: number, outer: number, count: number): Expr {
  const m = fn.m, V = m.f32x4;
  if (kind === 'max' || kind === 'min') return extremes(fn, kind, x, y, outer, count);
  const { init, step, finish } = vectorFormula(fn, kind, count);
  const o = fn.i32(), r = fn.i32(), at = fn.i32(), acc = fn.v128(), v = fn.v128();
  // byte address of row o + k's element r, as arithmetic (no row-dependent static offsets in a dynamic build)
  const el = (k: number): Expr => (k === 0 ? fn.get(at) : m.i32.add(fn.get(at), fn.c32(4 * k * count)));
  const ld = (k: number): Expr => fn.load('float32', { base: x, dyn: el(k) });
  const body = (lanes: number): Expr[] => [
    fn.set(acc, V.splat(fn.cf32(init))),
    fn.loop(r, 0, count, (rv) => [
      fn.set(at, m.i32.shl(m.i32.add(m.i32.mul(fn.get(o), fn.c32(count)), rv()), fn.c32(2))),
      fn.set(v, Array.from({ length: lanes - 1 }, (_, k) => k + 1).reduce((w, k) => V.replace_lane(w, k, ld(k)), V.splat(ld(0)))),
      fn.set(acc, step(fn.get(acc), () => fn.get(v))),
    ]),
    lanes === LANES
      ? fn.storeV({ base: y, dyn: m.i32.shl(fn.get(o), fn.c32(2)) }, finish(fn.get(acc)))
      : fn.store('float32', { base: y, dyn: m.i32.shl(fn.get(o), fn.c32(2)) }, V.extract_lane(finish(fn.get(acc)), 0)),
  ];
  return vectorLoop(fn, o, { n: outer, vector: () => body(LANES), scalar: () => body(1) });
}

/** Max/min over trailing axes, contiguous vectors along each row: the extreme of a set is the same in any order (a
 *  NaN anywhere gives NaN, +0 beats -0 for max and -0 wins for min either way round), so the same answers as the
 *  scalar loop. Two accumulators (the vector max is several instructions deep in V8), then one vector, then the last
 *  count % 4 floats into lane 0, then across the lanes. */
function extremes(fn: Fn, kind: 'max' | 'min', x: number, y: number, outer: number, count: number): Expr {
  const m = fn.m, V = m.f32x4, P = 2 * LANES;
  const pick = (a: Expr, b: Expr): Expr => (kind === 'max' ? V.max(a, b) : V.min(a, b));
  const pickS = (a: Expr, b: Expr): Expr => (kind === 'max' ? m.f32.max(a, b) : m.f32.min(a, b));
  const o = fn.i32(), r = fn.i32(), row = fn.i32(), a0 = fn.v128(), a1 = fn.v128();
  const at = (off: number): Expr => m.i32.shl(m.i32.add(fn.get(row), off === 0 ? fn.get(r) : m.i32.add(fn.get(r), fn.c32(off))), fn.c32(2));
  type Bound = readonly [number, () => Expr];
  const loop = (from: Bound, to: Bound, by: number, body: () => Expr[]): Expr => (genericDims()
    ? guardedLoop(fn, r, from[1], to[1], body, by)
    : fn.loop(r, from[0], to[0], body, by));
  const pairs: Bound = [count - (count % P), floorTo(fn, count, P)], vecs: Bound = [count - (count % LANES), floorTo(fn, count, LANES)];
  const lane = (k: number): Expr => V.extract_lane(fn.get(a0), k);
  return fn.loop(o, 0, outer, (ov) => [
    fn.set(row, m.i32.mul(ov(), fn.c32(count))),
    fn.set(a0, V.splat(fn.cf32(kind === 'max' ? -Infinity : Infinity))), fn.set(a1, fn.get(a0)),
    loop([0, () => fn.c32(0)], pairs, P, () => [
      fn.set(a0, pick(fn.get(a0), fn.loadV({ base: x, dyn: at(0) }))), fn.set(a1, pick(fn.get(a1), fn.loadV({ base: x, dyn: at(LANES) }))),
    ]),
    loop(pairs, vecs, LANES, () => [fn.set(a0, pick(fn.get(a0), fn.loadV({ base: x, dyn: at(0) })))]),
    loop(vecs, [count, () => fn.c32(count)], 1, () => [fn.set(a0, V.replace_lane(fn.get(a0), 0, pickS(lane(0), fn.load('float32', { base: x, dyn: at(0) }))))]),
    fn.set(a0, pick(fn.get(a0), fn.get(a1))),
    fn.store('float32', { base: y, dyn: m.i32.shl(ov(), fn.c32(2)) }, pickS(pickS(lane(0), lane(1)), pickS(lane(2), lane(3)))),
  ]);
}

export const REDUCE: Readonly<Record<string, KernelGen>> = {
  ReduceSum: reduce('sum'), ReduceMean: reduce('mean'), ReduceMax: reduce('max'), ReduceMin: reduce('min'), ReduceProd: reduce('prod'),
  ReduceSumSquare: reduce('sumsq'), ReduceL1: reduce('l1'), ReduceL2: reduce('l2'), ReduceLogSumExp: reduce('logsumexp'), ReduceLogSum: reduce('logsum'),
};

/** ArgMax/ArgMin along one axis (float32 or int32 input), int64 indices; a non-last axis four columns at a time. */
function argExt(isMax: boolean): KernelGen {
  return {
    emit(ctx) {
      const x = input(ctx, 0), y = output(ctx), fn = ctx.fn, m = ctx.m;
      requireDType(ctx, x, ['float32', 'int32']);
      const axis = normAxis(attrNum(ctx, 'axis'), x.dims.length), last = attrNum(ctx, 'select_last_index') !== 0;
      const outer = x.dims.slice(0, axis).reduce((a, b) => a * b, 1), L = x.dims[axis]!, inner = x.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
      if (y.size === 0) return m.nop();
      const f = x.dtype === 'float32';
      const o = fn.i32(), j = fn.i32(), i = fn.i32(), best = f ? fn.f32() : fn.i32(), v = f ? fn.f32() : fn.i32(), at = fn.i32();
      const X = (): Expr => fn.load(x.dtype, { base: x.ptr.base, dyn: m.i32.shl(m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(fn.get(o), fn.c32(L)), fn.get(i)), fn.c32(inner)), fn.get(j)), fn.c32(2)) });
      const better = (): Expr => {
        const a = fn.get(v), b = fn.get(best);
        if (f) return isMax ? (last ? m.f32.ge(a, b) : m.f32.gt(a, b)) : (last ? m.f32.le(a, b) : m.f32.lt(a, b));
        return isMax ? (last ? m.i32.ge_s(a, b) : m.i32.gt_s(a, b)) : (last ? m.i32.le_s(a, b) : m.i32.lt_s(a, b));
      };
      const column = (): Expr[] => [
        fn.set(i, fn.c32(0)), fn.set(best, X()), fn.set(at, fn.c32(0)),
        fn.loop(i, 1, L, () => [fn.set(v, X()), m.if(better(), fn.block([fn.set(best, fn.get(v)), fn.set(at, fn.get(i))]))]),
        fn.store('int64', { base: y.ptr.base, dyn: m.i32.shl(m.i32.add(m.i32.mul(fn.get(o), fn.c32(inner)), fn.get(j)), fn.c32(3)) }, m.i64.extend_s(fn.get(at))),
      ];
      // four neighbouring columns to a vector (a non-last axis: ArgMax over the classes of a segmentation map), each
      // lane taking the scalar loop's comparison at every step: the same indices, NaN and ties included
      const vb = fn.v128(), vv = fn.v128(), va = fn.v128(), mask = fn.v128();
      const XV = (): Expr => fn.loadV({ base: x.ptr.base, dyn: m.i32.shl(m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(fn.get(o), fn.c32(L)), fn.get(i)), fn.c32(inner)), fn.get(j)), fn.c32(2)) });
      const betterV = (): Expr => {
        const a = fn.get(vv), b = fn.get(vb), F = m.f32x4, I = m.i32x4;
        if (f) return isMax ? (last ? F.ge(a, b) : F.gt(a, b)) : (last ? F.le(a, b) : F.lt(a, b));
        return isMax ? (last ? I.ge_s(a, b) : I.gt_s(a, b)) : (last ? I.le_s(a, b) : I.lt_s(a, b));
      };
      const out = (): Expr => m.i32.shl(m.i32.add(m.i32.mul(fn.get(o), fn.c32(inner)), fn.get(j)), fn.c32(3));
      const columns = (): Expr[] => [
        fn.set(i, fn.c32(0)), fn.set(vb, XV()), fn.set(va, m.i32x4.splat(fn.c32(0))),
        fn.loop(i, 1, L, () => [
          fn.set(vv, XV()), fn.set(mask, betterV()),
          fn.set(vb, m.v128.bitselect(fn.get(vv), fn.get(vb), fn.get(mask))),
          fn.set(va, m.v128.bitselect(m.i32x4.splat(fn.get(i)), fn.get(va), fn.get(mask))),
        ]),
        fn.storeV({ base: y.ptr.base, dyn: out() }, m.i64x2.extend_low_i32x4_s(fn.get(va))),
        fn.storeV({ base: y.ptr.base + 16, dyn: out() }, m.i64x2.extend_high_i32x4_s(fn.get(va))),
      ];
      return fn.loop(o, 0, outer, () => [vectorLoop(fn, j, { n: inner, vector: columns, scalar: column })]);
    },
  };
}

export const ARG: Readonly<Record<string, KernelGen>> = withDTypes(['float32', 'int32'], { ArgMax: argExt(true), ArgMin: argExt(false) });
