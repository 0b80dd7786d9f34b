// Helpers shared by the shape and indexing op families: reading shape-like inputs, bounded allocation,
// dtype-agnostic element access, symbolic dim arithmetic and exact per-dtype accumulation.

import { assertNever, KernelError, OnnxImportError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { ALL_DTYPES, isBigInt, isSubByte } from '../ir/dtype.js';
import { bf16Round, f16Round } from '../ir/float16.js';
import type { Tensor } from '../ir/tensor.js';
import { allocate, fromValues, wrapBits } from '../ir/tensor.js';
import type { Dim, TensorType } from '../ir/types.js';
import type { ImportNode, InferContext, LegacyContext } from './schema.js';
import { checkElements } from '../ir/limits.js';

/** Largest tensor a kernel will allocate: a hostile shape input must fail cleanly, not exhaust memory. */
export const MAX_ELEMENTS = 2 ** 28;

export const INDEX_DTYPES: readonly DType[] = ['int32', 'int64'];
// the 4- and 2-bit integers only go through the ops ONNX lists them for (Cast, the quantisers, data movement)
export const NUMERIC_DTYPES: readonly DType[] = ALL_DTYPES.filter((t) => t !== 'string' && t !== 'bool' && !isSubByte(t));
export const ORDERED_DTYPES: readonly DType[] = ALL_DTYPES.filter((t) => t !== 'bool' && !isSubByte(t));

/** Storage seen as a plain indexable array, for kernels that only move elements (dtype-agnostic). */
export type Elems = { [i: number]: number | bigint | string; readonly length: number };
export function elems(t: Tensor): Elems {
  return t.data as unknown as Elems;
}

/** Number of elements of concrete dims, refusing sizes past MAX_ELEMENTS. */
export function checkedSize(dims: readonly number[], what = 'output'): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new KernelError(`${what} dim ${d} is not a non-negative integer`);
    n *= d;
  }
  checkElements(n, `${what} of dims [${dims.join(',')}]`);
  return n;
}

/** A zero-filled tensor of checked size. */
export function alloc<D extends DType>(dtype: D, dims: readonly number[], what = 'output'): Tensor<D> {
  const n = checkedSize(dims, what);
  return { dtype, dims: [...dims], data: allocate(dtype, n) };
}

/** Integer elements as JS numbers (int64 values past 2^53 become inexact but stay huge, so range checks hold). */
export function intsOf(t: Tensor): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return out;
}

/** A 1-D (or scalar) int tensor as a list of numbers; KernelError when it is not an integer tensor. */
export function intList(t: Tensor, what: string): number[] {
  if (t.dtype !== 'int64' && t.dtype !== 'int32') throw new KernelError(`${what} must be int64 or int32, got ${t.dtype}`);
  if (t.dims.length > 1) throw new KernelError(`${what} must be 1-D, got rank ${t.dims.length}`);
  return intsOf(t);
}

/** The constant value of input i as numbers, when it is a known int tensor. */
export function constInts(ctx: InferContext<unknown>, i: number): number[] | undefined {
  const t = ctx.constant(i);
  if (t === undefined || (t.dtype !== 'int64' && t.dtype !== 'int32')) return undefined;
  return intsOf(t);
}

/** A concrete shape from an int64 shape input; KernelError on negative or oversized dims. */
export function shapeInput(t: Tensor, what: string): number[] {
  const dims = intList(t, what);
  checkedSize(dims, what);
  return dims;
}

/** Normalise an index into [0, dim); KernelError when out of range (never a wrong read). */
export function normIndex(v: number, dim: number, what = 'index'): number {
  if (!Number.isInteger(v) || v < -dim || v >= dim) throw new KernelError(`${what} ${v} is out of range for a dim of ${dim}`);
  return v < 0 ? v + dim : v;
}

/** Normalise a list of axes, rejecting duplicates. */
export function normAxes(axes: readonly number[], rank: number, what = 'axes'): number[] {
  const out: number[] = [];
  for (const a of axes) {
    if (!Number.isInteger(a) || a < -rank || a >= rank) throw new ShapeError(`${what} value ${a} is out of range for rank ${rank}`);
    const n = a < 0 ? a + rank : a;
    if (out.includes(n)) throw new ShapeError(`${what} has axis ${a} more than once`);
    out.push(n);
  }
  return out;
}

/** The length a 1-D shape-like input has, when its type says so statically. */
export function staticLength(t: TensorType): number | undefined {
  if (t.shape === undefined) return undefined;
  if (t.shape.length === 0) return 1;
  if (t.shape.length !== 1) throw new ShapeError(`shape-like input must be 1-D, got rank ${t.shape.length}`);
  const d = t.shape[0]!;
  return typeof d === 'number' ? d : undefined;
}

/** Require a static shape's dims to be valid sizes (infer side). */
export function checkDims(dims: readonly number[], what: string): void {
  for (const d of dims) if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what} has invalid dim ${d}`);
}

/** Symbolic product of dims: a number times a multiset of symbols. A symbol that is itself a plain product
 *  ('batch*2', as symbolic shape values name them) counts as its factors, so products cancel. */
export interface SymProduct { num: number; syms: string[] }
export function symProduct(dims: readonly Dim[]): SymProduct {
  const p: SymProduct = { num: 1, syms: [] };
  for (const d of dims) {
    if (typeof d === 'number') { p.num *= d; continue; }
    const factors = /^[^()+\-/]+$/.test(d) ? d.split('*') : [d];
    for (const f of factors) {
      if (/^\d+$/.test(f)) p.num *= Number(f);
      else p.syms.push(f);
    }
  }
  return p;
}

/** A product as one Dim: a number, a symbol, or a product symbol like 'batch*2'. */
export function productToDim(p: SymProduct): Dim {
  if (p.syms.length === 0 || p.num === 0) return p.num;
  return p.num === 1 ? p.syms.join('*') : `${p.syms.join('*')}*${p.num}`;
}

/** total / part when it is a whole product, else undefined. */
export function symDivide(total: SymProduct, part: SymProduct): Dim | undefined {
  const syms = [...total.syms];
  for (const s of part.syms) {
    const k = syms.indexOf(s);
    if (k < 0) return undefined;
    syms.splice(k, 1);
  }
  if (part.num === 0) return undefined;
  if (total.num % part.num !== 0) return undefined;
  return productToDim({ num: total.num / part.num, syms });
}

/** Row-major multi-index of flat index i over dims, written into `idx`. */
export function unravel(i: number, dims: readonly number[], idx: number[]): void {
  for (let k = dims.length - 1; k >= 0; k--) {
    const d = dims[k]!;
    const c = i % d;
    idx[k] = c;
    i = (i - c) / d;
  }
}

export type Reduction = 'none' | 'add' | 'mul' | 'max' | 'min';
export function checkReduction(r: string): Reduction {
  if (r === 'none' || r === 'add' || r === 'mul' || r === 'max' || r === 'min') return r;
  throw new ShapeError(`reduction must be one of none, add, mul, max, min; got '${r}'`);
}

type Combine = (a: number | bigint | string, b: number | bigint | string) => number | bigint | string;

/** Exact a op b for one dtype, rounded/wrapped to the dtype after every step (as ONNX's reference does). */
export function combiner(dtype: DType, op: Exclude<Reduction, 'none'>): Combine {
  if (dtype === 'string') {
    if (op === 'max') return (a, b) => (b > a ? b : a);
    if (op === 'min') return (a, b) => (b < a ? b : a);
    throw new ShapeError(`reduction ${op} is not defined for strings`);
  }
  if (isBigInt(dtype)) {
    const wrap = dtype === 'int64' ? (x: bigint) => BigInt.asIntN(64, x) : (x: bigint) => BigInt.asUintN(64, x);
    switch (op) {
      case 'add': return (a, b) => wrap((a as bigint) + (b as bigint));
      case 'mul': return (a, b) => wrap((a as bigint) * (b as bigint));
      case 'max': return (a, b) => ((b as bigint) > (a as bigint) ? b : a);
      case 'min': return (a, b) => ((b as bigint) < (a as bigint) ? b : a);
      default: return assertNever(op, 'reduction');
    }
  }
  const round = numberRounder(dtype);
  const isIntType = dtype !== 'float32' && dtype !== 'float64' && dtype !== 'float16' && dtype !== 'bfloat16';
  switch (op) {
    case 'add': return (a, b) => round((a as number) + (b as number));
    // int products must wrap exactly: a double product of two 32-bit values can lose its low bits
    case 'mul': return isIntType ? (a, b) => round(Math.imul(a as number, b as number)) : (a, b) => round((a as number) * (b as number));
    case 'max': return (a, b) => (Number.isNaN(a) ? a : Number.isNaN(b) || (b as number) > (a as number) ? b : a);
    case 'min': return (a, b) => (Number.isNaN(a) ? a : Number.isNaN(b) || (b as number) < (a as number) ? b : a);
    default: return assertNever(op, 'reduction');
  }
}

/** x rounded or wrapped to a number dtype, as storing into its typed array would (plus float16 rounding). */
export function numberRounder(dtype: DType): (x: number) => number {
  switch (dtype) {
    case 'float64': return (x) => x;
    case 'float32': return Math.fround;
    case 'float16': return f16Round;
    case 'bfloat16': return bf16Round;
    case 'bool': return (x) => (x !== 0 && !Number.isNaN(x) ? 1 : 0);
    case 'int8': case 'int16': case 'int32': case 'uint8': case 'uint16': case 'uint32': {
      const scratch = allocate(dtype, 1) as Int32Array;
      return (x) => { scratch[0] = x; return scratch[0]!; };
    }
    case 'int4': case 'uint4': case 'int2': case 'uint2': {
      const bits = dtype === 'int4' || dtype === 'uint4' ? 4 : 2, signed = !dtype.startsWith('u');
      return (x) => (Number.isFinite(x) ? wrapBits(Math.trunc(x), bits, signed) : 0);
    }
    case 'int64': case 'uint64': case 'string':
      throw new Error(`numberRounder: ${dtype} does not hold numbers`);
    default: return assertNever(dtype, 'dtype');
  }
}

/** A shape-like input's elements when known: exact numbers from a constant, else symbolic values tracked by
 *  inference (`Shape(x)` of x: [batch, 3] gives ['batch', 3]). */
export function shapeLike(ctx: InferContext<unknown>, i: number): readonly Dim[] | undefined {
  return constInts(ctx, i) ?? ctx.shapeValue(i);
}
