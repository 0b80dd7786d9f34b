// Ops that make tensors from a shape or attributes (ConstantOfShape, Range, Constant, EyeLike), pass values
// through (Identity), mask (Trilu) or move depth to space and back (DepthToSpace, SpaceToDepth).

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { dtypeFromOnnx, isBigInt } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { fromValues, setElement } from '../ir/tensor.js';
import type { Dim, ValueType } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf, withShape } from './util.js';
import { alloc, checkDims, elems, shapeLike, MAX_ELEMENTS, NUMERIC_DTYPES, shapeInput, staticLength } from './shape-common.js';

const ConstantOfShape = defineOp({
  op: 'ConstantOfShape',
  attrs: { value: attr.tensor() },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const s = inType(ctx, 0);
    expectDType(s, ['int64'], 'ConstantOfShape input');
    const v = ctx.attrs.value;
    if (v !== undefined && v.data.length !== 1) throw new ShapeError(`ConstantOfShape value must hold one element, got ${v.data.length}`);
    const dtype: DType = v?.dtype ?? 'float32';
    const dims = shapeLike(ctx, 0);
    if (dims !== undefined) {
      checkDims(dims.filter((d): d is number => typeof d === 'number'), 'ConstantOfShape shape');
      return [tensorOf(dtype, dims)];
    }
    const n = staticLength(s);
    return [tensorOf(dtype, n === undefined ? undefined : Array.from({ length: n }, () => ctx.freshDim('const')))];
  },
  run(ctx) {
    const dims = shapeInput(input(ctx, 0), 'ConstantOfShape shape');
    const v = ctx.attrs.value;
    const out = alloc(v?.dtype ?? 'float32', dims);
    if (v !== undefined) {
      const dst = elems(out), x = elems(v)[0]!;
      for (let i = 0; i < dst.length; i++) dst[i] = x;
    }
    return [out];
  },
});

const RANGE_DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int16', 'int32', 'int64'];

/** One scalar of a Range input. */
function rangeScalar(t: Tensor, what: string): number | bigint {
  if (t.data.length !== 1) throw new KernelError(`Range ${what} must be a scalar, got dims [${t.dims.join(',')}]`);
  return t.data[0] as number | bigint;
}

/** Number of Range elements: max(ceil((limit - start) / delta), 0). */
function rangeCount(start: number | bigint, limit: number | bigint, delta: number | bigint, err: (m: string) => Error): number {
  let n: number;
  if (typeof start === 'bigint') {
    const s = start, l = limit as bigint, d = delta as bigint;
    if (d === 0n) throw err('Range delta may not be 0');
    const num = l - s;
    // ceil division on bigints, exact for the whole int64 range
    let q = num / d;
    if (q * d !== num && (num > 0n) === (d > 0n)) q += 1n;
    n = q < 0n ? 0 : q > BigInt(MAX_ELEMENTS) ? MAX_ELEMENTS + 1 : Number(q);
  } else {
    const d = delta as number;
    if (d === 0) throw err('Range delta may not be 0');
    const c = Math.ceil(((limit as number) - start) / d);
    n = Number.isNaN(c) ? 0 : Math.max(c, 0);
  }
  if (n > MAX_ELEMENTS) throw err(`Range would produce more than ${MAX_ELEMENTS} elements`);
  return n;
}

const Range = defineOp({
  op: 'Range',
  attrs: {},
  inputs: [3, 3],
  outputs: [1, 1],
  infer(ctx) {
    const ts = [0, 1, 2].map((i) => inType(ctx, i));
    const t = ts[0]!;
    expectDType(t, RANGE_DTYPES, 'Range start');
    for (const u of ts) {
      if (u.dtype !== t.dtype) throw new ShapeError(`Range inputs must share one element type; got ${t.dtype} and ${u.dtype}`);
      // symbolic dims may come from If branches that merge to a scalar at run time
      if (u.shape?.some((d) => typeof d === 'number' && d !== 1)) throw new ShapeError('Range inputs must be scalars');
    }
    const cs = [0, 1, 2].map((i) => ctx.constant(i));
    if (cs.every((c) => c !== undefined)) {
      const [s, l, d] = cs.map((c, i) => rangeScalar(c!, ['start', 'limit', 'delta'][i]!));
      return [tensorOf(t.dtype, [rangeCount(s!, l!, d!, (m) => new ShapeError(m))])];
    }
    // Range(0, n, 1) over a symbolic n (position ids) has n elements
    const start = ctx.constant(0), delta = ctx.constant(2), limit = ctx.shapeValue(1);
    const isOne = (c: Tensor | undefined, v: number) => c !== undefined && c.data.length === 1 && Number(c.data[0]) === v;
    if (isOne(start, 0) && isOne(delta, 1) && limit?.length === 1 && typeof limit[0] === 'string') return [tensorOf(t.dtype, [limit[0]])];
    return [tensorOf(t.dtype, [ctx.freshDim('range')])];
  },
  run(ctx) {
    const [st, lt, dt] = [0, 1, 2].map((i) => input(ctx, i));
    const s = rangeScalar(st!, 'start'), l = rangeScalar(lt!, 'limit'), d = rangeScalar(dt!, 'delta');
    const n = rangeCount(s, l, d, (m) => new KernelError(m));
    const out = alloc(st!.dtype, [n]);
    if (typeof s === 'bigint') {
      const dst = out.data as BigInt64Array;
      for (let i = 0; i < n; i++) dst[i] = s + BigInt(i) * (d as bigint);
    } else {
      for (let i = 0; i < n; i++) setElement(out.dtype, out.data, i, s + i * (d as number));
    }
    return [out];
  },
});

const Identity = defineOp({
  op: 'Identity',
  traits: { view: true },
  attrs: {},
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const t: ValueType | undefined = ctx.inputs[0];
    if (t === undefined) throw new ShapeError('Identity input is required');
    return [t];
  },
  run(ctx) {
    const v = ctx.inputs[0];
    if (v === undefined) throw new KernelError('Identity input is required');
    return [v];
  },
});

/** The tensor a Constant node's attributes describe. */
function constantValue(a: {
  value: Tensor | undefined; value_float: number | undefined; value_floats: readonly number[] | undefined;
  value_int: number | undefined; value_ints: readonly number[] | undefined;
  value_string: string | undefined; value_strings: readonly string[] | undefined;
}): Tensor {
  const given: Tensor[] = [];
  if (a.value !== undefined) given.push(a.value);
  if (a.value_float !== undefined) given.push(fromValues('float32', [], [a.value_float]));
  if (a.value_floats !== undefined) given.push(fromValues('float32', [a.value_floats.length], a.value_floats));
  if (a.value_int !== undefined) given.push(fromValues('int64', [], [BigInt(a.value_int)]));
  if (a.value_ints !== undefined) given.push(fromValues('int64', [a.value_ints.length], a.value_ints.map((v) => BigInt(v))));
  if (a.value_string !== undefined) given.push(fromValues('string', [], [a.value_string]));
  if (a.value_strings !== undefined) given.push(fromValues('string', [a.value_strings.length], a.value_strings));
  if (given.length !== 1) throw new ShapeError(`Constant needs exactly one value attribute, got ${given.length}`);
  return given[0]!;
}

const Constant = defineOp({
  op: 'Constant',
  attrs: {
    value: attr.tensor(), value_float: attr.float(), value_floats: attr.floats(), value_int: attr.int(),
    value_ints: attr.ints(), value_string: attr.string(), value_strings: attr.strings(),
  },
  inputs: [0, 0],
  outputs: [1, 1],
  infer(ctx) {
    const t = constantValue(ctx.attrs);
    return [tensorOf(t.dtype, t.dims)];
  },
  run(ctx) {
    return [constantValue(ctx.attrs)];
  },
});

const EYE_DTYPES: readonly DType[] = [...NUMERIC_DTYPES, 'bool'];

function eyeDType(code: number | undefined, fallback: DType, err: (m: string) => Error): DType {
  if (code === undefined) return fallback;
  const t = dtypeFromOnnx(code);
  if (!EYE_DTYPES.includes(t)) throw err(`EyeLike dtype ${t} is not allowed`);
  return t;
}

const EyeLike = defineOp({
  op: 'EyeLike',
  attrs: { dtype: attr.int(), k: attr.int(0) },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectDType(x, EYE_DTYPES, 'EyeLike input');
    if (x.shape !== undefined && x.shape.length !== 2) throw new ShapeError(`EyeLike input must be 2-D, got rank ${x.shape.length}`);
    const dtype = eyeDType(ctx.attrs.dtype, x.dtype, (m) => new ShapeError(m));
    return [tensorOf(dtype, x.shape ?? [ctx.freshDim('eye'), ctx.freshDim('eye')])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    if (x.dims.length !== 2) throw new KernelError(`EyeLike input must be 2-D, got rank ${x.dims.length}`);
    const dtype = eyeDType(ctx.attrs.dtype, x.dtype, (m) => new KernelError(m));
    const [rows, cols] = x.dims as [number, number];
    const out = alloc(dtype, [rows, cols]);
    const one = isBigInt(dtype) ? 1n : 1;
    const dst = elems(out);
    for (let i = 0; i < rows; i++) {
      const j = i + ctx.attrs.k;
      if (j >= 0 && j < cols) dst[i * cols + j] = one;
    }
    return [out];
  },
});

const Trilu = defineOp({
  op: 'Trilu',
  attrs: { upper: attr.int(1) },
  inputs: [1, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    if (x.shape !== undefined && x.shape.length < 2) throw new ShapeError(`Trilu input must have rank >= 2, got ${x.shape.length}`);
    const kt = optInType(ctx, 1);
    if (kt) expectDType(kt, ['int64'], 'Trilu k');
    return [withShape(x, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const r = x.dims.length;
    if (r < 2) throw new KernelError(`Trilu input must have rank >= 2, got ${r}`);
    const kt = optInput(ctx, 1);
    if (kt !== undefined && kt.data.length !== 1) throw new KernelError('Trilu k must be a scalar');
    const k = kt === undefined ? 0 : Number(kt.data[0]);
    const rows = x.dims[r - 2]!, cols = x.dims[r - 1]!;
    const out = alloc(x.dtype, x.dims);
    const src = elems(x), dst = elems(out);
    for (let i = 0; i < dst.length; i++) {
      const c = i % cols, row = Math.floor(i / cols) % rows;
      const keep = ctx.attrs.upper ? c - row >= k : c - row <= k;
      if (keep) dst[i] = src[i]!;
    }
    return [out];
  },
});

function checkBlock(b: number, err: (m: string) => Error): void {
  if (!Number.isInteger(b) || b <= 0) throw err(`blocksize must be a positive integer, got ${b}`);
}

/** A dim times/divided by the block size, exact when it is a number. */
function scaleDim(d: Dim, mul: number, div: number, fresh: () => Dim, err: (m: string) => Error): Dim {
  if (typeof d !== 'number') return mul === 1 && div === 1 ? d : fresh();
  if ((d * mul) % div !== 0) throw err(`dim ${d} is not divisible by ${div}`);
  return (d * mul) / div;
}

const DepthToSpace = defineOp({
  op: 'DepthToSpace',
  attrs: { blocksize: attr.int.required(), mode: attr.string('DCR') },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const b = ctx.attrs.blocksize;
    const err = (m: string) => new ShapeError(`DepthToSpace: ${m}`);
    checkBlock(b, err);
    if (ctx.attrs.mode !== 'DCR' && ctx.attrs.mode !== 'CRD') throw err(`mode must be DCR or CRD, got '${ctx.attrs.mode}'`);
    if (x.shape === undefined) return [withShape(x, [0, 1, 2, 3].map(() => ctx.freshDim('d2s')))];
    if (x.shape.length !== 4) throw err(`input must be 4-D, got rank ${x.shape.length}`);
    const [n, c, h, w] = x.shape as [Dim, Dim, Dim, Dim];
    const fresh = () => ctx.freshDim('d2s');
    return [withShape(x, [n, scaleDim(c, 1, b * b, fresh, err), scaleDim(h, b, 1, fresh, err), scaleDim(w, b, 1, fresh, err)])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const b = ctx.attrs.blocksize;
    checkBlock(b, (m) => new KernelError(m));
    if (x.dims.length !== 4 || x.dims[1]! % (b * b) !== 0) throw new KernelError(`DepthToSpace cannot split [${x.dims.join(',')}] by block ${b}`);
    const [n, c, h, w] = x.dims as [number, number, number, number];
    const oc = c / (b * b);
    const out = alloc(x.dtype, [n, oc, h * b, w * b]);
    const src = elems(x), dst = elems(out);
    const crd = ctx.attrs.mode === 'CRD';
    let o = 0;
    for (let in_ = 0; in_ < n; in_++) for (let ic = 0; ic < oc; ic++) for (let y = 0; y < h * b; y++) for (let xx = 0; xx < w * b; xx++) {
      const i = y % b, j = xx % b;
      const ch = crd ? ic * b * b + i * b + j : (i * b + j) * oc + ic;
      dst[o++] = src[((in_ * c + ch) * h + Math.floor(y / b)) * w + Math.floor(xx / b)]!;
    }
    return [out];
  },
});

const SpaceToDepth = defineOp({
  op: 'SpaceToDepth',
  attrs: { blocksize: attr.int.required() },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const b = ctx.attrs.blocksize;
    const err = (m: string) => new ShapeError(`SpaceToDepth: ${m}`);
    checkBlock(b, err);
    if (x.shape === undefined) return [withShape(x, [0, 1, 2, 3].map(() => ctx.freshDim('s2d')))];
    if (x.shape.length !== 4) throw err(`input must be 4-D, got rank ${x.shape.length}`);
    const [n, c, h, w] = x.shape as [Dim, Dim, Dim, Dim];
    const fresh = () => ctx.freshDim('s2d');
    return [withShape(x, [n, scaleDim(c, b * b, 1, fresh, err), scaleDim(h, 1, b, fresh, err), scaleDim(w, 1, b, fresh, err)])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const b = ctx.attrs.blocksize;
    checkBlock(b, (m) => new KernelError(m));
    if (x.dims.length !== 4 || x.dims[2]! % b !== 0 || x.dims[3]! % b !== 0) {
      throw new KernelError(`SpaceToDepth cannot split [${x.dims.join(',')}] by block ${b}`);
    }
    const [n, c, h, w] = x.dims as [number, number, number, number];
    const oh = h / b, ow = w / b;
    const out = alloc(x.dtype, [n, c * b * b, oh, ow]);
    const src = elems(x), dst = elems(out);
    let o = 0;
    for (let in_ = 0; in_ < n; in_++) for (let oc = 0; oc < c * b * b; oc++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
      const blk = Math.floor(oc / c), ic = oc % c;
      const i = Math.floor(blk / b), j = blk % b;
      dst[o++] = src[((in_ * c + ic) * h + y * b + i) * w + xx * b + j]!;
    }
    return [out];
  },
});

export const shapeMakeOps = [ConstantOfShape, Range, Identity, Constant, EyeLike, Trilu, DepthToSpace, SpaceToDepth];
