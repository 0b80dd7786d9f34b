// Moving tensor data for the sequence and control ops: slicing along an axis and concatenating (or stacking)
// along an axis, for any element type.

import { KernelError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import type { Tensor, TensorData } from '../ir/tensor.js';
import { allocate, sizeOf } from '../ir/tensor.js';

type Elems = { [i: number]: unknown; length: number };

/** Largest number of elements a sequence/control op may build in one tensor (hostile models). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

function outer(dims: readonly number[], axis: number): number { return sizeOf(dims.slice(0, axis)); }
function inner(dims: readonly number[], axis: number): number { return sizeOf(dims.slice(axis + 1)); }

/** Elements [start, start+len) of `t` along `axis`; `keep` false drops the axis (len must be 1). */
export function sliceAxis(t: Tensor, axis: number, start: number, len: number, keep = true): Tensor {
  const o = outer(t.dims, axis);
  const n = inner(t.dims, axis);
  const d = t.dims[axis]!;
  const dims = [...t.dims];
  dims[axis] = len;
  const out = allocate(t.dtype, o * len * n) as TensorData;
  const src = t.data as Elems;
  const dst = out as Elems;
  for (let i = 0; i < o; i++) {
    for (let k = 0; k < len * n; k++) dst[i * len * n + k] = src[(i * d + start) * n + k];
  }
  if (!keep) dims.splice(axis, 1);
  return { dtype: t.dtype, dims, data: out };
}

/** Concatenate along `axis` (newAxis: stack, inserting a new axis at `axis` in the result). All tensors must
 *  share dtype and every dim but the axis (all dims when stacking). */
export function concatAxis(ts: readonly Tensor[], axis: number, newAxis = false): Tensor {
  if (ts.length === 0) throw new KernelError('cannot concatenate zero tensors');
  const first = ts[0]!;
  const dtype: DType = first.dtype;
  const base = newAxis ? [...first.dims.slice(0, axis), 1, ...first.dims.slice(axis)] : [...first.dims];
  let total = 0;
  const parts = ts.map((t) => {
    if (t.dtype !== dtype) throw new KernelError(`cannot concatenate ${t.dtype} with ${dtype}`);
    const dims = newAxis ? [...t.dims.slice(0, axis), 1, ...t.dims.slice(axis)] : [...t.dims];
    if (dims.length !== base.length || dims.some((d, i) => i !== axis && d !== base[i])) {
      throw new KernelError(`cannot concatenate dims [${t.dims.join(',')}] with [${first.dims.join(',')}] on axis ${axis}`);
    }
    total += dims[axis]!;
    return { t, len: dims[axis]! };
  });
  const dims = [...base];
  dims[axis] = total;
  const size = sizeOf(dims);
  if (size > MAX_ELEMENTS) throw new KernelError(`concatenation would have ${size} elements`);
  const o = outer(dims, axis);
  const n = inner(dims, axis);
  const out = allocate(dtype, size) as TensorData;
  const dst = out as Elems;
  let off = 0;
  for (const { t, len } of parts) {
    const src = t.data as Elems;
    for (let i = 0; i < o; i++) {
      for (let k = 0; k < len * n; k++) dst[(i * total + off) * n + k] = src[i * len * n + k];
    }
    off += len;
  }
  return { dtype, dims, data: out };
}
