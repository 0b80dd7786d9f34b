// Dropout: a copy with an all-true mask at inference; in training mode (a constant or run-time training_mode
// with a non-zero ratio) the mask is drawn from mulberry32 seeded by `seed` each run, as ops/ (ir/random.ts)
// does, so the wasm result is bit-for-bit the reference's. Not a view: the mask and training mode need code.

import type { Expr } from '../fn.js';
import { elemBytes } from '../fn.js';
import type { KernelGen } from './types.js';
import { f64c, ldF, st, stF } from './scalar.js';
import { attrNum, input, output } from './util.js';

export const DROPOUT: KernelGen = {
  emit(ctx) {
    const { fn, m } = ctx, x = input(ctx, 0), y = output(ctx), mask = ctx.outputs[1];
    const ratioT = ctx.inputs[1], trainT = ctx.inputs[2];
    if (y.size === 0) return m.nop();
    const i = fn.i32();
    const identity = fn.block([
      m.memory.copy(fn.addr(y.ptr), fn.addr(x.ptr), fn.c32(y.size * elemBytes(y.dtype))),
      mask ? m.memory.fill(fn.addr(mask.ptr), fn.c32(1), fn.c32(mask.size)) : m.nop(),
    ]);
    if (!trainT || (trainT.constant && !trainT.constant.data[0])) return identity;
    // a run-time or constant-true training_mode: decided when the module runs
    const ratio = fn.forType('f64'), a = fn.i32(), t = fn.i32(), keep = fn.i32();
    // `seed` is optional with no schema default: absent means a fixed stream, as in the reference
    const seed = ((ctx.attrs['seed'] as number | undefined) ?? 0) | 0;
    const xor = (p: Expr, q: Expr): Expr => m.i32.xor(p, q);
    const shr = (p: Expr, n: number): Expr => m.i32.shr_u(p, fn.c32(n));
    const draw = [
      fn.set(a, m.i32.add(fn.get(a), fn.c32(0x6d2b79f5))),
      fn.set(t, m.i32.mul(xor(fn.get(a), shr(fn.get(a), 15)), m.i32.or(fn.get(a), fn.c32(1)))),
      fn.set(t, xor(fn.get(t), m.i32.add(fn.get(t), m.i32.mul(xor(fn.get(t), shr(fn.get(t), 7)), m.i32.or(fn.get(t), fn.c32(61)))))),
      fn.set(t, xor(fn.get(t), shr(fn.get(t), 14))),
      fn.set(keep, m.f64.ge(m.f64.div(m.f64.convert_u.i32(fn.get(t)), f64c(fn, 4294967296)), fn.get(ratio))),
    ];
    const train = fn.block([
      fn.set(a, fn.c32(seed)),
      fn.loop(i, 0, y.size, (iv) => [
        ...draw,
        stF(fn, y, iv(), m.select(fn.get(keep), m.f64.div(ldF(fn, x, iv()), m.f64.sub(f64c(fn, 1), fn.get(ratio))), f64c(fn, 0))),
        mask ? st(fn, mask, iv(), fn.get(keep)) : m.nop(),
      ]),
    ]);
    const trainOn = trainT.constant ? fn.c32(1) : m.i32.ne(fn.load(trainT.dtype, trainT.ptr), fn.c32(0));
    return fn.block([
      fn.set(ratio, ratioT ? ldF(fn, ratioT, fn.c32(0)) : f64c(fn, 0.5)),
      m.if(m.i32.and(trainOn, m.f64.ne(fn.get(ratio), f64c(fn, 0))), train, identity),
    ]);
  },
};
