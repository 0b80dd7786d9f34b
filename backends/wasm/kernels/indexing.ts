// Index-driven kernels: GatherElements (run-time indices, bounds-checked by kernels/bounds.ts), Trilu masks, Range,
// CumSum. Scalar loops; they move or combine elements by computed positions, so they are written once for every
// numeric dtype.

import type { Expr } from '../fn.js';
import { elemBytes, valType } from '../fn.js';
import { nest } from '../layout.js';
import { KernelError } from '../../../ir/errors.js';
import { indexReader } from './bounds.js';
import type { KernelContext, KernelGen } from './types.js';
import { attrNum, constInts, input, normAxis, output, prod, strides, unsupported } from './util.js';

const gatherElements: KernelGen = {
  emit(ctx) {
    const x = input(ctx, 0), idx = input(ctx, 1), y = output(ctx), fn = ctx.fn, m = ctx.m;
    const axis = normAxis(attrNum(ctx, 'axis'), x.dims.length);
    checkIndexDims(ctx, idx.dims, x.dims, axis);
    const xs = strides(x.dims), eb = elemBytes(x.dtype), n = x.dims[axis]!;
    const read = indexReader(ctx, idx, () => n, 'GatherElements index');
    // walk the index tensor; data offset skips the axis, whose coordinate comes from the index value
    const k = fn.i32();
    const sets = [strides(idx.dims), xs.map((s, a) => (a === axis ? 0 : s))];
    const oi = fn.i32(), ox = fn.i32();
    return nest(fn, idx.dims, sets, ([o, d]) => [
      fn.set(oi, o!), fn.set(ox, d!),
      ...read(() => fn.get(oi), n, k),
      fn.store(y.dtype, fn.elem(y.ptr, fn.get(oi), eb), fn.load(x.dtype, fn.elem(x.ptr, m.i32.add(fn.get(ox), m.i32.mul(fn.get(k), fn.c32(xs[axis]!))), eb))),
    ]);
  },
};

/** GatherElements/ScatterElements walk the index tensor's positions on every axis but `axis`: those must lie within
 *  the data (static shapes, so this is a compile-time check). */
export function checkIndexDims(ctx: Pick<KernelContext, 'site' | 'node'>, idxDims: readonly number[], xDims: readonly number[], axis: number): void {
  if (idxDims.length !== xDims.length) throw new KernelError(`${ctx.node.op} indices rank ${idxDims.length} differs from data rank ${xDims.length}`, ctx.site);
  idxDims.forEach((d, a) => {
    if (a !== axis && d > xDims[a]!) throw new KernelError(`${ctx.node.op} indices dim ${a} (${d}) exceeds data dim ${xDims[a]}`, ctx.site);
  });
}

const trilu: KernelGen = {
  constInputs: [1],
  emit(ctx) {
    const x = input(ctx, 0), y = output(ctx), fn = ctx.fn, m = ctx.m;
    const k = ctx.inputs[1] ? constInts(ctx, 1)![0]! : 0, upper = attrNum(ctx, 'upper') !== 0;
    const R = x.dims.at(-2)!, C = x.dims.at(-1)!, B = prod(x.dims.slice(0, -2)), eb = elemBytes(x.dtype);
    if (y.size === 0) return m.nop();
    const b = fn.i32(), i = fn.i32(), j = fn.i32(), off = fn.i32();
    const zero = (): Expr => { switch (valType(x.dtype)) { case 'f32': return fn.cf32(0); case 'f64': return m.f64.const(0); case 'i64': return m.i64.const(0n); case 'i32': return fn.c32(0); } };
    return fn.loop(b, 0, B, () => [fn.loop(i, 0, R, () => [fn.loop(j, 0, C, () => {
      const d = m.i32.sub(fn.get(j), fn.get(i));
      const keep = upper ? m.i32.ge_s(d, fn.c32(k)) : m.i32.le_s(d, fn.c32(k));
      return [
        fn.set(off, m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(fn.get(b), fn.c32(R)), fn.get(i)), fn.c32(C)), fn.get(j))),
        fn.store(y.dtype, fn.elem(y.ptr, fn.get(off), eb), m.select(keep, fn.load(x.dtype, fn.elem(x.ptr, fn.get(off), eb)), zero())),
      ];
    })])]);
  },
};

const range: KernelGen = {
  emit(ctx) {
    const start = input(ctx, 0), delta = input(ctx, 2), y = output(ctx), fn = ctx.fn, m = ctx.m;
    const t = valType(y.dtype), i = fn.i32(), eb = elemBytes(y.dtype);
    const conv = (e: Expr): Expr => (t === 'f32' ? m.f32.convert_s.i32(e) : t === 'f64' ? m.f64.convert_s.i32(e) : t === 'i64' ? m.i64.extend_s(e) : e);
    const ops = (m as unknown as Record<string, Record<string, (a: Expr, b: Expr) => Expr>>)[t]!;
    return fn.loop(i, 0, y.size, (iv) => [fn.store(y.dtype, fn.elem(y.ptr, iv(), eb),
      ops['add']!(fn.load(start.dtype, start.ptr), ops['mul']!(conv(fn.get(i)), fn.load(delta.dtype, delta.ptr))))]);
  },
};

const cumSum: KernelGen = {
  constInputs: [1],
  emit(ctx) {
    const x = input(ctx, 0), y = output(ctx), fn = ctx.fn, m = ctx.m;
    const axis = normAxis(constInts(ctx, 1)![0]!, x.dims.length);
    const exclusive = attrNum(ctx, 'exclusive') !== 0, reverse = attrNum(ctx, 'reverse') !== 0;
    const t = valType(x.dtype), eb = elemBytes(x.dtype);
    if (t === 'i32' && eb !== 4) unsupported(ctx, `on ${x.dtype}`);
    const outer = prod(x.dims.slice(0, axis)), L = x.dims[axis]!, inner = prod(x.dims.slice(axis + 1));
    if (y.size === 0) return m.nop();
    const ops = (m as unknown as Record<string, Record<string, (a: Expr, b?: Expr) => Expr>>)[t]!;
    const o = fn.i32(), j = fn.i32(), s = fn.i32(), off = fn.i32(), acc = fn.forType(t), v = fn.forType(t);
    const zero = t === 'i64' ? m.i64.const(0n) : t === 'i32' ? fn.c32(0) : ops['const']!(0 as unknown as Expr);
    return fn.loop(o, 0, outer, () => [fn.loop(j, 0, inner, () => [
      fn.set(acc, zero),
      fn.loop(s, 0, L, () => [
        fn.set(off, m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(fn.get(o), fn.c32(L)), reverse ? m.i32.sub(fn.c32(L - 1), fn.get(s)) : fn.get(s)), fn.c32(inner)), fn.get(j))),
        fn.set(v, fn.load(x.dtype, fn.elem(x.ptr, fn.get(off), eb))),
        ...(exclusive ? [fn.store(y.dtype, fn.elem(y.ptr, fn.get(off), eb), fn.get(acc)), fn.set(acc, ops['add']!(fn.get(acc), fn.get(v)))]
          : [fn.set(acc, ops['add']!(fn.get(acc), fn.get(v))), fn.store(y.dtype, fn.elem(y.ptr, fn.get(off), eb), fn.get(acc))]),
      ]),
    ])]);
  },
};

export const INDEXING: Readonly<Record<string, KernelGen>> = { GatherElements: gatherElements, Trilu: trilu, Range: range, CumSum: cumSum };
