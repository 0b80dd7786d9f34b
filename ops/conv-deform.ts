// DeformConv (2-D): a convolution whose kernel taps are moved by learned offsets (bilinear sampling, zero outside)
// and optionally scaled by a mask, as in the ONNX reference (GridSample with align_corners over each tap).

import { KernelError, ShapeError } from '../ir/errors.js';
import { allocate, roundToDType } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf } from './util.js';
import { FLOAT_TYPES, checkAllocation, kernelFrom, makeWindow, numbers, resolveWindow, sameDim, windowDims } from './conv-window.js';

/** Bilinear sample of a plane at (h, w); taps outside the plane read zero. */
function sample(data: ArrayLike<number>, base: number, height: number, width: number, h: number, w: number): number {
  const h0 = Math.floor(h); const w0 = Math.floor(w);
  const fh = h - h0; const fw = w - w0;
  let v = 0;
  for (let dh = 0; dh < 2; dh++) {
    const hh = h0 + dh;
    if (hh < 0 || hh >= height) continue;
    const wh = dh === 0 ? 1 - fh : fh;
    for (let dw = 0; dw < 2; dw++) {
      const ww = w0 + dw;
      if (ww < 0 || ww >= width) continue;
      v += wh * (dw === 0 ? 1 - fw : fw) * data[base + hh * width + ww]!;
    }
  }
  return v;
}

export const deformConvOp = defineOp({
  op: 'DeformConv',
  attrs: {
    dilations: attr.ints(),
    group: attr.int(1),
    kernel_shape: attr.ints(),
    offset_group: attr.int(1),
    pads: attr.ints(),
    strides: attr.ints(),
  },
  inputs: [3, 5],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const w = inType(ctx, 1);
    const off = inType(ctx, 2);
    expectDType(x, FLOAT_TYPES, 'X');
    for (const [i, name] of [[1, 'W'], [2, 'offset'], [3, 'B'], [4, 'mask']] as const) {
      const t = optInType(ctx, i);
      if (t && t.dtype !== x.dtype) throw new ShapeError(`${name} has element type ${t.dtype}; X has ${x.dtype}`);
    }
    const { group, offset_group: og } = ctx.attrs;
    if (!Number.isInteger(group) || group < 1) throw new ShapeError(`group must be a positive integer, got ${group}`);
    if (!Number.isInteger(og) || og < 1) throw new ShapeError(`offset_group must be a positive integer, got ${og}`);
    if (x.shape && x.shape.length !== 4) throw new ShapeError(`DeformConv supports 2-D inputs (rank 4); X has rank ${x.shape.length}`);
    if (w.shape && w.shape.length !== 4) throw new ShapeError(`W must have rank 4, got ${w.shape.length}`);
    if (x.shape && w.shape) {
      const c = x.shape[1]!; const cg = w.shape[1]!;
      if (typeof c === 'number' && typeof cg === 'number' && c !== cg * group) throw new ShapeError(`X has ${c} channels; W expects ${cg} x ${group} groups`);
    }
    const m: Dim = w.shape?.[0] ?? ctx.freshDim('M');
    if (x.shape === undefined) return [tensorOf(x.dtype)];
    const kernel = kernelFrom(w.shape, ctx.attrs.kernel_shape, 2);
    let spatial: Dim[];
    if (kernel) spatial = windowDims(makeWindow(kernel, ctx.attrs), x.shape.slice(2), ctx.freshDim);
    else spatial = off.shape ? off.shape.slice(2) : [ctx.freshDim('h'), ctx.freshDim('w')];
    if (off.shape) {
      if (off.shape.length !== 4) throw new ShapeError(`offset must have rank 4, got ${off.shape.length}`);
      spatial.forEach((d, i) => sameDim(off.shape![2 + i], d, `offset's spatial dims must equal the output's`));
      if (kernel) sameDim(off.shape[1], og * kernel[0]! * kernel[1]! * 2, 'offset must have offset_group*kH*kW*2 channels');
    }
    return [tensorOf(x.dtype, [x.shape[0]!, m, ...spatial])];
  },
  run(ctx) {
    const x = input(ctx, 0); const w = input(ctx, 1); const offset = input(ctx, 2);
    const b = optInput(ctx, 3); const mask = optInput(ctx, 4);
    const { group, offset_group: og } = ctx.attrs;
    if (x.dims.length !== 4 || w.dims.length !== 4) throw new KernelError(`DeformConv supports 2-D inputs only`);
    const [n, c, ih, iw] = x.dims as [number, number, number, number];
    const [m, cg, kh, kw] = w.dims as [number, number, number, number];
    if (c !== cg * group || m % group !== 0 || c % og !== 0) throw new KernelError(`channel counts do not fit group ${group} / offset_group ${og}`);
    const win = makeWindow([kh, kw], ctx.attrs);
    const { out, padBegin } = resolveWindow(win, [ih, iw]);
    const [oh, ow] = out as [number, number];
    const kk = kh * kw;
    if (offset.dims.join() !== [n, og * kk * 2, oh, ow].join()) throw new KernelError(`offset must have shape [${n},${og * kk * 2},${oh},${ow}], got [${offset.dims.join(',')}]`);
    if (mask && mask.dims.join() !== [n, og * kk, oh, ow].join()) throw new KernelError(`mask must have shape [${n},${og * kk},${oh},${ow}], got [${mask.dims.join(',')}]`);
    if (b && (b.dims.length !== 1 || b.dims[0] !== m)) throw new KernelError(`B must have shape [${m}]`);
    checkAllocation(n * m * oh * ow);
    const xd = numbers(x.data); const wd = numbers(w.data); const od = numbers(offset.data);
    const md = mask ? numbers(mask.data) : undefined; const bd = b ? numbers(b.data) : undefined;
    const y = allocate(x.dtype, n * m * oh * ow) as Float32Array | Float64Array;
    const mPerGroup = m / group; const cPerOffsetGroup = c / og; const plane = oh * ow;
    // Sampled input values per (input channel, tap) for one output position, shared by all output channels.
    const cols = new Float64Array(c * kk);
    for (let ni = 0; ni < n; ni++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const pos = i * ow + j;
          for (let ci = 0; ci < c; ci++) {
            const g = Math.floor(ci / cPerOffsetGroup);
            for (let t = 0; t < kk; t++) {
              const ki = Math.floor(t / kw); const kj = t % kw;
              const oBase = ((ni * og + g) * kk + t) * 2;
              const h = i * win.strides[0]! - padBegin[0]! + ki * win.dilations[0]! + od[oBase * plane + pos]!;
              const wc = j * win.strides[1]! - padBegin[1]! + kj * win.dilations[1]! + od[(oBase + 1) * plane + pos]!;
              const scale = md ? md[((ni * og + g) * kk + t) * plane + pos]! : 1;
              cols[ci * kk + t] = sample(xd, (ni * c + ci) * ih * iw, ih, iw, h, wc) * scale;
            }
          }
          for (let mi = 0; mi < m; mi++) {
            const g = Math.floor(mi / mPerGroup);
            let sum = bd ? bd[mi]! : 0;
            for (let k = 0; k < cg; k++) {
              const ci = g * cg + k;
              for (let t = 0; t < kk; t++) sum += cols[ci * kk + t]! * wd[(mi * cg + k) * kk + t]!;
            }
            y[(ni * m + mi) * plane + pos] = sum;
          }
        }
      }
    }
    return [roundToDType({ dtype: x.dtype, dims: [n, m, oh, ow], data: y })];
  },
});
