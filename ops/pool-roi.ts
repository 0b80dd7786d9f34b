// Region pools (MaxRoiPool, RoiAlign) and MaxUnpool, the scatter that undoes MaxPool through its Indices.
// RoiAlign follows onnxruntime's sampling (and its max mode, which takes the largest weighted corner).

import { KernelError, ShapeError } from '../ir/errors.js';
import { allocate, roundToDType, toNumbers } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInput, optInType, tensorOf } from './util.js';
import { FLOAT_TYPES, checkAllocation, makeWindow, numbers, product, rowStrides, sameDim, spatialOf } from './conv-window.js';

export const maxUnpoolOp = defineOp({
  op: 'MaxUnpool',
  attrs: { kernel_shape: attr.ints.required(), pads: attr.ints(), strides: attr.ints() },
  inputs: [2, 3],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const idx = inType(ctx, 1);
    const os = optInType(ctx, 2);
    expectDType(x, FLOAT_TYPES, 'X');
    expectDType(idx, ['int64'], 'I');
    if (os) expectDType(os, ['int64'], 'output_shape');
    const win = makeWindow(ctx.attrs.kernel_shape, ctx.attrs);
    const rank = ctx.attrs.kernel_shape.length;
    if (x.shape && x.shape.length !== rank + 2) throw new ShapeError(`X has rank ${x.shape.length}; kernel_shape implies ${rank + 2}`);
    if (x.shape && idx.shape) x.shape.forEach((d, i) => sameDim(d, idx.shape![i], 'I must have the shape of X'));
    const given = ctx.constant(2);
    if (given) {
      const dims = toNumbers(given);
      if (dims.length !== rank + 2) throw new ShapeError(`output_shape has ${dims.length} values; expected ${rank + 2}`);
      return [tensorOf(x.dtype, dims)];
    }
    if (x.shape === undefined) return [tensorOf(x.dtype)];
    const sv = os ? ctx.shapeValue(2) : undefined;
    if (sv && sv.length === rank + 2) return [tensorOf(x.dtype, sv)];
    if (os) return [tensorOf(x.dtype, x.shape.map((_, i) => ctx.freshDim(`unpool${i}`)))];
    const spatial = x.shape.slice(2).map((d, a): Dim => typeof d === 'number'
      ? (d - 1) * win.strides[a]! + win.kernel[a]! - win.pads[a]! - win.pads[a + rank]!
      : ctx.freshDim('unpool'));
    return [tensorOf(x.dtype, [x.shape[0]!, x.shape[1]!, ...spatial])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const idx = input(ctx, 1);
    const given = optInput(ctx, 2);
    const rank = ctx.attrs.kernel_shape.length;
    const win = makeWindow(ctx.attrs.kernel_shape, ctx.attrs);
    if (x.dims.length !== rank + 2) throw new KernelError(`X has rank ${x.dims.length}; kernel_shape implies ${rank + 2}`);
    if (idx.dims.join() !== x.dims.join()) throw new KernelError(`I must have the shape of X, got [${idx.dims.join(',')}]`);
    // Indices address the shape MaxPool's geometry implies; a larger output_shape pads that at the end.
    const inferred = [x.dims[0]!, x.dims[1]!, ...spatialOf(x.dims).map((d, a) =>
      (d - 1) * win.strides[a]! + win.kernel[a]! - win.pads[a]! - win.pads[a + rank]!)];
    const dims = given ? toNumbers(given) : inferred;
    if (dims.length !== rank + 2 || dims.some((d, i) => !Number.isInteger(d) || d < inferred[i]!)) {
      throw new KernelError(`output_shape [${dims.join(',')}] must have rank ${rank + 2} and be at least [${inferred.join(',')}]`);
    }
    const total = product(dims); const inferredTotal = product(inferred);
    checkAllocation(total);
    const y = allocate(x.dtype, total) as Float32Array | Float64Array;
    const xd = numbers(x.data); const id = idx.data as BigInt64Array;
    const inStrides = rowStrides(inferred); const outStrides = rowStrides(dims);
    for (let i = 0; i < xd.length; i++) {
      let at = Number(id[i]!);
      if (at < 0 || at >= inferredTotal) throw new KernelError(`index ${at} is out of range for an unpooled tensor of ${inferredTotal} elements`);
      let off = 0;
      for (let a = 0; a < dims.length; a++) { const q = Math.floor(at / inStrides[a]!); at -= q * inStrides[a]!; off += q * outStrides[a]!; }
      y[off] = xd[i]!;
    }
    return [{ dtype: x.dtype, dims, data: y }];
  },
});

export const maxRoiPoolOp = defineOp({
  op: 'MaxRoiPool',
  attrs: { pooled_shape: attr.ints.required(), spatial_scale: attr.float(1) },
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const rois = inType(ctx, 1);
    expectDType(x, FLOAT_TYPES, 'X');
    if (rois.dtype !== x.dtype) throw new ShapeError(`rois has element type ${rois.dtype}; X has ${x.dtype}`);
    const ps = ctx.attrs.pooled_shape;
    if (ps.length !== 2 || ps.some((d) => !Number.isInteger(d) || d < 1)) throw new ShapeError(`pooled_shape must be two positive integers, got [${ps.join(',')}]`);
    if (x.shape && x.shape.length !== 4) throw new ShapeError(`X must have rank 4, got ${x.shape.length}`);
    if (rois.shape && (rois.shape.length !== 2 || (typeof rois.shape[1] === 'number' && rois.shape[1] !== 5))) {
      throw new ShapeError(`rois must have shape [num_rois, 5], got [${rois.shape.join(',')}]`);
    }
    return [tensorOf(x.dtype, [rois.shape?.[0] ?? ctx.freshDim('rois'), x.shape?.[1] ?? ctx.freshDim('C'), ps[0]!, ps[1]!])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const rois = input(ctx, 1);
    const [ph, pw] = ctx.attrs.pooled_shape as [number, number];
    const scale = ctx.attrs.spatial_scale;
    if (x.dims.length !== 4 || rois.dims.length !== 2 || rois.dims[1] !== 5) throw new KernelError(`X must be 4-D and rois [num_rois, 5]`);
    const [n, c, h, w] = x.dims as [number, number, number, number];
    const numRois = rois.dims[0]!;
    checkAllocation(numRois * c * ph * pw);
    const y = allocate(x.dtype, numRois * c * ph * pw) as Float32Array | Float64Array;
    const xd = numbers(x.data); const rd = numbers(rois.data);
    // C's round() rounds halves away from zero, unlike Math.round.
    const round = (v: number): number => Math.sign(v) * Math.round(Math.abs(v));
    for (let r = 0; r < numRois; r++) {
      const batch = rd[r * 5]!;
      if (!Number.isInteger(batch) || batch < 0 || batch >= n) throw new KernelError(`roi ${r} has batch index ${batch}; X has batch ${n}`);
      const x1 = round(rd[r * 5 + 1]! * scale); const y1 = round(rd[r * 5 + 2]! * scale);
      const x2 = round(rd[r * 5 + 3]! * scale); const y2 = round(rd[r * 5 + 4]! * scale);
      const binH = Math.max(y2 - y1 + 1, 1) / ph;
      const binW = Math.max(x2 - x1 + 1, 1) / pw;
      for (let ci = 0; ci < c; ci++) {
        const base = (batch * c + ci) * h * w;
        for (let i = 0; i < ph; i++) {
          const hs = Math.min(Math.max(Math.floor(i * binH) + y1, 0), h);
          const he = Math.min(Math.max(Math.ceil((i + 1) * binH) + y1, 0), h);
          for (let j = 0; j < pw; j++) {
            const ws = Math.min(Math.max(Math.floor(j * binW) + x1, 0), w);
            const we = Math.min(Math.max(Math.ceil((j + 1) * binW) + x1, 0), w);
            let best = he <= hs || we <= ws ? 0 : -Infinity;
            for (let yy = hs; yy < he; yy++) for (let xx = ws; xx < we; xx++) best = Math.max(best, xd[base + yy * w + xx]!);
            y[((r * c + ci) * ph + i) * pw + j] = best;
          }
        }
      }
    }
    return [roundToDType({ dtype: x.dtype, dims: [numRois, c, ph, pw], data: y })];
  },
});

/** One bilinear sample as onnxruntime computes it: four (weight, flat position) pairs, all zero outside. */
function roiSample(yy: number, xx: number, h: number, w: number): [number, number, number, number, number, number, number, number] {
  if (yy < -1 || yy > h || xx < -1 || xx > w) return [0, 0, 0, 0, 0, 0, 0, 0];
  let y = Math.max(yy, 0); let x = Math.max(xx, 0);
  let yl = Math.trunc(y); let xl = Math.trunc(x); let yh: number; let xh: number;
  if (yl >= h - 1) { yh = yl = h - 1; y = yl; } else yh = yl + 1;
  if (xl >= w - 1) { xh = xl = w - 1; x = xl; } else xh = xl + 1;
  const ly = y - yl; const lx = x - xl; const hy = 1 - ly; const hx = 1 - lx;
  return [hy * hx, hy * lx, ly * hx, ly * lx, yl * w + xl, yl * w + xh, yh * w + xl, yh * w + xh];
}

export const roiAlignOp = defineOp({
  op: 'RoiAlign',
  attrs: {
    coordinate_transformation_mode: attr.string('half_pixel'),
    mode: attr.string('avg'),
    output_height: attr.int(1),
    output_width: attr.int(1),
    sampling_ratio: attr.int(0),
    spatial_scale: attr.float(1),
  },
  inputs: [3, 3],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0); const rois = inType(ctx, 1); const bi = inType(ctx, 2);
    expectDType(x, FLOAT_TYPES, 'X');
    if (rois.dtype !== x.dtype) throw new ShapeError(`rois has element type ${rois.dtype}; X has ${x.dtype}`);
    expectDType(bi, ['int64'], 'batch_indices');
    const a = ctx.attrs;
    if (a.mode !== 'avg' && a.mode !== 'max') throw new ShapeError(`mode must be 'avg' or 'max', got '${a.mode}'`);
    if (a.coordinate_transformation_mode !== 'half_pixel' && a.coordinate_transformation_mode !== 'output_half_pixel') {
      throw new ShapeError(`coordinate_transformation_mode must be 'half_pixel' or 'output_half_pixel', got '${a.coordinate_transformation_mode}'`);
    }
    if (a.output_height < 1 || a.output_width < 1) throw new ShapeError(`output_height and output_width must be >= 1`);
    if (a.sampling_ratio < 0) throw new ShapeError(`sampling_ratio must be >= 0, got ${a.sampling_ratio}`);
    if (x.shape && x.shape.length !== 4) throw new ShapeError(`X must have rank 4, got ${x.shape.length}`);
    if (rois.shape && (rois.shape.length !== 2 || (typeof rois.shape[1] === 'number' && rois.shape[1] !== 4))) {
      throw new ShapeError(`rois must have shape [num_rois, 4], got [${rois.shape.join(',')}]`);
    }
    if (bi.shape && bi.shape.length !== 1) throw new ShapeError(`batch_indices must be 1-D`);
    if (bi.shape && rois.shape) sameDim(bi.shape[0], rois.shape[0], 'batch_indices must have one entry per roi');
    const nr = rois.shape?.[0] ?? bi.shape?.[0] ?? ctx.freshDim('rois');
    return [tensorOf(x.dtype, [nr, x.shape?.[1] ?? ctx.freshDim('C'), a.output_height, a.output_width])];
  },
  run(ctx) {
    const x = input(ctx, 0); const rois = input(ctx, 1); const bi = toNumbers(input(ctx, 2));
    const a = ctx.attrs;
    if (x.dims.length !== 4 || rois.dims.length !== 2 || rois.dims[1] !== 4) throw new KernelError(`X must be 4-D and rois [num_rois, 4]`);
    const [n, c, h, w] = x.dims as [number, number, number, number];
    const numRois = rois.dims[0]!;
    if (bi.length !== numRois) throw new KernelError(`batch_indices has ${bi.length} entries; rois has ${numRois}`);
    const oh = a.output_height; const ow = a.output_width;
    checkAllocation(numRois * c * oh * ow);
    const y = allocate(x.dtype, numRois * c * oh * ow) as Float32Array | Float64Array;
    const xd = numbers(x.data); const rd = numbers(rois.data);
    const halfPixel = a.coordinate_transformation_mode === 'half_pixel';
    const offset = halfPixel ? 0.5 : 0;
    for (let r = 0; r < numRois; r++) {
      const batch = bi[r]!;
      if (batch < 0 || batch >= n) throw new KernelError(`roi ${r} has batch index ${batch}; X has batch ${n}`);
      const x1 = rd[r * 4]! * a.spatial_scale - offset; const y1 = rd[r * 4 + 1]! * a.spatial_scale - offset;
      const x2 = rd[r * 4 + 2]! * a.spatial_scale - offset; const y2 = rd[r * 4 + 3]! * a.spatial_scale - offset;
      let rh = y2 - y1; let rw = x2 - x1;
      // The legacy mode forces rois to be at least one pixel.
      if (!halfPixel) { rh = Math.max(rh, 1); rw = Math.max(rw, 1); }
      const binH = rh / oh; const binW = rw / ow;
      const gh = a.sampling_ratio > 0 ? a.sampling_ratio : Math.ceil(rh / oh);
      const gw = a.sampling_ratio > 0 ? a.sampling_ratio : Math.ceil(rw / ow);
      if (gh * gw > 1 << 20) throw new KernelError(`roi ${r} needs ${gh * gw} samples per bin`);
      const count = Math.max(gh * gw, 1);
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const samples: ReturnType<typeof roiSample>[] = [];
          for (let iy = 0; iy < gh; iy++) {
            const yy = y1 + i * binH + ((iy + 0.5) * binH) / gh;
            for (let ix = 0; ix < gw; ix++) samples.push(roiSample(yy, x1 + j * binW + ((ix + 0.5) * binW) / gw, h, w));
          }
          for (let ci = 0; ci < c; ci++) {
            const base = (batch * c + ci) * h * w;
            let acc = 0; let first = true;
            for (const [w1, w2, w3, w4, p1, p2, p3, p4] of samples) {
              const v1 = w1 * xd[base + p1]!; const v2 = w2 * xd[base + p2]!;
              const v3 = w3 * xd[base + p3]!; const v4 = w4 * xd[base + p4]!;
              if (a.mode === 'avg') acc += v1 + v2 + v3 + v4;
              else {
                const m = Math.max(v1, v2, v3, v4);
                acc = first ? m : Math.max(acc, m);
                first = false;
              }
            }
            y[((r * c + ci) * oh + i) * ow + j] = a.mode === 'avg' ? acc / count : acc;
          }
        }
      }
    }
    return [roundToDType({ dtype: x.dtype, dims: [numRois, c, oh, ow], data: y })];
  },
});
