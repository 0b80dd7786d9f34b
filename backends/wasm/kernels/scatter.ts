// ScatterElements (and the older Scatter) and ScatterND: the output starts as a copy of the data, then each
// update lands at its run-time index (negative indices wrap once; out of range traps, kernels/bounds.ts) with the
// reduction none/add/mul/max/min (in f64).

import { KernelError } from '../../../ir/errors.js';
import type { Expr } from '../fn.js';
import { elemBytes } from '../fn.js';
import { moveElem, nest } from '../layout.js';
import type { KernelContext, KernelGen, TensorRef } from './types.js';
import { indexReader } from './bounds.js';
import { checkIndexDims } from './indexing.js';
import { ldF, stF } from './scalar.js';
import { attrNum, attrStr, input, normAxis, output, prod, strides, unsupported } from './util.js';

/** y[at] = reduce(y[at], u[from]) for a reduction name. */
function combine(ctx: KernelContext, y: TensorRef, at: Expr, u: TensorRef, from: Expr): Expr {
  // Scatter (deprecated since opset 11) shares this kernel and has no reduction attribute
  const { fn, m } = ctx, red = ctx.node.op === 'Scatter' ? 'none' : attrStr(ctx, 'reduction'), eb = elemBytes(y.dtype);
  if (red === 'none') return moveElem(fn, eb, fn.elem(y.ptr, at, eb), fn.elem(u.ptr, from, eb));
  const l = fn.i32();
  const cur = (): Expr => ldF(fn, y, fn.get(l)), up = ldF(fn, u, from);
  const v = red === 'add' ? m.f64.add(cur(), up) : red === 'mul' ? m.f64.mul(cur(), up) : red === 'max' ? m.f64.max(cur(), up) : red === 'min' ? m.f64.min(cur(), up) : unsupported(ctx, `reduction '${red}'`);
  return fn.block([fn.set(l, at), stF(fn, y, fn.get(l), v)]);
}

function copyData(ctx: KernelContext, x: TensorRef, y: TensorRef): Expr {
  return y.size ? ctx.m.memory.copy(ctx.fn.addr(y.ptr), ctx.fn.addr(x.ptr), ctx.fn.c32(y.size * elemBytes(y.dtype))) : ctx.m.nop();
}

const scatterElements: KernelGen = {
  emit(ctx) {
    const { fn, m } = ctx;
    const x = input(ctx, 0), idx = input(ctx, 1), upd = input(ctx, 2), y = output(ctx);
    const axis = normAxis(attrNum(ctx, 'axis'), x.dims.length), ys = strides(y.dims), n = x.dims[axis]!;
    checkIndexDims(ctx, idx.dims, x.dims, axis);
    if (upd.dims.join() !== idx.dims.join()) throw new KernelError(`${ctx.node.op} indices [${idx.dims.join(',')}] and updates [${upd.dims.join(',')}] must match`, ctx.site);
    const read = indexReader(ctx, idx, () => n, `${ctx.node.op} index`);
    const oi = fn.i32(), oy = fn.i32(), k = fn.i32();
    const sets = [strides(idx.dims), ys.map((s, a) => (a === axis ? 0 : s))];
    const body = idx.size === 0 ? m.nop() : nest(fn, idx.dims, sets, ([o, d]) => [
      fn.set(oi, o!), fn.set(oy, d!),
      ...read(() => fn.get(oi), n, k),
      combine(ctx, y, m.i32.add(fn.get(oy), m.i32.mul(fn.get(k), fn.c32(ys[axis]!))), upd, fn.get(oi)),
    ]);
    return fn.block([copyData(ctx, x, y), body]);
  },
};

const scatterND: KernelGen = {
  emit(ctx) {
    const { fn, m } = ctx;
    const x = input(ctx, 0), idx = input(ctx, 1), upd = input(ctx, 2), y = output(ctx);
    const K = idx.dims.at(-1)!, count = prod(idx.dims.slice(0, -1)), slice = prod(y.dims.slice(K)), ys = strides(y.dims);
    const want = [...idx.dims.slice(0, -1), ...y.dims.slice(K)];
    if (K > y.dims.length || upd.dims.join() !== want.join()) throw new KernelError(`ScatterND updates [${upd.dims.join(',')}]; expected [${want.join(',')}]`, ctx.site);
    const read = indexReader(ctx, idx, (i) => y.dims[i % K]!, 'ScatterND index');
    const t = fn.i32(), r = fn.i32(), base = fn.i32(), v = fn.i32();
    const body = fn.loop(t, 0, count, () => [
      fn.set(base, fn.c32(0)),
      ...Array.from({ length: K }, (_, j) => fn.block([
        ...read(() => m.i32.add(m.i32.mul(fn.get(t), fn.c32(K)), fn.c32(j)), y.dims[j]!, v),
        fn.set(base, m.i32.add(fn.get(base), m.i32.mul(fn.get(v), fn.c32(ys[j]!)))),
      ])),
      fn.loop(r, 0, slice, () => [combine(ctx, y, m.i32.add(fn.get(base), fn.get(r)), upd, m.i32.add(m.i32.mul(fn.get(t), fn.c32(slice)), fn.get(r)))]),
    ]);
    return fn.block([copyData(ctx, x, y), body]);
  },
};

export const SCATTER: Readonly<Record<string, KernelGen>> = { ScatterElements: scatterElements, Scatter: scatterElements, ScatterND: scatterND };
