// Elementwise ops that are not plain same-type binaries: Pow (two type variables), the variadic folds
// Max/Min/Sum/Mean, Where (three-way broadcast) and Clip (optional scalar bounds, attributes before opset 11).

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { isBigInt, isFloat } from '../ir/dtype.js';
import type { Attr } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { scalar } from '../ir/tensor.js';
import type { TensorType } from '../ir/types.js';
import { defineOp, type AnyOpDef, type ImportNode } from './schema.js';
import { input, optInput } from './util.js';
import {
  ALL_TYPES, BOOL, FLOATS, INTS, NUMERIC, broadcastTypes, mapBinary, mapTernary,
  mapUnary, sameDType, tensorType, typedInput, type Elem,
} from './elementwise-kernel.js';

// ---- Pow -------------------------------------------------------------------------------------------------

/** C's pow, which differs from Math.pow where 1 is the answer: pow(1, NaN) and pow(-1, ±inf). */
export function powC(a: number, b: number): number {
  if (a === 1 || (a === -1 && (b === Infinity || b === -Infinity))) return 1;
  return Math.pow(a, b);
}

/** Exact integer power modulo 2^64 (square and multiply: log2(exp) steps, never a huge bigint). */
export function intPow(base: bigint, exp: bigint): bigint {
  if (exp < 0n) {
    if (base === 1n) return 1n;
    if (base === -1n) return exp % 2n === 0n ? 1n : -1n;
    return 0n; // |base| > 1: the true value is a fraction that truncates to 0
  }
  let result = 1n;
  let b = BigInt.asIntN(64, base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = BigInt.asIntN(64, result * b);
    b = BigInt.asIntN(64, b * b);
    e >>= 1n;
  }
  return result;
}

/** A float result stored to an integer type: truncation; NaN and infinities have no integer value. */
function truncToInt(x: number, dtype: DType): number | bigint {
  if (isBigInt(dtype)) return Number.isFinite(x) ? BigInt(Math.trunc(x)) : -(2n ** 63n);
  return Number.isFinite(x) ? Math.trunc(x) : 0;
}

const POW_BASE: readonly DType[] = ['int32', 'int64', ...FLOATS];
const POW_EXP: readonly DType[] = [...INTS, ...FLOATS];

function powKernel(t: DType, t1: DType): (a: Elem, b: Elem) => Elem {
  if (isFloat(t)) return (a, b) => powC(a as number, Number(b));
  if (isFloat(t1)) return (a, b) => truncToInt(powC(Number(a), b as number), t);
  const wide = (v: Elem): bigint => (typeof v === 'bigint' ? v : BigInt(v as number));
  return t === 'int64' ? (a, b) => intPow(wide(a), wide(b)) : (a, b) => Number(BigInt.asIntN(32, intPow(wide(a), wide(b))));
}

const pow = defineOp({
  op: 'Pow', attrs: {}, inputs: [2, 2], outputs: [1, 1],
  traits: { elementwise: true },
  infer(ctx) {
    const x = typedInput(ctx, 0, POW_BASE, 'X');
    const y = typedInput(ctx, 1, POW_EXP, 'Y');
    return [tensorType(x.dtype, broadcastTypes([x, y]))];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const y = input(ctx, 1);
    return [mapBinary(x, y, x.dtype, powKernel(x.dtype, y.dtype))];
  },
});

// ---- variadic folds -----------------------------------------------------------------------------------------

function variadic(op: string, types: readonly DType[], fold: (d: DType) => (a: Elem, b: Elem) => Elem, finish?: (t: Tensor, n: number) => Tensor): AnyOpDef {
  return defineOp({
    op, attrs: {}, inputs: [1, Infinity], outputs: [1, 1],
    // the order of the operands does not matter (max, min, sum, mean)
    traits: { elementwise: true, commutative: true },
    infer(ctx) {
      const ts: TensorType[] = ctx.inputs.map((_, i) => typedInput(ctx, i, types, `input ${i}`));
      return [tensorType(sameDType(ts), broadcastTypes(ts))];
    },
    run(ctx) {
      const ts = ctx.inputs.map((_, i) => input(ctx, i));
      const d = ts[0]!.dtype;
      if (ts.some((t) => t.dtype !== d)) throw new KernelError(`${op} inputs must share one element type`);
      let acc = ts.length === 1 ? mapUnary(ts[0]!, d, (a) => a) : ts[0]!;
      for (let i = 1; i < ts.length; i++) acc = mapBinary(acc, ts[i]!, d, fold(d));
      return [finish ? finish(acc, ts.length) : acc];
    },
  }) as unknown as AnyOpDef;
}

// Math.max/min propagate NaN, as numpy's maximum/minimum do.
const max = variadic('Max', NUMERIC, (d) => (isBigInt(d) ? (a, b) => (a > b ? a : b) : (a, b) => Math.max(a as number, b as number)));
const min = variadic('Min', NUMERIC, (d) => (isBigInt(d) ? (a, b) => (a < b ? a : b) : (a, b) => Math.min(a as number, b as number)));
const sum = variadic('Sum', FLOATS, () => (a, b) => (a as number) + (b as number));
const mean = variadic('Mean', FLOATS, () => (a, b) => (a as number) + (b as number), (t, n) => mapUnary(t, t.dtype, (a) => (a as number) / n));

// ---- Where ------------------------------------------------------------------------------------------------

const where = defineOp({
  op: 'Where', attrs: {}, inputs: [3, 3], outputs: [1, 1],
  traits: { elementwise: true },
  infer(ctx) {
    const c = typedInput(ctx, 0, BOOL, 'condition');
    const x = typedInput(ctx, 1, ALL_TYPES, 'X');
    const y = typedInput(ctx, 2, ALL_TYPES, 'Y');
    return [tensorType(sameDType([x, y], 'X and Y'), broadcastTypes([c, x, y]))];
  },
  run(ctx) {
    const [c, x, y] = [input(ctx, 0), input(ctx, 1), input(ctx, 2)];
    return [mapTernary(c, x, y, x.dtype, (k, a, b) => (k ? a : b))];
  },
});

// ---- Clip ---------------------------------------------------------------------------------------------------

const FLT_MAX = 3.4028234663852886e38;

function bound(t: Tensor | undefined, what: string): Elem | undefined {
  if (t === undefined) return undefined;
  if (t.data.length !== 1) throw new KernelError(`Clip ${what} must be a scalar, got ${t.data.length} elements`);
  return t.data[0] as Elem;
}

const clip = defineOp({
  op: 'Clip', attrs: {}, inputs: [1, 3], outputs: [1, 1],
  infer(ctx) {
    const x = typedInput(ctx, 0, NUMERIC, 'input');
    for (const i of [1, 2]) {
      const t = ctx.inputs[i] === undefined ? undefined : typedInput(ctx, i, NUMERIC, i === 1 ? 'min' : 'max');
      if (t === undefined) continue;
      if (t.dtype !== x.dtype) throw new ShapeError(`Clip ${i === 1 ? 'min' : 'max'} has type ${t.dtype}; expected the input's ${x.dtype}`);
      if (t.shape !== undefined && t.shape.length > 1) throw new ShapeError(`Clip ${i === 1 ? 'min' : 'max'} must be a scalar, got rank ${t.shape.length}`);
    }
    return [tensorType(x.dtype, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const lo = bound(optInput(ctx, 1), 'min');
    const hi = bound(optInput(ctx, 2), 'max');
    // max then min, so min > max gives max everywhere (as numpy.clip and onnxruntime); NaN stays NaN
    return [mapUnary(x, x.dtype, (v) => {
      let r = v;
      if (lo !== undefined && r < lo) r = lo;
      if (hi !== undefined && r > hi) r = hi;
      return r;
    })];
  },
});

export const naryOps: AnyOpDef[] = [pow as unknown as AnyOpDef, max, min, sum, mean, where as unknown as AnyOpDef, clip as unknown as AnyOpDef];
