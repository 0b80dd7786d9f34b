// Pad in reflect/edge/wrap modes: every output element copies one input element. Which one is fixed per axis
// at compile time, so each axis gets a prepacked table of source byte offsets and the loop nest just sums them.

import type { DType } from '../../../ir/dtype.js';
import { fromValues, type Tensor } from '../../../ir/tensor.js';
import type { Expr, Local } from '../fn.js';
import { elemBytes } from '../fn.js';
import type { KernelContext, PlanContext } from './types.js';
import { attrStr, constInts, input, normAxis, output, strides, unsupported } from './util.js';

/** Source index along an axis of length `dim` for output position `o`: negative pads crop first, then the mode
 *  reflects/clamps/wraps within the cropped extent (as ops/shape-slice.ts does). */
function sourceIndex(mode: string, o: number, dim: number, begin: number, end: number): number {
  const cropB = Math.max(0, -begin), inner = dim - cropB - Math.max(0, -end);
  let i = o - Math.max(0, begin);
  if (i < 0 || i >= inner) {
    switch (mode) {
      case 'edge': i = i < 0 ? 0 : inner - 1; break;
      case 'wrap': i = ((i % inner) + inner) % inner; break;
      case 'reflect': {
        if (inner === 1) { i = 0; break; }
        const p = 2 * (inner - 1);
        i = ((i % p) + p) % p;
        if (i >= inner) i = p - i;
        break;
      }
      default: throw new Error(`pad mode ${mode}`);
    }
  }
  return i + cropB;
}

/** Per output axis, the byte offset in x of each output position, concatenated. */
export function padTables(ctx: PlanContext): Tensor[] {
  const x = input(ctx, 0), y = output(ctx), mode = attrStr(ctx, 'mode');
  const rank = x.dims.length, raw = constInts(ctx, 1);
  if (!raw) unsupported(ctx, `mode '${mode}' with run-time pads`);
  const axes = ctx.inputs[3] ? constInts(ctx, 3)!.map((a) => normAxis(a, rank)) : x.dims.map((_, i) => i);
  const begin = x.dims.map(() => 0), end = x.dims.map(() => 0);
  axes.forEach((a, k) => { begin[a] = raw[k]!; end[a] = raw[k + axes.length]!; });
  if (y.size > 0 && x.dims.some((d, a) => d - Math.max(0, -begin[a]!) - Math.max(0, -end[a]!) <= 0 && y.dims[a]! > 0)) unsupported(ctx, `mode '${mode}' with an axis cropped to nothing`);
  const xs = strides(x.dims), eb = elemBytes(x.dtype);
  const table: number[] = [];
  y.dims.forEach((n, a) => { for (let i = 0; i < n; i++) table.push(sourceIndex(mode, i, x.dims[a]!, begin[a]!, end[a]!) * xs[a]! * eb); });
  return [fromValues('int32', [Math.max(table.length, 1)], table.length ? table : [0])];
}

/** Same-width integer type, so elements move bit for bit whatever their dtype. */
const bitsOf = (eb: number): DType => (eb === 1 ? 'uint8' : eb === 2 ? 'uint16' : eb === 4 ? 'int32' : 'int64');

export function emitPadModes(ctx: KernelContext): Expr {
  const { fn, m } = ctx, x = input(ctx, 0), y = output(ctx), tbl = ctx.packed[0]!;
  if (y.size === 0) return m.nop();
  const eb = elemBytes(y.dtype), t = bitsOf(eb), yi = fn.i32();
  const starts: number[] = [];
  y.dims.reduce((at, n) => { starts.push(at); return at + n; }, 0);
  const accs: Local[] = y.dims.map(() => fn.i32());
  const nest = (a: number, prev: () => Expr): Expr[] => {
    if (a === y.dims.length) {
      return [
        fn.store(t, fn.elem(y.ptr, fn.get(yi), eb), fn.load(t, { base: x.ptr.base, dyn: prev() })),
        fn.set(yi, m.i32.add(fn.get(yi), fn.c32(1))),
      ];
    }
    const i = fn.i32();
    return [fn.loop(i, 0, y.dims[a]!, (iv) => [
      fn.set(accs[a]!, m.i32.add(prev(), fn.load('int32', fn.elem(tbl.ptr, m.i32.add(iv(), fn.c32(starts[a]!)), 4)))),
      ...nest(a + 1, () => fn.get(accs[a]!)),
    ])];
  };
  return fn.block([fn.set(yi, fn.c32(0)), ...nest(0, () => fn.c32(0))]);
}
