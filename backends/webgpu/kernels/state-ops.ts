// Ops that carry a state across a sequence (opset 27): LinearAttention, one invocation per (batch, kv head, value
// column) holding its column of the d_k x d_v state in a function-scope array and walking the tokens in order
// (every update rule touches a column alone, so columns are independent); and CausalConvWithState, one
// invocation per output element over the carried state followed by the input, with the next state copied out.

import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { add, div, f32, lt, math, mod, mul, neg, select, sub, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, type Buffer } from '../wgsl/module.js';
import { bindInputs, coords, grid1d, main1d, refuseNonFloat } from './common.js';
import { output, type KernelDispatch, type WgKernel } from './types.js';

type F = Expr<'f32'>;

function linearAttentionGeo(ctx: PlanContext) {
  const [Q, K, V] = ctx.inputs as NonNullable<PlanContext['inputs'][number]>[];
  const hq = Number(ctx.attrs['q_num_heads']), hk = Number(ctx.attrs['kv_num_heads']);
  const [B, T] = Q!.dims as [number, number];
  const dk = Q!.dims[2]! / hq, dv = V!.dims[2]! / hk;
  const sc = Number(ctx.attrs['scale'] ?? 0);
  return { B, T, hq, hk, dk, dv, kdim: K!.dims[2]!, scale: sc ? sc : 1 / Math.sqrt(dk), decayLast: ctx.inputs[4]?.dims[2], betaLast: ctx.inputs[5]?.dims[2] };
}

export const linearAttentionKernel: WgKernel = {
  refuse(ctx): Refusal | undefined {
    const bad = refuseNonFloat(ctx);
    if (bad) return bad;
    const g = linearAttentionGeo(ctx);
    if (!Number.isInteger(g.dk) || !Number.isInteger(g.dv) || g.kdim !== g.hk * g.dk || g.hq % g.hk !== 0) return { reason: 'form', detail: 'head sizes do not divide the hidden sizes' };
    if (!ctx.outputs[0]) return { reason: 'form', detail: 'LinearAttention with only its present_state output' };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const g = linearAttentionGeo(ctx);
    const threads = g.B * g.hk * g.dv;
    if (threads === 0) return [];
    const s = new ShaderBuilder();
    const names = ['q', 'k', 'v', 'past', 'decay', 'beta', 'erase'];
    const { bufs, operands } = bindInputs(s, ctx, names.flatMap((hint, index) => (ctx.inputs[index] ? [{ index, hint, elem: 'f32' as const }] : [])));
    const at = (i: number, e: Expr<'u32'>): F => (bufs.get(i) as Buffer<'f32'>).at(e) as F;
    const Y = s.buffer('y', 'f32', 'read_write');
    const P = ctx.outputs[1] ? s.buffer('present', 'f32', 'read_write') : undefined;
    const group = g.hq / g.hk;
    main1d(s, threads, (b, i) => {
      const [bb, h, m] = coords(b, i, [g.B, g.hk, g.dv]);
      const col = b.array('col', 'f32', g.dk);
      const s0 = b.let('s0', add(mul(add(mul(bb!, u32(g.hk)), h!), u32(g.dk * g.dv)), m!));
      if (ctx.inputs[3]) b.for('d', u32(0), u32(g.dk), (lb, d) => lb.set(col.at(d), at(3, add(s0, mul(d, u32(g.dv))))));
      b.for('t', u32(0), u32(g.T), (tb, t) => {
        const row = tb.let('row', add(mul(bb!, u32(g.T)), t));
        const kAt = (d: Expr<'u32'>): F => at(1, add(add(mul(row, u32(g.hk * g.dk)), mul(h!, u32(g.dk))), d));
        if (ctx.inputs[4]) {
          const dl = g.decayLast!;
          tb.for('d', u32(0), u32(g.dk), (lb, d) => {
            const gate = math('exp', at(4, add(mul(row, u32(dl)), dl === g.hk ? h! : add(mul(h!, u32(g.dk)), d))));
            lb.set(col.at(d), mul(col.at(d), gate));
          });
        }
        const vt = tb.var('vt', at(2, add(add(mul(row, u32(g.hk * g.dv)), mul(h!, u32(g.dv))), m!)));
        if (ctx.inputs[5]) {
          const got = tb.var('got', f32(0));
          tb.for('d', u32(0), u32(g.dk), (lb, d) => {
            const ke = ctx.inputs[6] ? mul(at(6, add(add(mul(row, u32(g.hk * g.dk)), mul(h!, u32(g.dk))), d)), kAt(d)) : kAt(d);
            lb.set(got, add(got, mul(col.at(d), ke)));
          });
          const bt = at(5, add(mul(row, u32(g.betaLast!)), g.betaLast === 1 ? u32(0) : h!));
          tb.set(vt, mul(bt, sub(vt, got)));
        }
        tb.for('d', u32(0), u32(g.dk), (lb, d) => lb.set(col.at(d), add(col.at(d), mul(kAt(d), vt))));
        for (let r = 0; r < group; r++) {
          const qh = tb.let('qh', add(mul(h!, u32(group)), u32(r)));
          const acc = tb.var('acc', f32(0));
          tb.for('d', u32(0), u32(g.dk), (lb, d) => lb.set(acc, add(acc, mul(at(0, add(add(mul(row, u32(g.hq * g.dk)), mul(qh, u32(g.dk))), d)), col.at(d)))));
          tb.set(Y.at(add(add(mul(row, u32(g.hq * g.dv)), mul(qh, u32(g.dv))), m!)) as LValue<'f32'>, mul(f32(g.scale), acc));
        }
      });
      if (P) b.for('d', u32(0), u32(g.dk), (lb, d) => lb.set(P.at(add(s0, mul(d, u32(g.dv)))) as LValue<'f32'>, col.at(d)));
    });
    return [{ shader: s.print(), operands: [...operands, output(0), ...(P ? [output(1)] : [])], workgroups: grid1d(threads) }];
  },
};

export const causalConvKernel: WgKernel = {
  refuse(ctx): Refusal | undefined {
    const bad = refuseNonFloat(ctx);
    if (bad) return bad;
    const w = ctx.inputs[1]!.dims;
    if (w.length !== 3 || w[1] !== 1 || w[0] !== ctx.inputs[0]!.dims[1]) return { reason: 'form', detail: `weight [${w.join(',')}] is not one depthwise kernel per channel` };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const [n, c, len] = ctx.inputs[0]!.dims as [number, number, number];
    const k = ctx.inputs[1]!.dims[2]!, st = k - 1;
    const silu = ctx.attrs['activation'] === 'silu' || ctx.attrs['activation'] === 'swish';
    const out: KernelDispatch[] = [];
    for (const which of [0, 1] as const) {
      const o = ctx.outputs[which];
      if (!o || o.size === 0) continue;
      const s = new ShaderBuilder();
      const want = which === 0 ? [0, 1, 2, 3] : [0, 3];
      const names = ['x', 'w', 'bias', 'past'];
      const { bufs, operands } = bindInputs(s, ctx, want.filter((i) => ctx.inputs[i] && !(i === 3 && st === 0)).map((index) => ({ index, hint: names[index]!, elem: 'f32' as const })));
      const at = (i: number, e: Expr<'u32'>): F => (bufs.get(i) as Buffer<'f32'>).at(e) as F;
      const Y = s.buffer('y', 'f32', 'read_write');
      // position p of the row's sequence: the carried state (zeros without one), then the input
      const seq = (row: Expr<'u32'>, p: Expr<'u32'>): F => {
        const fromX = at(0, add(mul(row, u32(len)), select(lt(p, u32(st)), u32(0), sub(p, u32(st)))));
        if (st === 0) return fromX;
        const fromState = bufs.has(3) ? at(3, add(mul(row, u32(st)), select(lt(p, u32(st)), p, u32(0)))) : f32(0);
        return select(lt(p, u32(st)), fromState, fromX);
      };
      main1d(s, o.size, (b, i) => {
        if (which === 1) {
          const [row, j] = coords(b, i, [n * c, st]);
          b.set(Y.at(i) as LValue<'f32'>, seq(row!, add(j!, u32(len))));
          return;
        }
        const [row, t] = coords(b, i, [n * c, len]);
        const ch = b.let('ch', c === 1 ? u32(0) : mod(row!, u32(c)));
        const v = b.var('v', bufs.has(2) ? at(2, ch) : f32(0));
        b.for('j', u32(0), u32(k), (lb, j) => lb.set(v, add(v, mul(at(1, add(mul(ch, u32(k)), j)), seq(row!, add(t!, j))))));
        b.set(Y.at(i) as LValue<'f32'>, silu ? div(v, add(f32(1), math('exp', neg(v)))) : v);
      });
      out.push({ shader: s.print(), operands: [...operands, output(which)], workgroups: grid1d(o.size) });
    }
    return out;
  },
};

export const STATE_KERNELS = { LinearAttention: linearAttentionKernel, CausalConvWithState: causalConvKernel } as const;
