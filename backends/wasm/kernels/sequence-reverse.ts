// ReverseSequence: for each batch entry b, the first sequence_lens[b] steps along the time axis reversed, the rest
// copied. Batch and time are axes 0 and 1 (either order); everything after them is one contiguous slab per
// (time, batch) pair, moved with memory.copy. Each length is read at run time and checked to lie in [0, T] (the
// reference's rule): outside, the kernel stops the run with an error naming the node.

import { elemBytes, type Expr } from '../fn.js';
import { readIndex } from './bounds.js';
import type { KernelGen, TensorRef } from './types.js';

const REVERSE_SEQUENCE: KernelGen = {
  refuse(ctx) {
    const x = ctx.inputs[0], a = ctx.attrs as { batch_axis: number; time_axis: number };
    if (!x || x.dims.length < 2 || a.batch_axis === a.time_axis || ![0, 1].includes(a.batch_axis) || ![0, 1].includes(a.time_axis)) {
      return { reason: 'form', detail: 'ReverseSequence needs rank >= 2 with batch and time on axes 0 and 1' };
    }
    return undefined;
  },
  emit(ctx) {
    const { fn, m } = ctx;
    const x = ctx.inputs[0]!, lens = ctx.inputs[1]!, y = ctx.outputs[0]!;
    const a = ctx.attrs as { batch_axis: number; time_axis: number };
    const T = x.dims[a.time_axis]!, B = x.dims[a.batch_axis]!;
    const slab = x.dims.slice(2).reduce((p, d) => p * d, 1) * elemBytes(x.dtype);
    if (slab === 0 || T === 0 || B === 0) return m.nop();
    // byte offset of the (t, b) slab
    const at = (t: Expr, b: Expr): Expr => m.i32.mul(a.time_axis === 0 ? m.i32.add(m.i32.mul(t, fn.c32(B)), b) : m.i32.add(m.i32.mul(b, fn.c32(T)), t), fn.c32(slab));
    const b = fn.i32(), t = fn.i32(), len = fn.i32(), src = fn.i32();
    const addr = (r: TensorRef, off: Expr): Expr => m.i32.add(fn.c32(r.ptr.base), off);
    return fn.loop(b, 0, B, (bi) => [
      // a length in [0, T]: the plain rule over T + 1 positions
      ...readIndex(fn, lens, bi, T + 1, len, 'plain', false),
      fn.loop(t, 0, T, (ti) => [
        fn.set(src, m.select(m.i32.lt_s(ti(), fn.get(len)), m.i32.sub(m.i32.sub(fn.get(len), fn.c32(1)), ti()), ti())),
        m.memory.copy(addr(y, at(ti(), bi())), addr(x, at(fn.get(src), bi())), fn.c32(slab)),
      ]),
    ]);
  },
};

export const SEQUENCE_REVERSE = { ReverseSequence: REVERSE_SEQUENCE } as const;
