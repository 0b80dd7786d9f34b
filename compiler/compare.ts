// Comparing computed values with expected ones: the tolerance rule of the ONNX backend tests
// (|a - e| <= atol + rtol * |e|, NaN equals NaN), and error figures (max abs, max rel) for reports.

import { isFloat } from '../ir/dtype.js';
import { getNumber, type Tensor } from '../ir/tensor.js';
import type { RuntimeValue } from '../ir/value.js';
import { isTensor } from '../ir/value.js';

export interface Tolerance { rtol: number; atol: number }
export const BACKEND_TEST_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-7 };

export interface Difference {
  /** Why the values differ, or undefined when they agree within tolerance. */
  mismatch?: string;
  maxAbs: number;
  maxRel: number;
  /** Largest |expected| (for errors relative to the output's scale). */
  maxExpected: number;
}

/** Error figures between two tensors of the same shape (float or integer). */
export function tensorError(actual: Tensor, expected: Tensor): { maxAbs: number; maxRel: number; maxExpected: number; worst: number } {
  let maxAbs = 0, maxRel = 0, maxExpected = 0, worst = -1;
  for (let i = 0; i < expected.data.length; i++) {
    if (expected.dtype === 'string') break;
    const a = getNumber(actual, i), e = getNumber(expected, i);
    if (Number.isFinite(e)) maxExpected = Math.max(maxExpected, Math.abs(e));
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    if (a === e) continue;
    const d = Math.abs(a - e);
    const abs = Number.isNaN(d) ? Infinity : d;
    if (abs > maxAbs) { maxAbs = abs; worst = i; }
    maxRel = Math.max(maxRel, abs / Math.max(Math.abs(e), Number.MIN_VALUE));
  }
  return { maxAbs, maxRel, maxExpected, worst };
}

/** Compare a computed value with an expected one under `tol` (floats) or exactly (integers, bool, string). */
export function compareValues(actual: RuntimeValue, expected: RuntimeValue, tol: Tolerance = BACKEND_TEST_TOLERANCE): Difference {
  const none = { maxAbs: 0, maxRel: 0, maxExpected: 0 };
  if (isTensor(expected)) {
    if (!isTensor(actual)) return { ...none, mismatch: `expected a tensor, got a ${actual.kind}` };
    if (actual.dtype !== expected.dtype) return { ...none, mismatch: `dtype ${actual.dtype}, expected ${expected.dtype}` };
    if (actual.dims.length !== expected.dims.length || actual.dims.some((d, i) => d !== expected.dims[i])) {
      return { ...none, mismatch: `shape [${actual.dims.join(',')}], expected [${expected.dims.join(',')}]` };
    }
    if (expected.dtype === 'string') {
      const i = (expected.data as string[]).findIndex((s, k) => s !== (actual.data as string[])[k]);
      return i < 0 ? none : { ...none, mismatch: `element ${i}: ${JSON.stringify((actual.data as string[])[i])}, expected ${JSON.stringify((expected.data as string[])[i])}` };
    }
    if (!isFloat(expected.dtype)) {
      for (let i = 0; i < expected.data.length; i++) {
        if (actual.data[i] !== expected.data[i]) {
          return { ...none, mismatch: `element ${i}: ${String(actual.data[i])}, expected ${String(expected.data[i])}` };
        }
      }
      return none;
    }
    const err = tensorError(actual, expected);
    for (let i = 0; i < expected.data.length; i++) {
      const a = getNumber(actual, i), e = getNumber(expected, i);
      if (Number.isNaN(e) ? !Number.isNaN(a) : !(Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e)) && a !== e) {
        return { ...err, mismatch: `element ${i}: ${a}, expected ${e} (max abs error ${err.maxAbs.toExponential(3)})` };
      }
    }
    return err;
  }
  if (isTensor(actual) || actual.kind !== expected.kind) {
    return { ...none, mismatch: `expected a ${expected.kind}, got ${isTensor(actual) ? 'a tensor' : `a ${actual.kind}`}` };
  }
  if (expected.kind === 'optional' && actual.kind === 'optional') {
    if ((expected.value === undefined) !== (actual.value === undefined)) {
      return { ...none, mismatch: `optional is ${actual.value === undefined ? 'empty' : 'full'}, expected ${expected.value === undefined ? 'empty' : 'full'}` };
    }
    return expected.value === undefined ? none : compareValues(actual.value!, expected.value, tol);
  }
  if (expected.kind === 'sequence' && actual.kind === 'sequence') {
    if (actual.items.length !== expected.items.length) {
      return { ...none, mismatch: `sequence of ${actual.items.length}, expected ${expected.items.length}` };
    }
    let acc: Difference = none;
    for (let i = 0; i < expected.items.length; i++) {
      const d = compareValues(actual.items[i]!, expected.items[i]!, tol);
      if (d.mismatch) return { ...d, mismatch: `sequence item ${i}: ${d.mismatch}` };
      acc = { maxAbs: Math.max(acc.maxAbs, d.maxAbs), maxRel: Math.max(acc.maxRel, d.maxRel), maxExpected: Math.max(acc.maxExpected, d.maxExpected) };
    }
    return acc;
  }
  return none;
}
