// Ops that change a tensor's shape but not its elements (Reshape, Flatten, Squeeze, Unsqueeze), plus Expand,
// Shape and Size. Shape-like inputs that are constants give exact output shapes at inference.

import { KernelError, ShapeError } from '../ir/errors.js';
import { fromValues, scalar } from '../ir/tensor.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import { broadcastIndexer, broadcastShapes, expectDType, inType, input, optInType, optInput, tensorOf, withShape } from './util.js';
import {
  alloc, checkedSize, constInts, shapeLike, elems, intList, normAxes, shapeInput, staticLength, symDivide, symProduct, productToDim,
} from './shape-common.js';

/** Output dims of Reshape from the requested shape (0 copies, -1 infers), over symbolic input dims. */
function reshapeDims(inShape: readonly Dim[] | undefined, req: readonly Dim[], allowzero: boolean,
  fresh: () => Dim, err: (m: string) => Error): Dim[] {
  const out: Dim[] = [];
  let inferAt = -1;
  if (allowzero && req.includes(0) && req.includes(-1)) throw err('with allowzero=1 the shape may not hold both 0 and -1');
  for (let i = 0; i < req.length; i++) {
    const s = req[i]!;
    if (typeof s === 'string') {
      out.push(s); // a symbolic size from a computed shape
    } else if (s === -1) {
      if (inferAt >= 0) throw err('shape may hold at most one -1');
      inferAt = i;
      out.push(0);
    } else if (s === 0 && !allowzero) {
      if (inShape === undefined) out.push(fresh());
      else if (i >= inShape.length) throw err(`shape[${i}] is 0 (copy) but the input has rank ${inShape.length}`);
      else out.push(inShape[i]!);
    } else if (s < -1 || !Number.isInteger(s)) {
      throw err(`shape[${i}] is ${s}; dims must be >= -1`);
    } else {
      out.push(s);
    }
  }
  const total = inShape === undefined ? undefined : symProduct(inShape);
  if (inferAt >= 0) {
    const rest = symProduct(out.filter((_, k) => k !== inferAt));
    let d: Dim | undefined;
    if (total !== undefined) {
      if (rest.num === 0) throw err('cannot infer -1 when the other dims multiply to 0');
      d = symDivide(total, rest);
      if (d === undefined && total.syms.length === 0 && rest.syms.length === 0) {
        throw err(`cannot reshape ${total.num} elements into a shape with ${rest.num} elements per -1`);
      }
    }
    out[inferAt] = d ?? fresh();
  } else if (total !== undefined && total.syms.length === 0) {
    const p = symProduct(out);
    if (p.syms.length === 0 && p.num !== total.num) throw err(`cannot reshape ${total.num} elements into ${p.num}`);
  }
  return out;
}

const Reshape = defineOp({
  op: 'Reshape',
  traits: { view: true },
  attrs: { allowzero: attr.int(0) },
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const s = inType(ctx, 1);
    expectDType(s, ['int64'], 'Reshape shape');
    const req = shapeLike(ctx, 1);
    if (req !== undefined) {
      return [withShape(x, reshapeDims(x.shape, req, ctx.attrs.allowzero !== 0, () => ctx.freshDim('reshape'), (m) => new ShapeError(m)))];
    }
    const n = staticLength(s);
    return [withShape(x, n === undefined ? undefined : Array.from({ length: n }, () => ctx.freshDim('reshape')))];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const req = intList(input(ctx, 1), 'Reshape shape');
    const dims = reshapeDims(x.dims, req, ctx.attrs.allowzero !== 0, () => 0, (m) => new KernelError(m)) as number[];
    if (checkedSize(dims) !== x.data.length) throw new KernelError(`cannot reshape [${x.dims.join(',')}] into [${dims.join(',')}]`);
    return [{ dtype: x.dtype, dims, data: x.data }];
  },
});

/** A dim for a product of dims (Flatten's two sides). */
function productDim(dims: readonly Dim[]): Dim {
  return productToDim(symProduct(dims));
}

const Flatten = defineOp({
  op: 'Flatten',
  traits: { view: true },
  attrs: { axis: attr.int(1) },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const fresh = () => ctx.freshDim('flatten');
    if (x.shape === undefined) return [withShape(x, [fresh(), fresh()])];
    const r = x.shape.length;
    const a = ctx.attrs.axis;
    if (a < -r || a > r) throw new ShapeError(`Flatten axis ${a} is out of range for rank ${r} (expected ${-r}..${r})`);
    const axis = a < 0 ? a + r : a;
    return [withShape(x, [productDim(x.shape.slice(0, axis)), productDim(x.shape.slice(axis))])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const r = x.dims.length;
    const axis = ctx.attrs.axis < 0 ? ctx.attrs.axis + r : ctx.attrs.axis;
    if (axis < 0 || axis > r) throw new KernelError(`Flatten axis ${ctx.attrs.axis} is out of range for rank ${r}`);
    const outer = x.dims.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = x.dims.slice(axis).reduce((a, b) => a * b, 1);
    return [{ dtype: x.dtype, dims: [outer, inner], data: x.data }];
  },
});

/** Dims kept by Squeeze; `isOne` decides for dims not named in axes. */
function squeezeDims(shape: readonly Dim[], axes: readonly number[] | undefined, err: (m: string) => Error): Dim[] | undefined {
  if (axes === undefined) {
    if (shape.some((d) => typeof d !== 'number')) return undefined; // which symbols are 1 is unknown
    return shape.filter((d) => d !== 1);
  }
  const norm = normAxes(axes, shape.length, 'Squeeze axes');
  for (const a of norm) {
    const d = shape[a]!;
    if (typeof d === 'number' && d !== 1) throw err(`Squeeze axis ${a} has dim ${d}, not 1`);
  }
  return shape.filter((_, k) => !norm.includes(k));
}

const Squeeze = defineOp({
  op: 'Squeeze',
  traits: { view: true },
  attrs: {},
  inputs: [1, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const at = optInType(ctx, 1);
    if (at) expectDType(at, ['int64'], 'Squeeze axes');
    if (x.shape === undefined) return [withShape(x, undefined)];
    const axes = at ? constInts(ctx, 1) : undefined;
    if (at && axes === undefined) {
      const n = staticLength(at);
      return [withShape(x, n === undefined ? undefined : Array.from({ length: x.shape.length - n }, () => ctx.freshDim('squeeze')))];
    }
    return [withShape(x, squeezeDims(x.shape, axes, (m) => new ShapeError(m)))];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const a = optInput(ctx, 1);
    const dims = squeezeDims(x.dims, a ? intList(a, 'Squeeze axes') : undefined, (m) => new KernelError(m)) as number[];
    return [{ dtype: x.dtype, dims, data: x.data }];
  },
});

function unsqueezeDims(shape: readonly Dim[], axes: readonly number[]): Dim[] {
  const r = shape.length + axes.length;
  const norm = normAxes(axes, r, 'Unsqueeze axes');
  const out: Dim[] = [];
  let k = 0;
  for (let i = 0; i < r; i++) out.push(norm.includes(i) ? 1 : shape[k++]!);
  return out;
}

const Unsqueeze = defineOp({
  op: 'Unsqueeze',
  traits: { view: true },
  attrs: {},
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const at = inType(ctx, 1);
    expectDType(at, ['int64'], 'Unsqueeze axes');
    const axes = constInts(ctx, 1);
    if (x.shape === undefined) return [withShape(x, undefined)];
    if (axes === undefined) {
      const n = staticLength(at);
      return [withShape(x, n === undefined ? undefined : Array.from({ length: x.shape.length + n }, () => ctx.freshDim('unsqueeze')))];
    }
    return [withShape(x, unsqueezeDims(x.shape, axes))];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const dims = unsqueezeDims(x.dims, intList(input(ctx, 1), 'Unsqueeze axes')) as number[];
    return [{ dtype: x.dtype, dims, data: x.data }];
  },
});

const Expand = defineOp({
  op: 'Expand',
  attrs: {},
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const s = inType(ctx, 1);
    expectDType(s, ['int64'], 'Expand shape');
    const req = shapeLike(ctx, 1);
    if (req !== undefined) {
      if (req.some((d) => typeof d === 'number' && (d < 0 || !Number.isInteger(d)))) throw new ShapeError(`Expand shape [${req.join(',')}] has a negative dim`);
      if (x.shape === undefined) return [withShape(x, undefined)];
      return [withShape(x, broadcastShapes(x.shape, req))];
    }
    const n = staticLength(s);
    if (x.shape === undefined || n === undefined) return [withShape(x, undefined)];
    const r = Math.max(n, x.shape.length);
    const out: Dim[] = [];
    for (let i = 0; i < r; i++) {
      const d = x.shape[i - (r - x.shape.length)];
      out.push(typeof d === 'number' && d !== 1 ? d : ctx.freshDim('expand'));
    }
    return [withShape(x, out)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const req = shapeInput(input(ctx, 1), 'Expand shape');
    let dims: number[];
    try { dims = broadcastShapes(x.dims, req) as number[]; } catch (e) {
      throw new KernelError(`Expand: cannot broadcast [${x.dims.join(',')}] to [${req.join(',')}]`);
    }
    const out = alloc(x.dtype, dims);
    const idx = broadcastIndexer(x.dims, dims);
    const src = elems(x), dst = elems(out);
    for (let i = 0; i < dst.length; i++) dst[i] = src[idx(i)]!;
    return [out];
  },
});

/** Shape's [start, end) after clamping, as ONNX defines it. */
function shapeRange(rank: number, start: number, end: number | undefined): [number, number] {
  const clamp = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  const s = clamp(start);
  const e = end === undefined ? rank : clamp(end);
  return [s, Math.max(s, e)];
}

const Shape = defineOp({
  op: 'Shape',
  attrs: { start: attr.int(0), end: attr.int() },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    if (x.shape === undefined) return [tensorOf('int64', [ctx.freshDim('rank')])];
    const [s, e] = shapeRange(x.shape.length, ctx.attrs.start, ctx.attrs.end);
    return [tensorOf('int64', [e - s])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const [s, e] = shapeRange(x.dims.length, ctx.attrs.start, ctx.attrs.end);
    const dims = x.dims.slice(s, e);
    return [fromValues('int64', [dims.length], dims.map((d) => BigInt(d)))];
  },
});

const Size = defineOp({
  op: 'Size',
  attrs: {},
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    inType(ctx, 0);
    return [tensorOf('int64', [])];
  },
  run(ctx) {
    const x: Tensor = input(ctx, 0);
    return [scalar('int64', BigInt(x.data.length))];
  },
});

export const shapeReshapeOps = [Reshape, Flatten, Squeeze, Unsqueeze, Expand, Shape, Size];
