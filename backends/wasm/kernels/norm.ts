// Normalisations: Softmax/LogSoftmax along one axis (a non-last one four columns to a vector, rows shorter than a
// vector four rows to a vector), LayerNormalization over trailing axes, and inference
// BatchNormalization folded at compile time into a per-channel scale and shift.

import binaryen from '../binaryen.js';
import { makeTensor, toNumbers } from '../../../ir/tensor.js';
import type { Expr, Fn, Local } from '../fn.js';
import { expNegV, logV } from '../math.js';
import { hmax, hsum, LANES, vectorLoop, viaVector } from '../simd.js';
import { floorTo, genericDims, guardedLoop } from '../dims-mode.js';
import type { KernelGen } from './types.js';
import { attrNum, input, normAxis, output, prod, requireDType, unsupported, withDTypes } from './util.js';

/** A pass over a row of n elements with element stride `stride`: SIMD when contiguous, scalar otherwise. */
function rowPass(fn: Fn, i: Local, n: number, stride: number, vector: (at: () => Expr) => Expr[], scalar: (at: () => Expr) => Expr[], base: Local): Expr {
  const m = fn.m;
  const at = (): Expr => m.i32.shl(m.i32.add(fn.get(base), stride === 1 ? fn.get(i) : m.i32.mul(fn.get(i), fn.c32(stride))), fn.c32(2));
  if (stride === 1) return vectorLoop(fn, i, { n, vector: () => vector(at), scalar: () => scalar(at) });
  return fn.loop(i, 0, n, () => scalar(at));
}

function softmax(log: boolean): KernelGen {
  return {
    emit(ctx) {
      const x = input(ctx, 0), y = output(ctx), fn = ctx.fn, m = ctx.m, V = m.f32x4;
      requireDType(ctx, x, ['float32']);
      if (x.size === 0) return m.nop();
      const axis = normAxis(attrNum(ctx, 'axis'), x.dims.length);
      const outer = prod(x.dims.slice(0, axis)), L = x.dims[axis]!, inner = prod(x.dims.slice(axis + 1));
      const o = fn.i32(), j = fn.i32(), i = fn.i32(), base = fn.i32();
      const vmax = fn.v128(), vsum = fn.v128(), mx = fn.f32(), sum = fn.f32(), e = fn.f32();
      const X = (at: () => Expr): Expr => fn.load('float32', { base: x.ptr.base, dyn: at() });
      const XV = (at: () => Expr): Expr => fn.loadV({ base: x.ptr.base, dyn: at() });
      const lane0 = (v: Local, f: (a: Expr) => Expr): Expr => fn.set(v, m.f32x4.replace_lane(fn.get(v), 0, f(m.f32x4.extract_lane(fn.get(v), 0))));
      const expS = (a: Expr): Expr => viaVector(fn, (v) => expNegV(fn, v), a);
      const body = (): Expr[] => [
        fn.set(base, m.i32.add(m.i32.mul(fn.get(o), fn.c32(L * inner)), fn.get(j))),
        fn.set(vmax, V.splat(fn.cf32(-Infinity))),
        rowPass(fn, i, L, inner, (at) => [fn.set(vmax, V.max(fn.get(vmax), XV(at)))], (at) => [lane0(vmax, (a) => m.f32.max(a, X(at)))], base),
        fn.set(mx, hmax(fn, vmax)),
        fn.set(vsum, V.splat(fn.cf32(0))),
        rowPass(fn, i, L, inner,
          (at) => log ? [fn.set(vsum, V.add(fn.get(vsum), expNegV(fn, V.sub(XV(at), V.splat(fn.get(mx))))))]
            : [fn.storeV({ base: y.ptr.base, dyn: at() }, fn.tee(vmax, expNegV(fn, V.sub(XV(at), V.splat(fn.get(mx)))))), fn.set(vsum, V.add(fn.get(vsum), fn.get(vmax)))],
          (at) => [fn.set(e, expS(m.f32.sub(X(at), fn.get(mx)))), ...(log ? [] : [fn.store('float32', { base: y.ptr.base, dyn: at() }, fn.get(e))]), lane0(vsum, (a) => m.f32.add(a, fn.get(e)))], base),
        fn.set(sum, hsum(fn, vsum)),
        log
          ? fn.block([
            fn.set(sum, m.f32.add(fn.get(mx), viaVector(fn, (v) => logV(fn, v), fn.get(sum)))),
            rowPass(fn, i, L, inner, (at) => [fn.storeV({ base: y.ptr.base, dyn: at() }, V.sub(XV(at), V.splat(fn.get(sum))))],
              (at) => [fn.store('float32', { base: y.ptr.base, dyn: at() }, m.f32.sub(X(at), fn.get(sum)))], base),
          ])
          : fn.block([
            fn.set(sum, m.f32.div(fn.cf32(1), fn.get(sum))),
            rowPass(fn, i, L, inner, (at) => [fn.storeV({ base: y.ptr.base, dyn: at() }, V.mul(fn.loadV({ base: y.ptr.base, dyn: at() }), V.splat(fn.get(sum))))],
              (at) => [fn.store('float32', { base: y.ptr.base, dyn: at() }, m.f32.mul(fn.load('float32', { base: y.ptr.base, dyn: at() }), fn.get(sum)))], base),
          ]),
      ];
      // Four rows at a time, one to a lane, each through the steps of the row loop above in its order (the max, then
      // the sum from lane 0, then 1/sum or mx + log(sum)): the same bits. `ld(p, i)`: the vector of the rows' element
      // i in tensor p; `st(p, i, v)` stores one.
      const cv = fn.v128(), cs = fn.v128(), t = fn.v128();
      type Ld = (p: number, i: () => Expr) => Expr;
      const lanes = (ld: Ld, st: (p: number, i: () => Expr, v: Expr) => Expr[]): Expr[] => [
        fn.set(cv, V.splat(fn.cf32(-Infinity))),
        fn.loop(i, 0, L, (iv) => [fn.set(cv, V.max(fn.get(cv), ld(x.ptr.base, iv)))]),
        fn.set(cs, V.splat(fn.cf32(0))),
        fn.loop(i, 0, L, (iv) => [
          fn.set(t, expNegV(fn, V.sub(ld(x.ptr.base, iv), fn.get(cv)))),
          ...(log ? [] : st(y.ptr.base, iv, fn.get(t))),
          fn.set(cs, V.add(fn.get(cs), fn.get(t))),
        ]),
        log
          ? fn.block([
            fn.set(cs, V.add(fn.get(cv), logV(fn, fn.get(cs)))),
            fn.loop(i, 0, L, (iv) => st(y.ptr.base, iv, V.sub(ld(x.ptr.base, iv), fn.get(cs)))),
          ])
          : fn.block([
            fn.set(cs, V.div(V.splat(fn.cf32(1)), fn.get(cs))),
            fn.loop(i, 0, L, (iv) => st(y.ptr.base, iv, V.mul(ld(y.ptr.base, iv), fn.get(cs)))),
          ]),
      ];
      if (inner === 1 && L < LANES && !genericDims()) {
        // rows shorter than a vector (ultraface's two-class scores) would run all scalar: a lane per row instead,
        // gathered and scattered (a static choice only: a dynamic build keeps one shape for every L)
        const el = (k: number, i: () => Expr): Expr => m.i32.shl(m.i32.add(m.i32.add(fn.get(base), fn.c32(k * L)), i()), fn.c32(2));
        const ld: Ld = (p, i) => [1, 2, 3].reduce((v, k) => V.replace_lane(v, k, fn.load('float32', { base: p, dyn: el(k, i) })), V.splat(fn.load('float32', { base: p, dyn: el(0, i) })));
        const st = (p: number, i: () => Expr, v: Expr): Expr[] => [fn.set(t, v), ...[0, 1, 2, 3].map((k) => fn.store('float32', { base: p, dyn: el(k, i) }, V.extract_lane(fn.get(t), k)))];
        return vectorLoop(fn, o, { n: outer, vector: () => [fn.set(base, m.i32.mul(fn.get(o), fn.c32(L))), ...lanes(ld, st)], scalar: () => [fn.set(j, fn.c32(0)), ...body()] });
      }
      // a non-last axis: four neighbouring columns at a time
      const colAt = (i: () => Expr): Expr => m.i32.shl(m.i32.add(fn.get(base), m.i32.mul(i(), fn.c32(inner))), fn.c32(2));
      const columns = (): Expr[] => [
        fn.set(base, m.i32.add(m.i32.mul(fn.get(o), fn.c32(L * inner)), fn.get(j))),
        ...lanes((p, i) => fn.loadV({ base: p, dyn: colAt(i) }), (p, i, v) => [fn.storeV({ base: p, dyn: colAt(i) }, v)]),
      ];
      return fn.loop(o, 0, outer, () => [vectorLoop(fn, j, { n: inner, vector: columns, scalar: body })]);
    },
  };
}

/** acc = the sum of f(x) over a row of n floats, in one order whatever n is and whether it is known statically (a
 *  dynamic-dims build emits the bounds as run-time arithmetic on n): pairs of vectors into two accumulators (one
 *  dependent add chain held a 256-float LayerNorm row to the add's latency), a last single vector into the first,
 *  the last n % 4 floats into its lane 0, then the two added. A static and a dynamic build must sum alike:
 *  minilm_l6_dyn's dynamic quantisation turned a last-bit difference between them into 0.012
 *  (test/wasm/dyn-models.test.ts). `vec(off)`: f of the vector at element i + off; `scalar()`: f of element i. */
function rowSum(fn: Fn, i: Local, n: number, acc: Local, acc2: Local, vec: (off: number) => Expr, scalar: () => Expr): Expr[] {
  const m = fn.m, V = m.f32x4, P = 2 * LANES;
  /** A bound: its static value and its generic-build expression. */
  type Bound = readonly [number, () => Expr];
  const zero: Bound = [0, () => fn.c32(0)], pairs: Bound = [n - (n % P), floorTo(fn, n, P)];
  const vecs: Bound = [n - (n % LANES), floorTo(fn, n, LANES)], end: Bound = [n, () => fn.c32(n)];
  const loop = (from: Bound, to: Bound, step: number, body: () => Expr[]): Expr => (genericDims()
    ? guardedLoop(fn, i, from[1], to[1], body, step)
    : fn.loop(i, from[0], to[0], body, step));
  const add = (a: Local, v: Expr): Expr => fn.set(a, V.add(fn.get(a), v));
  return [
    fn.set(acc, V.splat(fn.cf32(0))), fn.set(acc2, V.splat(fn.cf32(0))),
    loop(zero, pairs, P, () => [add(acc, vec(0)), add(acc2, vec(LANES))]),
    loop(pairs, vecs, LANES, () => [add(acc, vec(0))]),
    loop(vecs, end, 1, () => [fn.set(acc, V.replace_lane(fn.get(acc), 0, m.f32.add(V.extract_lane(fn.get(acc), 0), scalar())))]),
    add(acc, fn.get(acc2)),
  ];
}

/** LayerNormalization, or RMSNormalization (no mean subtraction, no bias) when `rms`. */
const layerNormOf = (rms: boolean): KernelGen => ({
  emit(ctx) {
    const x = input(ctx, 0), scale = input(ctx, 1), bias = rms ? undefined : ctx.inputs[2], y = output(ctx), fn = ctx.fn, m = ctx.m, V = m.f32x4;
    requireDType(ctx, x, ['float32']);
    const meanOut = rms ? undefined : ctx.outputs[1], invOut = rms ? undefined : ctx.outputs[2];
    for (const t of [meanOut, invOut]) if (t && t.dtype !== 'float32') unsupported(ctx, `with ${t.dtype} statistics`);
    const axis = normAxis(attrNum(ctx, 'axis'), x.dims.length), eps = attrNum(ctx, 'epsilon');
    const rows = prod(x.dims.slice(0, axis)), L = prod(x.dims.slice(axis));
    if (scale.size !== L || (bias && bias.size !== L)) unsupported(ctx, 'with scale/bias that broadcast (they must cover the normalised axes)');
    if (x.size === 0) return m.nop();
    const r = fn.i32(), i = fn.i32(), base = fn.i32(), acc = fn.v128(), acc2 = fn.v128(), mean = fn.f32(), inv = fn.f32(), d = fn.f32();
    const stat = (t: typeof meanOut, v: Local): Expr => (t ? fn.store('float32', { base: t.ptr.base, dyn: m.i32.shl(fn.get(r), fn.c32(2)) }, fn.get(v)) : m.nop());
    const at = (): Expr => m.i32.shl(m.i32.add(fn.get(base), fn.get(i)), fn.c32(2));
    const pi = (): Expr => m.i32.shl(fn.get(i), fn.c32(2));
    const X = (): Expr => fn.load('float32', { base: x.ptr.base, dyn: at() });
    const XV = (off = 0): Expr => fn.loadV({ base: x.ptr.base + 4 * off, dyn: at() });
    // (x - mean)^2 of a vector and of a scalar, through a temporary
    const sqV = (off: number): Expr => { const t = fn.v128(); return m.block(null, [fn.set(t, V.sub(XV(off), V.splat(fn.get(mean)))), V.mul(fn.get(t), fn.get(t))], binaryen.v128); };
    const sqS = (): Expr => m.block(null, [fn.set(d, m.f32.sub(X(), fn.get(mean))), m.f32.mul(fn.get(d), fn.get(d))], binaryen.f32);
    const affineV = (v: Expr): Expr => {
      const s = V.mul(v, fn.loadV({ base: scale.ptr.base, dyn: pi() }));
      return bias ? V.add(s, fn.loadV({ base: bias.ptr.base, dyn: pi() })) : s;
    };
    const affineS = (v: Expr): Expr => {
      const s = m.f32.mul(v, fn.load('float32', { base: scale.ptr.base, dyn: pi() }));
      return bias ? m.f32.add(s, fn.load('float32', { base: bias.ptr.base, dyn: pi() })) : s;
    };
    return fn.loop(r, 0, rows, (rv) => [
      fn.set(base, m.i32.mul(rv(), fn.c32(L))),
      // (RMSNormalization: no mean to sum, it is 0)
      ...(rms ? [fn.set(mean, fn.cf32(0))] : [...rowSum(fn, i, L, acc, acc2, XV, X), fn.set(mean, m.f32.div(hsum(fn, acc), fn.cf32(L)))]),
      ...rowSum(fn, i, L, acc, acc2, sqV, sqS),
      fn.set(inv, m.f32.div(fn.cf32(1), m.f32.sqrt(m.f32.add(m.f32.div(hsum(fn, acc), fn.cf32(L)), fn.cf32(eps))))),
      stat(meanOut, mean), stat(invOut, inv),
      vectorLoop(fn, i, {
        n: L,
        vector: () => [fn.storeV({ base: y.ptr.base, dyn: at() }, affineV(V.mul(V.sub(XV(), V.splat(fn.get(mean))), V.splat(fn.get(inv)))))],
        scalar: () => [fn.store('float32', { base: y.ptr.base, dyn: at() }, affineS(m.f32.mul(m.f32.sub(X(), fn.get(mean)), fn.get(inv))))],
      }),
    ]);
  },
});

const batchNorm: KernelGen = {
  unread: () => [1, 2, 3, 4],
  prepack(ctx) {
    const x = input(ctx, 0);
    if (ctx.outputs[1] || ctx.outputs[2]) unsupported(ctx, 'in training mode');
    const [sc, b, mean, vr] = [1, 2, 3, 4].map((k) => input(ctx, k));
    if (![sc, b, mean, vr].every((t) => t!.constant)) unsupported(ctx, 'with run-time scale/bias/mean/var');
    // y = x * s + t per channel, with s and t folded once here
    const eps = attrNum(ctx, 'epsilon'), C = x.dims[1] ?? 1;
    const s = makeTensor('float32', [C]), t = makeTensor('float32', [C]);
    const [S, B, M, R] = [sc, b, mean, vr].map((q) => toNumbers(q!.constant!));
    for (let c = 0; c < C; c++) { s.data[c] = S![c]! / Math.sqrt(R![c]! + eps); t.data[c] = B![c]! - M![c]! * s.data[c]!; }
    return [s, t];
  },
  emit(ctx) {
    const x = input(ctx, 0), y = output(ctx), fn = ctx.fn, m = ctx.m, V = m.f32x4;
    requireDType(ctx, x, ['float32']);
    const C = x.dims[1] ?? 1;
    const sp = ctx.packed[0]!.ptr, tp = ctx.packed[1]!.ptr;
    const N = x.dims[0] ?? 1, HW = prod(x.dims.slice(2));
    const nc = fn.i32(), i = fn.i32(), base = fn.i32(), vs = fn.v128(), vt = fn.v128();
    const at = (): Expr => m.i32.shl(m.i32.add(fn.get(base), fn.get(i)), fn.c32(2));
    const cOf = (): Expr => m.i32.shl(m.i32.rem_u(fn.get(nc), fn.c32(C)), fn.c32(2));
    return fn.loop(nc, 0, N * C, (v) => [
      fn.set(base, m.i32.mul(v(), fn.c32(HW))),
      fn.set(vs, V.splat(fn.load('float32', { base: sp.base, dyn: cOf() }))),
      fn.set(vt, V.splat(fn.load('float32', { base: tp.base, dyn: cOf() }))),
      vectorLoop(fn, i, {
        n: HW,
        vector: () => [fn.storeV({ base: y.ptr.base, dyn: at() }, V.add(V.mul(fn.loadV({ base: x.ptr.base, dyn: at() }), fn.get(vs)), fn.get(vt)))],
        scalar: () => [fn.store('float32', { base: y.ptr.base, dyn: at() }, m.f32.add(m.f32.mul(fn.load('float32', { base: x.ptr.base, dyn: at() }), m.f32x4.extract_lane(fn.get(vs), 0)), m.f32x4.extract_lane(fn.get(vt), 0)))],
      }),
    ]);
  },
};

export const NORM: Readonly<Record<string, KernelGen>> = withDTypes(['float32'], {
  Softmax: softmax(false), LogSoftmax: softmax(true), LayerNormalization: layerNormOf(false), RMSNormalization: layerNormOf(true), BatchNormalization: batchNorm,});
