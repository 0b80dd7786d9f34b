// GatherND with batch_dims: each index tuple (run-time, negative wraps once, bounds-checked by kernels/bounds.ts)
// selects a slice of the data, copied whole with memory.copy.

import { KernelError } from '../../../ir/errors.js';
import { elemBytes } from '../fn.js';
import type { KernelGen } from './types.js';
import { indexReader } from './bounds.js';
import { attrNum, input, output, prod, strides } from './util.js';

export const GATHER_ND: KernelGen = {
  emit(ctx) {
    const { fn, m } = ctx;
    const x = input(ctx, 0), idx = input(ctx, 1), y = output(ctx);
    const bd = attrNum(ctx, 'batch_dims'), K = idx.dims.at(-1)!, eb = elemBytes(x.dtype);
    const batch = prod(x.dims.slice(0, bd)), perBatch = prod(idx.dims.slice(bd, -1));
    const slice = prod(x.dims.slice(bd + K)), xs = strides(x.dims), xBatch = prod(x.dims.slice(bd));
    if (K < 1 || bd + K > x.dims.length || idx.dims.slice(0, bd).some((d, k) => d !== x.dims[k])) {
      throw new KernelError(`GatherND indices [${idx.dims.join(',')}] with batch_dims ${bd} do not fit data [${x.dims.join(',')}]`, ctx.site);
    }
    const read = indexReader(ctx, idx, (i) => x.dims[bd + (i % K)]!, 'GatherND index');
    if (y.size === 0) return m.nop();
    const b = fn.i32(), t = fn.i32(), base = fn.i32(), v = fn.i32();
    return fn.loop(b, 0, batch, () => [fn.loop(t, 0, perBatch, () => [
      fn.set(base, m.i32.mul(fn.get(b), fn.c32(xBatch))),
      ...Array.from({ length: K }, (_, j) => fn.block([
        ...read(() => m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(fn.get(b), fn.c32(perBatch)), fn.get(t)), fn.c32(K)), fn.c32(j)), x.dims[bd + j]!, v),
        fn.set(base, m.i32.add(fn.get(base), m.i32.mul(fn.get(v), fn.c32(xs[bd + j]!)))),
      ])),
      m.memory.copy(
        fn.addr(fn.elem(y.ptr, m.i32.mul(m.i32.add(m.i32.mul(fn.get(b), fn.c32(perBatch)), fn.get(t)), fn.c32(slice)), eb)),
        fn.addr(fn.elem(x.ptr, fn.get(base), eb)), fn.c32(slice * eb)),
    ])]);
  },
};
