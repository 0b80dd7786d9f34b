// Ops along one axis, with the reference's semantics: CumSum/CumProd (exclusive, reverse; one invocation per line,
// summed in the reference's order), Trilu (constant k; one invocation per element), GatherElements (int32 or
// int64 indices, run-time int64 narrowed and checked; an index outside [-n, n) writes 0 and sets the node's
// status, reported as an OnnxcRuntimeError, never a read outside the tensor).

import { toNumbers } from '../../../ir/tensor.js';
import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { add, and, convert, ge, i32, le, lt, mul, select, sub, u32, type Expr, type LValue, type Scalar } from '../wgsl/ast.js';
import { ShaderBuilder, type Buffer } from '../wgsl/module.js';
import { bindInputs, coords, grid1d, loadI64, main1d, prod, stridesOf } from './common.js';
import { INDEX_OUT_OF_RANGE } from './gather.js';
import { output, STATUS, type KernelDispatch, type WgKernel } from './types.js';

type Num = 'f32' | 'i32' | 'u32';
const NUM: Readonly<Record<string, Num>> = { float32: 'f32', int32: 'i32', uint32: 'u32' };
const refuseType = (ctx: PlanContext): Refusal | undefined => {
  const d = ctx.inputs[0]!.dtype;
  return NUM[d] ? undefined : { reason: 'dtype', dtype: d, detail: `the webgpu ${ctx.node.op} kernel computes float32/int32/uint32, not ${d}` };
};
const axisFrom = (ctx: PlanContext, v: number): number => (v < 0 ? v + ctx.inputs[0]!.dims.length : v);

const cumulative = (mul_: boolean): WgKernel => ({
  constInputs: [1],
  unread: () => [1],
  refuse: refuseType,
  lower(ctx): KernelDispatch[] {
    const x = ctx.inputs[0]!, y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const axis = axisFrom(ctx, toNumbers(ctx.inputs[1]!.constant!)[0]!);
    const outer = prod(x.dims.slice(0, axis)), n = x.dims[axis]!, inner = prod(x.dims.slice(axis + 1));
    const exclusive = Number(ctx.attrs['exclusive'] ?? 0) !== 0, reverse = Number(ctx.attrs['reverse'] ?? 0) !== 0;
    const e = NUM[x.dtype]!;
    const s = new ShaderBuilder();
    const X = s.buffer('x', e, 'read'), Y = s.buffer('y', e, 'read_write');
    main1d(s, outer * inner, (b, i) => {
      const [o, q] = coords(b, i, [outer, inner]);
      const base = b.let('base', add(mul(o!, u32(n * inner)), q!));
      const acc = b.var('acc', convert(e, i32(mul_ ? 1 : 0)) as Expr<Num>);
      b.for('s', u32(0), u32(n), (lb, st) => {
        const at = lb.let('at', add(base, mul(reverse ? sub(u32(n - 1), st) : st, u32(inner))));
        const v = X.at(at) as Expr<Num>;
        const next = (mul_ ? mul(acc, v) : add(acc, v)) as Expr<Num>;
        if (exclusive) { lb.set(Y.at(at) as LValue<Num>, acc); lb.set(acc, next); } else { lb.set(acc, next); lb.set(Y.at(at) as LValue<Num>, acc); }
      });
    });
    return [{ shader: s.print(), operands: [{ kind: 'input', index: 0 }, output(0)], workgroups: grid1d(outer * inner) }];
  },
});

export const triluKernel: WgKernel = {
  constInputs: [1],
  unread: (ctx) => (ctx.inputs[1] ? [1] : []),
  refuse: (ctx) => refuseType(ctx) ?? (ctx.inputs[0]!.dims.length < 2 ? { reason: 'form', detail: 'Trilu needs rank >= 2' } : undefined),
  lower(ctx): KernelDispatch[] {
    const x = ctx.inputs[0]!;
    if (x.size === 0) return [];
    const k = ctx.inputs[1]?.constant ? toNumbers(ctx.inputs[1].constant)[0]! : 0;
    const upper = Number(ctx.attrs['upper'] ?? 1) !== 0;
    const r = x.dims.length, rows = x.dims[r - 2]!, cols = x.dims[r - 1]!;
    const e = NUM[x.dtype]!;
    const s = new ShaderBuilder();
    const X = s.buffer('x', e, 'read'), Y = s.buffer('y', e, 'read_write');
    main1d(s, x.size, (b, i) => {
      const [, row, col] = coords(b, i, [prod(x.dims.slice(0, -2)), rows, cols]);
      // j - i against k, in i32 (k may be negative or past the matrix)
      const diff = b.let('diff', sub(convert('i32', col!), convert('i32', row!)));
      const keep = upper ? ge(diff, i32(Math.max(-(2 ** 30), Math.min(2 ** 30, k)))) : le(diff, i32(Math.max(-(2 ** 30), Math.min(2 ** 30, k))));
      b.set(Y.at(i) as LValue<Num>, select(keep, X.at(i) as Expr<Num>, convert(e, i32(0)) as Expr<Num>));
    });
    return [{ shader: s.print(), operands: [{ kind: 'input', index: 0 }, output(0)], workgroups: grid1d(x.size) }];
  },
};

export const gatherElementsKernel: WgKernel = {
  refuse(ctx): Refusal | undefined {
    const bad = refuseType(ctx);
    if (bad) return bad;
    const ix = ctx.inputs[1]!;
    if (ix.dtype !== 'int32' && ix.dtype !== 'int64') return { reason: 'dtype', dtype: ix.dtype, detail: `indices of ${ix.dtype}` };
    if (ix.dims.length !== ctx.inputs[0]!.dims.length) return { reason: 'form', detail: 'indices must have the rank of data' };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const x = ctx.inputs[0]!, ix = ctx.inputs[1]!, y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const r = x.dims.length, axis = axisFrom(ctx, Number(ctx.attrs['axis'] ?? 0)), n = x.dims[axis]!;
    const e = NUM[x.dtype]!, wide = ix.dtype === 'int64';
    const s = new ShaderBuilder();
    const { bufs, operands } = bindInputs(s, ctx, [{ index: 0, hint: 'x', elem: e }, { index: 1, hint: 'idx', elem: wide ? 'u32' : 'i32' }]);
    const Y = s.buffer('y', e, 'read_write');
    const status = s.status();
    const xst = stridesOf(x.dims);
    main1d(s, y.size, (b, i) => {
      const cs = coords(b, i, ix.dims);
      const raw = b.let('raw', wide ? loadI64(b, bufs.get(1) as Buffer<'u32'>, i, status, i32(n)) : (bufs.get(1) as Buffer<'i32'>).at(i) as Expr<'i32'>);
      const k = b.let('k', select(lt(raw, i32(0)), add(raw, i32(n)), raw));
      const ok = b.let('ok', and(ge(k, i32(0)), lt(k, i32(n))));
      b.if(expr2not(ok), (t) => status.fail(t, INDEX_OUT_OF_RANGE, raw));
      let off: Expr<'u32'> = u32(0);
      for (let a = 0; a < r; a++) {
        const c = a === axis ? convert('u32', select(ok, k, i32(0))) : cs[a]!;
        if (x.dims[a] !== 1) off = add(off, mul(c, u32(xst[a]!)));
      }
      const zero = convert(e, i32(0)) as Expr<Scalar>;
      b.set(Y.at(i) as LValue<Scalar>, select(ok, (bufs.get(0) as Buffer<Num>).at(off) as Expr<Scalar>, zero));
    });
    return [{ shader: s.print(), operands: [...operands, output(0), STATUS], workgroups: grid1d(y.size) }];
  },
};
const expr2not = (x: Expr<'bool'>): Expr<'bool'> => ({ type: 'bool', node: { kind: 'un', op: '!', a: x.node } });

export const AXIS_KERNELS = { CumSum: cumulative(false), CumProd: cumulative(true), Trilu: triluKernel, GatherElements: gatherElementsKernel } as const;
