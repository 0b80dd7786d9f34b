// Run-time values: what flows along an edge when a graph is executed.

import type { Tensor } from './tensor.js';
import type { ValueType } from './types.js';

export interface SequenceValue {
  readonly kind: 'sequence';
  readonly elemType: ValueType;
  readonly items: readonly RuntimeValue[];
}
export interface OptionalValue {
  readonly kind: 'optional';
  readonly elemType: ValueType;
  /** undefined: the optional is empty. */
  readonly value: RuntimeValue | undefined;
}
export type RuntimeValue = Tensor | SequenceValue | OptionalValue;

export function isTensor(v: RuntimeValue | undefined): v is Tensor {
  return v !== undefined && !('kind' in v);
}
