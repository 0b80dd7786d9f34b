// RNN, GRU and LSTM (directions, layouts, sequence_lens, initial states, peepholes, clip, activations with their
// alpha/beta, linear_before_reset, input_forget), with the cell equations of ops/rnn.ts: one dispatch per direction
// (its activations and step order fixed in the code), one invocation per batch entry walking its sequence, the state
// in function-scope arrays (hidden_size is static). Steps past a short sequence leave zeros in Y, as the reference
// does; a reversed sequence starts at its own last step.

import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { abs, add, clamp, convert, div, f32, ge, gt, i32, lt, math, max, mul, neg, select, sub, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, type Body, type Buffer } from '../wgsl/module.js';
import { bindInputs, coords, grid1d, main1d, refuseNonFloat } from './common.js';
import { output, type KernelDispatch, type LowerContext, type WgKernel } from './types.js';

type F = Expr<'f32'>;
type U = Expr<'u32'>;
type Act = (x: F) => F;

const GATES: Readonly<Record<string, number>> = { RNN: 1, GRU: 3, LSTM: 4 };
const DEFAULT_ACTS: Readonly<Record<string, readonly string[]>> = { RNN: ['tanh'], GRU: ['sigmoid', 'tanh'], LSTM: ['sigmoid', 'tanh', 'tanh'] };
const ALPHA: Readonly<Record<string, number>> = { affine: 1, leakyrelu: 0.01, thresholdedrelu: 1, scaledtanh: 1, hardsigmoid: 0.2, elu: 1 };
const BETA: Readonly<Record<string, number>> = { affine: 0, scaledtanh: 1, hardsigmoid: 0.5 };

const tanh = (x: F): F => { const e = math('exp', mul(f32(2), clamp(x, f32(-15), f32(15)))); return div(sub(e, f32(1)), add(e, f32(1))); };
function act(name: string, a: number, b: number): Act | undefined {
  switch (name) {
    case 'relu': return (x) => max(x, f32(0));
    case 'tanh': return tanh;
    case 'sigmoid': return (x) => div(f32(1), add(f32(1), math('exp', neg(x))));
    case 'affine': return (x) => add(mul(f32(a), x), f32(b));
    case 'leakyrelu': return (x) => select(ge(x, f32(0)), x, mul(f32(a), x));
    case 'thresholdedrelu': return (x) => select(gt(x, f32(a)), x, f32(0));
    case 'scaledtanh': return (x) => mul(f32(a), tanh(mul(f32(b), x)));
    case 'hardsigmoid': return (x) => clamp(add(mul(f32(a), x), f32(b)), f32(0), f32(1));
    case 'elu': return (x) => select(ge(x, f32(0)), x, mul(f32(a), sub(math('exp', x), f32(1))));
    case 'softsign': return (x) => div(x, add(f32(1), abs(x)));
    case 'softplus': return (x) => add(math('log', add(f32(1), math('exp', neg(abs(x))))), max(x, f32(0)));
    default: return undefined;
  }
}

/** Each direction's activation functions, alpha/beta consumed in order by the functions that take them. */
function activations(ctx: PlanContext, nd: number): Act[][] | string {
  const per = DEFAULT_ACTS[ctx.node.op]!;
  let names = ((ctx.attrs['activations'] as string[] | undefined) ?? []).map((s) => s.toLowerCase());
  if (names.length === 0) names = Array.from({ length: nd }, () => per).flat();
  else if (names.length === per.length && nd === 2) names = [...names, ...names];
  if (names.length !== per.length * nd) return `${names.length} activations for ${nd} direction(s)`;
  const alphas = (ctx.attrs['activation_alpha'] as number[] | undefined) ?? [], betas = (ctx.attrs['activation_beta'] as number[] | undefined) ?? [];
  let ai = 0, bi = 0;
  const fns: Act[] = [];
  for (const n of names) {
    const a = n in ALPHA ? Number(alphas[ai++] ?? ALPHA[n]) : 0, b = n in BETA ? Number(betas[bi++] ?? BETA[n]) : 0;
    const f = act(n, a, b);
    if (!f) return `activation '${n}'`;
    fns.push(f);
  }
  return Array.from({ length: nd }, (_, d) => fns.slice(d * per.length, (d + 1) * per.length));
}

function geometry(ctx: PlanContext) {
  const x = ctx.inputs[0]!.dims, layout = Number(ctx.attrs['layout'] ?? 0), dir = String(ctx.attrs['direction'] ?? 'forward');
  const nd = dir === 'bidirectional' ? 2 : 1;
  const [seq, batch, I] = layout === 0 ? [x[0]!, x[1]!, x[2]!] : [x[1]!, x[0]!, x[2]!];
  const H = Number(ctx.attrs['hidden_size'] ?? ctx.inputs[2]!.dims[2]);
  const clip = ctx.attrs['clip'] !== undefined ? Number(ctx.attrs['clip']) : undefined;
  return { layout, dir, nd, seq, batch, I, H, G: GATES[ctx.node.op]!, clip };
}

/** The shader of direction `dir` (a compile-time constant, so its activations and order are fixed in the code). */
function rnnShader(ctx: LowerContext, dir: number): { shader: string; operands: ReturnType<typeof bindInputs>['operands']; threads: number } {
  const op = ctx.node.op, g = geometry(ctx), acts = activations(ctx, g.nd) as Act[][];
  const { layout, nd, seq, batch, I, H, G } = g;
  const s = new ShaderBuilder();
  const names = ['x', 'w', 'r', 'b', 'lens', 'h0', 'c0', 'p'];
  const { bufs, operands } = bindInputs(s, ctx, names.flatMap((hint, index) => (ctx.inputs[index] && !(index === 6 && op !== 'LSTM') && !(index === 7 && op !== 'LSTM')
    ? [{ index, hint, elem: index === 4 ? 'i32' as const : 'f32' as const }] : [])));
  const at = (i: number, e: U): F => (bufs.get(i) as Buffer<'f32'>).at(e) as F;
  const outs = [0, 1, 2].map((k) => (ctx.outputs[k] ? s.buffer(['y', 'y_h', 'y_c'][k]!, 'f32', 'read_write') : undefined));
  const clipF = (x: F): F => (g.clip === undefined ? x : clamp(x, f32(-g.clip), f32(g.clip)));
  const threads = batch;
  main1d(s, threads, (b, i) => {
    const d: U = u32(dir);
    const [bi] = coords(b, i, [batch]);
    const stateRow = b.let('srow', mul(layout === 0 ? add(mul(d!, u32(batch)), bi!) : add(mul(bi!, u32(nd)), d!), u32(H)));
    const h = b.array('h', 'f32', H), c = b.array('c', 'f32', H), hn = b.array('hn', 'f32', H), rg = b.array('rg', 'f32', H);
    if (bufs.has(5)) b.for('j', u32(0), u32(H), (lb, j) => lb.set(h.at(j), at(5, add(stateRow, j))));
    if (op === 'LSTM' && bufs.has(6)) b.for('j', u32(0), u32(H), (lb, j) => lb.set(c.at(j), at(6, add(stateRow, j))));
    const len = b.let('len', bufs.has(4) ? convert('u32', clamp((bufs.get(4) as Buffer<'i32'>).at(bi!) as Expr<'i32'>, i32(0), i32(seq))) : u32(seq));
    const reverse = g.dir === 'reverse' || dir === 1;
    const yRow = (t: U): U => mul(layout === 0 ? add(mul(add(mul(t, u32(nd)), d!), u32(batch)), bi!) : add(mul(add(mul(bi!, u32(seq)), t), u32(nd)), d!), u32(H));
    const Y = outs[0];
    // steps past the sequence stay zero
    if (Y) b.for('t', len, u32(seq), (lb, t) => lb.for('j', u32(0), u32(H), (jb, j) => jb.set(Y.at(add(yRow(t), j)) as LValue<'f32'>, f32(0))));
    const gh = G * H;
    b.for('s', u32(0), len, (sb, st) => {
      const t = sb.let('t', reverse ? sub(sub(len, u32(1)), st) : st);
      const xRow = sb.let('xrow', mul(layout === 0 ? add(mul(t, u32(batch)), bi!) : add(mul(bi!, u32(seq)), t), u32(I)));
      /** x_t . W[gate row] + Wb */
      const xw = (bd: Body, row: U): F => {
        const acc = bd.var('xw', bufs.has(3) ? at(3, add(mul(d!, u32(2 * gh)), row)) : f32(0));
        bd.for('k', u32(0), u32(I), (kb, k) => kb.set(acc, add(acc, mul(at(0, add(xRow, k)), at(1, add(mul(add(mul(d!, u32(gh)), row), u32(I)), k))))));
        return acc;
      };
      /** v . R[gate row] + Rb, v(k) the recurrent input */
      const hr = (bd: Body, row: U, v: (k: U) => F): F => {
        const acc = bd.var('hr', bufs.has(3) ? at(3, add(add(mul(d!, u32(2 * gh)), u32(gh)), row)) : f32(0));
        bd.for('k', u32(0), u32(H), (kb, k) => kb.set(acc, add(acc, mul(v(k), at(2, add(mul(add(mul(d!, u32(gh)), row), u32(H)), k))))));
        return acc;
      };
      const hk = (k: U): F => h.at(k);
      const dirActs = (k: number): Act => acts[dir]![k]!;
      const f = dirActs(0);
      if (op === 'RNN') {
        sb.for('j', u32(0), u32(H), (jb, j) => jb.set(hn.at(j), f(clipF(add(xw(jb, j), hr(jb, j, hk))))));
      } else if (op === 'GRU') {
        const gAct = dirActs(1), lbr = Number(ctx.attrs['linear_before_reset'] ?? 0) !== 0;
        // r first (the candidate reads r for every k), then z and the candidate
        sb.for('j', u32(0), u32(H), (jb, j) => jb.set(rg.at(j), f(clipF(add(xw(jb, add(j, u32(H))), hr(jb, add(j, u32(H)), hk))))));
        sb.for('j', u32(0), u32(H), (jb, j) => {
          const z = jb.let('z', f(clipF(add(xw(jb, j), hr(jb, j, hk)))));
          const row = add(j, u32(2 * H));
          const cand = lbr ? gAct(clipF(add(xw(jb, row), mul(rg.at(j), hr(jb, row, hk)))))
            : gAct(clipF(add(xw(jb, row), hr(jb, row, (k) => mul(rg.at(k), h.at(k))))));
          const cv = jb.let('cand', cand);
          jb.set(hn.at(j), add(mul(sub(f32(1), z), cv), mul(z, h.at(j))));
        });
      } else {
        const gAct = dirActs(1), hAct = dirActs(2), coupled = Number(ctx.attrs['input_forget'] ?? 0) !== 0;
        const peep = (jb: Body, k: number, j: U): F => (bufs.has(7) ? at(7, add(mul(d!, u32(3 * H)), add(u32(k * H), j))) : f32(0));
        sb.for('j', u32(0), u32(H), (jb, j) => {
          const pre = (gate: number): F => add(xw(jb, add(j, u32(gate * H))), hr(jb, add(j, u32(gate * H)), hk));
          const it = jb.let('it', f(clipF(add(pre(0), mul(peep(jb, 0, j), c.at(j))))));
          const ft = jb.let('ft', coupled ? sub(f32(1), it) : f(clipF(add(pre(2), mul(peep(jb, 2, j), c.at(j))))));
          const ct = jb.let('ct', gAct(clipF(pre(3))));
          jb.set(c.at(j), add(mul(ft, c.at(j)), mul(it, ct)));
          const ot = jb.let('ot', f(clipF(add(pre(1), mul(peep(jb, 1, j), c.at(j))))));
          jb.set(hn.at(j), mul(ot, hAct(c.at(j))));
        });
      }
      sb.for('j', u32(0), u32(H), (jb, j) => {
        jb.set(h.at(j), hn.at(j));
        if (Y) jb.set(Y.at(add(yRow(t), j)) as LValue<'f32'>, hn.at(j));
      });
    });
    if (outs[1]) b.for('j', u32(0), u32(H), (lb, j) => lb.set(outs[1]!.at(add(stateRow, j)) as LValue<'f32'>, h.at(j)));
    if (outs[2]) b.for('j', u32(0), u32(H), (lb, j) => lb.set(outs[2]!.at(add(stateRow, j)) as LValue<'f32'>, c.at(j)));
  });
  return { shader: s.print(), operands, threads };
}

export const rnnKernel: WgKernel = {
  refuse(ctx): Refusal | undefined {
    const bad = refuseNonFloat(ctx, [4]);
    if (bad) return bad;
    const lens = ctx.inputs[4];
    if (lens && lens.dtype !== 'int32') return { reason: 'dtype', dtype: lens.dtype, detail: 'sequence_lens must be int32' };
    const g = geometry(ctx);
    if (g.layout !== 0 && g.layout !== 1) return { reason: 'form', detail: `layout ${g.layout}` };
    if (!['forward', 'reverse', 'bidirectional'].includes(g.dir)) return { reason: 'form', detail: `direction '${g.dir}'` };
    const a = activations(ctx, g.nd);
    if (typeof a === 'string') return { reason: 'form', detail: `the webgpu ${ctx.node.op} kernel does not take ${a}` };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const g = geometry(ctx);
    if (g.nd * g.batch === 0) return [];
    // one dispatch per direction: each writes its own rows of Y, Y_h, Y_c
    return Array.from({ length: g.nd }, (_, dir) => {
      const { shader, operands, threads } = rnnShader(ctx, dir);
      return { shader, operands: [...operands, ...[0, 1, 2].filter((k) => ctx.outputs[k]).map((k) => output(k))], workgroups: grid1d(threads) };
    });
  },
};

export const RNN_KERNELS = { RNN: rnnKernel, GRU: rnnKernel, LSTM: rnnKernel } as const;
