// Static types of IR values: tensors whose dims are numbers or named symbols, sequences and optionals.

import type { DType } from './dtype.js';

/** A dimension: a known size, or a named symbol ('batch', 'seq', or a fresh '?N' for an unknown one). */
export type Dim = number | string;

export interface TensorType {
  readonly kind: 'tensor';
  readonly dtype: DType;
  /** undefined: rank unknown. */
  readonly shape?: readonly Dim[];
}
export interface SequenceType {
  readonly kind: 'sequence';
  readonly elem: ValueType;
}
export interface OptionalType {
  readonly kind: 'optional';
  readonly elem: ValueType;
}
export type ValueType = TensorType | SequenceType | OptionalType;

export function tensorType(dtype: DType, shape?: readonly Dim[]): TensorType {
  return shape === undefined ? { kind: 'tensor', dtype } : { kind: 'tensor', dtype, shape: [...shape] };
}

/** True when every dim of the shape is a number. */
export function isStaticShape(shape: readonly Dim[] | undefined): shape is readonly number[] {
  return shape !== undefined && shape.every((d) => typeof d === 'number');
}

export function formatDims(shape: readonly Dim[] | undefined): string {
  return shape === undefined ? '?' : `[${shape.join(',')}]`;
}

export function formatType(t: ValueType): string {
  switch (t.kind) {
    case 'tensor': return `${t.dtype}${formatDims(t.shape)}`;
    case 'sequence': return `seq<${formatType(t.elem)}>`;
    case 'optional': return `opt<${formatType(t.elem)}>`;
  }
}

export function sameType(a: ValueType, b: ValueType): boolean {
  return formatType(a) === formatType(b);
}
