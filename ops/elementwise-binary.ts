// Broadcasting binary ops declared as data: each op is its allowed dtypes and one function per storage kind
// (JS number, bigint for int64/uint64, string), chosen once per run from the dtype and attributes.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { isBigInt, isFloat } from '../ir/dtype.js';
import { attr, defineOp, type AnyOpDef, type AttrSchema, type AttrsOf, type ImportNode, type LegacyContext } from './schema.js';
import { input } from './util.js';
import {
  ALL_TYPES, BOOL, FLOATS, INTS, NUMERIC, UNSIGNED_INTS, broadcastTypes, mapBinary, sameDType, tensorType, typedInput,
  type Elem,
} from './elementwise-kernel.js';

type Fn = (a: Elem, b: Elem) => Elem | boolean;
type NumFn = (a: number, b: number) => number | boolean;
type BigFn = (a: bigint, b: bigint) => bigint | boolean;

/** How one op computes, per storage kind; undefined where the op's dtypes never need it. */
interface Kernels { num?: NumFn; big?: BigFn; str?: (a: string, b: string) => boolean }

function pick(op: string, dtype: DType, k: Kernels): Fn {
  const f = dtype === 'string' ? k.str : isBigInt(dtype) ? k.big : k.num;
  if (f === undefined) throw new KernelError(`${op} has no kernel for ${dtype}`);
  return f as Fn;
}

interface BinarySpec<S extends AttrSchema> {
  op: string;
  types: readonly DType[];
  /** Output dtype when it is not the inputs' (comparisons give bool). */
  out?: DType;
  attrs?: S;
  /** Extra attribute/dtype rules checked at inference. */
  check?: (dtype: DType, attrs: AttrsOf<S>) => void;
  kernels: (dtype: DType, attrs: AttrsOf<S>) => Kernels;
  /** A and B may be swapped (the op's `commutative` trait). */
  commutative?: boolean;
}

export function binaryOp<S extends AttrSchema = Record<string, never>>(s: BinarySpec<S>): AnyOpDef {
  const def = defineOp({
    op: s.op,
    attrs: (s.attrs ?? {}) as S,
    inputs: [2, 2],
    outputs: [1, 1],
    infer(ctx) {
      const a = typedInput(ctx, 0, s.types, 'A');
      const b = typedInput(ctx, 1, s.types, 'B');
      const dtype = sameDType([a, b], 'A and B');
      s.check?.(dtype, ctx.attrs);
      return [tensorType(s.out ?? dtype, broadcastTypes([a, b]))];
    },
    run(ctx) {
      const a = input(ctx, 0);
      const b = input(ctx, 1);
      if (a.dtype !== b.dtype) throw new KernelError(`A and B must share one element type; got ${a.dtype} and ${b.dtype}`);
      return [mapBinary(a, b, s.out ?? a.dtype, pick(s.op, a.dtype, s.kernels(a.dtype, ctx.attrs)))];
    },
    traits: { elementwise: true, ...(s.commutative ? { commutative: true } : {}) },
  });
  return def as unknown as AnyOpDef;
}

// ---- the arithmetic rules ----------------------------------------------------------------------------------

function intDivByZero(): never {
  throw new KernelError('integer division by zero');
}

/** Integer quotient truncated toward zero (C semantics, as onnxruntime). */
const divNum = (dtype: DType): NumFn => (isFloat(dtype) ? (a, b) => a / b : (a, b) => (b === 0 ? intDivByZero() : Math.trunc(a / b)));
const divBig: BigFn = (a, b) => (b === 0n ? intDivByZero() : a / b);

/** fmod=0: result takes the divisor's sign (Python); fmod=1: the dividend's (C fmod). */
function modNum(fmod: number, dtype: DType): NumFn {
  if (fmod === 1) return isFloat(dtype) ? (a, b) => a % b : (a, b) => (b === 0 ? intDivByZero() : a % b);
  return (a, b) => {
    if (b === 0) intDivByZero();
    const r = a % b;
    return r !== 0 && (r < 0) !== (b < 0) ? r + b : r;
  };
}
function modBig(fmod: number): BigFn {
  return (a, b) => {
    if (b === 0n) intDivByZero();
    const r = a % b;
    return fmod === 0 && r !== 0n && (r < 0n) !== (b < 0n) ? r + b : r;
  };
}

const bitsOf = (dtype: DType): number => (dtype.endsWith('64') ? 64 : dtype.endsWith('32') ? 32 : dtype.endsWith('16') ? 16 : 8);

/** Shifts by the type's width or more give 0 (the bits all leave), as onnxruntime does. */
function shiftNum(left: boolean, bits: number): NumFn {
  return left
    ? (a, b) => (b >= bits ? 0 : bits === 32 ? (a << b) >>> 0 : a * 2 ** b % 2 ** bits)
    : (a, b) => (b >= bits ? 0 : a >>> b);
}
const shiftBig = (left: boolean): BigFn => (left ? (a, b) => (b >= 64n ? 0n : a << b) : (a, b) => (b >= 64n ? 0n : a >> b));

const add = binaryOp({ op: 'Add', commutative: true, types: NUMERIC, kernels: () => ({ num: (a, b) => a + b, big: (a, b) => a + b }) });
const sub = binaryOp({ op: 'Sub', types: NUMERIC, kernels: () => ({ num: (a, b) => a - b, big: (a, b) => a - b }) });
const mul = binaryOp({
  op: 'Mul', commutative: true, types: NUMERIC,
  // 32-bit products exceed 2^53; Math.imul keeps the low 32 bits exactly (the typed array fixes the sign).
  kernels: (d) => ({ num: d === 'int32' || d === 'uint32' ? Math.imul : (a, b) => a * b, big: (a, b) => a * b }),
});
const div = binaryOp({ op: 'Div', types: NUMERIC, kernels: (d) => ({ num: divNum(d), big: divBig }) });
const mod = binaryOp({
  op: 'Mod', types: NUMERIC, attrs: { fmod: attr.int(0) },
  check: (d, a) => {
    if (a.fmod !== 0 && a.fmod !== 1) throw new ShapeError(`fmod must be 0 or 1, got ${a.fmod}`);
    if (isFloat(d) && a.fmod !== 1) throw new ShapeError(`fmod must be 1 for floating-point inputs (${d})`);
  },
  kernels: (d, a) => ({ num: modNum(a.fmod, d), big: modBig(a.fmod) }),
});
const bitShift = binaryOp({
  op: 'BitShift', types: UNSIGNED_INTS, attrs: { direction: attr.string.required() },
  check: (_d, a) => {
    if (a.direction !== 'LEFT' && a.direction !== 'RIGHT') throw new ShapeError(`direction must be LEFT or RIGHT, got '${a.direction}'`);
  },
  kernels: (d, a) => ({ num: shiftNum(a.direction === 'LEFT', bitsOf(d)), big: shiftBig(a.direction === 'LEFT') }),
});

// Bitwise ops on 32-bit JS integers; the output typed array reinterprets the int32 result for every width <= 32.
const bitwiseAnd = binaryOp({ op: 'BitwiseAnd', commutative: true, types: INTS, kernels: () => ({ num: (a, b) => a & b, big: (a, b) => a & b }) });
const bitwiseOr = binaryOp({ op: 'BitwiseOr', commutative: true, types: INTS, kernels: () => ({ num: (a, b) => a | b, big: (a, b) => a | b }) });
const bitwiseXor = binaryOp({ op: 'BitwiseXor', commutative: true, types: INTS, kernels: () => ({ num: (a, b) => a ^ b, big: (a, b) => a ^ b }) });

const and = binaryOp({ op: 'And', commutative: true, types: BOOL, kernels: () => ({ num: (a, b) => a & b }) });
const or = binaryOp({ op: 'Or', commutative: true, types: BOOL, kernels: () => ({ num: (a, b) => a | b }) });
const xor = binaryOp({ op: 'Xor', commutative: true, types: BOOL, kernels: () => ({ num: (a, b) => a ^ b }) });

// Comparisons are exact on bigints; NaN compares false (and unequal), as IEEE says.
const equal = binaryOp({
  op: 'Equal', commutative: true, types: ALL_TYPES, out: 'bool',
  kernels: () => ({ num: (a, b) => a === b, big: (a, b) => a === b, str: (a, b) => a === b }),
});
const ORDERED: readonly DType[] = NUMERIC;
const greater = binaryOp({ op: 'Greater', types: ORDERED, out: 'bool', kernels: () => ({ num: (a, b) => a > b, big: (a, b) => a > b }) });
const less = binaryOp({ op: 'Less', types: ORDERED, out: 'bool', kernels: () => ({ num: (a, b) => a < b, big: (a, b) => a < b }) });
const greaterOrEqual = binaryOp({ op: 'GreaterOrEqual', types: ORDERED, out: 'bool', kernels: () => ({ num: (a, b) => a >= b, big: (a, b) => a >= b }) });
const lessOrEqual = binaryOp({ op: 'LessOrEqual', types: ORDERED, out: 'bool', kernels: () => ({ num: (a, b) => a <= b, big: (a, b) => a <= b }) });

export const binaryOps: AnyOpDef[] = [
  add, sub, mul, div, mod, bitShift, bitwiseAnd, bitwiseOr, bitwiseXor, and, or, xor,
  equal, greater, less, greaterOrEqual, lessOrEqual,
];

export { FLOATS, bitsOf };
