// Unary elementwise ops declared as data (name, dtypes, number function, bigint function), plus the unary
// factory the activation family shares. Float math runs in doubles; the output array rounds to its type.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { isBigInt } from '../ir/dtype.js';
import { attr, defineOp, type AnyOpDef, type AttrSchema, type AttrsOf, type ImportNode, type LegacyContext } from './schema.js';
import { input } from './util.js';
import {
  BOOL, FLOATS, INTS, NUMERIC, SIGNED_NUMERIC, mapUnary, tensorType, typedInput, type Elem,
} from './elementwise-kernel.js';

type NumFn = (a: number) => number | boolean;
type BigFn = (a: bigint) => bigint | boolean;
export interface UnaryKernels { num?: NumFn; big?: BigFn }

interface UnarySpec<S extends AttrSchema> {
  op: string;
  types: readonly DType[];
  out?: DType;
  attrs?: S;
  check?: (dtype: DType, attrs: AttrsOf<S>) => void;
  kernels: (dtype: DType, attrs: AttrsOf<S>) => UnaryKernels;
}

export function unaryOp<S extends AttrSchema = Record<string, never>>(s: UnarySpec<S>): AnyOpDef {
  return defineOp({
    op: s.op,
    attrs: (s.attrs ?? {}) as S,
    inputs: [1, 1],
    outputs: [1, 1],
    infer(ctx) {
      const x = typedInput(ctx, 0, s.types, 'X');
      s.check?.(x.dtype, ctx.attrs);
      return [tensorType(s.out ?? x.dtype, x.shape)];
    },
    run(ctx) {
      const x = input(ctx, 0);
      const k = s.kernels(x.dtype, ctx.attrs);
      const f = isBigInt(x.dtype) ? k.big : k.num;
      if (f === undefined) throw new KernelError(`${s.op} has no kernel for ${x.dtype}`);
      return [mapUnary(x, s.out ?? x.dtype, f as (a: Elem) => Elem | boolean)];
    },
    traits: { elementwise: true },
  }) as unknown as AnyOpDef;
}

/** A float-only op from a number function. */
export function floatOp(op: string, f: NumFn, types: readonly DType[] = FLOATS): AnyOpDef {
  return unaryOp({ op, types, kernels: () => ({ num: f }) });
}

// ---- numeric helpers ---------------------------------------------------------------------------------------

/** erf to double precision: Taylor series near 0, the Laplace continued fraction for erfc further out. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  if (ax < 2.5) {
    // sum (-1)^n x^(2n+1) / (n! (2n+1)); terms peak near e^(x^2), so double keeps ~12 digits up to 2.5
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated from the tail
  let frac = ax;
  for (let k = 60; k >= 1; k--) frac = ax + k / 2 / frac;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / frac;
  return Math.sign(x) * (1 - erfc);
}

/** Round half to even; integral values, ±0, NaN and infinities are returned as they are. */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x); // rounds halves toward +inf
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const bigAbs: BigFn = (a) => (a < 0n ? -a : a);
const bigSign: BigFn = (a) => (a > 0n ? 1n : a < 0n ? -1n : 0n);

const unaries: AnyOpDef[] = [
  unaryOp({ op: 'Abs', types: NUMERIC, kernels: () => ({ num: Math.abs, big: bigAbs }) }),
  unaryOp({ op: 'Neg', types: SIGNED_NUMERIC, kernels: () => ({ num: (a) => -a, big: (a) => -a }) }),
  unaryOp({ op: 'Sign', types: NUMERIC, kernels: () => ({ num: Math.sign, big: bigSign }) }),
  unaryOp({
    op: 'Erf', types: NUMERIC,
    kernels: () => ({ num: erf, big: (a) => BigInt(Math.trunc(erf(Number(a)))) }),
  }),
  floatOp('Reciprocal', (a) => 1 / a),
  floatOp('Ceil', Math.ceil),
  floatOp('Floor', Math.floor),
  floatOp('Round', roundHalfEven),
  floatOp('Sqrt', Math.sqrt),
  floatOp('Exp', Math.exp),
  floatOp('Log', Math.log),
  floatOp('Sin', Math.sin),
  floatOp('Cos', Math.cos),
  floatOp('Tan', Math.tan),
  floatOp('Asin', Math.asin),
  floatOp('Acos', Math.acos),
  floatOp('Atan', Math.atan),
  floatOp('Sinh', Math.sinh),
  floatOp('Cosh', Math.cosh),
  floatOp('Tanh', Math.tanh),
  floatOp('Asinh', Math.asinh),
  floatOp('Acosh', Math.acosh),
  floatOp('Atanh', Math.atanh),
  unaryOp({ op: 'IsNaN', types: FLOATS, out: 'bool', kernels: () => ({ num: Number.isNaN }) }),
  unaryOp({
    op: 'IsInf', types: FLOATS, out: 'bool',
    attrs: { detect_negative: attr.int(1), detect_positive: attr.int(1) },
    check: (_d, a) => {
      for (const [k, v] of Object.entries(a)) if (v !== 0 && v !== 1) throw new ShapeError(`${k} must be 0 or 1, got ${v}`);
    },
    kernels: (_d, a) => ({ num: (x) => (x === Infinity && a.detect_positive === 1) || (x === -Infinity && a.detect_negative === 1) }),
  }),
  unaryOp({ op: 'Not', types: BOOL, kernels: () => ({ num: (a) => (a ? 0 : 1) }) }),
  // ~ on the int32 view; the output typed array reinterprets it for every width <= 32
  unaryOp({ op: 'BitwiseNot', types: INTS, kernels: () => ({ num: (a) => ~a, big: (a) => ~a }) }),
];

export const unaryOps: AnyOpDef[] = unaries;
