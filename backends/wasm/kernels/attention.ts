// Attention (opset 23/24): float32 on the GEMM core (attention-gemm.ts; under a constant mask that hides most
// keys, only the keys each block of queries sees: attention-gather.ts), everything else as scalar loops in f64:
// 3-D or 4-D Q/K/V, grouped-query heads, bool or additive masks (broadcast by static strides), causal masking,
// softcap, KV cache (past -> present), nonpad_kv_seqlen and the qk_matmul_output modes. The present K/V go to their
// outputs, or to scratch when those are not asked for.

import type { Expr, Ptr } from '../fn.js';
import { elemBytes } from '../fn.js';
import { moveElem } from '../layout.js';
import type { KernelContext, KernelGen, PlanContext, TensorRef } from './types.js';
import { expF, f64c, ldF, ldI, lin, stF, tanhF, type Ix } from './scalar.js';
import { attrNum, input, strides, unsupported } from './util.js';
import { emitGemmAttention, gemmAttentionOk, gemmAttentionScratch, type KvView } from './attention-gemm.js';
import { emitGathered, gatherPlan, gatherPrepack, gatherScratch, type GatherPlan } from './attention-gather.js';

interface Geo { B: number; qh: number; kvh: number; qs: number; kvs: number; dk: number; dv: number; past: number; total: number; rank: number }

function geometry(ctx: PlanContext): Geo {
  const Q = input(ctx, 0), K = input(ctx, 1), V = input(ctx, 2), rank = Q.dims.length;
  // the head counts have no schema default: 3-D inputs must give them (the op's inference checks that)
  const heads = (name: string): number => (ctx.attrs[name] as number | undefined) ?? 0;
  const qh = rank === 4 ? Q.dims[1]! : heads('q_num_heads'), kvh = rank === 4 ? K.dims[1]! : heads('kv_num_heads');
  const past = ctx.inputs[4]?.dims[2] ?? 0, kvs = K.dims[rank === 4 ? 2 : 1]!;
  return {
    B: Q.dims[0]!, qh, kvh, qs: Q.dims[rank === 4 ? 2 : 1]!, kvs,
    dk: rank === 4 ? Q.dims[3]! : Q.dims[2]! / qh, dv: rank === 4 ? V.dims[3]! : V.dims[2]! / kvh, past, total: past + kvs, rank,
  };
}

/** 16 bytes: the GEMM path's K^T and scores start vector-aligned after the copies and the f64 row (attention-gemm.ts). */
const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** The GEMM path reads K and V in place: no cache to prepend and no present output to fill. */
const inPlace = (ctx: PlanContext, g: Geo): boolean => gemmAttentionOk(ctx, g) && !ctx.inputs[4] && !ctx.outputs[1] && !ctx.outputs[2];

/** K and V read in place under a constant mask that hides most keys: only the keys each block of queries sees
 *  (attention-gather.ts). */
const gathered = (ctx: PlanContext, g: Geo): GatherPlan | undefined => (inPlace(ctx, g) ? gatherPlan(ctx, g) : undefined);

function scratchLayout(ctx: PlanContext): { pk: number; pv: number; row: number; bytes: number } {
  const g = geometry(ctx), eb = elemBytes(input(ctx, 0).dtype), direct = inPlace(ctx, g), gp = gathered(ctx, g);
  const pk = ctx.outputs[1] || direct ? 0 : align16(g.B * g.kvh * g.total * g.dk * eb), pv = ctx.outputs[2] || direct ? 0 : align16(g.B * g.kvh * g.total * g.dv * eb);
  const fast = gp ? gatherScratch(g, gp) : gemmAttentionOk(ctx, g) ? gemmAttentionScratch(g) : 0;
  const row = align16(g.total * 8);
  return { pk, pv, row, bytes: pk + pv + row + fast };
}

export const ATTENTION: KernelGen = {
  scratch: (ctx) => scratchLayout(ctx).bytes,
  // the gathered form reads its key table and compact bias instead of the mask
  prepack: (ctx) => { const gp = gathered(ctx, geometry(ctx)); return gp ? gatherPrepack(gp) : []; },
  unread: (ctx) => (gathered(ctx, geometry(ctx)) ? [3] : []),
  emit(ctx: KernelContext) {
    const { fn, m } = ctx;
    const Q = input(ctx, 0), K = input(ctx, 1), V = input(ctx, 2), y = ctx.outputs[0]!;
    const mask = ctx.inputs[3], pastK = ctx.inputs[4], pastV = ctx.inputs[5], nonpad = ctx.inputs[6];
    const g = geometry(ctx), sl = scratchLayout(ctx), dt = Q.dtype, eb = elemBytes(dt);
    if (!Number.isInteger(g.dk) || !Number.isInteger(g.dv) || g.qh % g.kvh !== 0) unsupported(ctx, 'with head counts that do not divide the hidden sizes');
    const sAt = (off: number): Ptr => ({ base: ctx.scratch.base + off });
    const presentK: TensorRef = ctx.outputs[1] ?? { ...Q, name: '#pk', dims: [g.B, g.kvh, g.total, g.dk], size: 0, ptr: sAt(0) };
    const presentV: TensorRef = ctx.outputs[2] ?? { ...Q, name: '#pv', dims: [g.B, g.kvh, g.total, g.dv], size: 0, ptr: sAt(sl.pk) };
    const row = sAt(sl.pk + sl.pv);
    const qk = ctx.outputs[3], mode = attrNum(ctx, 'qk_matmul_output_mode'), softcap = attrNum(ctx, 'softcap');
    const scale = (ctx.attrs['scale'] as number | undefined) ?? 1 / Math.sqrt(g.dk), causal = attrNum(ctx, 'is_causal') !== 0, group = g.qh / g.kvh;
    // element offsets of the 4-D views [B, heads, seq, head] of the inputs
    const at4 = (heads: number, seq: number, d: number, b: Ix, h: Ix, s: Ix, i: Ix): Expr => (g.rank === 4
      ? lin(fn, [[b, heads * seq * d], [h, seq * d], [s, d], [i, 1]])
      : lin(fn, [[b, seq * heads * d], [s, heads * d], [h, d], [i, 1]]));
    const b = fn.i32(), h = fn.i32(), s = fn.i32(), i = fn.i32(), j = fn.i32(), d = fn.i32(), hk = fn.i32();
    const G = (l: typeof b) => (): Expr => fn.get(l);
    // present = concat(past, current) along the sequence
    const copyPresent = (pres: TensorRef, past: TensorRef | undefined, cur: TensorRef, dd: number): Expr =>
      fn.loop(b, 0, g.B, () => [fn.loop(h, 0, g.kvh, () => [fn.loop(s, 0, g.total, () => [fn.loop(i, 0, dd, () => {
        const dst = fn.elem(pres.ptr, lin(fn, [[G(b), g.kvh * g.total * dd], [G(h), g.total * dd], [G(s), dd], [G(i), 1]]), eb);
        const fromCur = moveElem(fn, eb, dst, fn.elem(cur.ptr, at4(g.kvh, g.kvs, dd, G(b), G(h), () => m.i32.sub(fn.get(s), fn.c32(g.past)), G(i)), eb));
        if (!past) return [fromCur];
        const dst2 = fn.elem(pres.ptr, lin(fn, [[G(b), g.kvh * g.total * dd], [G(h), g.total * dd], [G(s), dd], [G(i), 1]]), eb);
        const fromPast = moveElem(fn, eb, dst2, fn.elem(past.ptr, lin(fn, [[G(b), g.kvh * g.past * dd], [G(h), g.past * dd], [G(s), dd], [G(i), 1]]), eb));
        return [m.if(m.i32.lt_s(fn.get(s), fn.c32(g.past)), fromPast, fromCur)];
      })])])]);
    // float32 without softcap/nonpad/qk output: the products on the GEMM core (attention-gemm.ts)
    if (gemmAttentionOk(ctx, g)) {
      const fast = sAt(sl.pk + sl.pv + sl.row);
      if (inPlace(ctx, g)) {
        // [B, heads, seq, d] or [B, seq, heads*d]
        const view = (t: TensorRef, d: number): KvView => (g.rank === 4 ? { t, sb: g.kvh * g.kvs * d, sh: g.kvs * d, ss: d } : { t, sb: g.kvs * g.kvh * d, sh: d, ss: g.kvh * d });
        const gp = gathered(ctx, g);
        if (gp) return emitGathered(ctx, g, gp, { k: view(K, g.dk), v: view(V, g.dv) }, fast);
        return emitGemmAttention(ctx, g, { k: view(K, g.dk), v: view(V, g.dv) }, fast);
      }
      const present = (t: TensorRef, d: number): KvView => ({ t, sb: g.kvh * g.total * d, sh: g.total * d, ss: d });
      return fn.block([copyPresent(presentK, pastK, K, g.dk), copyPresent(presentV, pastV, V, g.dv), emitGemmAttention(ctx, g, { k: present(presentK, g.dk), v: present(presentV, g.dv) }, fast)]);
    }
    // the mask read as [B, qh, qs, total] by broadcast strides; a short last axis counts as masked beyond its end
    let maskBias: (() => Expr) | undefined;
    if (mask) {
      const md = mask.dims, r = md.length, mlen = md[r - 1] ?? 1, ms = strides(md);
      if (r === 0 || r > 4 || mlen > g.total) unsupported(ctx, `with attn_mask dims [${md.join(',')}]`);
      const target = [g.B, g.qh, g.qs, g.total], idx = [G(b), G(h), G(i), G(j)];
      const terms: [Ix, number][] = [];
      for (let k = 0; k < r; k++) {
        const a = 4 - r + k;
        terms.push([idx[a]!, k === r - 1 ? 1 : md[k] === 1 && target[a] !== 1 ? 0 : ms[k]!]);
      }
      maskBias = () => {
        const v = ldF(fn, mask, lin(fn, terms));
        const bias = mask.dtype === 'bool' ? m.select(m.f64.ne(v, f64c(fn, 0)), f64c(fn, 0), f64c(fn, -Infinity)) : v;
        return mlen < g.total ? m.select(m.i32.lt_s(fn.get(j), fn.c32(mlen)), bias, f64c(fn, -Infinity)) : bias;
      };
    }
    const valid = fn.i32(), off = fn.i32(), sc = fn.forType('f64'), mx = fn.forType('f64'), sum = fn.forType('f64'), acc = fn.forType('f64');
    const rowAt = (): Ptr => fn.elem(row, fn.get(j), 8);
    const qkAt = (): Expr => lin(fn, [[G(b), g.qh * g.qs * g.total], [G(h), g.qs * g.total], [G(i), g.total], [G(j), 1]]);
    const storeQk = (k: number): Expr => (qk && mode === k ? stF(fn, qk, qkAt(), fn.get(sc)) : m.nop());
    const score: Expr[] = [
      fn.set(sc, f64c(fn, 0)),
      fn.loop(d, 0, g.dk, () => [fn.set(sc, m.f64.add(fn.get(sc), m.f64.mul(
        ldF(fn, Q, at4(g.qh, g.qs, g.dk, G(b), G(h), G(i), G(d))),
        ldF(fn, presentK, lin(fn, [[G(b), g.kvh * g.total * g.dk], [G(hk), g.total * g.dk], [G(j), g.dk], [G(d), 1]])))))]),
      fn.set(sc, m.f64.mul(fn.get(sc), f64c(fn, scale))),
      storeQk(0),
      // softcap before the mask, so masked scores stay -inf
      softcap > 0 ? fn.set(sc, m.f64.mul(f64c(fn, softcap), tanhF(fn, m.f64.div(fn.get(sc), f64c(fn, softcap))))) : m.nop(),
      storeQk(1),
      maskBias ? fn.set(sc, m.f64.add(fn.get(sc), maskBias())) : m.nop(),
      causal ? m.if(m.i32.gt_s(fn.get(j), m.i32.add(fn.get(i), fn.get(off))), fn.set(sc, f64c(fn, -Infinity))) : m.nop(),
      nonpad ? m.if(m.i32.ge_s(fn.get(j), fn.get(valid)), fn.set(sc, f64c(fn, -Infinity))) : m.nop(),
      storeQk(2),
      fn.store('float64', rowAt(), fn.get(sc)),
      fn.set(mx, m.f64.max(fn.get(mx), fn.get(sc))),
    ];
    const npLen = (): Expr => (nonpad ? ldI(fn, nonpad, nonpad.size === 1 ? fn.c32(0) : fn.get(b)) : fn.c32(g.total));
    const body = fn.loop(b, 0, g.B, () => [
      fn.set(valid, npLen()),
      fn.set(off, pastK ? fn.c32(g.past) : nonpad ? m.i32.sub(fn.get(valid), fn.c32(g.qs)) : fn.c32(0)),
      fn.loop(h, 0, g.qh, () => [
        fn.set(hk, m.i32.div_u(fn.get(h), fn.c32(group))),
        fn.loop(i, 0, g.qs, () => [
          fn.set(mx, f64c(fn, -Infinity)),
          fn.loop(j, 0, g.total, () => score),
          // a row with nothing to attend to gets all-zero weights (a zero output), never NaN
          fn.set(sum, f64c(fn, 0)),
          fn.loop(j, 0, g.total, () => [
            fn.set(sc, m.select(m.f64.eq(fn.get(mx), f64c(fn, -Infinity)), f64c(fn, 0), expF(fn, m.f64.sub(fn.load('float64', rowAt()), fn.get(mx))))),
            fn.store('float64', rowAt(), fn.get(sc)),
            fn.set(sum, m.f64.add(fn.get(sum), fn.get(sc))),
          ]),
          fn.loop(j, 0, g.total, () => [
            fn.set(sc, m.select(m.f64.gt(fn.get(sum), f64c(fn, 0)), m.f64.div(fn.load('float64', rowAt()), fn.get(sum)), f64c(fn, 0))),
            fn.store('float64', rowAt(), fn.get(sc)),
            storeQk(3),
          ]),
          fn.loop(d, 0, g.dv, () => [
            fn.set(acc, f64c(fn, 0)),
            fn.loop(j, 0, g.total, () => [fn.set(acc, m.f64.add(fn.get(acc), m.f64.mul(fn.load('float64', rowAt()),
              ldF(fn, presentV, lin(fn, [[G(b), g.kvh * g.total * g.dv], [G(hk), g.total * g.dv], [G(j), g.dv], [G(d), 1]])))))]),
            stF(fn, y, g.rank === 4 ? lin(fn, [[G(b), g.qh * g.qs * g.dv], [G(h), g.qs * g.dv], [G(i), g.dv], [G(d), 1]])
              : lin(fn, [[G(b), g.qs * g.qh * g.dv], [G(i), g.qh * g.dv], [G(h), g.dv], [G(d), 1]]), fn.get(acc)),
          ]),
        ]),
      ]),
    ]);
    return fn.block([copyPresent(presentK, pastK, K, g.dk), copyPresent(presentV, pastV, V, g.dv), body]);
  },
};
