// Small rare ops as scalar loops: BitCast (a view), CumProd, Tile (a strided copy), Hardmax, LpNormalization
// and EyeLike. Values go through f64 (scalar.ts), so each serves every numeric dtype.

import type { Expr } from '../fn.js';
import { elemBytes } from '../fn.js';
import { stridedCopy } from '../layout.js';
import type { KernelGen } from './types.js';
import { f64c, ldF, lin, stF } from './scalar.js';
import { attrNum, constInts, input, normAxis, output, prod, strides } from './util.js';

/** Same bytes read as another type of the same width: the memory plan shares the buffer. */
const bitCast: KernelGen = { alias: true, emit: (ctx) => ctx.m.nop() };

/** Per (outer, inner) line along `axis`: the loop shape CumProd, Hardmax and LpNormalization share. */
function lines(ctx: Parameters<KernelGen['emit']>[0], axis: number, body: (at: (s: () => Expr) => Expr, s: ReturnType<typeof ctx.fn.i32>) => Expr[]): Expr {
  const { fn } = ctx, x = input(ctx, 0);
  const outer = prod(x.dims.slice(0, axis)), L = x.dims[axis]!, inner = prod(x.dims.slice(axis + 1));
  const o = fn.i32(), j = fn.i32(), s = fn.i32();
  const at = (sv: () => Expr): Expr => lin(fn, [[() => fn.get(o), L * inner], [sv, inner], [() => fn.get(j), 1]]);
  return fn.loop(o, 0, outer, () => [fn.loop(j, 0, inner, () => body(at, s))]);
}

const cumProd: KernelGen = {
  constInputs: [1],
  emit(ctx) {
    const { fn, m } = ctx, x = input(ctx, 0), y = output(ctx);
    const axis = normAxis(constInts(ctx, 1)![0]!, x.dims.length), L = x.dims[axis]!;
    const exclusive = attrNum(ctx, 'exclusive') !== 0, reverse = attrNum(ctx, 'reverse') !== 0;
    const acc = fn.forType('f64'), v = fn.forType('f64'), p = fn.i32();
    if (y.size === 0) return m.nop();
    return lines(ctx, axis, (at, s) => [
      fn.set(acc, f64c(fn, 1)),
      fn.loop(s, 0, L, () => [
        fn.set(p, at(() => (reverse ? m.i32.sub(fn.c32(L - 1), fn.get(s)) : fn.get(s)))),
        fn.set(v, ldF(fn, x, fn.get(p))),
        ...(exclusive ? [stF(fn, y, fn.get(p), fn.get(acc)), fn.set(acc, m.f64.mul(fn.get(acc), fn.get(v)))]
          : [fn.set(acc, m.f64.mul(fn.get(acc), fn.get(v))), stF(fn, y, fn.get(p), fn.get(acc))]),
      ]),
    ]);
  },
};

/** y viewed as [r0, d0, r1, d1, ...] is x broadcast along every r axis. */
const tile: KernelGen = {
  constInputs: [1],
  emit(ctx) {
    const x = input(ctx, 0), y = output(ctx), reps = constInts(ctx, 1)!;
    const xs = strides(x.dims), ys = strides(y.dims);
    const dims = x.dims.flatMap((d, a) => [reps[a]!, d]);
    return stridedCopy(ctx.fn, dims, { ptr: y.ptr, strides: x.dims.flatMap((d, a) => [d * ys[a]!, ys[a]!]) }, { ptr: x.ptr, strides: x.dims.flatMap((_, a) => [0, xs[a]!]) }, elemBytes(x.dtype));
  },
};

const hardmax: KernelGen = {
  emit(ctx) {
    const { fn, m } = ctx, x = input(ctx, 0), y = output(ctx);
    const axis = normAxis(attrNum(ctx, 'axis'), x.dims.length), L = x.dims[axis]!;
    if (y.size === 0) return m.nop();
    const best = fn.forType('f64'), arg = fn.i32();
    return lines(ctx, axis, (at, s) => [
      fn.set(best, f64c(fn, -Infinity)), fn.set(arg, fn.c32(0)),
      fn.loop(s, 0, L, () => [m.if(m.f64.gt(ldF(fn, x, at(() => fn.get(s))), fn.get(best)), fn.block([fn.set(best, ldF(fn, x, at(() => fn.get(s)))), fn.set(arg, fn.get(s))]))]),
      fn.loop(s, 0, L, () => [stF(fn, y, at(() => fn.get(s)), m.select(m.i32.eq(fn.get(s), fn.get(arg)), f64c(fn, 1), f64c(fn, 0)))]),
    ]);
  },
};

const lpNorm: KernelGen = {
  emit(ctx) {
    const { fn, m } = ctx, x = input(ctx, 0), y = output(ctx);
    const axis = normAxis(attrNum(ctx, 'axis'), x.dims.length), L = x.dims[axis]!, p = attrNum(ctx, 'p');
    if (y.size === 0) return m.nop();
    const acc = fn.forType('f64'), t = fn.forType('f64');
    // an expression is a tree node: square through a local, never by using it twice
    const term = (v: Expr): Expr => (p === 1 ? m.f64.abs(v) : m.f64.mul(fn.tee(t, v), fn.get(t)));
    return lines(ctx, axis, (at, s) => [
      fn.set(acc, f64c(fn, 0)),
      fn.loop(s, 0, L, () => [fn.set(acc, m.f64.add(fn.get(acc), term(ldF(fn, x, at(() => fn.get(s))))))]),
      p === 1 ? m.nop() : fn.set(acc, m.f64.sqrt(fn.get(acc))),
      fn.loop(s, 0, L, () => [stF(fn, y, at(() => fn.get(s)), m.f64.div(ldF(fn, x, at(() => fn.get(s))), fn.get(acc)))]),
    ]);
  },
};

const eyeLike: KernelGen = {
  emit(ctx) {
    const { fn, m } = ctx, y = output(ctx), k = attrNum(ctx, 'k');
    const [R, C] = y.dims as [number, number], i = fn.i32(), j = fn.i32();
    return fn.loop(i, 0, R, () => [fn.loop(j, 0, C, () => [
      stF(fn, y, lin(fn, [[() => fn.get(i), C], [() => fn.get(j), 1]]), m.select(m.i32.eq(m.i32.sub(fn.get(j), fn.get(i)), fn.c32(k)), f64c(fn, 1), f64c(fn, 0))),
    ])]);
  },
};

export const MISC: Readonly<Record<string, KernelGen>> = {
  BitCast: bitCast, CumProd: cumProd, Tile: tile, Hardmax: hardmax, LpNormalization: lpNorm, EyeLike: eyeLike,
};
