// Attention's float32 fast path on the GEMM core: per batch and head, S = scale * Q K^T (K transposed once into
// scratch, 4x4 blocks by shuffles, so the core reads contiguous rows), the mask/causal bias and a softmax per row
// in f32 (SIMD exp; a float mask as long as the keys is added and maxed in vectors), then Y = P V. K and V are read
// where they are (3-D projections or 4-D heads, by strides) unless a cache makes a present copy. A causal or
// constant mask that hides every key past some point of a row (GPT-2's causal bias) splits the queries into row
// blocks whose products stop at the block's last visible key (keyBlocks). The general kernel (attention.ts: f64
// loops) keeps softcap, nonpad_kv_seqlen and the qk output.

import type { Expr, Fn, Local, Ptr } from '../fn.js';
import { expNegV } from '../math.js';
import { hmax, hsum, LANES, viaVector } from '../simd.js';
import { gemm } from './gemm-core.js';
import { genericDims } from '../dims-mode.js';
import { lin, type Ix } from './scalar.js';
import type { KernelContext, PlanContext, TensorRef } from './types.js';
import { attrNum, strides } from './util.js';

export interface AttnGeo { B: number; qh: number; kvh: number; qs: number; kvs: number; dk: number; dv: number; past: number; total: number; rank: number }

/** K or V as the kernel reads it: element (b, head, key, d) at b*sb + head*sh + key*ss + d. */
export interface KvView { readonly t: TensorRef; readonly sb: number; readonly sh: number; readonly ss: number }

/** Whether the fast path takes this node: float32 throughout, a float32 or bool mask of rank <= 4 no longer than
 *  the keys, and none of softcap, nonpad_kv_seqlen or the qk output. */
export function gemmAttentionOk(ctx: PlanContext, g: AttnGeo): boolean {
  const [Q, K, V] = ctx.inputs, mask = ctx.inputs[3];
  if ([Q, K, V].some((t) => t?.dtype !== 'float32')) return false;
  if (ctx.outputs[3] || ctx.inputs[6] || attrNum(ctx, 'softcap') !== 0) return false;
  if (mask && ((mask.dtype !== 'float32' && mask.dtype !== 'bool') || mask.dims.length === 0 || mask.dims.length > 4 || (mask.dims.at(-1) ?? 1) > g.total)) return false;
  return Number.isInteger(g.dk) && Number.isInteger(g.dv) && g.qh % g.kvh === 0;
}

/** Row stride (floats) of K^T and of the scores in scratch: the keys rounded up to whole vectors, so every row
 *  starts 16-byte aligned and the core's vector loads never straddle a cache line (ViT's 197 keys). */
export const scoreStride = (g: AttnGeo): number => Math.ceil(g.total / LANES) * LANES;

/** Scratch bytes past the general kernel's: K^T of one head and the scores of one head (16-byte aligned rows from
 *  an aligned base). */
export const gemmAttentionScratch = (g: AttnGeo): number => (g.dk + g.qs) * scoreStride(g) * 4;

/** The product, softmax and weighted sum, reading K/V through their views. */
export function emitGemmAttention(ctx: KernelContext, g: AttnGeo, kv: { k: KvView; v: KvView }, scratch: Ptr): Expr {
  const { fn, m } = ctx;
  const Q = ctx.inputs[0]!, y = ctx.outputs[0]!, mask = ctx.inputs[3];
  // scale has no schema default: 1/sqrt(head size) when absent
  const given = ctx.attrs['scale'], scale = typeof given === 'number' ? given : 1 / Math.sqrt(g.dk);
  const causal = attrNum(ctx, 'is_causal') !== 0, group = g.qh / g.kvh;
  const T = scoreStride(g), kt = scratch.base, sc = kt + g.dk * T * 4;
  const b = fn.i32(), h = fn.i32(), hk = fn.i32(), i = fn.i32(), j = fn.i32(), d = fn.i32();
  const la = fn.i32(), lb = fn.i32(), lc = fn.i32(), rowP = fn.i32(), mrow = fn.i32();
  const v = fn.f32(), mx = fn.f32(), e = fn.v128(), sumV = fn.v128();
  const V = m.f32x4, t4 = g.total - (g.total % LANES);
  const G = (l: Local) => (): Expr => fn.get(l);
  const off = pastOffset(g);
  const K = kv.k, Vv = kv.v;
  const kAt = (jj: Ix, dd: Ix): Expr => m.i32.shl(lin(fn, [[G(b), K.sb], [G(hk), K.sh], [jj, K.ss], [dd, 1]]), fn.c32(2));
  // K^T[d, j] = K[b, hk, j, d]: 4x4 blocks through shuffles over the whole vectors of keys when the head size is
  // whole vectors, the rest one by one
  const k4 = g.dk % LANES === 0 ? t4 : 0;
  const transposeK = fn.block([
    ...(k4 > 0 ? [transpose4(ctx, g, K, kAt, kt, j, d, T, k4)] : []),
    fn.loop(j, k4, g.total, () => [fn.loop(d, 0, g.dk, () => [
      m.f32.store(kt, 4, m.i32.shl(lin(fn, [[G(d), T], [G(j), 1]]), fn.c32(2)), m.f32.load(K.t.ptr.base, 4, kAt(G(j), G(d)))),
    ])]),
  ]);
  // the mask read as [B, qh, qs, total] by broadcast strides; a short last axis counts as masked beyond its end
  let maskBias: (() => Expr) | undefined;
  const maskTerms: [Ix, number][] = [];
  if (mask) {
    const md = mask.dims, r = md.length, mlen = md[r - 1] ?? 1, ms = strides(md);
    const target = [g.B, g.qh, g.qs, g.total], idx: Ix[] = [G(b), G(h), G(i), G(j)];
    const terms = maskTerms;
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
  const scalarBias = (from: number, to: number): Expr => fn.loop(j, from, to, () => [
    fn.set(v, fn.load('float32', at())),
    maskBias ? fn.set(v, m.f32.add(fn.get(v), maskBias())) : m.nop(),
    causal ? m.if(m.i32.gt_s(fn.get(j), m.i32.add(fn.get(i), fn.c32(off))), fn.set(v, fn.cf32(-Infinity))) : m.nop(),
    fn.store('float32', at(), fn.get(v)),
    fn.set(mx, m.f32.max(fn.get(mx), fn.get(v))),
  ]);
  // no causal test and no mask, or a float mask as long as the keys (its row contiguous): add and max in vectors
  const vecBias = !causal && (!mask || (mask.dtype === 'float32' && (mask.dims.at(-1) ?? 1) === g.total));
  // the softmax of row i over its first n keys (the scores the product wrote)
  const softmaxRow = (n: number): Expr[] => {
    const n4 = n - (n % LANES);
    const biasPass: Expr[] = !vecBias ? [fn.set(mx, fn.cf32(-Infinity)), scalarBias(0, n)] : [
      mask ? fn.set(mrow, m.i32.shl(lin(fn, maskTerms.slice(0, -1)), fn.c32(2))) : m.nop(),
      fn.set(e, V.splat(fn.cf32(-Infinity))),
      fn.loop(j, 0, n4, () => [
        fn.set(sumV, fn.loadV(at())),
        ...(mask ? [fn.set(sumV, V.add(fn.get(sumV), fn.loadV({ base: mask.ptr.base, dyn: m.i32.add(fn.get(mrow), m.i32.shl(fn.get(j), fn.c32(2))) }))), fn.storeV(at(), fn.get(sumV))] : []),
        fn.set(e, V.max(fn.get(e), fn.get(sumV))),
      ], LANES),
      fn.set(mx, hmax(fn, e)),
      scalarBias(n4, n),
    ];
    return [fn.set(rowP, m.i32.mul(fn.get(i), fn.c32(T * 4))), ...biasPass, ...normaliseRow(fn, at, j, n, mx)];
  };
  // Q and Y rows of head h: [B, heads, seq, d] (rank 4) or [B, seq, heads*d] (rank 3)
  const qRow = g.rank === 4 ? g.dk : g.qh * g.dk, yRow = g.rank === 4 ? g.dv : g.qh * g.dv;
  const headOff = (d0: number): Expr => (g.rank === 4
    ? lin(fn, [[G(b), g.qh * g.qs * d0], [G(h), g.qs * d0]])
    : lin(fn, [[G(b), g.qs * g.qh * d0], [G(h), d0]]));
  // per row block: S = scale Q K^T over the block's visible keys, their softmax, Y = P V over the same keys
  const blocks = keyBlocks(ctx, g, causal);
  const block = ({ r0, r1, n }: KeyBlock): Expr[] => [
    gemm(fn, { M: r1 - r0, N: n, K: g.dk, alpha: scale, a: { base: Q.ptr.base + r0 * qRow * 4, dyn: la, rs: qRow, cs: 1 }, b: { base: kt, rs: T, cs: 1 }, c: { base: sc + r0 * T * 4, rs: T, cs: 1 } }),
    fn.loop(i, r0, r1, () => softmaxRow(n)),
    gemm(fn, { M: r1 - r0, N: g.dv, K: n, a: { base: sc + r0 * T * 4, rs: T, cs: 1 }, b: { base: Vv.t.ptr.base, dyn: lb, rs: Vv.ss, cs: 1 }, c: { base: y.ptr.base + r0 * yRow * 4, dyn: lc, rs: yRow, cs: 1 } }),
  ];
  return fn.loop(b, 0, g.B, () => [fn.loop(h, 0, g.qh, () => [
    fn.set(hk, m.i32.div_u(fn.get(h), fn.c32(group))),
    transposeK,
    fn.set(la, m.i32.shl(headOff(g.dk), fn.c32(2))),
    fn.set(lb, m.i32.shl(lin(fn, [[G(b), Vv.sb], [G(hk), Vv.sh]]), fn.c32(2))),
    fn.set(lc, m.i32.shl(headOff(g.dv), fn.c32(2))),
    ...blocks.flatMap(block),
  ])]);
}

/** The softmax of a row of n scores at `at()` (the score of key j, the loop local) whose max is in `mx`:
 *  exp(s - max) in f32 vectors, then scaled to sum 1. A row with nothing to attend to (max -inf) gets all-zero
 *  weights (a zero output), never NaN: exp(-inf - x) is 0 for every key then, and 1/sum is replaced by 0. */
export function normaliseRow(fn: Fn, at: () => Ptr, j: Local, n: number, mx: Local): Expr[] {
  const m = fn.m, V = m.f32x4, n4 = n - (n % LANES);
  const v = fn.f32(), sum = fn.f32(), e = fn.v128(), sumV = fn.v128();
  return [
    fn.set(mx, m.select(m.f32.eq(fn.get(mx), fn.cf32(-Infinity)), fn.cf32(0), fn.get(mx))),
    fn.set(sumV, V.splat(fn.cf32(0))),
    fn.loop(j, 0, n4, () => [
      fn.set(e, expNegV(fn, V.sub(fn.loadV(at()), V.splat(fn.get(mx))))),
      fn.storeV(at(), fn.get(e)),
      fn.set(sumV, V.add(fn.get(sumV), fn.get(e))),
    ], LANES),
    fn.set(sum, hsum(fn, sumV)),
    fn.loop(j, n4, n, () => [
      fn.set(v, viaVector(fn, (x) => expNegV(fn, x), m.f32.sub(fn.load('float32', at()), fn.get(mx)))),
      fn.store('float32', at(), fn.get(v)),
      fn.set(sum, m.f32.add(fn.get(sum), fn.get(v))),
    ]),
    fn.set(sum, m.select(m.f32.gt(fn.get(sum), fn.cf32(0)), m.f32.div(fn.cf32(1), fn.get(sum)), fn.cf32(0))),
    fn.loop(j, 0, n4, () => [fn.storeV(at(), V.mul(fn.loadV(at()), V.splat(fn.get(sum))))], LANES),
    fn.loop(j, n4, n, () => [fn.store('float32', at(), m.f32.mul(fn.load('float32', at()), fn.get(sum)))]),
  ];
}

/** Queries r0..r1-1 and the keys 0..n-1 they see. */
export interface KeyBlock { readonly r0: number; readonly r1: number; readonly n: number }

/** A masked score: at or below this (or -inf, or a false bool) it adds nothing to a row with a visible key, as
 *  exp(score + mask - max) is 0 in f32 for any score under 1e29 in magnitude (expNegV flushes below e^-87). */
export const HIDDEN = -1e30;
/** Queries per row block (a multiple of the GEMM core's row tiles), more past MAX_BLOCKS blocks: each block emits
 *  its own two products, so a long sequence must not multiply the code (a causal mask in 8 blocks still skips 44%). */
const BLOCK_ROWS = 16, MAX_BLOCKS = 8;

/** Row blocks of the queries, each with the keys it computes: all of them (one block), unless is_causal or a
 *  constant mask hides every key past some point of each row, when a block of queries stops at its
 *  rows' last visible key (a causal 64 x 64 computes 62% of the scores). Keys past that point would weigh exactly
 *  0, so the output is the one the full product gives. A row with no visible key keeps the full product (its
 *  weights follow the mask's values, uniform for -3.4e38). */
export function keyBlocks(ctx: PlanContext, g: AttnGeo, causal: boolean): KeyBlock[] {
  const whole = [{ r0: 0, r1: g.qs, n: g.total }];
  const mask = ctx.inputs[3];
  // a dynamic-dims sample must emit the same code at every size (dims-mode.ts)
  if (genericDims() || g.qs < 2 * BLOCK_ROWS || (!causal && !mask?.constant)) return whole;
  // last[i]: one past the last key row i sees in any batch and head; a row that sees none in some batch and head
  // keeps the full product (its weights follow the mask's values there)
  const off = pastOffset(g);
  const last = Array.from({ length: g.qs }, (_, i) => (causal ? Math.min(g.total, i + off + 1) : g.total));
  if (mask?.constant) {
    const md = mask.dims, r = md.length, mlen = md[r - 1]!, rows = r >= 2 ? md[r - 2]! : 1, data = mask.constant.data;
    const slices = data.length / (rows * mlen), bool = mask.dtype === 'bool';
    const visible = (x: number): boolean => { const val = Number(data[x]); return bool ? val !== 0 : !(val <= HIDDEN); };
    for (let i = 0; i < g.qs; i++) {
      const row = rows === 1 ? 0 : i, lim = Math.min(last[i]!, mlen);
      let seen = 0;
      for (let sl = 0; sl < slices; sl++) {
        const at = (sl * rows + row) * mlen;
        let j = lim - 1;
        while (j >= 0 && !visible(at + j)) j--;
        if (j < 0) return whole;
        seen = Math.max(seen, j + 1);
      }
      last[i] = seen;
    }
  }
  const blocks: KeyBlock[] = [];
  const rows = Math.max(BLOCK_ROWS, 4 * Math.ceil(g.qs / (4 * MAX_BLOCKS)));
  for (let r0 = 0; r0 < g.qs; r0 += rows) {
    const r1 = Math.min(g.qs, r0 + rows);
    blocks.push({ r0, r1, n: Math.max(...last.slice(r0, r1)) });
  }
  return blocks.every((bl) => bl.n === g.total) ? whole : blocks;
}

/** K^T (dk x `keys`, rows `stride` floats apart at `dst`) from K's view, a 4x4 block at a time: four row loads,
 *  eight shuffles, four column stores. */
function transpose4(ctx: KernelContext, g: AttnGeo, K: KvView, kAt: (j: Ix, d: Ix) => Expr, dst: number, j: Local, d: Local, stride: number, keys: number): Expr {
  const { fn, m } = ctx;
  const src = fn.i32(), out = fn.i32(), r = [0, 1, 2, 3].map(() => fn.v128()), t = [0, 1, 2, 3].map(() => fn.v128());
  // lanes 0-3 from the first operand, 4-7 from the second
  const sh = (a: Local, b2: Local, lanes: number[]): Expr => m.i8x16.shuffle(fn.get(a), fn.get(b2), lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  const kRow = stride * 4;
  return fn.loop(j, 0, keys, () => [fn.loop(d, 0, g.dk, () => [
    fn.set(src, kAt(() => fn.get(j), () => fn.get(d))),
    fn.set(out, m.i32.shl(lin(fn, [[() => fn.get(d), stride], [() => fn.get(j), 1]]), fn.c32(2))),
    // rows j..j+3 of K, columns d..d+3 (a row is ss elements after the previous)
    ...r.map((x, q) => fn.set(x, m.v128.load(K.t.ptr.base + q * 4 * K.ss, 4, fn.get(src)))),
    fn.set(t[0]!, sh(r[0]!, r[1]!, [0, 4, 1, 5])), fn.set(t[1]!, sh(r[2]!, r[3]!, [0, 4, 1, 5])),
    fn.set(t[2]!, sh(r[0]!, r[1]!, [2, 6, 3, 7])), fn.set(t[3]!, sh(r[2]!, r[3]!, [2, 6, 3, 7])),
    m.v128.store(dst, 4, fn.get(out), sh(t[0]!, t[1]!, [0, 1, 4, 5])),
    m.v128.store(dst + kRow, 4, fn.get(out), sh(t[0]!, t[1]!, [2, 3, 6, 7])),
    m.v128.store(dst + 2 * kRow, 4, fn.get(out), sh(t[2]!, t[3]!, [0, 1, 4, 5])),
    m.v128.store(dst + 3 * kRow, 4, fn.get(out), sh(t[2]!, t[3]!, [2, 3, 6, 7])),
  ], LANES)], LANES);
}

/** Causal masking compares key j with query i + offset: the past length (queries follow the cached keys). */
const pastOffset = (g: AttnGeo): number => g.past;
