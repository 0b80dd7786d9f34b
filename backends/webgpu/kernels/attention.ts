// Attention (opset 23/24) as the reference computes it: 3-D or 4-D Q/K/V, grouped-query heads, bool or float masks
// (broadcast, a short mask padded as masked), causal masking, softcap, KV cache (past -> present), nonpad_kv_seqlen
// (run-time int64 narrowed in the kernel, checked) and the four qk_matmul_output modes. The output: one invocation
// per query row, each score computed once, an online softmax over the row's d_v accumulators (d_v <= 256); the qk
// output and wider heads: one invocation per element, recomputing its row (max, then exp-weighted sum). A fully
// masked row gives zero weights, never NaN.

import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import {
  add, convert, div, expr, f32, gt, i32, lt, math, max, mul, or, select, sub, u32,
  type Expr, type LValue,
} from '../wgsl/ast.js';
import { ShaderBuilder, type Body, type Buffer } from '../wgsl/module.js';
import { bindInputs, coords, grid1d, loadI64, main1d, refuseNonFloat, stridesOf } from './common.js';
import { load } from './scalar-map.js';
import { output, STATUS, type KernelDispatch, type LowerContext, type Operand, type WgKernel } from './types.js';

interface Geo {
  B: number; qh: number; kvh: number; qs: number; kvs: number; dk: number; dv: number; past: number; total: number; rank: number;
  scale: number; softcap: number; causal: boolean; mode: number;
  mask?: { dims: readonly number[]; bool: boolean };
  nonpad?: { size: number };
}

function geometry(ctx: PlanContext): Geo {
  const [Q, K, V] = ctx.inputs as NonNullable<PlanContext['inputs'][number]>[];
  const a = ctx.attrs, rank = Q!.dims.length;
  const qh = rank === 4 ? Q!.dims[1]! : Number(a['q_num_heads']), kvh = rank === 4 ? K!.dims[1]! : Number(a['kv_num_heads']);
  const dk = rank === 4 ? Q!.dims[3]! : Q!.dims[2]! / qh, dv = rank === 4 ? V!.dims[3]! : V!.dims[2]! / kvh;
  const past = ctx.inputs[4]?.dims[2] ?? 0, kvs = K!.dims[rank === 4 ? 2 : 1]!;
  const m = ctx.inputs[3], np = ctx.inputs[6];
  return {
    B: Q!.dims[0]!, qh, kvh, qs: Q!.dims[rank === 4 ? 2 : 1]!, kvs, dk, dv, past, total: past + kvs, rank,
    scale: a['scale'] !== undefined ? Number(a['scale']) : 1 / Math.sqrt(dk), softcap: Number(a['softcap'] ?? 0),
    causal: Number(a['is_causal'] ?? 0) === 1, mode: Number(a['qk_matmul_output_mode'] ?? 0),
    ...(m ? { mask: { dims: m.dims, bool: m.dtype === 'bool' } } : {}),
    ...(np ? { nonpad: { size: np.size } } : {}),
  };
}

type F = Expr<'f32'>;
type U = Expr<'u32'>;
/** Largest d_v the row kernel holds in a function-scope array (past it, one invocation per output element). */
const ROW_DV_MAX = 256;

/** The shader writing one of: the output (`y`), a present cache (`presentK`/`presentV`) or the qk output. */
function attentionShader(g: Geo, what: 'y' | 'qk' | 'presentK' | 'presentV', ctx: LowerContext): { shader: string; operands: Operand[]; threads: number } {
  const s = new ShaderBuilder();
  // only what the shader reads is bound (the pipeline's layout leaves unread bindings out)
  const scoresOnly = what === 'qk' && g.mode < 2;
  const want = what === 'presentK' ? [1, 4] : what === 'presentV' ? [2, 5] : what === 'qk' ? (scoresOnly ? [0, 1, 4] : [0, 1, 3, 4]) : [0, 1, 2, 3, 4, 5];
  const hints = ['q', 'k', 'v', 'mask', 'past_k', 'past_v'];
  const list = want.filter((i) => ctx.inputs[i] !== undefined && !((i === 4 || i === 5) && g.past === 0))
    .map((i) => ({ index: i, hint: hints[i]!, elem: (i === 3 && g.mask?.bool ? 'u32' : 'f32') as 'f32' | 'u32' }));
  const { bufs, operands } = bindInputs(s, ctx, list);
  const NP = g.nonpad && what !== 'presentK' && what !== 'presentV' && !scoresOnly ? s.buffer('nonpad', 'u32', 'read') : undefined;
  if (NP) operands.push({ kind: 'input', index: 6 });
  const Y = s.buffer('y', 'f32', 'read_write');
  const status = NP ? s.status() : undefined;
  const buf = (i: number) => bufs.get(i) as Buffer<'f32'>;
  // [b, head, seq, d] of a 3-D or 4-D current input
  const cur = (i: number, heads: number, seq: number, d: number) => (b: U, h: U, t: U, e: U): F =>
    buf(i).at(g.rank === 4 ? add(mul(add(mul(add(mul(b, u32(heads)), h), u32(seq)), t), u32(d)), e)
      : add(add(mul(add(mul(b, u32(seq)), t), u32(heads * d)), mul(h, u32(d))), e)) as F;
  /** Element (b, h, t, e) of the present cache of input `i` (K: 1, V: 2). */
  const present = (bd: Body, i: 1 | 2, b: U, h: U, t: U, e: U): F => {
    const d = i === 1 ? g.dk : g.dv;
    const now = cur(i, g.kvh, g.kvs, d);
    if (!bufs.has(i + 3) || g.past === 0) return now(b, h, g.past === 0 ? t : sub(t, u32(g.past)), e);
    const P = buf(i + 3);
    const inPast = bd.let('in_past', lt(t, u32(g.past)));
    const pt = bd.let('pt', select(inPast, t, u32(0))), ct = bd.let('ct', select(inPast, u32(0), sub(t, u32(g.past))));
    return select(inPast, P.at(add(mul(add(mul(add(mul(b, u32(g.kvh)), h), u32(g.past)), pt), u32(d)), e)) as F, now(b, h, ct, e));
  };

  if (what === 'presentK' || what === 'presentV') {
    const d = what === 'presentK' ? g.dk : g.dv, n = g.B * g.kvh * g.total * d;
    main1d(s, n, (b, i) => {
      const [bb, h, t, e] = coords(b, i, [g.B, g.kvh, g.total, d]);
      b.set(Y.at(i) as LValue<'f32'>, present(b, what === 'presentK' ? 1 : 2, bb!, h!, t!, e!));
    });
    return { shader: s.print(), operands, threads: n };
  }

  const q = cur(0, g.qh, g.qs, g.dk);
  const group = g.qh / g.kvh;
  // the mask's strides against [B, qh, qs] (its leading dims right-aligned there), its last dim read directly
  const mdims = g.mask?.dims ?? [];
  const mlen = mdims[mdims.length - 1] ?? 1;
  const mst = stridesOf(mdims);
  /** The score of (b, h, i, j) at stage `mode` (0: scaled, 1: after softcap, 2: after the mask). */
  const score = (bd: Body, b: U, h: U, i: U, j: U, hk: U, off: Expr<'i32'>, valid: Expr<'i32'>, stage: number): F => {
    const acc = bd.var('dot', f32(0));
    bd.for('d', u32(0), u32(g.dk), (lb, d) => lb.set(acc, add(acc, mul(q(b, h, i, d), present(lb, 1, b, hk, j, d)))));
    let sc: F = bd.let('sc', mul(acc, f32(g.scale)));
    if (stage === 0) return sc;
    if (g.softcap > 0) sc = bd.let('capped', mul(f32(g.softcap), tanh(div(sc, f32(g.softcap)))));
    if (stage === 1) return sc;
    let masked: Expr<'bool'> | undefined;
    let bias: F | undefined;
    if (g.mask) {
      const lead = [b, h, i].slice(3 - (mdims.length - 1));
      let off0: U = u32(0);
      lead.forEach((c, k) => { if (mdims[k] !== 1) off0 = add(off0, mul(c, u32(mst[k]!))); });
      const inMask = bd.let('in_mask', lt(j, u32(mlen)));
      const at = bd.let('m_at', add(off0, select(inMask, j, u32(0))));
      if (g.mask.bool) masked = bd.let('m_off', or(not(inMask), not(load(bufs.get(3)!, 'bool', at) as Expr<'bool'>)));
      else { masked = bd.let('m_off', not(inMask)); bias = bd.let('m_bias', buf(3).at(at) as F); }
    }
    const ji = convert('i32', j);
    if (g.causal) masked = masked ? or(masked, gt(ji, add(convert('i32', i), off))) : gt(ji, add(convert('i32', i), off));
    if (g.nonpad) masked = masked ? or(masked, expr('bool', { kind: 'bin', op: '>=', a: ji.node, b: valid.node })) : expr('bool', { kind: 'bin', op: '>=', a: ji.node, b: valid.node });
    if (bias) sc = bd.let('biased', add(sc, bias));
    return masked ? bd.let('s', select(masked, f32(-Infinity), sc)) : sc;
  };

  // the output, one invocation per query row: scores computed once each, an online softmax (running max and sum,
  // earlier terms rescaled when the max grows) over a function-scope accumulator of the row's d_v outputs
  if (what === 'y' && g.dv <= ROW_DV_MAX) {
    const rows = g.B * g.qh * g.qs;
    main1d(s, rows, (b, idx) => {
      const [bb, h, i] = coords(b, idx, [g.B, g.qh, g.qs]);
      const hk = b.let('hk', group === 1 ? h! : div(h!, u32(group)));
      const valid = NP ? b.let('valid', loadI64(b, NP, g.nonpad!.size === 1 ? u32(0) : bb!, status!, i32(g.total))) : i32(g.total);
      const off = g.past > 0 || bufs.has(4) ? i32(g.past) : NP ? b.let('off', sub(valid, i32(g.qs))) : i32(0);
      const acc = b.array('acc', 'f32', g.dv);
      const m = b.var('mx', f32(-Infinity)), l = b.var('l', f32(0));
      b.for('j', u32(0), u32(g.total), (lb, j) => {
        const sc = lb.let('score', score(lb, bb!, h!, i!, j, hk, off, valid, 2));
        // a masked key (-inf) adds nothing; a row with none left stays all zero
        lb.if(gt(sc, f32(-Infinity)), (t) => {
          const mn = t.let('mnew', max(m, sc));
          const corr = t.let('corr', math('exp', sub(m, mn)));
          const p = t.let('p', math('exp', sub(sc, mn)));
          t.set(l, add(mul(l, corr), p));
          t.for('d', u32(0), u32(g.dv), (db, d) => db.set(acc.at(d), add(mul(acc.at(d), corr), mul(p, present(db, 2, bb!, hk, j, d)))));
          t.set(m, mn);
        });
      });
      const inv = b.let('inv', select(gt(l, f32(0)), div(f32(1), l), f32(0)));
      const base = b.let('ybase', g.rank === 4 ? mul(idx, u32(g.dv)) : add(mul(add(mul(bb!, u32(g.qs)), i!), u32(g.qh * g.dv)), mul(h!, u32(g.dv))));
      b.for('d', u32(0), u32(g.dv), (db, d) => db.set(Y.at(add(base, d)) as LValue<'f32'>, mul(acc.at(d), inv)));
    });
    return { shader: s.print(), operands, threads: rows };
  }
  const outDims = what === 'qk' ? [g.B, g.qh, g.qs, g.total] : [g.B, g.qh, g.qs, g.dv];
  const n = outDims.reduce((x, y) => x * y, 1);
  main1d(s, n, (b, idx) => {
    const [bb, h, i, last] = coords(b, idx, outDims);
    const hk = b.let('hk', group === 1 ? h! : div(h!, u32(group)));
    const valid = NP ? b.let('valid', loadI64(b, NP, g.nonpad!.size === 1 ? u32(0) : bb!, status!, i32(g.total))) : i32(g.total);
    const off = g.past > 0 || bufs.has(4) ? i32(g.past) : NP ? b.let('off', sub(valid, i32(g.qs))) : i32(0);
    if (what === 'qk' && g.mode < 3) {
      b.set(Y.at(idx) as LValue<'f32'>, score(b, bb!, h!, i!, last!, hk, off, valid, g.mode));
      return;
    }
    const m = b.var('mx', f32(-Infinity));
    b.for('j', u32(0), u32(g.total), (lb, j) => lb.set(m, max(m, score(lb, bb!, h!, i!, j, hk, off, valid, 2))));
    const sum = b.var('sum', f32(0)), acc = b.var('acc', f32(0));
    const finite = b.let('any', gt(m, f32(-Infinity)));
    b.for('j', u32(0), u32(g.total), (lb, j) => {
      const w = lb.let('w', select(finite, math('exp', sub(score(lb, bb!, h!, i!, j, hk, off, valid, 2), m)), f32(0)));
      lb.set(sum, add(sum, w));
      if (what === 'qk') lb.if(eq32(j, last!), (t) => t.set(acc, w));
      else lb.set(acc, add(acc, mul(w, present(lb, 2, bb!, hk, j, last!))));
    });
    const r = select(gt(sum, f32(0)), div(acc, sum), f32(0));
    if (what === 'qk' || g.rank === 4) b.set(Y.at(idx) as LValue<'f32'>, r);
    else b.set(Y.at(add(add(mul(add(mul(bb!, u32(g.qs)), i!), u32(g.qh * g.dv)), mul(h!, u32(g.dv))), last!)) as LValue<'f32'>, r);
  });
  return { shader: s.print(), operands, threads: n };
}

const not = (x: Expr<'bool'>): Expr<'bool'> => expr('bool', { kind: 'un', op: '!', a: x.node });
const eq32 = (a: U, b: U): Expr<'bool'> => expr('bool', { kind: 'bin', op: '==', a: a.node, b: b.node });
/** tanh through exp on a clamped argument (some drivers' tanh overflows past |x| ~ 44). */
const tanh = (x: F): F => {
  const e = math('exp', mul(f32(2), expr('f32', { kind: 'call', fn: 'clamp', args: [x.node, f32(-15).node, f32(15).node] })));
  return div(sub(e, f32(1)), add(e, f32(1)));
};

export const attentionKernel: WgKernel = {
  refuse(ctx): Refusal | undefined {
    const bad = refuseNonFloat(ctx, [3, 6]);
    if (bad) return bad;
    const m = ctx.inputs[3];
    if (m && m.dtype !== 'bool' && m.dtype !== 'float32') return { reason: 'dtype', dtype: m.dtype, detail: `attn_mask of ${m.dtype}` };
    if (m && (m.dims.length === 0 || m.dims.length > 4)) return { reason: 'form', detail: `attn_mask of rank ${m.dims.length}` };
    const np = ctx.inputs[6];
    if (np && np.dtype !== 'int64') return { reason: 'dtype', dtype: np.dtype, detail: 'nonpad_kv_seqlen must be int64' };
    const g = geometry(ctx);
    if (!Number.isInteger(g.dk) || !Number.isInteger(g.dv) || g.qh % g.kvh !== 0) return { reason: 'form', detail: 'head counts do not divide the hidden sizes' };
    if (m && m.dims[m.dims.length - 1]! > g.total) return { reason: 'form', detail: `attn_mask rows of ${m.dims[m.dims.length - 1]} exceed ${g.total} keys` };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const g = geometry(ctx);
    const out: KernelDispatch[] = [];
    const outs: ['y' | 'presentK' | 'presentV' | 'qk', number][] = [['y', 0], ['presentK', 1], ['presentV', 2], ['qk', 3]];
    for (const [what, k] of outs) {
      const o = ctx.outputs[k];
      if (!o || o.size === 0) continue;
      const { shader, operands, threads } = attentionShader(g, what, ctx);
      out.push({ shader, operands: [...operands, output(k), ...(shader.includes('atomicMax') ? [STATUS] : [])], workgroups: grid1d(threads) });
    }
    return out;
  },
};

export const ATTENTION_KERNELS = { Attention: attentionKernel } as const;
