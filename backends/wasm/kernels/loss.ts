// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss as scalar loops in f64: SCE first writes the log-softmax
// over the class axis to scratch (and to its optional log_prob output), then both take the NLL with
// ignore_index, per-class weights and the none/sum/mean reductions (mean divides by the weights used).

import type { Expr, Ptr } from '../fn.js';
import type { KernelContext, KernelGen, TensorRef } from './types.js';
import { readIndex } from './bounds.js';
import { valType } from '../fn.js';
import { expF, f64c, ld, ldF, ldI, lin, logF, stF } from './scalar.js';
import { attrStr, input, output, prod, unsupported } from './util.js';

function loss(softmax: boolean): KernelGen {
  return {
    scratch: (ctx) => (softmax ? input(ctx, 0).size * 8 : 0),
    emit(ctx: KernelContext) {
      const { fn, m } = ctx;
      const x = input(ctx, 0), target = input(ctx, 1), weight = ctx.inputs[2], y = output(ctx), logOut = ctx.outputs[1];
      const reduction = attrStr(ctx, 'reduction');
      const ignoreRaw = ctx.attrs['ignore_index'];
      const ignore = typeof ignoreRaw === 'number' ? ignoreRaw : undefined;
      if (x.dims.length < 2) unsupported(ctx, 'with rank < 2');
      const N = x.dims[0]!, C = x.dims[1]!, inner = prod(x.dims.slice(2));
      const b = fn.i32(), i = fn.i32(), c = fn.i32(), t = fn.i32(), mx = fn.forType('f64'), sum = fn.forType('f64'), v = fn.forType('f64');
      const total = fn.forType('f64'), wSum = fn.forType('f64'), w = fn.forType('f64');
      const G = (l: typeof b) => (): Expr => fn.get(l);
      const xAt = (cls: () => Expr): Expr => lin(fn, [[G(b), C * inner], [cls, inner], [G(i), 1]]);
      const lp: Ptr = ctx.scratch;
      const lpAt = (idx: Expr): Ptr => fn.elem(lp, idx, 8);
      const logp = (idx: Expr): Expr => (softmax ? fn.load('float64', lpAt(idx)) : ldF(fn, x, idx));
      const pre: Expr[] = [];
      if (softmax) {
        pre.push(fn.loop(b, 0, N, () => [fn.loop(i, 0, inner, () => [
          fn.set(mx, f64c(fn, -Infinity)),
          fn.loop(c, 0, C, () => [fn.set(mx, m.f64.max(fn.get(mx), ldF(fn, x, xAt(G(c)))))]),
          fn.set(sum, f64c(fn, 0)),
          fn.loop(c, 0, C, () => [fn.set(sum, m.f64.add(fn.get(sum), expF(fn, m.f64.sub(ldF(fn, x, xAt(G(c))), fn.get(mx)))))]),
          fn.set(sum, m.f64.add(fn.get(mx), logF(fn, fn.get(sum)))),
          fn.loop(c, 0, C, () => [
            fn.set(v, m.f64.sub(ldF(fn, x, xAt(G(c))), fn.get(sum))),
            fn.store('float64', lpAt(xAt(G(c))), fn.get(v)),
            logOut ? stF(fn, logOut, xAt(G(c)), fn.get(v)) : m.nop(),
          ]),
        ])]));
      }
      const tAt = (): Expr => lin(fn, [[G(b), inner], [G(i), 1]]);
      // int64 targets compare with ignore_index as i64 (a wrapped i32 could alias it)
      const keep = ignore === undefined ? fn.c32(1)
        : valType(target.dtype) === 'i64' ? m.i64.ne(ld(fn, target, tAt()), m.i64.const(BigInt(ignore))) : m.i32.ne(fn.get(t), fn.c32(ignore));
      const perElem: Expr[] = [
        fn.set(t, ldI(fn, target, tAt())),
        m.if(keep, fn.block([
          // a class index outside [0, C) (the reference's rule: no wrapping) would read outside the row
          ...readIndex(fn, target, tAt, C, t, 'plain'),
          fn.set(w, weight ? ldF(fn, weight as TensorRef, fn.get(t)) : f64c(fn, 1)),
          fn.set(v, m.f64.neg(m.f64.mul(logp(xAt(G(t))), fn.get(w)))),
          fn.set(wSum, m.f64.add(fn.get(wSum), fn.get(w))),
        ]), fn.set(v, f64c(fn, 0))),
        reduction === 'none' ? stF(fn, y, tAt(), fn.get(v)) : fn.set(total, m.f64.add(fn.get(total), fn.get(v))),
      ];
      const fin = reduction === 'none' ? m.nop() : stF(fn, y, fn.c32(0), reduction === 'sum' ? fn.get(total) : m.f64.div(fn.get(total), fn.get(wSum)));
      return fn.block([...pre, fn.set(total, f64c(fn, 0)), fn.set(wSum, f64c(fn, 0)),
        fn.loop(b, 0, N, () => [fn.loop(i, 0, inner, () => perElem)]), fin]);
    },
  };
}

export const LOSS: Readonly<Record<string, KernelGen>> = { NegativeLogLikelihoodLoss: loss(false), SoftmaxCrossEntropyLoss: loss(true) };
