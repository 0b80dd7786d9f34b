// Attention under a constant mask that hides most keys of every row (a local window: SVTR's 7x11 mixer over an
// 8x80 grid sees 77 of 640 keys): per block of R queries, only the keys some row of the block sees are gathered
// (K transposed, V by rows) into scratch, padded to a multiple of 4 with a repeated key; S = scale Q K_b^T plus a
// compact bias (the mask at the gathered keys, -inf on the padding) added in the product's epilogue, the softmax
// over those keys and Y = P V_b. A hidden key weighs exactly 0 in f32 (see HIDDEN in attention-gemm.ts), so the
// output is the one the full product gives. The key table and bias are prepacked; the mask itself is not laid out.

import { makeTensor, type Tensor } from '../../../ir/tensor.js';
import type { Expr, Local, Ptr } from '../fn.js';
import { hmax, LANES } from '../simd.js';
import { gemm } from './gemm-core.js';
import { HIDDEN, keyBlocks, normaliseRow, type AttnGeo, type KvView } from './attention-gemm.js';
import { lin } from './scalar.js';
import type { KernelContext, PlanContext } from './types.js';
import { attrNum } from './util.js';

export interface GatherPlan {
  /** Queries per block (the last block may have fewer) and gathered keys per block (a multiple of 4). */
  readonly R: number; readonly N: number; readonly blocks: number;
  /** keys[block * N + slot]: the key index of a slot. */
  readonly keys: Int32Array;
  /** bias[query * N + slot]: the mask at that query and key, -inf on padding slots. */
  readonly bias: Float32Array;
}

/** Rows per block tried; the plan takes the cheapest by estimated work. */
const ROWS = [8, 16, 32];
/** Take the gathered form only when its estimated work is under this share of the full (or key-blocked) one. */
const WORTH = 0.6;

const plans = new WeakMap<object, Map<string, GatherPlan | null>>();

/** The gathered form's plan, or undefined when the mask is not constant, varies over batch or heads, leaves a row
 *  with nothing visible, or hides too little to pay for the gathering. Not asked whether the emission is generic
 *  (dims-mode.ts): memory is planned outside that mode, and the plan decides what is laid out (the mask or the
 *  table), so it must be the same answer at emission; a dynamic-dims compile whose samples gather differently is
 *  refused by the generalisation (fuse-attention is off there, so only a model's own Attention can get here). */
export function gatherPlan(ctx: PlanContext, g: AttnGeo): GatherPlan | undefined {
  const mask = ctx.inputs[3];
  if (!mask?.constant || attrNum(ctx, 'is_causal') !== 0 || g.past !== 0 || g.qs < 2 * ROWS[0]!) return undefined;
  const md = mask.dims, r = md.length;
  if (r === 0 || md.at(-1) !== g.total || md.slice(0, -2).some((d) => d !== 1)) return undefined;
  const key = `${g.qs},${g.total},${g.dk},${g.dv}`;
  let byGeo = plans.get(mask.constant);
  if (!byGeo) plans.set(mask.constant, (byGeo = new Map()));
  if (!byGeo.has(key)) byGeo.set(key, plan(ctx, g) ?? null);
  return byGeo.get(key) ?? undefined;
}

function plan(ctx: PlanContext, g: AttnGeo): GatherPlan | undefined {
  const mask = ctx.inputs[3]!, md = mask.dims, rows = md.length >= 2 ? md.at(-2)! : 1, data = mask.constant!.data, bool = mask.dtype === 'bool';
  const value = (i: number, j: number): number => {
    const x = Number(data[(rows === 1 ? 0 : i) * g.total + j]);
    return bool ? (x !== 0 ? 0 : -Infinity) : x;
  };
  const seen: number[][] = [];
  for (let i = 0; i < g.qs; i++) {
    const row: number[] = [];
    for (let j = 0; j < g.total; j++) if (!(value(i, j) <= HIDDEN)) row.push(j);
    if (row.length === 0) return undefined;
    seen.push(row);
  }
  const per = g.dk + g.dv;
  const baseline = keyBlocks(ctx, g, false).reduce((a, bl) => a + (bl.r1 - bl.r0) * bl.n * per, 0);
  let best: { R: number; N: number; unions: number[][]; cost: number } | undefined;
  for (const R of ROWS) {
    if (R > g.qs) break;
    const unions: number[][] = [];
    for (let r0 = 0; r0 < g.qs; r0 += R) {
      const u = new Set<number>();
      for (let i = r0; i < Math.min(g.qs, r0 + R); i++) for (const j of seen[i]!) u.add(j);
      unions.push([...u].sort((a, b) => a - b));
    }
    const N = Math.ceil(Math.max(...unions.map((u) => u.length)) / LANES) * LANES;
    // the products, the gathering (about two products' worth per gathered element) and a fixed cost per block
    const cost = g.qs * N * per + unions.length * (2 * N * per + 256);
    if (!best || cost < best.cost) best = { R, N, unions, cost };
  }
  if (!best || best.cost > WORTH * baseline) return undefined;
  const { R, N, unions } = best;
  const keys = new Int32Array(unions.length * N), bias = new Float32Array(g.qs * N).fill(-Infinity);
  unions.forEach((u, b) => {
    for (let s = 0; s < N; s++) keys[b * N + s] = u[Math.min(s, u.length - 1)]!;
    for (let i = b * R; i < Math.min(g.qs, (b + 1) * R); i++) for (let s = 0; s < u.length; s++) bias[i * N + s] = value(i, u[s]!);
  });
  return { R, N, blocks: unions.length, keys, bias };
}

/** The key table (int32) and the bias (float32), laid out with the weights. */
export function gatherPrepack(p: GatherPlan): Tensor[] {
  return [makeTensor('int32', [p.keys.length], p.keys), makeTensor('float32', [p.bias.length], p.bias)];
}

/** Scratch bytes: K_b^T, V_b and one block's scores. */
export const gatherScratch = (g: AttnGeo, p: GatherPlan): number => (g.dk * p.N + p.N * g.dv + p.R * p.N) * 4;

/** Per batch and head, every block of queries over its gathered keys. */
export function emitGathered(ctx: KernelContext, g: AttnGeo, p: GatherPlan, kv: { k: KvView; v: KvView }, scratch: Ptr): Expr {
  const { fn, m } = ctx;
  const Q = ctx.inputs[0]!, y = ctx.outputs[0]!, [table, biasT] = ctx.packed as [typeof Q, typeof Q];
  const given = ctx.attrs['scale'], scale = typeof given === 'number' ? given : 1 / Math.sqrt(g.dk);
  const { R, N } = p, kt = scratch.base, vg = kt + g.dk * N * 4, sc = vg + N * g.dv * 4;
  const qRow = g.rank === 4 ? g.dk : g.qh * g.dk, yRow = g.rank === 4 ? g.dv : g.qh * g.dv;
  const b = fn.i32(), h = fn.i32(), hk = fn.i32(), blk = fn.i32(), qa = fn.i32(), ya = fn.i32(), ba = fn.i32(), ta = fn.i32();
  const i = fn.i32(), j = fn.i32(), d = fn.i32(), o = fn.i32(), mx = fn.f32(), vmax = fn.v128();
  const src = [0, 1, 2, 3].map(() => fn.i32()), rv = [0, 1, 2, 3].map(() => fn.v128()), tv = [0, 1, 2, 3].map(() => fn.v128());
  const K = kv.k, Vv = kv.v, V = m.f32x4, G = (l: Local) => (): Expr => fn.get(l);
  /** Byte offset of (key, 0) in a view, the key read from the table at slot j + q of the block. */
  const keyAt = (w: KvView, q: number): Expr => m.i32.shl(m.i32.add(lin(fn, [[G(b), w.sb], [G(hk), w.sh]]),
    m.i32.mul(m.i32.load(table.ptr.base + q * 4, 4, m.i32.add(fn.get(ta), m.i32.shl(fn.get(j), fn.c32(2)))), fn.c32(w.ss))), fn.c32(2));
  const sh = (a: Local, b2: Local, lanes: number[]): Expr => m.i8x16.shuffle(fn.get(a), fn.get(b2), lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  const dOff = (): Expr => m.i32.shl(fn.get(d), fn.c32(2));
  const ktAt = (): Expr => m.i32.shl(m.i32.add(m.i32.mul(fn.get(d), fn.c32(N)), fn.get(j)), fn.c32(2));
  // K_b^T[d, s] = K[key(s), d]: four keys' rows at a time, 4x4 blocks by shuffles when the head size is whole vectors
  const gatherK = (): Expr => (g.dk % LANES === 0 ? fn.loop(j, 0, N, () => [
    ...src.map((x, q) => fn.set(x, keyAt(K, q))),
    fn.loop(d, 0, g.dk, () => [
      ...rv.map((x, q) => fn.set(x, m.v128.load(K.t.ptr.base, 4, m.i32.add(fn.get(src[q]!), dOff())))),
      fn.set(tv[0]!, sh(rv[0]!, rv[1]!, [0, 4, 1, 5])), fn.set(tv[1]!, sh(rv[2]!, rv[3]!, [0, 4, 1, 5])),
      fn.set(tv[2]!, sh(rv[0]!, rv[1]!, [2, 6, 3, 7])), fn.set(tv[3]!, sh(rv[2]!, rv[3]!, [2, 6, 3, 7])),
      fn.set(o, ktAt()),
      m.v128.store(kt, 4, fn.get(o), sh(tv[0]!, tv[1]!, [0, 1, 4, 5])),
      m.v128.store(kt + N * 4, 4, fn.get(o), sh(tv[0]!, tv[1]!, [2, 3, 6, 7])),
      m.v128.store(kt + 2 * N * 4, 4, fn.get(o), sh(tv[2]!, tv[3]!, [0, 1, 4, 5])),
      m.v128.store(kt + 3 * N * 4, 4, fn.get(o), sh(tv[2]!, tv[3]!, [2, 3, 6, 7])),
    ], LANES),
  ], LANES) : fn.loop(j, 0, N, () => [
    fn.set(src[0]!, keyAt(K, 0)),
    fn.loop(d, 0, g.dk, () => [m.f32.store(kt, 4, ktAt(), m.f32.load(K.t.ptr.base, 4, m.i32.add(fn.get(src[0]!), dOff())))]),
  ]));
  // V_b[s, :] = V[key(s), :]
  const dv4 = g.dv - (g.dv % LANES);
  const vTo = (): Expr => m.i32.add(fn.get(o), dOff()), vFrom = (): Expr => m.i32.add(fn.get(src[0]!), dOff());
  const gatherV = (): Expr => fn.loop(j, 0, N, () => [
    fn.set(src[0]!, keyAt(Vv, 0)),
    fn.set(o, m.i32.mul(fn.get(j), fn.c32(g.dv * 4))),
    fn.loop(d, 0, dv4, () => [m.v128.store(vg, 4, vTo(), m.v128.load(Vv.t.ptr.base, 4, vFrom()))], LANES),
    fn.loop(d, dv4, g.dv, () => [m.f32.store(vg, 4, vTo(), m.f32.load(Vv.t.ptr.base, 4, vFrom()))]),
  ]);
  const at = (): Ptr => ({ base: sc, dyn: m.i32.add(m.i32.mul(fn.get(i), fn.c32(N * 4)), m.i32.shl(fn.get(j), fn.c32(2))) });
  // a block of M queries whose byte offsets qa (Q rows), ya (Y rows), ba (bias rows), ta (key slots) are set
  const block = (M: number): Expr[] => [
    gatherK(), gatherV(),
    gemm(fn, { M, N, K: g.dk, alpha: scale, a: { base: Q.ptr.base, dyn: qa, rs: qRow, cs: 1 }, b: { base: kt, rs: N, cs: 1 }, c: { base: sc, rs: N, cs: 1 },
      bias: { base: biasT.ptr.base, dyn: ba, rs: N, cs: 1 }, beta: 1 }),
    fn.loop(i, 0, M, () => [
      fn.set(vmax, V.splat(fn.cf32(-Infinity))),
      fn.loop(j, 0, N, () => [fn.set(vmax, V.max(fn.get(vmax), fn.loadV(at())))], LANES),
      fn.set(mx, hmax(fn, vmax)),
      ...normaliseRow(fn, at, j, N, mx),
    ]),
    gemm(fn, { M, N: g.dv, K: N, a: { base: sc, rs: N, cs: 1 }, b: { base: vg, rs: g.dv, cs: 1 }, c: { base: y.ptr.base, dyn: ya, rs: yRow, cs: 1 } }),
  ];
  // Q and Y rows of head h: [B, heads, seq, d] (rank 4) or [B, seq, heads*d] (rank 3)
  const headOff = (d0: number): Expr => (g.rank === 4 ? lin(fn, [[G(b), g.qh * g.qs * d0], [G(h), g.qs * d0]]) : lin(fn, [[G(b), g.qs * g.qh * d0], [G(h), d0]]));
  const offsets = (r0: () => Expr, blockIx: () => Expr): Expr[] => [
    fn.set(qa, m.i32.shl(m.i32.add(headOff(g.dk), m.i32.mul(r0(), fn.c32(qRow))), fn.c32(2))),
    fn.set(ya, m.i32.shl(m.i32.add(headOff(g.dv), m.i32.mul(r0(), fn.c32(yRow))), fn.c32(2))),
    fn.set(ba, m.i32.mul(r0(), fn.c32(N * 4))),
    fn.set(ta, m.i32.mul(blockIx(), fn.c32(N * 4))),
  ];
  const full = Math.floor(g.qs / R), tail = g.qs - full * R;
  return fn.loop(b, 0, g.B, () => [fn.loop(h, 0, g.qh, () => [
    fn.set(hk, m.i32.div_u(fn.get(h), fn.c32(g.qh / g.kvh))),
    fn.loop(blk, 0, full, () => [...offsets(() => m.i32.mul(fn.get(blk), fn.c32(R)), () => fn.get(blk)), ...block(R)]),
    ...(tail > 0 ? [...offsets(() => fn.c32(full * R), () => fn.c32(full)), ...block(tail)] : []),
  ])]);
}
