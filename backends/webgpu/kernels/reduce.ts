// Reductions (ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp over constant axes, keepdims,
// noop_with_empty_axes) with one invocation per output element walking its reduced sub-space, and
// LayerNormalization (two passes: mean, then variance; a workgroup per row of 64+, else an invocation). float32; empty
// reductions give the reference's values (0, 1, NaN for Mean, -inf for LogSum/LogSumExp/Max, +inf for Min).

import { toNumbers } from '../../../ir/tensor.js';
import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { abs, add, div, eq, f32, lane, lt, math, max, min, mul, sub, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { MAX_WORKGROUPS_PER_DIM, ShaderBuilder, type Body } from '../wgsl/module.js';
import { coords, grid1d, main1d, offsetOf, prod, refuseNonFloat, stridesOf } from './common.js';
import { input, output, type KernelDispatch, type WgKernel } from './types.js';
import { batchNormTrainingDispatch } from './misc-ops.js';
import { cpuRows } from './row-group.js';

type Kind = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'l1' | 'l2' | 'sumsquare' | 'logsum' | 'logsumexp';

/** The reduced axes (sorted), or 'none' for a no-op. */
function axesOf(ctx: PlanContext): number[] | 'none' {
  const rank = ctx.inputs[0]!.dims.length;
  const c = ctx.inputs[1]?.constant;
  const given = c ? toNumbers(c) : (ctx.attrs['axes'] as number[] | undefined) ?? [];
  if (given.length === 0) return Number(ctx.attrs['noop_with_empty_axes'] ?? 0) === 1 ? 'none' : [...Array(rank).keys()];
  return [...new Set(given.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
}

export function reduceShader(dims: readonly number[], axes: readonly number[], kind: Kind): string {
  const kept = dims.map((_, i) => i).filter((i) => !axes.includes(i));
  const st = stridesOf(dims);
  const outDims = kept.map((i) => dims[i]!), redDims = axes.map((i) => dims[i]!);
  const R = prod(redDims);
  const s = new ShaderBuilder();
  const X = s.buffer('x', 'f32', 'read'), Y = s.buffer('y', 'f32', 'read_write');
  main1d(s, prod(outDims), (b, i) => {
    const base = b.let('base', offsetOf(coords(b, i, outDims, 'o'), kept.map((k) => (dims[k] === 1 ? 0 : st[k]!))));
    const each = (bb: Body, f: (lb: Body, v: Expr<'f32'>) => void): void => bb.for('r', u32(0), u32(R), (lb, r) => {
      const off = offsetOf(coords(lb, r, redDims, 'q'), axes.map((k) => (dims[k] === 1 ? 0 : st[k]!)));
      f(lb, lb.let('v', X.at(add(base, off)) as Expr<'f32'>));
    });
    const init: Record<Kind, number> = { sum: 0, mean: 0, l1: 0, l2: 0, sumsquare: 0, logsum: 0, logsumexp: 0, prod: 1, max: -Infinity, min: Infinity };
    const acc = b.var('acc', f32(init[kind]));
    let result: Expr<'f32'> = acc;
    if (kind === 'logsumexp') {
      const m = b.var('m', f32(-Infinity));
      each(b, (lb, v) => lb.set(m, max(m, v)));
      // an infinite max is not subtracted (inf - inf); an empty row stays -inf
      const shift = b.let('shift', R === 0 ? f32(0) : m);
      each(b, (lb, v) => lb.set(acc, add(acc, math('exp', sub(v, shift)))));
      result = add(shift, math('log', acc));
    } else {
      each(b, (lb, v) => {
        const next: Record<Exclude<Kind, 'logsumexp'>, () => Expr<'f32'>> = {
          sum: () => add(acc, v), mean: () => add(acc, v), logsum: () => add(acc, v), prod: () => mul(acc, v), max: () => max(acc, v), min: () => min(acc, v),
          l1: () => add(acc, abs(v)), l2: () => add(acc, mul(v, v)), sumsquare: () => add(acc, mul(v, v)),
        };
        lb.set(acc, next[kind]());
      });
      if (kind === 'mean') result = div(acc, f32(R));
      if (kind === 'l2') result = math('sqrt', acc);
      if (kind === 'logsum') result = math('log', acc);
    }
    b.set(Y.at(i) as LValue<'f32'>, result);
  });
  return s.print();
}

const reduce = (kind: Kind): WgKernel => ({
  dtypes: ['float32'],
  constInputs: [1],
  unread: () => [1],
  refuse: (ctx) => refuseNonFloat(ctx, [1]),
  lower(ctx): KernelDispatch[] {
    const y = ctx.outputs[0]!, dims = ctx.inputs[0]!.dims;
    if (y.size === 0) return [];
    const axes = axesOf(ctx);
    return [{ shader: reduceShader(dims, axes === 'none' ? [] : axes, axes === 'none' ? 'max' : kind), operands: [input(0), output(0)], workgroups: grid1d(y.size) }];
  },
});

/** Invocations of the workgroup-per-row LayerNormalization form, and the rows x length above which it is taken. */
export const LN_WG = 64;
const LN_ROW_MIN = 64;

/** `stats`: also write each row's mean and 1/sqrt(var + eps) (LayerNormalization's optional outputs 1 and 2).
 *  Rows of LN_ROW_MIN+ elements (and at most 65535 rows) take a workgroup each: its LN_WG invocations stride over
 *  the row and sum through workgroup memory (gpt2_tiny's 64 rows of 256 on an H200: 86 us a node as one
 *  invocation per row, a lone workgroup); shorter rows keep one invocation per row, as every row does with
 *  `grouped` false (the form for CPU adapters). */
export function layerNormShader(rows: number, n: number, eps: number, scaleN: number, biasN: number | undefined, stats: { mean: boolean; invStd: boolean } = { mean: false, invStd: false }, withSubgroups = false, grouped = layerNormGrouped(rows, n)): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', 'f32', 'read'), G = s.buffer('scale', 'f32', 'read');
  const B = biasN !== undefined ? s.buffer('bias', 'f32', 'read') : undefined;
  const Y = s.buffer('y', 'f32', 'read_write');
  const MEAN = stats.mean ? s.buffer('mean_out', 'f32', 'read_write') : undefined;
  const INV = stats.invStd ? s.buffer('inv_std_out', 'f32', 'read_write') : undefined;
  // scale and bias broadcast over the normalised row: an element's offset modulo their size
  const bcast = (j: Expr<'u32'>, size: number): Expr<'u32'> => (size === n ? j : size === 1 ? u32(0) : { type: 'u32', node: { kind: 'bin', op: '%', a: j.node, b: u32(size).node } });
  const write = (b: Body, base: Expr<'u32'>, row: Expr<'u32'>, mean: Expr<'f32'>, inv: Expr<'f32'>, from: Expr<'u32'>, step: number, first: Expr<'bool'> | undefined): void => {
    const st = (sb: Body): void => {
      if (MEAN) sb.set(MEAN.at(row) as LValue<'f32'>, mean);
      if (INV) sb.set(INV.at(row) as LValue<'f32'>, inv);
    };
    if (first) b.if(first, st); else st(b);
    b.for('j', from, u32(n), (lb, j) => {
      let v: Expr<'f32'> = mul(mul(sub(X.at(add(base, j)) as Expr<'f32'>, mean), inv), G.at(bcast(j, scaleN)) as Expr<'f32'>);
      if (B) v = add(v, B.at(bcast(j, biasN!)) as Expr<'f32'>);
      lb.set(Y.at(add(base, j)) as LValue<'f32'>, v);
    }, step);
  };
  const serialRow = (b: Body, i: Expr<'u32'>): void => {
    const base = b.let('base', mul(i, u32(n)));
    const sum = b.var('sum', f32(0));
    b.for('j', u32(0), u32(n), (lb, j) => lb.set(sum, add(sum, X.at(add(base, j)) as Expr<'f32'>)));
    const mean = b.let('mean', div(sum, f32(n)));
    const sq = b.var('sq', f32(0));
    b.for('j', u32(0), u32(n), (lb, j) => { const d = lb.let('d', sub(X.at(add(base, j)) as Expr<'f32'>, mean)); lb.set(sq, add(sq, mul(d, d))); });
    const inv = b.let('inv', div(f32(1), math('sqrt', add(div(sq, f32(n)), f32(eps)))));
    write(b, base, i, mean, inv, u32(0), 1, undefined);
  };
  if (grouped) {
    const lid = s.builtin('local_invocation_index', 'u32'), wid = s.builtin('workgroup_id', 'vec3<u32>');
    const red = s.workgroupArray('partial', 'f32', LN_WG);
    s.main([LN_WG, 1, 1], (b) => {
      // devices with subgroups under 16 lanes (CPU adapters): one row per invocation, as below (row-group.ts)
      if (withSubgroups) cpuRows(s, b, rows, lid, wid, serialRow);
      const row = b.let('row', lane(wid, 0));
      const base = b.let('base', mul(row, u32(n)));
      // the workgroup's sum of f over the row: strided partial sums, then a tree in workgroup memory
      const rowSum = (hint: string, f: (lb: Body, v: Expr<'f32'>) => Expr<'f32'>): Expr<'f32'> => {
        const acc = b.var(hint, f32(0));
        b.for('j', lid, u32(n), (lb, j) => lb.set(acc, add(acc, f(lb, X.at(add(base, j)) as Expr<'f32'>))), LN_WG);
        b.set(red.at(lid), acc);
        b.barrier();
        for (let h = LN_WG / 2; h >= 1; h /= 2) {
          b.if(lt(lid, u32(h)), (tb) => tb.set(red.at(lid), add(red.at(lid), red.at(add(lid, u32(h)))) as Expr<'f32'>));
          b.barrier();
        }
        const total = b.let(`${hint}_total`, red.at(u32(0)) as Expr<'f32'>);
        b.barrier(); // everyone has read red[0] before it is written again
        return total;
      };
      const mean = b.let('mean', div(rowSum('sum', (_lb, v) => v), f32(n)));
      const sq = rowSum('sq', (lb, v) => { const d = lb.let('d', sub(v, mean)); return mul(d, d); });
      const inv = b.let('inv', div(f32(1), math('sqrt', add(div(sq, f32(n)), f32(eps)))));
      write(b, base, row, mean, inv, lid, LN_WG, eq(lid, u32(0)));
    });
    return s.print();
  }
  main1d(s, rows, serialRow);
  return s.print();
}

/** Whether layerNormShader takes a workgroup per row for these rows. */
const layerNormGrouped = (rows: number, n: number): boolean => n >= LN_ROW_MIN && rows <= MAX_WORKGROUPS_PER_DIM;

const layerNormAxis = (ctx: PlanContext): number => { const r = ctx.inputs[0]!.dims.length, a = Number(ctx.attrs['axis'] ?? -1); return a < 0 ? a + r : a; };

export const layerNormKernel: WgKernel = {
  dtypes: ['float32'],
  refuse(ctx): Refusal | undefined {
    const bad = refuseNonFloat(ctx);
    if (bad) return bad;
    const n = prod(ctx.inputs[0]!.dims.slice(layerNormAxis(ctx)));
    // scale/bias must broadcast as a suffix of the normalised row (what exporters write)
    for (const r of [ctx.inputs[1], ctx.inputs[2]]) if (r && r.size !== 1 && n % r.size !== 0) return { reason: 'form', detail: `scale/bias of ${r.size} elements do not tile a row of ${n}` };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const x = ctx.inputs[0]!, a = layerNormAxis(ctx);
    const rows = prod(x.dims.slice(0, a)), n = prod(x.dims.slice(a));
    if (rows * n === 0) return [];
    const bias = ctx.inputs[2];
    const stats = { mean: ctx.outputs[1] !== undefined, invStd: ctx.outputs[2] !== undefined };
    const shader = (sg: boolean, grouped: boolean): string => layerNormShader(rows, n, Number(ctx.attrs['epsilon'] ?? 1e-5), ctx.inputs[1]!.size, bias?.size, stats, sg, grouped);
    const operands = [input(0), input(1), ...(bias ? [input(2)] : []), output(0), ...(stats.mean ? [output(1)] : []), ...(stats.invStd ? [output(2)] : [])];
    const serial = { shader: shader(false, false), workgroups: grid1d(rows) };
    if (!layerNormGrouped(rows, n)) return [{ ...serial, operands }];
    const workgroups: [number, number, number] = [rows, 1, 1];
    // CPU adapters: one invocation per row (runtime/webgpu/forms.ts)
    return [{ shader: shader(false, true), operands, workgroups, subgroups: { shader: shader(true, true), workgroups }, cpu: serial }];
  },
};

export const REDUCE_KERNELS = {
  ReduceSum: reduce('sum'), ReduceMean: reduce('mean'), ReduceMax: reduce('max'), ReduceMin: reduce('min'), ReduceProd: reduce('prod'),
  ReduceL1: reduce('l1'), ReduceL2: reduce('l2'), ReduceSumSquare: reduce('sumsquare'), ReduceLogSum: reduce('logsum'), ReduceLogSumExp: reduce('logsumexp'),
  LayerNormalization: layerNormKernel,
} as const;


/** BatchNormalization in inference form: y = (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + B[c], c the channel
 *  (axis 1). Training mode (batch statistics, running statistics as outputs) is misc-ops.ts's. */
export function batchNormShader(total: number, C: number, inner: number, eps: number): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', 'f32', 'read'), G = s.buffer('scale', 'f32', 'read'), B = s.buffer('bias', 'f32', 'read');
  const M = s.buffer('mean', 'f32', 'read'), V = s.buffer('var', 'f32', 'read'), Y = s.buffer('y', 'f32', 'read_write');
  main1d(s, total, (b, i) => {
    const c = b.let('c', C === 1 ? u32(0) : { type: 'u32', node: { kind: 'bin', op: '%', a: (inner === 1 ? i : { type: 'u32', node: { kind: 'bin', op: '/', a: i.node, b: u32(inner).node } } as Expr<'u32'>).node, b: u32(C).node } } as Expr<'u32'>);
    const at = (buf: typeof X): Expr<'f32'> => buf.at(c) as Expr<'f32'>;
    const norm = div(sub(X.at(i) as Expr<'f32'>, at(M)), math('sqrt', add(at(V), f32(eps))));
    b.set(Y.at(i) as LValue<'f32'>, add(mul(norm, at(G)), at(B)));
  });
  return s.print();
}

export const batchNormKernel: WgKernel = {
  dtypes: ['float32'],
  refuse(ctx) {
    if (Number(ctx.attrs['training_mode'] ?? 0) === 0 && (ctx.outputs[1] || ctx.outputs[2])) return { reason: 'form', detail: 'running_mean/running_var outputs need training_mode=1' };
    if (ctx.inputs[0]!.dims.length < 2) return { reason: 'form', detail: 'BatchNormalization needs X of rank >= 2' };
    return refuseNonFloat(ctx);
  },
  lower(ctx): KernelDispatch[] {
    const x = ctx.inputs[0]!;
    if (Number(ctx.attrs['training_mode'] ?? 0) !== 0) return batchNormTrainingDispatch(ctx);
    if (x.size === 0) return [];
    const shader = batchNormShader(x.size, x.dims[1]!, prod(x.dims.slice(2)), Number(ctx.attrs['epsilon'] ?? 1e-5));
    return [{ shader, operands: [input(0), input(1), input(2), input(3), input(4), output(0)], workgroups: grid1d(x.size) }];
  },
};

export const BATCHNORM_KERNELS = { BatchNormalization: batchNormKernel } as const;
