// Windowing ops: Slice (clamped, negative steps), Pad (constant/reflect/edge/wrap, negative pads crop) and
// CenterCropPad.

import { assertNever, KernelError, ShapeError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import { setElement, stridesOf } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, withShape } from './util.js';
import { alloc, constInts, elems, intList, normAxes, shapeLike, unravel, INDEX_DTYPES, MAX_ELEMENTS } from './shape-common.js';

interface AxisSlice { axis: number; start: number; step: number; count: number }

/** Clamp one axis's start/end as ONNX Slice does; returns the first index and element count. */
function sliceAxis(dim: number, start: number, end: number, step: number): { start: number; count: number } {
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = Math.min(Math.max(start, 0), dim);
    end = Math.min(Math.max(end, 0), dim);
    return { start, count: Math.max(0, Math.ceil((end - start) / step)) };
  }
  start = Math.min(Math.max(start, 0), dim - 1);
  end = Math.min(Math.max(end, -1), dim - 1);
  return { start, count: Math.max(0, Math.ceil((start - end) / -step)) };
}

/** Validate Slice's parameter lists; returns normalised axes and steps. */
function sliceParams(rank: number, nStarts: number, nEnds: number, axes: number[] | undefined, steps: number[] | undefined,
  err: (m: string) => Error): { axes: number[]; steps: number[] } {
  if (nEnds !== nStarts) throw err(`Slice starts has ${nStarts} entries but ends has ${nEnds}`);
  const ax = axes === undefined ? Array.from({ length: nStarts }, (_, i) => i) : normAxes(axes, rank, 'Slice axes');
  if (ax.length !== nStarts) throw err(`Slice axes has ${ax.length} entries for ${nStarts} starts`);
  const st = steps ?? new Array<number>(nStarts).fill(1);
  if (st.length !== nStarts) throw err(`Slice steps has ${st.length} entries for ${nStarts} starts`);
  if (st.some((s) => s === 0)) throw err('Slice steps may not be 0');
  return { axes: ax, steps: st };
}

/** Slice bounds at or past this reach the end of any dim a tensor can really have ("to the end" markers:
 *  INT64_MAX from PyTorch, INT32_MAX or 1e9 from tf2onnx). */
const TO_END = MAX_ELEMENTS;

const Slice = defineOp({
  op: 'Slice',
  attrs: {},
  inputs: [3, 5],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    for (let i = 1; i < 5; i++) { const t = optInType(ctx, i); if (t) expectDType(t, INDEX_DTYPES, `Slice input ${i}`); }
    if (x.shape === undefined) return [withShape(x, undefined)];
    const shape = x.shape;
    const starts = shapeLike(ctx, 1), ends = shapeLike(ctx, 2);
    const axes = ctx.inputs[3] ? constInts(ctx, 3) : undefined;
    const steps = ctx.inputs[4] ? constInts(ctx, 4) : undefined;
    const axesKnown = !ctx.inputs[3] || axes !== undefined;
    if (!axesKnown) return [withShape(x, shape.map((d) => (d === 0 ? 0 : ctx.freshDim('slice'))))];
    const out: Dim[] = [...shape];
    if (starts === undefined || ends === undefined || (ctx.inputs[4] && steps === undefined)) {
      const n = axes?.length ?? (starts ?? ends)?.length;
      const touched = axes !== undefined ? normAxes(axes, shape.length, 'Slice axes') : n !== undefined ? Array.from({ length: n }, (_, i) => i) : undefined;
      if (touched === undefined) return [withShape(x, shape.map((d) => (d === 0 ? 0 : ctx.freshDim('slice'))))];
      for (const a of touched) out[a] = shape[a] === 0 ? 0 : ctx.freshDim('slice');
      return [withShape(x, out)];
    }
    const p = sliceParams(shape.length, starts.length, ends.length, axes, steps, (m) => new ShapeError(m));
    p.axes.forEach((a, i) => {
      const d = shape[a]!, st = starts[i]!, en = ends[i]!, step = p.steps[i]!;
      if (typeof d === 'number' && typeof st === 'number' && typeof en === 'number') out[a] = sliceAxis(d, st, en, step).count;
      // x[0:n] with a symbolic n (assumed in range) has n elements; x[0:INT_MAX] keeps the dim
      else if (st === 0 && step === 1 && typeof en === 'string') out[a] = en;
      else if (st === 0 && step === 1 && typeof en === 'number' && en >= TO_END) out[a] = d;
      else if (step === -1 && (st === -1 || (typeof st === 'number' && st >= TO_END)) && typeof en === 'number' && en <= -TO_END) out[a] = d;
      else out[a] = ctx.freshDim('slice');
    });
    return [withShape(x, out)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const starts = intList(input(ctx, 1), 'Slice starts');
    const ends = intList(input(ctx, 2), 'Slice ends');
    const a = optInput(ctx, 3), s = optInput(ctx, 4);
    const r = x.dims.length;
    const p = sliceParams(r, starts.length, ends.length, a && intList(a, 'Slice axes'), s && intList(s, 'Slice steps'), (m) => new KernelError(m));
    const per: AxisSlice[] = x.dims.map((d, axis) => ({ axis, start: 0, step: 1, count: d }));
    p.axes.forEach((axis, i) => {
      const { start, count } = sliceAxis(x.dims[axis]!, starts[i]!, ends[i]!, p.steps[i]!);
      per[axis] = { axis, start, step: p.steps[i]!, count };
    });
    const dims = per.map((q) => q.count);
    const out = alloc(x.dtype, dims);
    const strides = stridesOf(x.dims);
    const src = elems(x), dst = elems(out);
    const idx = new Array<number>(r).fill(0);
    for (let i = 0; i < dst.length; i++) {
      unravel(i, dims, idx);
      let j = 0;
      for (let k = 0; k < r; k++) j += (per[k]!.start + idx[k]! * per[k]!.step) * strides[k]!;
      dst[i] = src[j]!;
    }
    return [out];
  },
});

type PadMode = 'constant' | 'reflect' | 'edge' | 'wrap';
function checkMode(m: string, err: (m: string) => Error): PadMode {
  if (m === 'constant' || m === 'reflect' || m === 'edge' || m === 'wrap') return m;
  throw err(`Pad mode must be constant, reflect, edge or wrap; got '${m}'`);
}

/** Full per-axis [begin..., end...] pads from the pads input and optional axes. */
function fullPads(rank: number, pads: number[], axes: number[] | undefined, err: (m: string) => Error): number[] {
  const ax = axes === undefined ? Array.from({ length: rank }, (_, i) => i) : normAxes(axes, rank, 'Pad axes');
  if (pads.length !== 2 * ax.length) throw err(`Pad pads has ${pads.length} entries; expected ${2 * ax.length}`);
  const full = new Array<number>(2 * rank).fill(0);
  ax.forEach((a, i) => { full[a] = pads[i]!; full[a + rank] = pads[i + ax.length]!; });
  return full;
}

/** Source index along one axis for an output position, or -1 for the constant fill. Negative pads crop first,
 *  then the other modes reflect/clamp/wrap within the cropped extent. */
function padSource(o: number, dim: number, begin: number, end: number, mode: PadMode): number {
  const cropB = Math.max(0, -begin);
  const inner = dim - cropB - Math.max(0, -end);
  let i = o - Math.max(0, begin);
  if (i >= 0 && i < inner) return i + cropB;
  switch (mode) {
    case 'constant': return -1;
    case 'edge': i = i < 0 ? 0 : inner - 1; break;
    case 'wrap': i = ((i % inner) + inner) % inner; break;
    case 'reflect': {
      if (inner === 1) { i = 0; break; }
      const period = 2 * (inner - 1);
      i = ((i % period) + period) % period;
      if (i >= inner) i = period - i;
      break;
    }
    default: return assertNever(mode, 'pad mode');
  }
  return i + cropB;
}

const Pad = defineOp({
  op: 'Pad',
  attrs: { mode: attr.string('constant') },
  inputs: [2, 4],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    checkMode(ctx.attrs.mode, (m) => new ShapeError(m));
    expectDType(inType(ctx, 1), ['int64'], 'Pad pads');
    const cv = optInType(ctx, 2);
    if (cv && cv.dtype !== x.dtype && (x.dtype === 'string' || cv.dtype === 'string')) {
      throw new ShapeError(`Pad constant_value is ${cv.dtype} but data is ${x.dtype}`);
    }
    const at = optInType(ctx, 3);
    if (at) expectDType(at, INDEX_DTYPES, 'Pad axes');
    if (x.shape === undefined) return [withShape(x, undefined)];
    const shape = x.shape;
    const pads = constInts(ctx, 1);
    const axes = at ? constInts(ctx, 3) : undefined;
    if (pads === undefined || (at && axes === undefined)) return [withShape(x, shape.map(() => ctx.freshDim('pad')))];
    const full = fullPads(shape.length, pads, axes, (m) => new ShapeError(m));
    return [withShape(x, shape.map((d, k) => {
      const b = full[k]!, e = full[k + shape.length]!;
      if (typeof d !== 'number') return b === 0 && e === 0 ? d : ctx.freshDim('pad');
      if (d + b + e < 0) throw new ShapeError(`Pad pads ${b},${e} crop axis ${k} of dim ${d} below 0`);
      return d + b + e;
    }))];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const mode = checkMode(ctx.attrs.mode, (m) => new KernelError(m));
    const r = x.dims.length;
    const a = optInput(ctx, 3);
    const full = fullPads(r, intList(input(ctx, 1), 'Pad pads'), a && intList(a, 'Pad axes'), (m) => new KernelError(m));
    const dims = x.dims.map((d, k) => d + full[k]! + full[k + r]!);
    if (dims.some((d) => d < 0)) throw new KernelError(`Pad pads [${full.join(',')}] crop [${x.dims.join(',')}] below 0`);
    const out = alloc(x.dtype, dims);
    const dst = elems(out), src = elems(x);
    const fill = padValue(x, optInput(ctx, 2));
    if (mode !== 'constant' && dst.length > 0) {
      x.dims.forEach((d, k) => {
        if (d - Math.max(0, -full[k]!) - Math.max(0, -full[k + r]!) <= 0 && dims[k]! > 0) {
          throw new KernelError(`Pad mode ${mode} needs a non-empty axis ${k} to pad from`);
        }
      });
    }
    const strides = stridesOf(x.dims);
    const idx = new Array<number>(r).fill(0);
    for (let i = 0; i < dst.length; i++) {
      unravel(i, dims, idx);
      let j = 0;
      for (let k = 0; k < r && j >= 0; k++) {
        const s = padSource(idx[k]!, x.dims[k]!, full[k]!, full[k + r]!, mode);
        j = s < 0 ? -1 : j + s * strides[k]!;
      }
      dst[i] = j < 0 ? fill : src[j]!;
    }
    return [out];
  },
});

/** The constant fill in the data's dtype (a legacy float32 value is cast). */
function padValue(x: Tensor, cv: Tensor | undefined): number | bigint | string {
  const one = alloc(x.dtype, [1]);
  if (cv !== undefined && cv.data.length > 0) {
    if (cv.data.length !== 1) throw new KernelError('Pad constant_value must be a scalar');
    setElement(x.dtype, one.data, 0, cv.data[0]!);
  }
  return elems(one)[0]!;
}

const CenterCropPad = defineOp({
  op: 'CenterCropPad',
  attrs: { axes: attr.ints() },
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectDType(inType(ctx, 1), INDEX_DTYPES, 'CenterCropPad shape');
    if (x.shape === undefined) return [withShape(x, undefined)];
    const shape = x.shape;
    const axes = normAxes(ctx.attrs.axes ?? shape.map((_, i) => i), shape.length, 'CenterCropPad axes');
    const sizes = shapeLike(ctx, 1);
    if (sizes !== undefined && sizes.length !== axes.length) {
      throw new ShapeError(`CenterCropPad shape has ${sizes.length} entries for ${axes.length} axes`);
    }
    if (sizes?.some((s) => typeof s === 'number' && s < 0)) throw new ShapeError(`CenterCropPad shape [${sizes.join(',')}] has a negative size`);
    const out: Dim[] = [...shape];
    axes.forEach((a, i) => { out[a] = sizes === undefined ? ctx.freshDim('crop') : sizes[i]!; });
    return [withShape(x, out)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const r = x.dims.length;
    const axes = normAxes(ctx.attrs.axes ?? x.dims.map((_, i) => i), r, 'CenterCropPad axes');
    const sizes = intList(input(ctx, 1), 'CenterCropPad shape');
    if (sizes.length !== axes.length || sizes.some((s) => s < 0)) {
      throw new KernelError(`CenterCropPad shape [${sizes.join(',')}] does not fit axes [${axes.join(',')}]`);
    }
    const dims = [...x.dims];
    // offset of the output window within the input (negative: the output is larger and pads on both sides)
    const offset = new Array<number>(r).fill(0);
    axes.forEach((a, i) => {
      const d = x.dims[a]!, s = sizes[i]!;
      dims[a] = s;
      offset[a] = s <= d ? Math.floor((d - s) / 2) : -Math.floor((s - d) / 2);
    });
    const out = alloc(x.dtype, dims);
    const strides = stridesOf(x.dims);
    const src = elems(x), dst = elems(out);
    const zero = elems(alloc(x.dtype, [1]))[0]!;
    const idx = new Array<number>(r).fill(0);
    for (let i = 0; i < dst.length; i++) {
      unravel(i, dims, idx);
      let j = 0;
      for (let k = 0; k < r && j >= 0; k++) {
        const s = idx[k]! + offset[k]!;
        j = s < 0 || s >= x.dims[k]! ? -1 : j + s * strides[k]!;
      }
      dst[i] = j < 0 ? zero : src[j]!;
    }
    return [out];
  },
});

export const shapeSliceOps = [Slice, Pad, CenterCropPad];
