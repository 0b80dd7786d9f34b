// onnxc.QConv depthwise (group == C == OC) channels-last on SIMD128: taps in pairs through i32x4.dot_i16x8_s. Two
// taps' 8 inputs (widened to i16 by the load) are interleaved, so each i32 lane of the dot is one channel's
// x_a * w_a + x_b * w_b; the weights are packed once as i16 pairs [pair][C][2] (an odd last tap paired with 0). About
// 10 instructions per 16 multiply-adds where extmul and widening took 16. X is read raw, x_zp folded into the bias.

import { makeTensor, type Tensor } from '../../../ir/tensor.js';
import type { Expr, Local } from '../fn.js';
import { requant8, requantConsts, type Plan } from './conv-int8-simd.js';
import { windowRow, windowRows } from './window.js';
import { qclamp } from './conv-int8.js';
import type { KernelContext, TensorRef } from './types.js';
import { input, output } from './util.js';

/** Tap pairs of a depthwise plan. */
const pairsOf = (p: Plan): number => Math.ceil((p.g.KH * p.g.KW) / 2);

/** The centred [tap, C] weights as i16 pairs: element (pair * C + c) * 2 + (tap & 1). */
export function packDepthwise(p: Plan): Tensor {
  const C = p.g.C, taps = p.g.KH * p.g.KW, out = new Int16Array(pairsOf(p) * C * 2);
  for (let t = 0; t < taps; t++) for (let c = 0; c < C; c++) out[((t >> 1) * C + c) * 2 + (t & 1)] = p.centred[t * C + c]!;
  return makeTensor('int16', [out.length], out);
}

export function emitDepthwise(ctx: KernelContext, p: Plan): Expr {
  const { fn, m } = ctx, I = m.i32x4, g = p.g, C = g.C, taps = g.KH * g.KW;
  const x = input(ctx, 0), y = output(ctx), [wP, mP, bP] = ctx.packed as [TensorRef, TensorRef, TensorRef];
  const signedX = x.dtype === 'int8';
  const n = fn.i32(), oh = fn.i32(), ow = fn.i32(), ch = fn.i32(), ih = fn.i32(), iw = fn.i32(), px = fn.i32(), py = fn.i32(), xImg = fn.i32();
  const acc = [fn.v128(), fn.v128(), fn.v128(), fn.v128()] as const, xa = fn.v128(), xb = fn.v128(), lo = fn.v128(), hi = fn.v128();
  const sacc = fn.i32(), sq = fn.f32();
  const G = (l: Local): Expr => fn.get(l), c = (v: number): Expr => fn.c32(v);
  const rq = requantConsts(ctx, p);
  const tapAddr = (t: number, checked: boolean): { off: number; at: () => Expr; inside?: () => Expr } => {
    const kh = Math.floor(t / g.KW), kw = t % g.KW;
    if (!checked) return { off: x.ptr.base + (kh * g.dh * g.W + kw * g.dw) * C, at: () => m.i32.add(G(px), G(ch)) };
    const ihE = (): Expr => m.i32.add(G(ih), c(kh * g.dh)), iwE = (): Expr => m.i32.add(G(iw), c(kw * g.dw));
    return {
      off: x.ptr.base,
      at: () => m.i32.add(m.i32.add(G(xImg), m.i32.mul(m.i32.add(m.i32.mul(ihE(), c(g.W)), iwE()), c(C))), G(ch)),
      inside: () => m.i32.and(m.i32.lt_u(ihE(), c(g.H)), m.i32.lt_u(iwE(), c(g.W))),
    };
  };
  /** Tap t's 8 inputs from channel ch + off, widened to i16 (x_zp outside the image). */
  const load = (t: number, checked: boolean, off: number, into: Local): Expr => {
    const a = tapAddr(t, checked);
    const v = (): Expr => (signedX ? m.v128.load8x8_s(a.off + off, 1, a.at()) : m.v128.load8x8_u(a.off + off, 1, a.at()));
    return a.inside ? m.if(a.inside(), fn.set(into, v()), fn.set(into, m.i16x8.splat(c(p.zx)))) : fn.set(into, v());
  };
  const ilo = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23], ihi = ilo.map((v) => v + 8);
  /** `k` (8 or 16) channels from ch: per half of 8, two accumulators (channels 0-3, 4-7). */
  const group = (k: number, checked: boolean): Expr[] => {
    const halves = k / 8, chan4 = (): Expr => m.i32.shl(G(ch), c(2)), st: Expr[] = [];
    for (let h = 0; h < halves; h++) for (const j of [0, 1]) st.push(fn.set(acc[2 * h + j]!, m.v128.load(bP.ptr.base + 32 * h + 16 * j, 4, chan4())));
    for (let pr = 0; pr < pairsOf(p); pr++) {
      for (let h = 0; h < halves; h++) {
        const b = 2 * pr + 1 < taps;
        st.push(load(2 * pr, checked, 8 * h, xa), ...(b ? [load(2 * pr + 1, checked, 8 * h, xb)] : []));
        const other = b ? xb : xa; // an odd last tap meets a zero weight
        st.push(fn.set(lo, m.i8x16.shuffle(G(xa), G(other), ilo)), fn.set(hi, m.i8x16.shuffle(G(xa), G(other), ihi)));
        // weights of channels ch + 8h .. +3 and +4 .. +7: 16 bytes each at ((pr * C + ch + 8h) * 2) * 2
        const wAt = wP.ptr.base + (pr * C + 8 * h) * 4;
        st.push(
          fn.set(acc[2 * h]!, I.add(G(acc[2 * h]!), I.dot_i16x8_s(G(lo), m.v128.load(wAt, 2, chan4())))),
          fn.set(acc[2 * h + 1]!, I.add(G(acc[2 * h + 1]!), I.dot_i16x8_s(G(hi), m.v128.load(wAt + 16, 2, chan4())))),
        );
      }
    }
    for (let h = 0; h < halves; h++) {
      st.push(fn.set(h ? hi : lo, requant8(ctx, rq.consts, [G(acc[2 * h]!), G(acc[2 * h + 1]!)], (j) => m.v128.load(mP.ptr.base + 32 * h + 16 * j, 4, chan4()))));
    }
    const dst = (): Expr => m.i32.add(G(py), G(ch));
    // the halves' low 8 bytes side by side
    st.push(halves === 2
      ? m.v128.store(y.ptr.base, 1, dst(), m.i8x16.shuffle(G(lo), G(hi), [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]))
      : m.v128.store64_lane(y.ptr.base, 1, 0, dst(), G(lo)));
    return st;
  };
  // channels past the last multiple of 8: one at a time, the same float32 arithmetic
  const one = (checked: boolean): Expr[] => {
    const st: Expr[] = [fn.set(sacc, c(0))];
    for (let t = 0; t < taps; t++) {
      const a = tapAddr(t, checked);
      const xl = (): Expr => (signedX ? m.i32.load8_s(a.off, 1, a.at()) : m.i32.load8_u(a.off, 1, a.at()));
      const w = (): Expr => m.i32.load16_s(wP.ptr.base + ((t >> 1) * C * 2 + (t & 1)) * 2, 2, m.i32.shl(G(ch), c(2)));
      const s = (v: Expr): Expr => fn.set(sacc, m.i32.add(G(sacc), m.i32.mul(v, w())));
      st.push(a.inside ? m.if(a.inside(), s(xl()), s(c(p.zx))) : s(xl()));
    }
    const [qlo, qhi] = qclamp(ctx, y.dtype);
    st.push(fn.set(sq, m.f32.nearest(m.f32.mul(m.f32.convert_s.i32(m.i32.add(G(sacc), m.i32.load(bP.ptr.base, 4, m.i32.shl(G(ch), c(2))))), m.f32.load(mP.ptr.base, 4, m.i32.shl(G(ch), c(2)))))));
    st.push(fn.set(sq, m.f32.min(m.f32.max(m.f32.add(G(sq), fn.cf32(p.zy)), fn.cf32(qlo)), fn.cf32(qhi))));
    st.push(m.i32.store8(y.ptr.base, 1, m.i32.add(G(py), G(ch)), m.i32.trunc_s_sat.f32(G(sq))));
    return st;
  };
  const full8 = C - (C % 8), full16 = C - (C % 16);
  const pixel = (checked: boolean): Expr[] => [
    fn.set(iw, m.i32.sub(m.i32.mul(G(ow), c(g.sw)), c(g.pl))),
    ...(checked ? [] : [fn.set(px, m.i32.add(G(xImg), m.i32.mul(m.i32.add(m.i32.mul(G(ih), c(g.W)), G(iw)), c(C))))]),
    fn.set(py, m.i32.mul(m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(G(n), c(g.OH)), G(oh)), c(g.OW)), G(ow)), c(C))),
    fn.loop(ch, 0, full16, () => group(16, checked), 16),
    fn.loop(ch, full16, full8, () => group(8, checked), 8),
    fn.loop(ch, full8, C, () => one(checked)),
  ];
  const row = windowRow(fn, g, oh, ow, ih, pixel);
  return fn.block([...rq.init, fn.loop(n, 0, g.N, () => [
    fn.set(xImg, m.i32.mul(G(n), c(g.H * g.W * C))),
    ...windowRows(fn, g, oh, row),
  ])]);
}
