// Sequence ops: building, indexing and editing sequences of tensors, and converting between a tensor and a
// sequence of its slices. SequenceMap and the optional ops live in sequence-map.ts and sequence-optional.ts.

import { KernelError, ShapeError } from '../ir/errors.js';
import { dtypeFromOnnx } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { scalar, toNumbers } from '../ir/tensor.js';
import type { Dim, TensorType, ValueType } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import type { AnyOpDef, InferContext } from './schema.js';
import { expectDType, input, inType, normAxis, optInput, optInType, tensorOf } from './util.js';
import { concatAxis, sliceAxis } from './sequence-data.js';
import {
  makeSequence, mergeTypes, runtimeElemType, seqElemTensor, seqInput, seqInType, typeOfValue,
} from './sequence-types.js';
import { sequenceMapOps } from './sequence-map.js';
import { optionalOps } from './sequence-optional.js';

/** A position input must be an int32/int64 scalar. */
function checkPosition(ctx: InferContext<unknown>, i: number): void {
  const t = optInType(ctx, i);
  if (!t) return;
  expectDType(t, ['int32', 'int64'], 'position');
  // a one-element 1-D position is accepted too, as onnxruntime and the ONNX reference do
  if (t.shape !== undefined && t.shape.length > 1) throw new ShapeError(`position must be a scalar, got rank ${t.shape.length}`);
}

function positionOf(t: Tensor): number {
  if (t.data.length !== 1 || t.dims.length > 1) throw new KernelError(`position must be a scalar, got dims [${t.dims.join(',')}]`);
  return Number(t.data[0]);
}

/** Position in [-n, hi] made non-negative; KernelError outside. */
function normPosition(p: number, n: number, hi: number): number {
  if (p < -n || p > hi) throw new KernelError(`position ${p} is out of range [${-n}, ${hi}] for a sequence of length ${n}`);
  return p < 0 ? p + n : p;
}

export const SequenceEmpty = defineOp({
  op: 'SequenceEmpty',
  attrs: { dtype: attr.int(1) },
  inputs: [0, 0],
  outputs: [1, 1],
  infer: (ctx) => [{ kind: 'sequence', elem: tensorOf(dtypeFromOnnx(ctx.attrs.dtype)) }],
  run: (ctx) => [makeSequence(runtimeElemType(ctx, 0, tensorOf(dtypeFromOnnx(ctx.attrs.dtype))), [])],
});

export const SequenceConstruct = defineOp({
  op: 'SequenceConstruct',
  attrs: {},
  inputs: [1, Infinity],
  outputs: [1, 1],
  infer(ctx) {
    let elem: ValueType = inType(ctx, 0);
    for (let i = 1; i < ctx.inputs.length; i++) elem = mergeTypes(elem, inType(ctx, i), () => ctx.freshDim(), 'sequence elements');
    return [{ kind: 'sequence', elem }];
  },
  run(ctx) {
    const items = ctx.inputs.map((_, i) => input(ctx, i));
    const dtype = items[0]!.dtype;
    if (items.some((t) => t.dtype !== dtype)) throw new KernelError('sequence elements must share one element type');
    return [makeSequence(runtimeElemType(ctx, 0, tensorOf(dtype)), items)];
  },
});

export const SequenceAt = defineOp({
  op: 'SequenceAt',
  attrs: {},
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const s = seqInType(ctx, 0);
    checkPosition(ctx, 1);
    return [s.elem];
  },
  run(ctx) {
    const s = seqInput(ctx, 0);
    const p = normPosition(positionOf(input(ctx, 1)), s.items.length, s.items.length - 1);
    return [s.items[p]!];
  },
});

export const SequenceInsert = defineOp({
  op: 'SequenceInsert',
  attrs: {},
  inputs: [2, 3],
  outputs: [1, 1],
  infer(ctx) {
    const s = seqInType(ctx, 0);
    const t = inType(ctx, 1);
    checkPosition(ctx, 2);
    const elem = seqElemTensor(s, 'input_sequence');
    if (elem.dtype !== t.dtype) throw new ShapeError(`tensor has element type ${t.dtype}, the sequence holds ${elem.dtype}`);
    return [{ kind: 'sequence', elem: mergeTypes(s.elem, t, () => ctx.freshDim(), 'sequence elements') }];
  },
  run(ctx) {
    const s = seqInput(ctx, 0);
    const t = input(ctx, 1);
    const pt = optInput(ctx, 2);
    const n = s.items.length;
    const p = pt === undefined ? n : normPosition(positionOf(pt), n, n);
    const items = [...s.items];
    items.splice(p, 0, t);
    return [makeSequence(runtimeElemType(ctx, 0, s.elemType), items)];
  },
});

export const SequenceErase = defineOp({
  op: 'SequenceErase',
  attrs: {},
  inputs: [1, 2],
  outputs: [1, 1],
  infer(ctx) {
    const s = seqInType(ctx, 0);
    checkPosition(ctx, 1);
    return [s];
  },
  run(ctx) {
    const s = seqInput(ctx, 0);
    const pt = optInput(ctx, 1);
    const n = s.items.length;
    if (n === 0) throw new KernelError('cannot erase from an empty sequence');
    const p = pt === undefined ? n - 1 : normPosition(positionOf(pt), n, n - 1);
    const items = [...s.items];
    items.splice(p, 1);
    return [makeSequence(s.elemType, items)];
  },
});

export const SequenceLength = defineOp({
  op: 'SequenceLength',
  attrs: {},
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    seqInType(ctx, 0);
    return [tensorOf('int64', [])];
  },
  run: (ctx) => [scalar('int64', BigInt(seqInput(ctx, 0).items.length))],
});

/** Chunk lengths of SplitToSequence: `split` absent -> ones; scalar -> that size (last chunk shorter); 1-D -> as given. */
function splitLengths(dim: number, split: Tensor | undefined): number[] {
  if (split === undefined) return new Array<number>(dim).fill(1);
  const vals = toNumbers(split);
  if (split.dims.length === 0) {
    const size = vals[0]!;
    if (!(size > 0)) throw new KernelError(`split size must be positive, got ${size}`);
    const out: number[] = [];
    for (let at = 0; at < dim; at += size) out.push(Math.min(size, dim - at));
    return out;
  }
  if (split.dims.length !== 1) throw new KernelError(`split must be a scalar or 1-D, got rank ${split.dims.length}`);
  if (vals.some((v) => v < 0)) throw new KernelError(`split lengths must be >= 0, got [${vals.join(',')}]`);
  const sum = vals.reduce((a, b) => a + b, 0);
  if (sum !== dim) throw new KernelError(`split lengths sum to ${sum}, but the axis has ${dim} elements`);
  return vals;
}

export const SplitToSequence = defineOp({
  op: 'SplitToSequence',
  attrs: { axis: attr.int(0), keepdims: attr.int(1) },
  inputs: [1, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const split = optInType(ctx, 1);
    if (split) {
      expectDType(split, ['int32', 'int64'], 'split');
      if (split.shape !== undefined && split.shape.length > 1) throw new ShapeError(`split must be a scalar or 1-D, got rank ${split.shape.length}`);
    }
    if (x.shape === undefined) return [{ kind: 'sequence', elem: tensorOf(x.dtype) }];
    const axis = normAxis(ctx.attrs.axis, x.shape.length);
    const shape: Dim[] = [...x.shape];
    const c = ctx.constant(1);
    if (!split) {
      if (ctx.attrs.keepdims === 0) shape.splice(axis, 1);
      else shape[axis] = 1;
    } else if (c !== undefined && c.dims.length === 1 && toNumbers(c).every((v, _, all) => v === all[0])) {
      shape[axis] = c.data.length ? Number(c.data[0]) : ctx.freshDim('split');
    } else if (c !== undefined && c.dims.length === 0 && typeof x.shape[axis] === 'number' && (x.shape[axis] as number) % Number(c.data[0]) === 0) {
      shape[axis] = Number(c.data[0]);
    } else {
      shape[axis] = ctx.freshDim('split');
    }
    return [{ kind: 'sequence', elem: tensorOf(x.dtype, shape) }];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const split = optInput(ctx, 1);
    const axis = normAxis(ctx.attrs.axis, x.dims.length);
    const keep = split !== undefined || ctx.attrs.keepdims !== 0;
    const items: Tensor[] = [];
    let at = 0;
    for (const len of splitLengths(x.dims[axis]!, split)) {
      items.push(sliceAxis(x, axis, at, len, keep));
      at += len;
    }
    return [makeSequence(runtimeElemType(ctx, 0, tensorOf(x.dtype)), items)];
  },
});

export const ConcatFromSequence = defineOp({
  op: 'ConcatFromSequence',
  attrs: { axis: attr.int.required(), new_axis: attr.int(0) },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const elem: TensorType = seqElemTensor(seqInType(ctx, 0), 'input_sequence');
    if (ctx.attrs.new_axis !== 0 && ctx.attrs.new_axis !== 1) throw new ShapeError(`new_axis must be 0 or 1, got ${ctx.attrs.new_axis}`);
    if (elem.shape === undefined) return [tensorOf(elem.dtype)];
    const stack = ctx.attrs.new_axis === 1;
    const rank = elem.shape.length + (stack ? 1 : 0);
    const axis = normAxis(ctx.attrs.axis, rank);
    const shape: Dim[] = [...elem.shape];
    if (stack) shape.splice(axis, 0, ctx.freshDim('count'));
    else shape[axis] = ctx.freshDim('concat');
    return [tensorOf(elem.dtype, shape)];
  },
  run(ctx) {
    const s = seqInput(ctx, 0);
    if (s.items.length === 0) throw new KernelError('ConcatFromSequence needs a non-empty sequence');
    const items = s.items.map((v, i) => {
      if (typeOfValue(v).kind !== 'tensor') throw new KernelError(`sequence element ${i} is not a tensor`);
      return v as Tensor;
    });
    const stack = ctx.attrs.new_axis === 1;
    const axis = normAxis(ctx.attrs.axis, items[0]!.dims.length + (stack ? 1 : 0));
    return [concatAxis(items, axis, stack)];
  },
});

export const sequenceOps: AnyOpDef[] = [
  SequenceEmpty, SequenceConstruct, SequenceAt, SequenceInsert, SequenceErase, SequenceLength,
  SplitToSequence, ConcatFromSequence, ...sequenceMapOps, ...optionalOps,
] as AnyOpDef[];
