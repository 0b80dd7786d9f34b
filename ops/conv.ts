// Conv (N-D, grouped, dilated, padded); the family's other ops live in conv-*.ts and are registered here.

import { ShapeError, KernelError } from '../ir/errors.js';
import { allocate, roundToDType } from '../ir/tensor.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import type { AnyOpDef } from './schema.js';
import { defineOp } from './schema.js';
import { inType, input, optInType, optInput, tensorOf } from './util.js';
import {
  checkAllocation, checkBias, checkConvOperands, convAttrs, kernelFrom, forEachIndex, makeWindow, numbers, product, resolveWindow, rowStrides, spatialOf,
  tapOffsets, windowDims,
} from './conv-window.js';
import { convTransposeOp } from './conv-transpose.js';
import { deformConvOp } from './conv-deform.js';
import { col2ImOp } from './conv-col2im.js';
import { causalConvWithStateOp } from './conv-causal.js';

export const convOp = defineOp({
  op: 'Conv',
  attrs: convAttrs,
  inputs: [2, 3],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const w = inType(ctx, 1);
    const b = optInType(ctx, 2);
    const group = checkConvOperands(x, w, b, ctx.attrs.group);
    const rank = x.shape ? spatialOf(x.shape).length : w.shape ? spatialOf(w.shape, 'W').length : undefined;
    if (x.shape && w.shape && x.shape.length !== w.shape.length) throw new ShapeError(`W has rank ${w.shape.length}; X has rank ${x.shape.length}`);
    const m = w.shape?.[0];
    if (w.shape && x.shape) {
      const c = x.shape[1]!; const cg = w.shape[1]!;
      if (typeof c === 'number' && typeof cg === 'number' && c !== cg * group) {
        throw new ShapeError(`X has ${c} channels; W expects ${cg} per group x ${group} groups`);
      }
    }
    if (typeof m === 'number' && m % group !== 0) throw new ShapeError(`W's ${m} output channels are not divisible by group ${group}`);
    checkBias(b, m);
    const kernel = kernelFrom(w.shape, ctx.attrs.kernel_shape, rank);
    if (x.shape === undefined || rank === undefined) return [tensorOf(x.dtype)];
    const spatial = x.shape.slice(2);
    const mDim: Dim = m ?? ctx.freshDim('M');
    if (kernel === undefined) return [tensorOf(x.dtype, [x.shape[0]!, mDim, ...spatial.map(() => ctx.freshDim('conv'))])];
    const win = makeWindow(kernel, ctx.attrs);
    return [tensorOf(x.dtype, [x.shape[0]!, mDim, ...windowDims(win, spatial, ctx.freshDim)])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const w = input(ctx, 1);
    const b = optInput(ctx, 2);
    return [conv(x, w, b, ctx.attrs)];
  },
});

/** Direct convolution, accumulated in doubles and rounded once to the output type. */
export function conv(
  x: Tensor, w: Tensor, b: Tensor | undefined,
  a: { auto_pad: string; dilations?: readonly number[] | undefined; group: number; kernel_shape?: readonly number[] | undefined; pads?: readonly number[] | undefined; strides?: readonly number[] | undefined },
): Tensor {
  const spatial = spatialOf(x.dims);
  if (w.dims.length !== x.dims.length) throw new KernelError(`W has rank ${w.dims.length}; X has rank ${x.dims.length}`);
  const [n, c] = x.dims as [number, number];
  const [m, cg] = w.dims as [number, number];
  const group = a.group;
  if (c !== cg * group || m % group !== 0) throw new KernelError(`X has ${c} channels and W is [${w.dims.join(',')}] with group ${group}`);
  if (b && (b.dims.length !== 1 || b.dims[0] !== m)) throw new KernelError(`B must have shape [${m}], got [${b.dims.join(',')}]`);
  const kernel = w.dims.slice(2);
  if (a.kernel_shape && a.kernel_shape.some((k, i) => k !== kernel[i])) throw new KernelError(`kernel_shape [${a.kernel_shape.join(',')}] does not match W`);
  const win = makeWindow(kernel, a);
  const { out, padBegin } = resolveWindow(win, spatial);
  const outSize = product(out);
  const total = n * m * outSize;
  checkAllocation(total);
  const y = allocate(x.dtype, total) as Float32Array | Float64Array;
  const xd = numbers(x.data); const wd = numbers(w.data); const bd = b ? numbers(b.data) : undefined;
  const inSize = product(spatial);
  const kSize = product(kernel);
  const inStrides = rowStrides(spatial);
  const taps = new Int32Array(kSize);
  const base = new Array<number>(spatial.length);
  const mPerGroup = m / group;
  forEachIndex(out, (p, o) => {
    for (let i = 0; i < o.length; i++) base[i] = o[i]! * win.strides[i]! - padBegin[i]!;
    tapOffsets(base, kernel, win.dilations, spatial, inStrides, taps);
    for (let ni = 0; ni < n; ni++) {
      for (let mi = 0; mi < m; mi++) {
        const g = Math.floor(mi / mPerGroup);
        let sum = bd ? bd[mi]! : 0;
        for (let ci = 0; ci < cg; ci++) {
          const xBase = (ni * c + g * cg + ci) * inSize;
          const wBase = (mi * cg + ci) * kSize;
          for (let t = 0; t < kSize; t++) {
            const off = taps[t]!;
            if (off >= 0) sum += xd[xBase + off]! * wd[wBase + t]!;
          }
        }
        y[(ni * m + mi) * outSize + p] = sum;
      }
    }
  });
  return roundToDType({ dtype: x.dtype, dims: [n, m, ...out], data: y });
}

export const convOps: AnyOpDef[] = [convOp, convTransposeOp, deformConvOp, col2ImOp, causalConvWithStateOp] as AnyOpDef[];
