// Attention's float32 fast path on the GEMM core: per batch and head, S = scale * Q K^T (K transposed once into
// scratch so the core reads contiguous rows), the mask/causal bias and a softmax per row in f32 (SIMD exp), then
// Y = P V. The general kernel (attention.ts: f64 loops) keeps softcap, nonpad_kv_seqlen and the qk output.

import type { Expr, Local, Ptr } from '../fn.js';
import { expNegV } from '../math.js';
import { hsum, LANES, viaVector } from '../simd.js';
import { gemm } from './gemm-core.js';
import { lin, type Ix } from './scalar.js';
import type { KernelContext, PlanContext, TensorRef } from './types.js';
import { attrNum, strides } from './util.js';

export interface AttnGeo { B: number; qh: number; kvh: number; qs: number; kvs: number; dk: number; dv: number; past: number; total: number; rank: number }

/** Whether the fast path takes this node: float32 throughout, a float32 or bool mask of rank <= 4 no longer than
 *  the keys, and none of softcap, nonpad_kv_seqlen or the qk output. */
export function gemmAttentionOk(ctx: PlanContext, g: AttnGeo): boolean {
  const [Q, K, V] = ctx.inputs, mask = ctx.inputs[3];
  if ([Q, K, V].some((t) => t?.dtype !== 'float32')) return false;
  if (ctx.outputs[3] || ctx.inputs[6] || attrNum(ctx, 'softcap') !== 0) return false;
  if (mask && ((mask.dtype !== 'float32' && mask.dtype !== 'bool') || mask.dims.length === 0 || mask.dims.length > 4 || (mask.dims.at(-1) ?? 1) > g.total)) return false;
  return Number.isInteger(g.dk) && Number.isInteger(g.dv) && g.qh % g.kvh === 0;
}

/** Scratch bytes past the general kernel's: K^T of one head and the scores of one head. */
export const gemmAttentionScratch = (g: AttnGeo): number => (g.dk * g.total + g.qs * g.total) * 4;

/** The product, softmax and weighted sum, reading the present K/V ([B, kvh, total, d], already filled). */
export function emitGemmAttention(ctx: KernelContext, g: AttnGeo, presentK: TensorRef, presentV: TensorRef, scratch: Ptr): Expr {
  const { fn, m } = ctx;
  const Q = ctx.inputs[0]!, y = ctx.outputs[0]!, mask = ctx.inputs[3];
  // scale has no schema default: 1/sqrt(head size) when absent
  const given = ctx.attrs['scale'], scale = typeof given === 'number' ? given : 1 / Math.sqrt(g.dk);
  const causal = attrNum(ctx, 'is_causal') !== 0, group = g.qh / g.kvh;
  const kt = scratch.base, sc = kt + g.dk * g.total * 4;
  const b = fn.i32(), h = fn.i32(), hk = fn.i32(), i = fn.i32(), j = fn.i32(), d = fn.i32();
  const la = fn.i32(), lb = fn.i32(), lc = fn.i32(), rowP = fn.i32();
  const v = fn.f32(), mx = fn.f32(), sum = fn.f32(), e = fn.v128(), sumV = fn.v128();
  const V = m.f32x4, t4 = g.total - (g.total % LANES);
  const G = (l: Local) => (): Expr => fn.get(l);
  const off = pastOffset(g);
  // K^T[d, j] = presentK[b, hk, j, d]
  const transposeK = fn.loop(j, 0, g.total, () => [fn.loop(d, 0, g.dk, () => [
    m.f32.store(kt, 4, m.i32.shl(lin(fn, [[G(d), g.total], [G(j), 1]]), fn.c32(2)),
      m.f32.load(presentK.ptr.base, 4, m.i32.shl(lin(fn, [[G(b), g.kvh * g.total * g.dk], [G(hk), g.total * g.dk], [G(j), g.dk], [G(d), 1]]), fn.c32(2)))),
  ])]);
  // the mask read as [B, qh, qs, total] by broadcast strides; a short last axis counts as masked beyond its end
  let maskBias: (() => Expr) | undefined;
  if (mask) {
    const md = mask.dims, r = md.length, mlen = md[r - 1] ?? 1, ms = strides(md);
    const target = [g.B, g.qh, g.qs, g.total], idx: Ix[] = [G(b), G(h), G(i), G(j)];
    const terms: [Ix, number][] = [];
    for (let k = 0; k < r; k++) {
      const a = 4 - r + k;
      terms.push([idx[a]!, k === r - 1 ? 1 : md[k] === 1 && target[a] !== 1 ? 0 : ms[k]!]);
    }
    maskBias = () => {
      const bias = mask.dtype === 'bool'
        ? m.select(m.i32.load8_u(mask.ptr.base, 1, lin(fn, terms)), fn.cf32(0), fn.cf32(-Infinity))
        : m.f32.load(mask.ptr.base, 4, m.i32.shl(lin(fn, terms), fn.c32(2)));
      return mlen < g.total ? m.select(m.i32.lt_s(fn.get(j), fn.c32(mlen)), bias, fn.cf32(-Infinity)) : bias;
    };
  }
  const at = (): Ptr => ({ base: sc, dyn: m.i32.add(fn.get(rowP), m.i32.shl(fn.get(j), fn.c32(2))) });
  const softmaxRow = [
    fn.set(rowP, m.i32.mul(fn.get(i), fn.c32(g.total * 4))),
    fn.set(mx, fn.cf32(-Infinity)),
    fn.loop(j, 0, g.total, () => [
      fn.set(v, fn.load('float32', at())),
      maskBias ? fn.set(v, m.f32.add(fn.get(v), maskBias())) : m.nop(),
      causal ? m.if(m.i32.gt_s(fn.get(j), m.i32.add(fn.get(i), fn.c32(off))), fn.set(v, fn.cf32(-Infinity))) : m.nop(),
      fn.store('float32', at(), fn.get(v)),
      fn.set(mx, m.f32.max(fn.get(mx), fn.get(v))),
    ]),
    // a row with nothing to attend to (max -inf) gets all-zero weights (a zero output), never NaN: exp(-inf - x)
    // is 0 for every key then, and 1/sum is replaced by 0
    fn.set(mx, m.select(m.f32.eq(fn.get(mx), fn.cf32(-Infinity)), fn.cf32(0), fn.get(mx))),
    fn.set(sumV, V.splat(fn.cf32(0))),
    fn.loop(j, 0, t4, () => [
      fn.set(e, expNegV(fn, V.sub(fn.loadV(at()), V.splat(fn.get(mx))))),
      fn.storeV(at(), fn.get(e)),
      fn.set(sumV, V.add(fn.get(sumV), fn.get(e))),
    ], LANES),
    fn.set(sum, hsum(fn, sumV)),
    fn.loop(j, t4, g.total, () => [
      fn.set(v, viaVector(fn, (x) => expNegV(fn, x), m.f32.sub(fn.load('float32', at()), fn.get(mx)))),
      fn.store('float32', at(), fn.get(v)),
      fn.set(sum, m.f32.add(fn.get(sum), fn.get(v))),
    ]),
    fn.set(sum, m.select(m.f32.gt(fn.get(sum), fn.cf32(0)), m.f32.div(fn.cf32(1), fn.get(sum)), fn.cf32(0))),
    fn.loop(j, 0, t4, () => [fn.storeV(at(), V.mul(fn.loadV(at()), V.splat(fn.get(sum))))], LANES),
    fn.loop(j, t4, g.total, () => [fn.store('float32', at(), m.f32.mul(fn.load('float32', at()), fn.get(sum)))]),
  ];
  // Q and Y rows of head h: [B, heads, seq, d] (rank 4) or [B, seq, heads*d] (rank 3)
  const qRow = g.rank === 4 ? g.dk : g.qh * g.dk, yRow = g.rank === 4 ? g.dv : g.qh * g.dv;
  const headOff = (d0: number): Expr => (g.rank === 4
    ? lin(fn, [[G(b), g.qh * g.qs * d0], [G(h), g.qs * d0]])
    : lin(fn, [[G(b), g.qs * g.qh * d0], [G(h), d0]]));
  return fn.loop(b, 0, g.B, () => [fn.loop(h, 0, g.qh, () => [
    fn.set(hk, m.i32.div_u(fn.get(h), fn.c32(group))),
    transposeK,
    fn.set(la, m.i32.shl(headOff(g.dk), fn.c32(2))),
    gemm(fn, { M: g.qs, N: g.total, K: g.dk, alpha: scale, a: { base: Q.ptr.base, dyn: la, rs: qRow, cs: 1 }, b: { base: kt, rs: g.total, cs: 1 }, c: { base: sc, rs: g.total, cs: 1 } }),
    fn.loop(i, 0, g.qs, () => softmaxRow),
    fn.set(lb, m.i32.shl(lin(fn, [[G(b), g.kvh * g.total * g.dv], [G(hk), g.total * g.dv]]), fn.c32(2))),
    fn.set(lc, m.i32.shl(headOff(g.dv), fn.c32(2))),
    gemm(fn, { M: g.qs, N: g.dv, K: g.total, a: { base: sc, rs: g.total, cs: 1 }, b: { base: presentV.ptr.base, dyn: lb, rs: g.dv, cs: 1 }, c: { base: y.ptr.base, dyn: lc, rs: yRow, cs: 1 } }),
  ])]);
}

/** Causal masking compares key j with query i + offset: the past length (queries follow the cached keys). */
const pastOffset = (g: AttnGeo): number => g.past;
