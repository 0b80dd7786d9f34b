// Resource limits for everything a model drives: tensor sizes, file reads, loop trips, nesting. Every check
// happens before the allocation or the read, and fails with a LimitError naming the limit (the option to raise).

import { LimitError } from './errors.js';

export interface Limits {
  /** Elements of one tensor: an inferred static shape, an initializer or Constant, a kernel's output. */
  maxElements: number;
  /** Bytes of one tensor (elements x element width): keeps a tensor inside wasm32's 4 GiB address space. */
  maxTensorBytes: number;
  /** Bytes read from one file (a model, an external-data file, an input .pb). */
  maxFileBytes: number;
  /** Iterations of one Loop on the reference backend (a loop with no trip count and a condition that never
   *  turns false would otherwise hang). */
  maxLoopIterations: number;
  /** Nesting of subgraphs (If inside Loop inside ...) and of ONNX value types. */
  maxGraphDepth: number;
  /** Nesting of model-local function calls. */
  maxCallDepth: number;
  /** Nodes of a model after function inlining. */
  maxNodes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxElements: 2 ** 28,
  maxTensorBytes: 2 ** 31,
  maxFileBytes: 2 ** 31,
  maxLoopIterations: 10_000_000,
  maxGraphDepth: 48,
  maxCallDepth: 32,
  maxNodes: 2_000_000,
});

/** The limits in force. Mutable on purpose: an embedder raises one with setLimits, a caller scopes a change
 *  with withLimits; the code being limited reads `limits.x` at the point of the check. */
export const limits: Limits = { ...DEFAULT_LIMITS };

/** Change limits process-wide (undefined fields keep their value); returns the previous values. */
export function setLimits(change: Partial<Limits>): Limits {
  const before = { ...limits };
  for (const [k, v] of Object.entries(change) as [keyof Limits, number | undefined][]) {
    if (v === undefined) continue;
    if (!(v > 0)) throw new LimitError(`limit ${k} must be a positive number, got ${v}`, { limit: k, value: v });
    limits[k] = v;
  }
  return before;
}

/** Run `fn` with some limits changed, restoring them afterwards (also when it throws). */
export function withLimits<T>(change: Partial<Limits> | undefined, fn: () => T): T {
  if (change === undefined) return fn();
  const before = setLimits(change);
  try {
    return fn();
  } finally {
    Object.assign(limits, before);
  }
}

/** Refuse an element count past maxElements (or a byte count past maxTensorBytes when the width is known);
 *  `what` says which tensor, e.g. "output 'y' of dims [1e12]". Non-finite counts (overflowed products) too. */
export function checkElements(n: number, what: string, bytesPerElement?: number): void {
  if (!Number.isFinite(n) || n > limits.maxElements) {
    throw new LimitError(`${what} has ${formatCount(n)} elements, past the limit maxElements=${limits.maxElements}`, { limit: 'maxElements', value: n });
  }
  if (bytesPerElement !== undefined && n * bytesPerElement > limits.maxTensorBytes) {
    throw new LimitError(`${what} takes ${formatCount(n * bytesPerElement)} bytes, past the limit maxTensorBytes=${limits.maxTensorBytes}`,
      { limit: 'maxTensorBytes', value: n * bytesPerElement });
  }
}

/** Refuse a read of `bytes` bytes past maxFileBytes. */
export function checkFileBytes(bytes: number, what: string): void {
  if (bytes > limits.maxFileBytes) {
    throw new LimitError(`${what} has ${formatCount(bytes)} bytes, past the limit maxFileBytes=${limits.maxFileBytes}`, { limit: 'maxFileBytes', value: bytes });
  }
}

/** Exact below 2^53, else in exponent form: a count in a message must not claim false precision. */
function formatCount(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : n.toExponential(3);
}
