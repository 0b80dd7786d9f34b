// TopK as a selection loop per line along the axis: k passes, each taking the best element not yet taken
// (ties go to the lower index; NaN ranks above every number, as ops/indexing-sort.ts orders them). O(k L):
// TopK's k is small in practice. Values are copied bit for bit; comparisons are in f64.

import { KernelError } from '../../../ir/errors.js';
import type { Expr } from '../fn.js';
import type { KernelGen } from './types.js';
import { ld, ldF, lin, st, stF } from './scalar.js';
import { attrNum, constInts, input, normAxis, output, prod, unsupported } from './util.js';

export const TOPK: KernelGen = {
  constInputs: [1],
  // one "taken" byte per element of a line
  scratch: (ctx) => { const x = input(ctx, 0); return x.dims[normAxis(attrNum(ctx, 'axis'), x.dims.length)]! || 1; },
  emit(ctx) {
    const { fn, m } = ctx, x = input(ctx, 0), y = output(ctx, 0), yi = ctx.outputs[1];
    const axis = normAxis(attrNum(ctx, 'axis'), x.dims.length), L = x.dims[axis]!;
    const k = constInts(ctx, 1)?.[0] ?? unsupported(ctx, 'with a run-time K');
    // k picks k distinct positions of the line: past L it would index outside it
    if (!Number.isInteger(k) || k < 0 || k > L) throw new KernelError(`TopK k ${k} is out of range [0, ${L}] for axis ${axis}`, ctx.site);
    const largest = attrNum(ctx, 'largest') !== 0;
    const outer = prod(x.dims.slice(0, axis)), inner = prod(x.dims.slice(axis + 1));
    if (y.size === 0 || k === 0) return m.nop();
    const o = fn.i32(), j = fn.i32(), r = fn.i32(), s = fn.i32(), best = fn.i32();
    const bv = fn.forType('f64'), v = fn.forType('f64');
    const xAt = (sv: () => Expr): Expr => lin(fn, [[() => fn.get(o), L * inner], [sv, inner], [() => fn.get(j), 1]]);
    const yAt = (): Expr => lin(fn, [[() => fn.get(o), k * inner], [() => fn.get(r), inner], [() => fn.get(j), 1]]);
    const taken = (sv: Expr) => ({ base: ctx.scratch.base, dyn: sv });
    const isNaN = (l: typeof v): Expr => m.f64.ne(fn.get(l), fn.get(l));
    // v beats bv: strictly better, or NaN over a number (largest) / a number over NaN (smallest)
    const beats = largest
      ? m.i32.or(m.f64.gt(fn.get(v), fn.get(bv)), m.i32.and(isNaN(v), m.i32.eqz(isNaN(bv))))
      : m.i32.or(m.f64.lt(fn.get(v), fn.get(bv)), m.i32.and(m.i32.eqz(isNaN(v)), isNaN(bv)));
    return fn.loop(o, 0, outer, () => [fn.loop(j, 0, inner, () => [
      m.memory.fill(fn.c32(ctx.scratch.base), fn.c32(0), fn.c32(L)),
      fn.loop(r, 0, k, () => [
        fn.set(best, fn.c32(-1)),
        fn.loop(s, 0, L, (sv) => [
          m.if(m.i32.eqz(m.i32.load8_u(0, 1, fn.addr(taken(sv())))), fn.block([
            fn.set(v, ldF(fn, x, xAt(sv))),
            m.if(m.i32.or(m.i32.lt_s(fn.get(best), fn.c32(0)), beats), fn.block([fn.set(best, fn.get(s)), fn.set(bv, fn.get(v))])),
          ])),
        ]),
        m.i32.store8(0, 1, fn.addr(taken(fn.get(best))), fn.c32(1)),
        st(fn, y, yAt(), ld(fn, x, xAt(() => fn.get(best)))),
        yi ? stF(fn, yi, yAt(), m.f64.convert_s.i32(fn.get(best))) : m.nop(),
      ]),
    ])]);
  },
};
