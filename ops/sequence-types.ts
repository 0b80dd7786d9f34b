// Type helpers shared by the sequence, optional and control ops: reading sequence inputs, and merging the
// types of values that meet at one place (sequence elements, If branches, loop-carried values).

import { KernelError, ShapeError } from '../ir/errors.js';
import type { Dim, SequenceType, TensorType, ValueType } from '../ir/types.js';
import type { RuntimeValue, SequenceValue } from '../ir/value.js';
import { isTensor } from '../ir/value.js';
import type { InferContext, RunContext } from './schema.js';

/** The most precise type that covers both: equal dims stay, differing dims become fresh symbols, differing
 *  ranks an unknown rank. Element types must agree. */
export function mergeTypes(a: ValueType, b: ValueType, fresh: () => Dim, what = 'values'): ValueType {
  if (a.kind !== b.kind) throw new ShapeError(`${what} have different kinds: ${a.kind} and ${b.kind}`);
  if (a.kind === 'tensor') {
    const bt = b as TensorType;
    if (a.dtype !== bt.dtype) throw new ShapeError(`${what} have different element types: ${a.dtype} and ${bt.dtype}`);
    if (a.shape === undefined || bt.shape === undefined || a.shape.length !== bt.shape.length) {
      return { kind: 'tensor', dtype: a.dtype };
    }
    const s = bt.shape;
    return { kind: 'tensor', dtype: a.dtype, shape: a.shape.map((d, i) => (d === s[i] ? d : fresh())) };
  }
  const elem = mergeTypes(a.elem, (b as SequenceType).elem, fresh, what);
  return { kind: a.kind, elem };
}

/** The sequence type of input i; ShapeError when it is missing or not a sequence. */
export function seqInType(ctx: InferContext<unknown>, i: number): SequenceType {
  const t = ctx.inputs[i];
  if (t === undefined) throw new ShapeError(`input ${i} is required`);
  if (t.kind !== 'sequence') throw new ShapeError(`input ${i} must be a sequence, got a ${t.kind}`);
  return t;
}

/** The element tensor type of a sequence type; ShapeError for sequences of non-tensors. */
export function seqElemTensor(t: SequenceType, what = 'sequence'): TensorType {
  if (t.elem.kind !== 'tensor') throw new ShapeError(`${what} must hold tensors, holds ${t.elem.kind}s`);
  return t.elem;
}

/** The sequence value of input i. */
export function seqInput(ctx: RunContext<unknown>, i: number): SequenceValue {
  const v = ctx.inputs[i];
  if (v === undefined) throw new KernelError(`input ${i} is required`);
  if (isTensor(v) || v.kind !== 'sequence') throw new KernelError(`input ${i} must be a sequence`);
  return v;
}

/** The element type to record on a sequence built at run time: the static one when inference knew it. */
export function runtimeElemType(ctx: RunContext<unknown>, out: number, fallback: ValueType): ValueType {
  const t = ctx.outputTypes[out];
  return t !== undefined && t.kind === 'sequence' ? t.elem : fallback;
}

export function makeSequence(elemType: ValueType, items: readonly RuntimeValue[]): SequenceValue {
  return { kind: 'sequence', elemType, items: [...items] };
}

/** The type of a run-time value, with concrete dims. */
export function typeOfValue(v: RuntimeValue): ValueType {
  if (isTensor(v)) return { kind: 'tensor', dtype: v.dtype, shape: [...v.dims] };
  if (v.kind === 'sequence') return { kind: 'sequence', elem: v.elemType };
  return { kind: 'optional', elem: v.elemType };
}
