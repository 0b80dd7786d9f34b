// Helpers shared by op definitions: typed access to inputs, axis handling, broadcasting (numbers and symbols).

import { ShapeError, KernelError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim, TensorType, ValueType } from '../ir/types.js';
import type { RuntimeValue } from '../ir/value.js';
import { isTensor } from '../ir/value.js';
import type { InferContext, RunContext } from './schema.js';

/** The tensor type of input i; ShapeError when it is missing or not a tensor. */
export function inType(ctx: InferContext<unknown>, i: number): TensorType {
  const t = ctx.inputs[i];
  if (t === undefined) throw new ShapeError(`input ${i} is required`);
  if (t.kind !== 'tensor') throw new ShapeError(`input ${i} must be a tensor, got a ${t.kind}`);
  return t;
}

/** The tensor type of optional input i, or undefined when omitted. */
export function optInType(ctx: InferContext<unknown>, i: number): TensorType | undefined {
  return ctx.inputs[i] === undefined ? undefined : inType(ctx, i);
}

/** The tensor value of input i; KernelError when it is missing or not a tensor. */
export function input(ctx: RunContext<unknown>, i: number): Tensor {
  const v = ctx.inputs[i];
  if (v === undefined) throw new KernelError(`input ${i} is required`);
  if (!isTensor(v)) throw new KernelError(`input ${i} must be a tensor, got a ${v.kind}`);
  return v;
}

/** The tensor value of optional input i, or undefined when omitted. */
export function optInput(ctx: RunContext<unknown>, i: number): Tensor | undefined {
  const v: RuntimeValue | undefined = ctx.inputs[i];
  if (v === undefined) return undefined;
  if (!isTensor(v)) throw new KernelError(`input ${i} must be a tensor, got a ${v.kind}`);
  return v;
}

/** Normalise a possibly negative axis against a rank; ShapeError when out of range. */
export function normAxis(axis: number, rank: number, what = 'axis'): number {
  if (axis < -rank || axis >= rank || !Number.isInteger(axis)) {
    throw new ShapeError(`${what} ${axis} is out of range for rank ${rank} (expected ${-rank}..${rank - 1})`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Broadcast two dims (numpy rules). Symbols broadcast with 1 and with themselves; a symbol against a number
 *  n > 1 takes n (the model is only valid when they agree). */
export function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === b) return a;
  if (a === 1) return b;
  if (b === 1) return a;
  if (typeof a === 'number' && typeof b === 'number') {
    throw new ShapeError(`cannot broadcast dims ${a} and ${b}`);
  }
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return a; // two different symbols: assume equal (valid models only)
}

/** Multidirectional (numpy) broadcast of shapes. */
export function broadcastShapes(...shapes: (readonly Dim[])[]): Dim[] {
  const rank = shapes.reduce((m, s) => Math.max(m, s.length), 0); // no spread: a node may have 1e5 inputs
  const out: Dim[] = new Array(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      out[j] = broadcastDim(out[j]!, s[i]!);
    }
  }
  return out;
}

/** Concrete broadcast for run time. */
export function broadcastDims(...shapes: (readonly number[])[]): number[] {
  return broadcastShapes(...shapes) as number[];
}

/** For an output index (as multi-index over `outDims`), the flat index into a tensor of `dims`
 *  broadcast to `outDims`. Returns a function from output flat index to input flat index. */
export function broadcastIndexer(dims: readonly number[], outDims: readonly number[]): (i: number) => number {
  const rank = outDims.length;
  const off = rank - dims.length;
  // input strides aligned to output rank, 0 where broadcast
  const inStrides = new Array<number>(rank).fill(0);
  let acc = 1;
  for (let k = dims.length - 1; k >= 0; k--) {
    inStrides[k + off] = dims[k] === 1 ? 0 : acc;
    acc *= dims[k]!;
  }
  let same = dims.length === rank && dims.every((d, k) => d === outDims[k]);
  if (same) return (i) => i;
  return (i) => {
    let idx = 0;
    for (let k = rank - 1; k >= 0; k--) {
      const d = outDims[k]!;
      const c = i % d;
      i = (i - c) / d;
      idx += c * inStrides[k]!;
    }
    return idx;
  };
}

/** A tensor type with the same dtype and a new shape. */
export function withShape(t: { dtype: DType }, shape: readonly Dim[] | undefined): TensorType {
  return shape === undefined ? { kind: 'tensor', dtype: t.dtype } : { kind: 'tensor', dtype: t.dtype, shape: [...shape] };
}

export function tensorOf(dtype: DType, shape?: readonly Dim[]): TensorType {
  return shape === undefined ? { kind: 'tensor', dtype } : { kind: 'tensor', dtype, shape: [...shape] };
}

/** Require dtype to be one of `allowed`; ShapeError otherwise. */
export function expectDType(t: TensorType | ValueType, allowed: readonly DType[], what = 'input'): void {
  if (t.kind !== 'tensor') throw new ShapeError(`${what} must be a tensor`);
  if (!allowed.includes(t.dtype)) throw new ShapeError(`${what} has element type ${t.dtype}; expected one of ${allowed.join(', ')}`);
}

/** Product of dims when all are numbers, else undefined. */
export function staticSize(shape: readonly Dim[] | undefined): number | undefined {
  if (shape === undefined) return undefined;
  let n = 1;
  for (const d of shape) { if (typeof d !== 'number') return undefined; n *= d; }
  return n;
}
