// onnxc.QConv channels-last with constant int8 weights on SIMD128: depthwise in conv-int8-dw.ts, everything else as a
// GEMM over pixels on i32x4.dot_i16x8_s: X as i16 columns (im2col; a 1x1 stride-1 conv just widens its rows),
// W - w_zp packed in panels of 8 columns with K in pairs (as matmul-int8.ts), so a 4-byte splat of a row's K pair
// meets 4 columns. Both paths take X raw and fold x_zp into the bias (B - x_zp * the weights' sum; taps outside the
// image read x_zp), and requantise in the epilogue (requant8: f32 multiplier per output channel, the fused clamp,
// round half to even, zero point). Weights stay 8-bit in memory (depthwise taps as i16 pairs). A `--simd relaxed`
// build with 7-bit weights runs the GEMM path on relaxed_dot_i8x16_i7x16 instead (conv-int8-relaxed.ts), same results.

import { makeTensor, toNumbers, type Tensor } from '../../../ir/tensor.js';
import type { Expr, Local } from '../fn.js';
import type { ConvGeom } from './conv.js';
import { channelsLast, qclamp, qgeometry, QLINEAR, scalarConvInt } from './conv-int8.js';
import type { KernelContext, KernelGen, PlanContext, TensorRef } from './types.js';
import { emitDepthwise, packDepthwise } from './conv-int8-dw.js';
import { emitGemmRelaxed } from './conv-int8-relaxed.js';
import { fitsSevenBits, scratchBytes } from './int8-relaxed.js';
import { isRelaxed } from '../relaxed.js';
import { input, output } from './util.js';

// 4 rows x 8 columns: 8 accumulators, B's two vectors and A's splat in 11 registers. Measured (Zen 5, V8): K pairs
// unrolled x2 ran 1.5x slower (V8 hoists the second step's B loads and spills), 5 or 6 rows 1.2-1.5x slower.
const MR = 4, NR = 8;
const scalar = scalarConvInt(QLINEAR);

export interface Plan {
  readonly g: ConvGeom; readonly depthwise: boolean; readonly K: number; readonly Kp: number; readonly P: number;
  readonly centred: Int8Array; readonly zx: number; readonly zy: number; readonly mult: Float32Array; readonly bias: Int32Array;
}

const constNums = (ctx: PlanContext, i: number): number[] | undefined => { const t = ctx.inputs[i]; return t?.constant ? toNumbers(t.constant) : undefined; };

/** The SIMD plan, or undefined when the scalar kernel must run. */
export function qconvPlan(ctx: PlanContext): Plan | undefined {
  const x = ctx.inputs[0], w = ctx.inputs[3], y = ctx.outputs[0];
  if (!x || !w?.constant || !y || !channelsLast(ctx) || x.dims.length !== 4) return undefined;
  if ((x.dtype !== 'int8' && x.dtype !== 'uint8') || (y.dtype !== 'int8' && y.dtype !== 'uint8')) return undefined;
  const [xs, xz, ws, wz, ys, yz] = [1, 2, 4, 5, 6, 7].map((i) => constNums(ctx, i));
  const b = ctx.inputs[8] ? constNums(ctx, 8) : [];
  if (!xs || !xz || !ws || !wz || !ys || !yz || !b || xs.length !== 1 || xz.length !== 1 || ys.length !== 1 || yz.length !== 1) return undefined;
  const g = qgeometry(ctx, QLINEAR);
  const OC = g.OC, Cg = g.C / g.G, OCg = OC / g.G, taps = g.KH * g.KW;
  if ((ws.length !== 1 && ws.length !== OC) || (wz.length !== 1 && wz.length !== OC) || (b.length !== 0 && b.length !== OC)) return undefined;
  const q = toNumbers(w.constant);
  const depthwise = g.G === g.C && g.G === OC && g.G > 1;
  const K = taps * Cg, Kp = K + (K % 2);
  // centred weights in the layout each path reads: [tap, C] (depthwise) or [gi][K, OCg] with k = tap * Cg + ci
  const centred = new Int8Array(depthwise ? taps * OC : K * OC);
  for (let oc = 0; oc < OC; oc++) {
    const z = wz[wz.length === 1 ? 0 : oc]!, gi = Math.floor(oc / OCg), n = oc - gi * OCg;
    for (let ci = 0; ci < Cg; ci++) {
      for (let t = 0; t < taps; t++) {
        const v = q[(oc * Cg + ci) * taps + t]! - z;
        if (v < -128 || v > 127) return undefined;
        if (depthwise) centred[t * OC + oc] = v;
        else centred[gi * K * OCg + (t * Cg + ci) * OCg + n] = v;
      }
    }
  }
  const zx = xz[0]!, mult = new Float32Array(OC), bias = new Int32Array(OC);
  for (let oc = 0; oc < OC; oc++) {
    mult[oc] = Math.fround(xs[0]! * ws[ws.length === 1 ? 0 : oc]! / ys[0]!);
    let corr = 0;
    if (!depthwise) {
      const gi = Math.floor(oc / OCg), n = oc - gi * OCg;
      for (let k = 0; k < K; k++) corr += centred[gi * K * OCg + k * OCg + n]!;
    } else for (let t = 0; t < taps; t++) corr += centred[t * OC + oc]!;
    bias[oc] = (b.length ? b[oc]! : 0) - zx * corr;
  }
  return { g, depthwise, K, Kp, P: Math.ceil(OCg / NR), centred, zx, zy: yz[0]!, mult, bias };
}

/** Per group, panels of 8 columns, per K pair 16 bytes: column j's (k, k+1) at bytes 2j, 2j+1 of its half. */
function packPanels(p: Plan): Tensor {
  const OCg = p.g.OC / p.g.G, out = new Int8Array(p.g.G * p.P * p.Kp * NR);
  for (let gi = 0; gi < p.g.G; gi++) {
    for (let pi = 0; pi < p.P; pi++) {
      for (let k = 0; k < p.K; k++) {
        for (let j = 0; j < NR; j++) {
          const n = pi * NR + j;
          if (n >= OCg) continue;
          const at = (((gi * p.P + pi) * (p.Kp / 2) + (k >> 1)) * 2 + (j >> 2)) * 8 + (j & 3) * 2 + (k & 1);
          out[at] = p.centred[gi * p.K * OCg + k * OCg + n]!;
        }
      }
    }
  }
  return makeTensor('int8', [out.length], out);
}

/** A per-channel vector padded per group to whole panels (the GEMM path) or as it is (depthwise). */
function perChannel<T extends Float32Array | Int32Array>(p: Plan, v: T, make: (n: number) => T): T {
  if (p.depthwise) return v;
  const OCg = p.g.OC / p.g.G, out = make(p.g.G * p.P * NR);
  for (let gi = 0; gi < p.g.G; gi++) out.set(v.subarray(gi * OCg, (gi + 1) * OCg), gi * p.P * NR);
  return out;
}

export const qconvKernel: KernelGen = {
  scratch(ctx) {
    const p = qconvPlan(ctx);
    if (!p) return scalar.scratch?.(ctx) ?? 0;
    // planning does not know the build's SIMD mode: room for the strict i16 columns or the relaxed i8 ones
    return p.depthwise ? 0 : Math.max(p.g.OH * p.g.OW * p.Kp * 2 + 16, scratchBytes(p.g.OH * p.g.OW, p.K));
  },
  prepack(ctx) {
    const p = qconvPlan(ctx);
    if (!p) return [];
    const w = p.depthwise ? packDepthwise(p) : packPanels(p);
    const mult = perChannel(p, p.mult, (n) => new Float32Array(n)), bias = perChannel(p, p.bias, (n) => new Int32Array(n));
    return [w, makeTensor('float32', [mult.length], mult), makeTensor('int32', [bias.length], bias)];
  },
  unread: (ctx) => (qconvPlan(ctx) ? [3, 4, 5, ...(ctx.inputs[8] ? [8] : [])] : []),
  emit(ctx) {
    const p = qconvPlan(ctx);
    if (output(ctx).size === 0) return ctx.m.nop();
    if (!p) return scalar.emit(ctx);
    if (p.depthwise) return emitDepthwise(ctx, p);
    return isRelaxed(ctx.fn) && fitsSevenBits(p.centred) ? emitGemmRelaxed(ctx, p) : emitGemm(ctx, p);
  },
};

/** 1.5 * 2^23: for |v| <= 2^22, v + MAGIC in float32 holds round-half-to-even(v) in its low mantissa bits, so the
 *  rounded integer is the sum's bits minus MAGIC's (two instructions where nearest + trunc_sat take about eight). */
const MAGIC = 12582912, MAGIC_BITS = 0x4b400000;

/** The per-kernel constants of requant8, hoisted into locals: [lo - zy, hi - zy] as f32x4, MAGIC, MAGIC_BITS - zy. */
export interface RequantConsts { readonly lo: Local; readonly hi: Local; readonly magic: Local; readonly bits: Local }

export function requantConsts(ctx: KernelContext, p: Plan): { consts: RequantConsts; init: Expr[] } {
  const { fn, m } = ctx, [lo, hi] = qclamp(ctx, output(ctx).dtype);
  const consts = { lo: fn.v128(), hi: fn.v128(), magic: fn.v128(), bits: fn.v128() };
  return {
    consts,
    init: [
      fn.set(consts.lo, m.f32x4.splat(fn.cf32(lo - p.zy))), fn.set(consts.hi, m.f32x4.splat(fn.cf32(hi - p.zy))),
      fn.set(consts.magic, m.f32x4.splat(fn.cf32(MAGIC))), fn.set(consts.bits, m.i32x4.splat(fn.c32(MAGIC_BITS - p.zy))),
    ],
  };
}

/** Requantise two i32x4 (8 channels, bias already in the sums) into an i8x16 whose low 8 bytes are the outputs:
 *  v = float32(acc) * multiplier, clamped to the fused clamp less the zero point (clamping to integer bounds commutes
 *  with rounding, and keeps |v| far under 2^22), rounded half to even by MAGIC, plus the zero point. The narrows
 *  cannot saturate any more. Same values as nearest, trunc_sat, + zy, saturate, clamp. */
export function requant8(ctx: KernelContext, k: RequantConsts, acc: readonly [Expr, Expr], mAt: (j: number) => Expr): Expr {
  const { m, fn } = ctx, I = m.i32x4, V = m.f32x4, G = (l: Local): Expr => fn.get(l);
  const r = [0, 1].map((j) => I.sub(V.add(V.pmin(V.pmax(V.mul(V.convert_i32x4_s(acc[j]!), mAt(j)), G(k.lo)), G(k.hi)), G(k.magic)), G(k.bits)));
  const h = m.i16x8.narrow_i32x4_s(r[0]!, r[1]!);
  const zero = m.v128.const(new Array(16).fill(0));
  return output(ctx).dtype === 'int8' ? m.i8x16.narrow_i16x8_s(h, zero) : m.i8x16.narrow_i16x8_u(h, zero);
}

/** Store the low `count` bytes of `v` (a local) at ptr + off. */
export function storeLow(ctx: KernelContext, v: Local, count: number, off: number, ptr: () => Expr): Expr[] {
  const { fn, m } = ctx;
  if (count === NR) return [m.v128.store64_lane(off, 1, 0, ptr(), fn.get(v))];
  return Array.from({ length: count }, (_, l) => m.i32.store8(off + l, 1, ptr(), m.i8x16.extract_lane_u(fn.get(v), l)));
}

function emitGemm(ctx: KernelContext, p: Plan): Expr {
  const { fn, m } = ctx, I = m.i32x4, g = p.g;
  const y = output(ctx), [wP, mP, bP] = ctx.packed as [TensorRef, TensorRef, TensorRef];
  const OCg = g.OC / g.G, rows = g.OH * g.OW;
  const n = fn.i32(), gi = fn.i32(), pi = fn.i32(), mi = fn.i32(), ki = fn.i32(), pa = fn.i32(), pb = fn.i32(), yRow = fn.i32(), pc = fn.i32();
  const acc = Array.from({ length: MR }, () => [fn.v128(), fn.v128()] as const);
  const bv = [fn.v128(), fn.v128()] as const, av = fn.v128(), out = fn.v128();
  const mv = [fn.v128(), fn.v128()] as const, biasv = [fn.v128(), fn.v128()] as const;
  const G = (l: Local): Expr => fn.get(l), c = (v: number): Expr => fn.c32(v);
  const rq = requantConsts(ctx, p);
  // A: the i16 columns (rows of Kp), so a 4-byte splat is a row's K pair
  const aBase = ctx.scratch.base, aRowBytes = 2 * p.Kp;
  /** One K pair: B's 16 bytes (8 columns), a 4-byte splat of each row's pair. */
  const step = (nr: number): Expr[] => {
    const body: Expr[] = [fn.set(bv[0], m.v128.load8x8_s(wP.ptr.base, 1, G(pb))), fn.set(bv[1], m.v128.load8x8_s(wP.ptr.base + 8, 1, G(pb)))];
    for (let q = 0; q < nr; q++) {
      body.push(fn.set(av, m.v128.load32_splat(aBase + q * aRowBytes, 2, G(pa))));
      body.push(fn.set(acc[q]![0], I.add(G(acc[q]![0]), I.dot_i16x8_s(G(av), G(bv[0])))));
      body.push(fn.set(acc[q]![1], I.add(G(acc[q]![1]), I.dot_i16x8_s(G(av), G(bv[1])))));
    }
    body.push(fn.set(pa, m.i32.add(G(pa), c(4))), fn.set(pb, m.i32.add(G(pb), c(16))));
    return body;
  };
  const tile = (nr: number, cols: number): Expr[] => {
    const st: Expr[] = [
      fn.set(pa, m.i32.mul(G(mi), c(aRowBytes))),
      fn.set(pb, m.i32.mul(m.i32.add(m.i32.mul(G(gi), c(p.P)), G(pi)), c(p.Kp * NR))),
    ];
    // the sums start at the bias (B - x_zp * the weights' sum)
    for (let q = 0; q < nr; q++) for (let j = 0; j < 2; j++) st.push(fn.set(acc[q]![j]!, G(biasv[j]!)));
    const pairs = p.Kp / 2;
    st.push(fn.loop(ki, 0, p.Kp / 2, () => step(nr)));
    for (let q = 0; q < nr; q++) {
      st.push(fn.set(out, requant8(ctx, rq.consts, [G(acc[q]![0]), G(acc[q]![1])], (j) => G(mv[j]!))));
      // Y[n, mi + q, gi * OCg + pi * 8 + j]
      st.push(...storeLow(ctx, out, cols, y.ptr.base + q * g.OC, () => m.i32.add(m.i32.add(G(yRow), m.i32.mul(G(mi), c(g.OC))), m.i32.shl(G(pi), c(3)))));
    }
    return st;
  };
  const rowsOf = (cols: number): Expr[] => {
    const full = rows - (rows % MR);
    return [
      // the panel's per-channel vectors: byte offset (gi * P + pi) * 8 * 4
      fn.set(pc, m.i32.shl(m.i32.add(m.i32.mul(G(gi), c(p.P)), G(pi)), c(5))),
      ...[0, 1].flatMap((j) => [fn.set(mv[j]!, m.v128.load(mP.ptr.base + 16 * j, 4, G(pc))), fn.set(biasv[j]!, m.v128.load(bP.ptr.base + 16 * j, 4, G(pc)))]),
      fn.loop(mi, 0, full, () => tile(MR, cols), MR),
      ...(rows % MR ? [fn.set(mi, c(full)), ...tile(rows % MR, cols)] : []),
    ];
  };
  const pFull = Math.floor(OCg / NR);
  const cols = emitIm2col(ctx, p);
  return fn.block([...rq.init, fn.loop(n, 0, g.N, () => [
    fn.loop(gi, 0, g.G, () => [
      cols(() => G(n), () => G(gi)),
      fn.set(yRow, m.i32.add(m.i32.mul(G(n), c(rows * g.OC)), m.i32.mul(G(gi), c(OCg)))),
      fn.loop(pi, 0, pFull, () => rowsOf(NR)),
      ...(OCg % NR ? [fn.set(pi, c(pFull)), ...rowsOf(OCg % NR)] : []),
    ]),
  ])]);
}

/** cols[r, tap * Cg + ci] = X[n, ih, iw, gi * Cg + ci] widened to i16, or x_zp outside the image (rows of Kp; an
 *  odd K's pad element 0, as its weight is). A 1x1 stride-1 conv is the one-tap case (every tap inside). */
function emitIm2col(ctx: KernelContext, p: Plan): (n: () => Expr, gi: () => Expr) => Expr {
  const { fn, m } = ctx, g = p.g, x = input(ctx, 0), col = ctx.scratch.base, Cg = g.C / g.G;
  const oh = fn.i32(), ow = fn.i32(), ih = fn.i32(), iw = fn.i32(), src = fn.i32(), dst = fn.i32(), xImg = fn.i32(), e = fn.i32();
  const c = (v: number): Expr => fn.c32(v);
  const signed = x.dtype === 'int8';
  const ld8 = (off: number, at: Expr): Expr => (signed ? m.i32.load8_s(off, 1, at) : m.i32.load8_u(off, 1, at));
  const ld8x8 = (off: number, at: Expr): Expr => (signed ? m.v128.load8x8_s(off, 1, at) : m.v128.load8x8_u(off, 1, at));
  /** Cg channels from src (or x_zp) to dst + off as i16: 8 at a time, the rest one by one. */
  const move = (off: number, fill: boolean): Expr => {
    const vec = Cg - (Cg % 8), parts: Expr[] = [];
    const v8 = (k: () => Expr, o: number): Expr => m.v128.store(col + off + 2 * o, 2, m.i32.add(G(dst), m.i32.shl(k(), c(1))), fill ? m.i16x8.splat(c(p.zx)) : ld8x8(x.ptr.base + o, m.i32.add(G(src), k())));
    if (vec > 64) parts.push(fn.loop(e, 0, vec, () => [v8(() => G(e), 0)], 8));
    else for (let o = 0; o < vec; o += 8) parts.push(v8(() => c(0), o));
    for (let o = vec; o < Cg; o++) parts.push(m.i32.store16(col + off + 2 * o, 2, G(dst), fill ? c(p.zx) : ld8(x.ptr.base + o, G(src))));
    return fn.block(parts);
  };
  const G = (l: Local): Expr => fn.get(l);
  const taps = im2colTaps(ctx, p, { ih, iw, src, xImg }, 2 * Cg, move);
  return (n, gi) => fn.block([
    fn.set(xImg, m.i32.add(m.i32.mul(n(), c(g.H * g.W * g.C)), m.i32.mul(gi(), c(Cg)))),
    fn.set(dst, c(0)),
    fn.loop(oh, 0, g.OH, () => [
      fn.set(ih, m.i32.sub(m.i32.mul(G(oh), c(g.sh)), c(g.pt))),
      fn.loop(ow, 0, g.OW, () => [
        fn.set(iw, m.i32.sub(m.i32.mul(G(ow), c(g.sw)), c(g.pl))),
        ...taps,
        ...(p.Kp > p.K ? [m.i32.store16(col + 2 * p.K, 2, G(dst), c(0))] : []),
        fn.set(dst, m.i32.add(G(dst), c(2 * p.Kp))),
      ]),
    ]),
  ]);
}

export const CONV_INT8_SIMD: Readonly<Record<string, KernelGen>> = { 'onnxc.QConv': qconvKernel };

/** The taps of one im2col row: per (kh, kw), src = the tap's pixel in X and move(tap * tapBytes, false) inside the
 *  image, move(.., true) (the zero point) outside; shared by the strict and the relaxed int8 convs. */
export function im2colTaps(ctx: KernelContext, p: Plan, at: { ih: Local; iw: Local; src: Local; xImg: Local },
  tapBytes: number, move: (off: number, fill: boolean) => Expr): Expr[] {
  const { fn, m } = ctx, g = p.g, c = (v: number): Expr => fn.c32(v), G = (l: Local): Expr => fn.get(l);
  const taps: Expr[] = [];
  for (let kh = 0; kh < g.KH; kh++) {
    for (let kw = 0; kw < g.KW; kw++) {
      const off = (kh * g.KW + kw) * tapBytes;
      const ihE = (): Expr => m.i32.add(G(at.ih), c(kh * g.dh)), iwE = (): Expr => m.i32.add(G(at.iw), c(kw * g.dw));
      const set = fn.set(at.src, m.i32.add(G(at.xImg), m.i32.mul(m.i32.add(m.i32.mul(ihE(), c(g.W)), iwE()), c(g.C))));
      if (g.direct) { taps.push(set, move(off, false)); continue; }
      taps.push(m.if(m.i32.and(m.i32.lt_u(ihE(), c(g.H)), m.i32.lt_u(iwE(), c(g.W))), fn.block([set, move(off, false)]), move(off, true)));
    }
  }
  return taps;
}
