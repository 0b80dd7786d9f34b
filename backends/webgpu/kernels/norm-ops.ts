// Normalisations over a reduced sub-space, with the reference's formulas (ops/normalization*.ts): one invocation
// per kept position (a "row") walking its reduced elements: InstanceNormalization, GroupNormalization,
// MeanVarianceNormalization (mean, then variance, then write), LpNormalization (p = 1, 2; a zero norm gives 0),
// Hardmax (first maximum gets 1); and LRN, one invocation per element over its channel window.

import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { abs, add, div, f32, gt, math, min, mul, pow, select, sub, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, type Body, type Buffer } from '../wgsl/module.js';
import { bindInputs, coords, grid1d, main1d, offsetOf, prod, refuseNonFloat, stridesOf } from './common.js';
import { input, output, type KernelDispatch, type LowerContext, type WgKernel } from './types.js';

type F = Expr<'f32'>;
type U = Expr<'u32'>;

/** The per-row shader: `dims` viewed with `axes` reduced; `write` gives each element's output from its value, the
 *  row's index and the element's reduced index. `stats` computes what the row needs first. */
function rowShader(dims: readonly number[], axes: readonly number[], ctx: LowerContext, params: readonly number[],
  body: (b: Body, each: (bb: Body, f: (lb: Body, v: F, off: U, r: U) => void) => void, row: U, P: readonly Buffer<'f32'>[], Y: Buffer<'f32'>) => void): { shader: string; operands: ReturnType<typeof bindInputs>['operands'] } {
  const kept = dims.map((_, i) => i).filter((i) => !axes.includes(i));
  const st = stridesOf(dims);
  const red = axes.map((a) => dims[a]!), R = prod(red);
  const s = new ShaderBuilder();
  const { bufs, operands } = bindInputs(s, ctx, [0, ...params].map((index) => ({ index, hint: index === 0 ? 'x' : `p${index}`, elem: 'f32' as const })));
  const X = bufs.get(0) as Buffer<'f32'>;
  const Y = s.buffer('y', 'f32', 'read_write');
  main1d(s, prod(kept.map((k) => dims[k]!)), (b, i) => {
    const base = b.let('base', offsetOf(coords(b, i, kept.map((k) => dims[k]!), 'o'), kept.map((k) => (dims[k] === 1 ? 0 : st[k]!))));
    const each = (bb: Body, f: (lb: Body, v: F, off: U, r: U) => void): void => bb.for('r', u32(0), u32(R), (lb, r) => {
      const off = lb.let('off', add(base, offsetOf(coords(lb, r, red, 'q'), axes.map((k) => (dims[k] === 1 ? 0 : st[k]!)))));
      f(lb, lb.let('v', X.at(off) as F), off, r);
    });
    body(b, each, i, params.map((p) => bufs.get(p) as Buffer<'f32'>), Y);
  });
  return { shader: s.print(), operands };
}

/** Mean and 1/sqrt(var + eps) (or 1/(std + eps) when `epsOnStd`) of a row. */
function meanInv(b: Body, each: Parameters<Parameters<typeof rowShader>[4]>[1], R: number, eps: number, epsOnStd = false): { mean: F; inv: F } {
  const sum = b.var('sum', f32(0));
  each(b, (lb, v) => lb.set(sum, add(sum, v)));
  const mean = b.let('mean', div(sum, f32(R)));
  const sq = b.var('sq', f32(0));
  each(b, (lb, v) => { const d = lb.let('d', sub(v, mean)); lb.set(sq, add(sq, mul(d, d))); });
  const inv = b.let('inv', epsOnStd ? div(f32(1), add(math('sqrt', div(sq, f32(R))), f32(eps))) : div(f32(1), math('sqrt', add(div(sq, f32(R)), f32(eps)))));
  return { mean, inv };
}

const axisOf = (ctx: PlanContext, dflt: number): number => { const r = ctx.inputs[0]!.dims.length, a = Number(ctx.attrs['axis'] ?? dflt); return a < 0 ? a + r : a; };

type Plan = (ctx: LowerContext) => { shader: string; operands: ReturnType<typeof bindInputs>['operands']; rows: number };

const PLANS: Readonly<Record<string, Plan>> = {
  InstanceNormalization: (ctx) => {
    const d = ctx.inputs[0]!.dims, C = d[1]!, inner = prod(d.slice(2)), eps = Number(ctx.attrs['epsilon'] ?? 1e-5);
    const r = rowShader([d[0]! * C, inner], [1], ctx, [1, 2], (b, each, row, [G, B], Y) => {
      const { mean, inv } = meanInv(b, each, inner, eps);
      const ch = b.let('ch', mod32(row, C));
      each(b, (lb, v, off) => lb.set(Y.at(off) as LValue<'f32'>, add(mul(mul(sub(v, mean), inv), G!.at(ch) as F), B!.at(ch) as F)));
    });
    return { ...r, rows: d[0]! * C };
  },
  GroupNormalization: (ctx) => {
    const d = ctx.inputs[0]!.dims, C = d[1]!, G = Number(ctx.attrs['num_groups']), inner = prod(d.slice(2)), eps = Number(ctx.attrs['epsilon'] ?? 1e-5);
    const span = (C / G) * inner;
    const r = rowShader([d[0]! * G, span], [1], ctx, [1, 2], (b, each, row, [S, B], Y) => {
      const { mean, inv } = meanInv(b, each, span, eps);
      const g = b.let('g', mod32(row, G));
      each(b, (lb, v, off, k) => {
        const ch = lb.let('ch', add(mul(g, u32(C / G)), div(k, u32(inner))));
        lb.set(Y.at(off) as LValue<'f32'>, add(mul(mul(sub(v, mean), inv), S!.at(ch) as F), B!.at(ch) as F));
      });
    });
    return { ...r, rows: d[0]! * G };
  },
  MeanVarianceNormalization: (ctx) => {
    const d = ctx.inputs[0]!.dims, r0 = d.length;
    const axes = [...new Set(((ctx.attrs['axes'] as number[] | undefined) ?? [0, 2, 3]).map((a) => (Number(a) < 0 ? Number(a) + r0 : Number(a))))].sort((a, b) => a - b);
    const R = prod(axes.map((a) => d[a]!));
    const r = rowShader(d, axes, ctx, [], (b, each, _row, _p, Y) => {
      const { mean, inv } = meanInv(b, each, R, 1e-9, true);
      each(b, (lb, v, off) => lb.set(Y.at(off) as LValue<'f32'>, mul(sub(v, mean), inv)));
    });
    return { ...r, rows: prod(d) / Math.max(1, R) };
  },
  LpNormalization: (ctx) => {
    const d = ctx.inputs[0]!.dims, a = axisOf(ctx, -1), p = Number(ctx.attrs['p'] ?? 2);
    const r = rowShader(d, [a], ctx, [], (b, each, _row, _p, Y) => {
      const acc = b.var('acc', f32(0));
      each(b, (lb, v) => lb.set(acc, add(acc, p === 1 ? abs(v) : mul(v, v))));
      const norm = b.let('norm', p === 1 ? acc : math('sqrt', acc));
      each(b, (lb, v, off) => lb.set(Y.at(off) as LValue<'f32'>, select(gt(norm, f32(0)), div(v, norm), f32(0))));
    });
    return { ...r, rows: prod(d) / Math.max(1, d[a]!) };
  },
  Hardmax: (ctx) => {
    const d = ctx.inputs[0]!.dims, a = axisOf(ctx, -1);
    const r = rowShader(d, [a], ctx, [], (b, each, _row, _p, Y) => {
      const best = b.var('best', f32(-Infinity)), at = b.var('at', u32(0));
      // the first maximum wins (a later equal value does not move it)
      each(b, (lb, v, _off, k) => lb.if(gt(v, best), (t) => { t.set(best, v); t.set(at, k); }));
      each(b, (lb, _v, off, k) => lb.set(Y.at(off) as LValue<'f32'>, select(eqU(k, at), f32(1), f32(0))));
    });
    return { ...r, rows: prod(d) / Math.max(1, d[a]!) };
  },
};

const mod32 = (x: U, n: number): U => (n === 1 ? u32(0) : ({ type: 'u32', node: { kind: 'bin', op: '%', a: x.node, b: u32(n).node } }));
const eqU = (a: U, b: U): Expr<'bool'> => ({ type: 'bool', node: { kind: 'bin', op: '==', a: a.node, b: b.node } });

const rowKernel = (op: string): WgKernel => ({
  dtypes: ['float32'],
  refuse(ctx): Refusal | undefined {
    const bad = refuseNonFloat(ctx);
    if (bad) return bad;
    const d = ctx.inputs[0]!.dims;
    if ((op === 'InstanceNormalization' || op === 'GroupNormalization') && d.length < 2) return { reason: 'form', detail: `${op} needs X of rank >= 2` };
    if (op === 'GroupNormalization' && d[1]! % Number(ctx.attrs['num_groups']) !== 0) return { reason: 'form', detail: 'channels not divisible by num_groups' };
    if (op === 'GroupNormalization' && (ctx.inputs[1]!.size !== d[1] || ctx.inputs[2]!.size !== d[1])) return { reason: 'form', detail: 'GroupNormalization scale/bias of C elements (opset 21 form) expected' };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    if (ctx.outputs[0]!.size === 0) return [];
    const { shader, operands, rows } = PLANS[op]!(ctx);
    if (rows === 0) return [];
    return [{ shader, operands: [...operands, output(0)], workgroups: grid1d(rows) }];
  },
});

export function lrnShader(n: number, c: number, inner: number, alpha: number, beta: number, bias: number, size: number): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', 'f32', 'read'), Y = s.buffer('y', 'f32', 'read_write');
  const before = Math.floor((size - 1) / 2), after = Math.ceil((size - 1) / 2);
  main1d(s, n * c * inner, (b, i) => {
    const [bn, ch, q] = coords(b, i, [n, c, inner]);
    const lo = b.let('lo', select(gt(ch!, u32(before)), sub(ch!, u32(before)), u32(0)));
    const hi = b.let('hi', min(add(ch!, u32(after + 1)), u32(c)));
    const sq = b.var('sq', f32(0));
    b.for('cc', lo, hi, (lb, cc) => { const v = lb.let('v', X.at(add(mul(add(mul(bn!, u32(c)), cc), u32(inner)), q!)) as F); lb.set(sq, add(sq, mul(v, v))); });
    b.set(Y.at(i) as LValue<'f32'>, div(X.at(i) as F, pow(add(f32(bias), mul(f32(alpha / size), sq)), f32(beta))));
  });
  return s.print();
}

export const lrnKernel: WgKernel = {
  dtypes: ['float32'],
  refuse: (ctx) => refuseNonFloat(ctx) ?? (ctx.inputs[0]!.dims.length < 2 ? { reason: 'form', detail: 'LRN needs X of rank >= 2' } : undefined),
  lower(ctx): KernelDispatch[] {
    const d = ctx.inputs[0]!.dims;
    if (prod(d) === 0) return [];
    const a = ctx.attrs;
    const shader = lrnShader(d[0]!, d[1]!, prod(d.slice(2)), Number(a['alpha'] ?? 1e-4), Number(a['beta'] ?? 0.75), Number(a['bias'] ?? 1), Number(a['size']));
    return [{ shader, operands: [input(0), output(0)], workgroups: grid1d(prod(d)) }];
  },
};

export const NORM_KERNELS = {
  InstanceNormalization: rowKernel('InstanceNormalization'), GroupNormalization: rowKernel('GroupNormalization'),
  MeanVarianceNormalization: rowKernel('MeanVarianceNormalization'), LpNormalization: rowKernel('LpNormalization'),
  Hardmax: rowKernel('Hardmax'), LRN: lrnKernel,
} as const;
