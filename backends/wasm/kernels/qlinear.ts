// onnxc.QLinearAdd (the QDQ Add: float32 dequantise, add, divide, round half to even, saturate; 16 elements a step
// when A and B have Y's shape, a broadcast loop nest otherwise) and QLinearMatMul (int32 sum, then the
// reference's f64 product a_scale * b_scale / y_scale rounded to float32; scalar loops, batched like MatMulInteger).

import type { Expr } from '../fn.js';
import { broadcastStrides, collapse, nest } from '../layout.js';
import { f64c, ldF, ldI } from './scalar.js';
import type { KernelContext, KernelGen, TensorRef } from './types.js';
import { input, output, prod, strides } from './util.js';

/** One element of QLinearAdd in f32 from its two 8-bit inputs (i32 values): the exact unfused float32 steps. */
function addScalar(ctx: KernelContext, a: Expr, b: Expr, p: { sa: Expr; za: Expr; sb: Expr; zb: Expr; sy: Expr; zy: Expr }, dtype: string): Expr {
  const m = ctx.m, f = m.f32;
  const va = f.mul(f.convert_s.i32(m.i32.sub(a, p.za)), p.sa), vb = f.mul(f.convert_s.i32(m.i32.sub(b, p.zb)), p.sb);
  const q = f.add(f.nearest(f.div(f.add(va, vb), p.sy)), f.convert_s.i32(p.zy));
  const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
  return m.i32.trunc_s_sat.f32(f.min(f.max(q, ctx.fn.cf32(lo)), ctx.fn.cf32(hi)));
}

const qlinearAdd: KernelGen = {
  emit(ctx) {
    const { fn, m } = ctx, V = m.f32x4, I = m.i32x4;
    const a = input(ctx, 0), b = input(ctx, 3), y = output(ctx);
    if (y.size === 0) return m.nop();
    const sa = fn.f32(), sb = fn.f32(), sy = fn.f32(), za = fn.i32(), zb = fn.i32(), zy = fn.i32();
    const G = (l: { index: number; type: number }): Expr => fn.get(l);
    const setup = [
      fn.set(sa, m.f32.demote(ldF(fn, input(ctx, 1), fn.c32(0)))), fn.set(za, ldI(fn, input(ctx, 2), fn.c32(0))),
      fn.set(sb, m.f32.demote(ldF(fn, input(ctx, 4), fn.c32(0)))), fn.set(zb, ldI(fn, input(ctx, 5), fn.c32(0))),
      fn.set(sy, m.f32.demote(ldF(fn, input(ctx, 6), fn.c32(0)))), fn.set(zy, ldI(fn, input(ctx, 7), fn.c32(0))),
    ];
    const params = (): { sa: Expr; za: Expr; sb: Expr; zb: Expr; sy: Expr; zy: Expr } => ({ sa: G(sa), za: G(za), sb: G(sb), zb: G(zb), sy: G(sy), zy: G(zy) });
    const ld8 = (t: TensorRef, at: Expr): Expr => (t.dtype === 'int8' ? m.i32.load8_s(t.ptr.base, 1, at) : m.i32.load8_u(t.ptr.base, 1, at));
    if (a.size !== y.size || b.size !== y.size) {
      // broadcast: a loop nest carrying each operand's element offset
      const sets = [broadcastStrides(a.dims, y.dims), broadcastStrides(b.dims, y.dims), strides(y.dims)];
      const c = collapse(y.dims, sets);
      return fn.block([...setup, nest(fn, c.dims, c.sets, ([oa, ob, oy]) => [
        m.i32.store8(y.ptr.base, 1, oy!, addScalar(ctx, ld8(a, oa!), ld8(b, ob!), params(), y.dtype)),
      ])]);
    }
    // 16 elements a step: each operand widened to four i32x4, the float32 steps on f32x4, narrowed back
    const i = fn.i32(), va = fn.v128(), vb = fn.v128();
    const widen = (v: Expr, signed: boolean, q: number): Expr => {
      const h = q < 2 ? (signed ? m.i16x8.extend_low_i8x16_s(v) : m.i16x8.extend_low_i8x16_u(v)) : (signed ? m.i16x8.extend_high_i8x16_s(v) : m.i16x8.extend_high_i8x16_u(v));
      return q % 2 === 0 ? (signed ? I.extend_low_i16x8_s(h) : I.extend_low_i16x8_u(h)) : (signed ? I.extend_high_i16x8_s(h) : I.extend_high_i16x8_u(h));
    };
    const quarter = (q: number): Expr => {
      const fa = V.mul(V.convert_i32x4_s(I.sub(widen(G(va), a.dtype === 'int8', q), I.splat(G(za)))), V.splat(G(sa)));
      const fb = V.mul(V.convert_i32x4_s(I.sub(widen(G(vb), b.dtype === 'int8', q), I.splat(G(zb)))), V.splat(G(sb)));
      return I.add(I.trunc_sat_f32x4_s(V.nearest(V.div(V.add(fa, fb), V.splat(G(sy))))), I.splat(G(zy)));
    };
    const lo = m.i16x8.narrow_i32x4_s(quarter(0), quarter(1)), hi = m.i16x8.narrow_i32x4_s(quarter(2), quarter(3));
    const packed = y.dtype === 'int8' ? m.i8x16.narrow_i16x8_s(lo, hi) : m.i8x16.narrow_i16x8_u(lo, hi);
    const full = y.size - (y.size % 16);
    return fn.block([
      ...setup,
      fn.loop(i, 0, full, () => [
        fn.set(va, m.v128.load(a.ptr.base, 1, G(i))), fn.set(vb, m.v128.load(b.ptr.base, 1, G(i))),
        m.v128.store(y.ptr.base, 1, G(i), packed),
      ], 16),
      fn.loop(i, full, y.size, () => [m.i32.store8(y.ptr.base, 1, G(i), addScalar(ctx, ld8(a, G(i)), ld8(b, G(i)), params(), y.dtype))]),
    ]);
  },
};

/** A per-row (A) or per-column (B) parameter: its index for row/column `i`, or 0 for a scalar. */
const slice = (t: TensorRef, i: () => Expr, fn: KernelContext['fn']): Expr => (t.size === 1 ? fn.c32(0) : i());

const qlinearMatMul: KernelGen = {
  emit(ctx) {
    const { fn, m } = ctx;
    const a = input(ctx, 0), b = input(ctx, 3), y = output(ctx);
    const [sa, za, sb, zb, sy, zy] = [1, 2, 4, 5, 6, 7].map((k) => input(ctx, k)) as [TensorRef, TensorRef, TensorRef, TensorRef, TensorRef, TensorRef];
    const A = a.dims.length === 1 ? [1, a.dims[0]!] : a.dims, B = b.dims.length === 1 ? [b.dims[0]!, 1] : b.dims;
    const M = A.at(-2)!, K = A.at(-1)!, N = B.at(-1)!;
    const outBatch = y.dims.slice(0, y.dims.length - (a.dims.length > 1 ? 1 : 0) - (b.dims.length > 1 ? 1 : 0));
    const aS = broadcastStrides(A.slice(0, -2), outBatch), bS = broadcastStrides(B.slice(0, -2), outBatch), oS = strides(outBatch);
    if ([sa, za].some((t) => t.size !== 1 && t.size !== M) || [sb, zb].some((t) => t.size !== 1 && t.size !== N)) {
      throw new Error(`internal: QLinearMatMul '${ctx.node.name}' batched scales reach the wasm kernel`);
    }
    const t = fn.i32(), r = fn.i32(), c = fn.i32(), k = fn.i32(), acc = fn.i32(), ab = fn.i32(), bb = fn.i32(), zr = fn.i32(), zc = fn.i32();
    const q = fn.forType('f64');
    const G = (l: typeof t) => (): Expr => fn.get(l);
    const off = (s: readonly number[], blk: number): Expr => {
      let e: Expr = fn.c32(0);
      s.forEach((st0, d) => { if (st0) e = m.i32.add(e, m.i32.mul(m.i32.rem_u(m.i32.div_u(fn.get(t), fn.c32(oS[d]!)), fn.c32(outBatch[d]!)), fn.c32(st0 * blk))); });
      return e;
    };
    const ld8 = (x: TensorRef, at: Expr): Expr => (x.dtype === 'int8' ? m.i32.load8_s(x.ptr.base, 1, at) : m.i32.load8_u(x.ptr.base, 1, at));
    const [lo, hi] = y.dtype === 'int8' ? [-128, 127] : [0, 255];
    return fn.loop(t, 0, prod(outBatch), () => [
      fn.set(ab, off(aS, M * K)), fn.set(bb, off(bS, K * N)),
      fn.loop(r, 0, M, () => [
        fn.set(zr, ldI(fn, za, slice(za, G(r), fn))),
        fn.loop(c, 0, N, () => [
          fn.set(zc, ldI(fn, zb, slice(zb, G(c), fn))),
          fn.set(acc, fn.c32(0)),
          fn.loop(k, 0, K, () => [fn.set(acc, m.i32.add(fn.get(acc), m.i32.mul(
            m.i32.sub(ld8(a, m.i32.add(fn.get(ab), m.i32.add(m.i32.mul(fn.get(r), fn.c32(K)), fn.get(k)))), fn.get(zr)),
            m.i32.sub(ld8(b, m.i32.add(fn.get(bb), m.i32.add(m.i32.mul(fn.get(k), fn.c32(N)), fn.get(c)))), fn.get(zc)))))]),
          // acc * a_scale * b_scale / y_scale in f64 (left to right, as the reference), then float32
          fn.set(q, m.f64.div(m.f64.mul(m.f64.mul(m.f64.convert_s.i32(fn.get(acc)), ldF(fn, sa, slice(sa, G(r), fn))), ldF(fn, sb, slice(sb, G(c), fn))), ldF(fn, sy, fn.c32(0)))),
          fn.set(q, m.f64.add(m.f64.nearest(m.f64.promote(m.f32.demote(fn.get(q)))), m.f64.convert_s.i32(ldI(fn, zy, fn.c32(0))))),
          m.i32.store8(y.ptr.base, 1, m.i32.add(m.i32.mul(fn.get(t), fn.c32(M * N)), m.i32.add(m.i32.mul(fn.get(r), fn.c32(N)), fn.get(c))),
            m.i32.trunc_s_sat.f64(m.f64.min(m.f64.max(fn.get(q), f64c(fn, lo)), f64c(fn, hi)))),
        ]),
      ]),
    ]);
  },
};

export const QLINEAR_KERNELS: Readonly<Record<string, KernelGen>> = { 'onnxc.QLinearAdd': qlinearAdd, QLinearMatMul: qlinearMatMul };
