// MatMulInteger with a constant 2-D B (what dynamic quantisation makes): int32 Y = (A - a_zp) @ (B - b_zp) on SIMD
// with i32x4.dot_i16x8_s. B - b_zp is packed once as int8 (it must fit: int8 B without a zero point, or uint8 B
// around a zero point of ~128) in panels of 8 columns, K in pairs, so one 8-byte load widened to i16x8 holds two K
// steps of four columns; A - a_zp is widened once per run into i16 scratch, so a 4-byte splat holds the matching K
// pair of a row. 4 rows x 8 columns of i32x4 accumulators per micro-tile. Other forms take the scalar kernel. A
// `--simd relaxed` build with 7-bit B - b_zp multiplies with relaxed_dot_i8x16_i7x16 (int8-relaxed.ts), same results.

import { makeTensor, toNumbers, type Tensor } from '../../../ir/tensor.js';
import type { Expr, Local } from '../fn.js';
import { floorTo, genericDims, guardedLoop } from '../dims-mode.js';
import { isRelaxed } from '../relaxed.js';
import { fitsSevenBits, layoutOf, regionsOf, relaxedGemm, scratchBytes } from './int8-relaxed.js';
import { QUANT } from './quant.js';
import type { KernelContext, KernelGen, PlanContext } from './types.js';
import { input, output } from './util.js';

const MR = 4, NR = 8;
const scalar = QUANT['MatMulInteger']!;

interface Plan { readonly K: number; readonly Kp: number; readonly N: number; readonly P: number; readonly rows: number; readonly centred: Int8Array }

/** The SIMD plan, or undefined when the scalar kernel must run (B not a constant 2-D, B - b_zp beyond int8). */
function plan(ctx: PlanContext): Plan | undefined {
  const a = ctx.inputs[0], b = ctx.inputs[1], zb = ctx.inputs[3];
  if (!a || !b?.constant || b.dims.length !== 2 || a.dims.length < 2) return undefined;
  if (ctx.inputs[2] && ctx.inputs[2].size !== 1) return undefined;
  if (zb && !zb.constant) return undefined;
  const [K, N] = b.dims as [number, number];
  const q = toNumbers(b.constant), z = zb ? toNumbers(zb.constant!) : [0];
  if (z.length !== 1 && z.length !== N) return undefined;
  const centred = new Int8Array(K * N);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      const v = q[k * N + n]! - z[z.length === 1 ? 0 : n]!;
      if (v < -128 || v > 127) return undefined;
      centred[k * N + n] = v;
    }
  }
  const Kp = K + (K % 2);
  return { K, Kp, N, P: Math.ceil(N / NR), rows: a.size / K, centred };
}

/** Panels of 8 columns; per K pair 16 bytes: for column j, B[k, j] then B[k+1, j] (so a widened i16x8 pairs them). */
function packB(p: Plan): Tensor {
  const out = new Int8Array(p.P * p.Kp * NR);
  for (let pi = 0; pi < p.P; pi++) {
    for (let k = 0; k < p.K; k++) {
      for (let j = 0; j < NR; j++) {
        const n = pi * NR + j;
        if (n >= p.N) continue;
        const pair = k >> 1, half = j >> 2, col = j & 3;
        out[((pi * (p.Kp / 2) + pair) * 2 + half) * 8 + col * 2 + (k & 1)] = p.centred[k * p.N + n]!;
      }
    }
  }
  return makeTensor('int8', [out.length], out);
}

export const matMulIntegerSimd: KernelGen = {
  // planning does not know the build's SIMD mode: room for the strict i16 rows or the relaxed i8 ones
  scratch: (ctx) => { const p = plan(ctx); return p ? Math.max(p.rows * p.Kp * 2 + 16, scratchBytes(p.rows, p.K)) : scalar.scratch?.(ctx) ?? 0; },
  prepack: (ctx) => { const p = plan(ctx); return p ? [packB(p)] : scalar.prepack?.(ctx) ?? []; },
  unread: (ctx) => (plan(ctx) ? [1, ...(ctx.inputs[3] ? [3] : [])] : scalar.unread?.(ctx) ?? []),
  emit(ctx) {
    const p = plan(ctx);
    if (!p) return scalar.emit(ctx);
    // a dynamic-dims sample keeps the strict kernel (its row count is a run-time value there)
    return isRelaxed(ctx.fn) && !genericDims() && fitsSevenBits(p.centred) ? emitRelaxed(ctx, p) : emit(ctx, p);
  },
};

function emit(ctx: KernelContext, p: Plan): Expr {
  const { fn, m } = ctx, I = m.i32x4;
  const a = input(ctx, 0), za = ctx.inputs[2], y = output(ctx), bP = ctx.packed[0]!, s = ctx.scratch;
  const ld = (dtype: string, at: Expr): Expr => (dtype === 'int8' ? m.i32.load8_s(a.ptr.base, 1, at) : m.i32.load8_u(a.ptr.base, 1, at));
  const i = fn.i32(), r = fn.i32(), z = fn.i32(), pi = fn.i32(), mi = fn.i32(), ki = fn.i32(), pa = fn.i32(), pb = fn.i32();
  const acc = Array.from({ length: MR }, () => [fn.v128(), fn.v128()] as const);
  const b0 = fn.v128(), b1 = fn.v128(), av = fn.v128(), t = fn.v128();
  const g = (l: Local): Expr => fn.get(l);
  const c = (n: number): Expr => fn.c32(n);
  const body: Expr[] = [];
  // A - a_zp as i16 rows of Kp (an odd K's last pair padded with 0)
  body.push(fn.set(z, za ? (za.dtype === 'int8' ? m.i32.load8_s(za.ptr.base, 1, c(0)) : m.i32.load8_u(za.ptr.base, 1, c(0))) : c(0)));
  body.push(fn.loop(r, 0, p.rows, () => [
    fn.loop(i, 0, p.K, () => [m.i32.store16(s.base, 2, m.i32.add(m.i32.mul(g(r), c(2 * p.Kp)), m.i32.shl(g(i), c(1))),
      m.i32.sub(ld(a.dtype, m.i32.add(m.i32.mul(g(r), c(p.K)), g(i))), g(z)))]),
    ...(p.Kp > p.K ? [m.i32.store16(s.base + 2 * p.K, 2, m.i32.mul(g(r), c(2 * p.Kp)), c(0))] : []),
  ]));
  const tile = (rows: number, cols: number): Expr[] => {
    const out: Expr[] = [
      fn.set(pa, m.i32.mul(g(mi), c(2 * p.Kp))),
      fn.set(pb, m.i32.mul(g(pi), c(p.Kp * NR))),
    ];
    for (let q = 0; q < rows; q++) for (let j = 0; j < 2; j++) out.push(fn.set(acc[q]![j]!, I.splat(c(0))));
    out.push(fn.loop(ki, 0, p.Kp / 2, () => {
      const st: Expr[] = [
        fn.set(b0, m.v128.load8x8_s(bP.ptr.base, 1, g(pb))),
        fn.set(b1, m.v128.load8x8_s(bP.ptr.base + 8, 1, g(pb))),
      ];
      for (let q = 0; q < rows; q++) {
        st.push(fn.set(av, m.v128.load32_splat(s.base + 2 * p.Kp * q, 2, g(pa))));
        st.push(fn.set(acc[q]![0], I.add(g(acc[q]![0]), I.dot_i16x8_s(g(av), g(b0)))));
        st.push(fn.set(acc[q]![1], I.add(g(acc[q]![1]), I.dot_i16x8_s(g(av), g(b1)))));
      }
      st.push(fn.set(pa, m.i32.add(g(pa), c(4))), fn.set(pb, m.i32.add(g(pb), c(16))));
      return st;
    }));
    const rowAt = (): Expr => m.i32.add(m.i32.mul(g(mi), c(4 * p.N)), m.i32.mul(g(pi), c(NR * 4)));
    for (let q = 0; q < rows; q++) {
      for (let j = 0; j < 2; j++) {
        const n0 = 4 * j;
        if (n0 >= cols) continue;
        const off = y.ptr.base + 4 * (q * p.N + n0);
        if (cols - n0 >= 4) out.push(m.v128.store(off, 4, rowAt(), g(acc[q]![j]!)));
        else {
          out.push(fn.set(t, g(acc[q]![j]!)));
          for (let l = 0; l < cols - n0; l++) out.push(m.i32.store(off + 4 * l, 4, rowAt(), I.extract_lane(g(t), l)));
        }
      }
    }
    return out;
  };
  const rowsOf = (cols: number): Expr[] => {
    // a dynamic-dims sample: whole tiles, then one row at a time, split at run time (dims-mode.ts)
    if (genericDims()) return [guardedLoop(fn, mi, () => c(0), floorTo(fn, p.rows, MR), () => tile(MR, cols), MR), guardedLoop(fn, mi, floorTo(fn, p.rows, MR), () => c(p.rows), () => tile(1, cols))];
    const mFull = p.rows - (p.rows % MR);
    return [fn.loop(mi, 0, mFull, () => tile(MR, cols), MR), ...(p.rows % MR ? [fn.set(mi, c(mFull)), ...tile(p.rows % MR, cols)] : [])];
  };
  const pFull = Math.floor(p.N / NR);
  body.push(fn.loop(pi, 0, pFull, () => rowsOf(NR)));
  if (p.N % NR) body.push(fn.set(pi, c(pFull)), ...rowsOf(p.N % NR));
  return fn.block(body);
}

export const MATMUL_INT8: Readonly<Record<string, KernelGen>> = { MatMulInteger: matMulIntegerSimd };

/** The relaxed form: A - o as i8 rows (o = 128 for uint8 A) with their sums; the accumulators start at
 *  (o - a_zp) * the column's weight sum, so they end at the strict kernel's (A - a_zp) @ (B - b_zp). */
function emitRelaxed(ctx: KernelContext, p: Plan): Expr {
  const { fn, m } = ctx, I = m.i32x4;
  const a = input(ctx, 0), za = ctx.inputs[2], y = output(ctx), bP = ctx.packed[0]!;
  const o = a.dtype === 'uint8' ? 128 : 0, L = layoutOf(p.K), R = regionsOf(ctx.scratch.base, p.rows, L), core = relaxedGemm(ctx, L, R);
  const r = fn.i32(), i = fn.i32(), shift = fn.i32(), pi = fn.i32(), mi = fn.i32();
  const sums = [fn.v128(), fn.v128()] as const, base = [fn.v128(), fn.v128()] as const, t = fn.v128();
  const g = (l: Local): Expr => fn.get(l), c = (n: number): Expr => fn.c32(n);
  const flip = (v: Expr): Expr => (o ? m.v128.xor(v, m.i8x16.splat(c(0x80))) : v);
  const vec = p.K - (p.K % 16);
  const body: Expr[] = [
    fn.set(shift, za ? m.i32.sub(c(o), za.dtype === 'int8' ? m.i32.load8_s(za.ptr.base, 1, c(0)) : m.i32.load8_u(za.ptr.base, 1, c(0))) : c(o)),
    fn.loop(r, 0, p.rows, () => [
      // the pad past K (K quads and the row sum read it) is zero; the row then overwrites what is its own
      ...(L.Kr > L.K ? [m.v128.store(R.a + L.Kr - 16, 1, m.i32.mul(g(r), c(L.Kr)), m.v128.const(new Array(16).fill(0)))] : []),
      fn.loop(i, 0, vec, () => [m.v128.store(R.a, 1, m.i32.add(m.i32.mul(g(r), c(L.Kr)), g(i)), flip(m.v128.load(a.ptr.base, 1, m.i32.add(m.i32.mul(g(r), c(p.K)), g(i)))))], 16),
      ...Array.from({ length: p.K - vec }, (_, k) => {
        const v = m.i32.load8_u(a.ptr.base + vec + k, 1, m.i32.mul(g(r), c(p.K)));
        return m.i32.store8(R.a + vec + k, 1, m.i32.mul(g(r), c(L.Kr)), o ? m.i32.xor(v, c(0x80)) : v);
      }),
      core.rowSum(() => g(r)),
    ]),
  ];
  const epilogue = (cols: number) => (q: number, acc: readonly [Expr, Expr]): Expr[] => {
    const rowAt = (): Expr => m.i32.add(m.i32.mul(g(mi), c(4 * p.N)), m.i32.mul(g(pi), c(NR * 4)));
    const out: Expr[] = [];
    for (let j = 0; j < 2; j++) {
      const n0 = 4 * j, off = y.ptr.base + 4 * (q * p.N + n0);
      if (n0 >= cols) continue;
      if (cols - n0 >= 4) { out.push(m.v128.store(off, 4, rowAt(), acc[j]!)); continue; }
      out.push(fn.set(t, acc[j]!));
      for (let l = 0; l < cols - n0; l++) out.push(m.i32.store(off + 4 * l, 4, rowAt(), I.extract_lane(g(t), l)));
    }
    return out;
  };
  const panel = (cols: number): Expr[] => [
    ...core.panel(bP.ptr.base, () => m.i32.mul(g(pi), c(p.Kp * NR)), sums),
    ...[0, 1].map((j) => fn.set(base[j]!, I.mul(g(sums[j]!), I.splat(g(shift))))),
    ...core.rows(mi, p.rows, base, epilogue(cols)),
  ];
  const pFull = Math.floor(p.N / NR);
  body.push(fn.loop(pi, 0, pFull, () => panel(NR)));
  if (p.N % NR) body.push(fn.set(pi, c(pFull)), ...panel(p.N % NR));
  return fn.block(body);
}
