// The measure backend tests share: the worst error of any output against the reference's, relative to
// max(1, max |expected|) (absolute for small outputs); a NaN where the reference has a number counts as infinite.

import { tensorError } from '../../compiler/compare.js';
import type { Tensor } from '../../ir/tensor.js';

export function worstRelativeError(ours: readonly Tensor[], ref: readonly Tensor[]): number {
  let worst = 0;
  ours.forEach((t, k) => {
    const e = ref[k]!;
    if (t.dims.join() !== e.dims.join() || t.dtype !== e.dtype) throw new Error(`output ${k}: ${t.dtype}[${t.dims}] vs reference ${e.dtype}[${e.dims}]`);
    const err = tensorError(t, e);
    worst = Math.max(worst, Number.isNaN(err.maxAbs) ? Infinity : err.maxAbs / Math.max(1, err.maxExpected));
  });
  return worst;
}
