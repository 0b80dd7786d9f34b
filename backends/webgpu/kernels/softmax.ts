// Softmax and LogSoftmax along one axis (opset 13 semantics: the input as [outer, axis, inner]): one invocation
// per (outer, inner) row, three passes over the row (max, sum of exp, write), max-subtracted so nothing overflows.

import { add, div, f32, math, max, mul, sub, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder } from '../wgsl/module.js';
import { coords, grid1d, main1d, prod, refuseNonFloat } from './common.js';
import { input, output, type KernelDispatch, type WgKernel } from './types.js';

export function softmaxShader(outer: number, axis: number, inner: number, log: boolean): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', 'f32', 'read'), Y = s.buffer('y', 'f32', 'read_write');
  main1d(s, outer * inner, (b, i) => {
    const [o, n] = coords(b, i, [outer, inner]);
    const base = b.let('base', add(mul(o!, u32(axis * inner)), n!));
    const at = (k: Expr<'u32'>): Expr<'u32'> => add(base, mul(k, u32(inner)));
    const m = b.var('m', f32(-Infinity));
    b.for('k', u32(0), u32(axis), (lb, k) => lb.set(m, max(m, X.at(at(k)) as Expr<'f32'>)));
    const sum = b.var('sum', f32(0));
    b.for('k', u32(0), u32(axis), (lb, k) => lb.set(sum, add(sum, math('exp', sub(X.at(at(k)) as Expr<'f32'>, m)))));
    const lse = log ? b.let('lse', add(m, math('log', sum))) : undefined;
    b.for('k', u32(0), u32(axis), (lb, k) => {
      const x = X.at(at(k)) as Expr<'f32'>;
      lb.set(Y.at(at(k)) as LValue<'f32'>, lse ? sub(x, lse) : div(math('exp', sub(x, m)), sum));
    });
  });
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
    return [{ shader: softmaxShader(outer, axis, inner, log), operands: [input(0), output(0)], workgroups: grid1d(outer * inner) }];
  },
});

export const SOFTMAX_KERNELS = { Softmax: softmax(false), LogSoftmax: softmax(true) } as const;
