// What a run may be fed: each model input checked against the model's declared type (dtype, rank, fixed dims)
// before anything runs, on every backend, so a wrong feed is a typed error naming the model, the input and the rule
// rather than a run on reinterpreted data (token ids as floats, a 224x223 image for a 224x224 input).

import { ShapeError } from '../../ir/errors.js';
import type { Graph } from '../../ir/graph.js';
import type { DType } from '../../ir/dtype.js';
import { formatType, type ValueType } from '../../ir/types.js';
import type { RuntimeValue } from '../../ir/value.js';
import { isTensor } from '../../ir/value.js';

/** Why a tensor of `dtype` and `dims` cannot be input `name` of declared type `t`, or undefined when it can.
 *  Symbolic dims take any size; numeric dims must match. */
export function tensorMismatch(t: ValueType, dtype: DType | undefined, dims: readonly number[]): string | undefined {
  if (t.kind !== 'tensor') return `it is declared ${formatType(t)}, not a tensor`;
  if (dtype !== undefined && dtype !== t.dtype) return `its element type must be ${t.dtype}`;
  if (t.shape === undefined) return undefined;
  if (dims.length !== t.shape.length) return `its rank must be ${t.shape.length}`;
  const k = t.shape.findIndex((d, i) => typeof d === 'number' && d !== dims[i]);
  return k < 0 ? undefined : `dim ${k} must be ${t.shape[k]}`;
}

/** Throw a ShapeError naming model, input and rule when input `name` (declared `t`) is given dtype/dims that break
 *  the declaration. `dtype` undefined checks the shape only (a shape given at compile time). */
export function checkInputShape(name: string, t: ValueType | undefined, dtype: DType | undefined, dims: readonly number[], source?: string): void {
  if (t === undefined) return;
  const why = tensorMismatch(t, dtype, dims);
  if (why) {
    const got = `${dtype ?? ''}[${dims.join(',')}]`;
    throw new ShapeError(`input '${name}' is declared ${formatType(t)} but was given ${got}: ${why}`, { model: source });
  }
}

/** Check every fed input of a model graph against its declared type; absent (undefined) inputs are left to the
 *  run, which reports the first node that needs one. */
export function checkInputs(g: Graph, inputs: readonly (RuntimeValue | undefined)[], source?: string): void {
  g.inputs.forEach((name, i) => {
    const v = inputs[i], t = g.types.get(name);
    if (v === undefined || t === undefined) return;
    if (isTensor(v)) { checkInputShape(name, t, v.dtype, v.dims, source); return; }
    if (t.kind !== v.kind) throw new ShapeError(`input '${name}' is declared ${formatType(t)} but was given a ${v.kind}`, { model: source });
  });
}
