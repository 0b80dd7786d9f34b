// ConvTranspose: the gradient of Conv, computed as a scatter of each input element through the kernel.
// Output size comes from output_shape when given (padding then follows from it), else from pads and output_padding.

import { KernelError, ShapeError } from '../ir/errors.js';
import { allocate, roundToDType } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import { inType, input, optInType, optInput, tensorOf } from './util.js';
import {
  checkAllocation, checkBias, checkConvOperands, effectiveKernel, forEachIndex, kernelFrom, makeWindow, numbers, product, rowStrides,
  sameDim, spatialOf, tapOffsets,
} from './conv-window.js';
import type { Window } from './conv-window.js';

interface TransposeAttrs {
  readonly output_padding?: readonly number[] | undefined;
  readonly output_shape?: readonly number[] | undefined;
}

/** Output size and begin padding of one axis (ONNX reference rules: with output_shape or SAME_*, the total
 *  padding follows from the output size; SAME_UPPER puts the smaller half first, the others the larger). */
export function transposeAxis(win: Window, a: TransposeAttrs, axis: number, inDim: number, rank: number): { out: number; padBegin: number } {
  const s = win.strides[axis]!;
  const op = a.output_padding?.[axis] ?? 0;
  const k = effectiveKernel(win, axis);
  const full = s * (inDim - 1) + op + k;
  let target: number | undefined;
  if (a.output_shape !== undefined) target = a.output_shape[a.output_shape.length - rank + axis]!;
  else if (win.autoPad === 'SAME_UPPER' || win.autoPad === 'SAME_LOWER') target = inDim * s;
  if (target !== undefined) {
    const total = full - target;
    const half = Math.floor(total / 2);
    return { out: target, padBegin: win.autoPad === 'SAME_UPPER' ? half : total - half };
  }
  const pb = win.autoPad === 'VALID' ? 0 : win.pads[axis]!;
  const pe = win.autoPad === 'VALID' ? 0 : win.pads[axis + rank]!;
  const out = full - pb - pe;
  if (out < 0) throw new ShapeError(`axis ${axis}: pads (${pb}+${pe}) exceed the transposed output size ${full}`);
  return { out, padBegin: pb };
}

function checkTransposeAttrs(a: TransposeAttrs, rank: number): void {
  if (a.output_padding !== undefined && a.output_padding.length !== rank) {
    throw new ShapeError(`output_padding has ${a.output_padding.length} values; expected ${rank}`);
  }
  if (a.output_padding?.some((v) => !Number.isInteger(v) || v < 0)) throw new ShapeError(`output_padding values must be >= 0`);
  if (a.output_shape !== undefined) {
    if (a.output_shape.length !== rank && a.output_shape.length !== rank + 2) {
      throw new ShapeError(`output_shape has ${a.output_shape.length} values; expected ${rank} (or ${rank + 2} with N and C)`);
    }
    if (a.output_shape.some((v) => !Number.isInteger(v) || v < 0)) throw new ShapeError(`output_shape values must be >= 0`);
  }
}

/** ConvTranspose's attributes, shared with onnxc.FusedConvTranspose. */
export const convTransposeAttrs = {
  auto_pad: attr.string('NOTSET'),
  dilations: attr.ints(),
  group: attr.int(1),
  kernel_shape: attr.ints(),
  output_padding: attr.ints(),
  output_shape: attr.ints(),
  pads: attr.ints(),
  strides: attr.ints(),
};

export const convTransposeOp = defineOp({
  op: 'ConvTranspose',
  attrs: convTransposeAttrs,
  inputs: [2, 3],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const w = inType(ctx, 1);
    const b = optInType(ctx, 2);
    const group = checkConvOperands(x, w, b, ctx.attrs.group);
    if (x.shape && w.shape && x.shape.length !== w.shape.length) throw new ShapeError(`W has rank ${w.shape.length}; X has rank ${x.shape.length}`);
    const rank = x.shape ? spatialOf(x.shape).length : w.shape ? spatialOf(w.shape, 'W').length : undefined;
    if (x.shape && w.shape) sameDim(x.shape[1], w.shape[0], `W's first dim must equal X's channels`);
    const c = w.shape?.[0];
    if (typeof c === 'number' && c % group !== 0) throw new ShapeError(`W's ${c} input channels are not divisible by group ${group}`);
    const mg = w.shape?.[1];
    const m: Dim = typeof mg === 'number' ? mg * group : ctx.freshDim('M');
    checkBias(b, m);
    const kernel = kernelFrom(w.shape, ctx.attrs.kernel_shape, rank);
    if (rank !== undefined) checkTransposeAttrs(ctx.attrs, rank);
    if (x.shape === undefined || rank === undefined) return [tensorOf(x.dtype)];
    const spatial = x.shape.slice(2);
    const win = kernel ? makeWindow(kernel, ctx.attrs) : undefined;
    const dims = spatial.map((d, axis): Dim => {
      const os = ctx.attrs.output_shape;
      if (os !== undefined) return os[os.length - rank + axis]!;
      if (win === undefined || typeof d !== 'number') return ctx.freshDim('convt');
      return transposeAxis(win, ctx.attrs, axis, d, rank).out;
    });
    return [tensorOf(x.dtype, [x.shape[0]!, m, ...dims])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const w = input(ctx, 1);
    const b = optInput(ctx, 2);
    const a = ctx.attrs;
    const spatial = spatialOf(x.dims);
    const rank = spatial.length;
    if (w.dims.length !== x.dims.length) throw new KernelError(`W has rank ${w.dims.length}; X has rank ${x.dims.length}`);
    const [n, c] = x.dims as [number, number];
    const [wc, mg] = w.dims as [number, number];
    const group = a.group;
    if (wc !== c || c % group !== 0) throw new KernelError(`X has ${c} channels and W is [${w.dims.join(',')}] with group ${group}`);
    const m = mg * group;
    if (b && (b.dims.length !== 1 || b.dims[0] !== m)) throw new KernelError(`B must have shape [${m}], got [${b.dims.join(',')}]`);
    const kernel = w.dims.slice(2);
    if (a.kernel_shape && a.kernel_shape.some((k, i) => k !== kernel[i])) throw new KernelError(`kernel_shape does not match W`);
    checkTransposeAttrs(a, rank);
    const win = makeWindow(kernel, a);
    const geo = spatial.map((d, axis) => transposeAxis(win, a, axis, d, rank));
    const out = geo.map((g) => g.out);
    const outSize = product(out);
    checkAllocation(n * m * outSize);
    const y = allocate(x.dtype, n * m * outSize) as Float32Array | Float64Array;
    const acc = new Float64Array(n * m * outSize);
    const xd = numbers(x.data); const wd = numbers(w.data);
    const inSize = product(spatial);
    const kSize = product(kernel);
    const outStrides = rowStrides(out);
    const taps = new Int32Array(kSize);
    const base = new Array<number>(rank);
    const cPerGroup = c / group;
    // Scatter: input position i reaches output i*s - pad + k*d for every kernel tap k.
    forEachIndex(spatial, (p, i) => {
      for (let ax = 0; ax < rank; ax++) base[ax] = i[ax]! * win.strides[ax]! - geo[ax]!.padBegin;
      tapOffsets(base, kernel, win.dilations, out, outStrides, taps);
      for (let ni = 0; ni < n; ni++) {
        for (let ci = 0; ci < c; ci++) {
          const v = xd[(ni * c + ci) * inSize + p]!;
          const g = Math.floor(ci / cPerGroup);
          for (let mi = 0; mi < mg; mi++) {
            const yBase = (ni * m + g * mg + mi) * outSize;
            const wBase = (ci * mg + mi) * kSize;
            for (let t = 0; t < kSize; t++) {
              const off = taps[t]!;
              if (off >= 0) acc[yBase + off] += v * wd[wBase + t]!;
            }
          }
        }
      }
    });
    const bd = b ? numbers(b.data) : undefined;
    for (let i = 0; i < acc.length; i++) y[i] = acc[i]! + (bd ? bd[Math.floor(i / outSize) % m]! : 0);
    return [roundToDType({ dtype: x.dtype, dims: [n, m, ...out], data: y })];
  },
});
