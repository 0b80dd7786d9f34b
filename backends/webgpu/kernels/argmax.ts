// ArgMax/ArgMin (float32 or int32 input) with their int64 output: one invocation per (outer, inner) row scans the
// axis; the index is written as an int64 word pair (low, 0: indices are never negative), the layout every int64
// reader here takes (common.ts loadI64, runtime/webgpu's BigInt64Array outputs). Ties keep the first index
// (select_last_index: the last); NaN ranks above every number, as the reference's compareValues orders them.

import { add, band, bitcast, bool, gt, i32, lt, mul, or, same, select, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder } from '../wgsl/module.js';
import { coords, grid1d, main1d, prod } from './common.js';
import { input, output, type KernelDispatch, type WgKernel } from './types.js';

function argShader(outer: number, dim: number, inner: number, elem: 'f32' | 'i32', sign: 1 | -1, last: boolean): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', elem, 'read'), Y = s.buffer('y', 'u32', 'read_write');
  const isNan = (v: Expr<'f32' | 'i32'>): Expr<'bool'> => (elem === 'f32'
    ? gt(band(bitcast('u32', v), u32(0x7fffffff)), u32(0x7f800000)) : bool(false));
  main1d(s, outer * inner, (b, i) => {
    const [o, n] = coords(b, i, [outer, inner]);
    const base = b.let('base', add(mul(o!, u32(dim * inner)), n!));
    const best = b.var('best', u32(0));
    const bv = b.var('bv', X.at(base) as Expr<'f32' | 'i32'>) as LValue<'f32'>;
    b.for('k', u32(1), u32(dim), (lb, k) => {
      const v = lb.let('v', X.at(add(base, mul(k, u32(inner)))) as Expr<'f32'>);
      const vn = lb.let('vn', isNan(v)), bn = lb.let('bn', isNan(bv));
      // compareValues(v, best value): NaN above numbers, NaNs equal
      const num = select(lt(v, bv), i32(-1), select(gt(v, bv), i32(1), i32(0)));
      const c = lb.let('c', select(or(vn, bn), select(same(vn, bn), i32(0), select(vn, i32(1), i32(-1))), num));
      const win = sign === 1 ? gt(c, i32(0)) : lt(c, i32(0));
      const take = last ? or(win, same(c, i32(0))) : win;
      lb.if(take, (t) => { t.set(best, k); t.set(bv, v); });
    });
    b.set(Y.at(mul(i, u32(2))) as LValue<'u32'>, best);
    b.set(Y.at(add(mul(i, u32(2)), u32(1))) as LValue<'u32'>, u32(0));
  });
  return s.print();
}

const argKernel = (sign: 1 | -1): WgKernel => ({
  dtypes: ['float32', 'int32'],
  refuse(ctx) {
    const x = ctx.inputs[0]!;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return { reason: 'dtype', dtype: x.dtype, detail: `the webgpu ArgMax/ArgMin kernel reads float32 or int32, not ${x.dtype} ('${x.name}')` };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const d = ctx.inputs[0]!.dims;
    if (ctx.outputs[0]!.size === 0) return [];
    const r = d.length, a0 = Number(ctx.attrs['axis']), a = a0 < 0 ? a0 + r : a0;
    const outer = prod(d.slice(0, a)), dim = d[a]!, inner = prod(d.slice(a + 1));
    const last = Number(ctx.attrs['select_last_index']) !== 0;
    return [{ shader: argShader(outer, dim, inner, ctx.inputs[0]!.dtype === 'int32' ? 'i32' : 'f32', sign, last), operands: [input(0), output(0)], workgroups: grid1d(outer * inner) }];
  },
});

export const ARG_KERNELS = { ArgMax: argKernel(1), ArgMin: argKernel(-1) };
