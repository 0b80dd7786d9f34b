// Softmax and LogSoftmax along one axis (opset 13 semantics: the input as [outer, axis, inner]): one invocation
// per (outer, inner) row, three passes over the row (max, sum of exp, write), max-subtracted so nothing overflows;
// rows of 16+ elements are walked by a group of lanes each (row-group.ts).

import { add, div, f32, math, max, mul, sub, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, type Body } from '../wgsl/module.js';
import { coords, grid1d, main1d, prod, refuseNonFloat } from './common.js';
import { rowGroupGrid, rowGroupMain, rowLanes } from './row-group.js';
import { input, output, type KernelDispatch, type WgKernel } from './types.js';

/** `L`: lanes per row (rowLanes' by default; 1 one invocation per row, the form for CPU adapters). */
export function softmaxShader(outer: number, axis: number, inner: number, log: boolean, withSubgroups = false, L = rowLanes(outer * inner, axis)): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', 'f32', 'read'), Y = s.buffer('y', 'f32', 'read_write');
  // the three passes over a row: lanes `from`, `from + step`, ...; `combine` joins the lanes' partial results
  const passes = (b: Body, i: Expr<'u32'>, from: Expr<'u32'>, step: number, combine: (v: Expr<'f32'>, op: 'sum' | 'max', hint: string) => Expr<'f32'>, valid?: Expr<'bool'>): void => {
    const [o, n] = coords(b, i, [outer, inner]);
    const base = b.let('base', add(mul(o!, u32(axis * inner)), n!));
    const at = (k: Expr<'u32'>): Expr<'u32'> => add(base, mul(k, u32(inner)));
    const m0 = b.var('m', f32(-Infinity));
    b.for('k', from, u32(axis), (lb, k) => lb.set(m0, max(m0, X.at(at(k)) as Expr<'f32'>)), step);
    const m = combine(m0, 'max', 'mt');
    const sum0 = b.var('sum', f32(0));
    b.for('k', from, u32(axis), (lb, k) => lb.set(sum0, add(sum0, math('exp', sub(X.at(at(k)) as Expr<'f32'>, m)))), step);
    const sum = combine(sum0, 'sum', 'sumt');
    const lse = log ? b.let('lse', add(m, math('log', sum))) : undefined;
    const write = (wb: Body): void => wb.for('k', from, u32(axis), (lb, k) => {
      const x = X.at(at(k)) as Expr<'f32'>;
      lb.set(Y.at(at(k)) as LValue<'f32'>, lse ? sub(x, lse) : div(math('exp', sub(x, m)), sum));
    }, step);
    if (valid) b.if(valid, write); else write(b);
  };
  if (L > 1) {
    rowGroupMain(s, outer * inner, L, (b, g) => passes(b, g.row, g.lane, L, (v, op, hint) => g.combine(b, v, op, hint), g.valid),
      withSubgroups ? (b, row) => passes(b, row, u32(0), 1, (v) => v) : undefined);
  } else {
    main1d(s, outer * inner, (b, i) => passes(b, i, u32(0), 1, (v) => v));
  }
  return s.print();
}

const softmax = (log: boolean): WgKernel => ({
  dtypes: ['float32'],
  refuse: (ctx) => refuseNonFloat(ctx),
  lower(ctx): KernelDispatch[] {
    const d = ctx.inputs[0]!.dims;
    if (prod(d) === 0) return [];
    const r = d.length, a0 = Number(ctx.attrs['axis'] ?? -1), a = a0 < 0 ? a0 + r : a0;
    const outer = prod(d.slice(0, a)), axis = d[a] ?? 1, inner = prod(d.slice(a + 1));
    const L = rowLanes(outer * inner, axis);
    const serial = { shader: softmaxShader(outer, axis, inner, log, false, 1), workgroups: grid1d(outer * inner) };
    if (L === 1) return [{ ...serial, operands: [input(0), output(0)] }];
    const workgroups = rowGroupGrid(outer * inner, L);
    return [{ shader: softmaxShader(outer, axis, inner, log), operands: [input(0), output(0)], workgroups, subgroups: { shader: softmaxShader(outer, axis, inner, log, true), workgroups }, cpu: serial }];
  },
});

export const SOFTMAX_KERNELS = { Softmax: softmax(false), LogSoftmax: softmax(true) } as const;
