// Tensors: an element type, concrete dims and a typed array. Weights stay views over the model's bytes where
// the layout allows (no needless copies).
//
// Storage by dtype: float32/float16/bfloat16 -> Float32Array (float16/bfloat16 hold values already rounded to
// their type, so every float kernel is written once); float64 -> Float64Array; int64/uint64 -> BigInt64Array /
// BigUint64Array (exact); bool -> Uint8Array of 0/1; string -> string[]; int4/int2 -> Int8Array and uint4/uint2 ->
// Uint8Array, one element per byte (packed only in ONNX raw data); the rest their own typed array.

import type { DType } from './dtype.js';
import { byteSize, isBigInt } from './dtype.js';
import { bf16Round, f16Round } from './float16.js';
import { checkElements } from './limits.js';

export type Storage = {
  float32: Float32Array; float16: Float32Array; bfloat16: Float32Array; float64: Float64Array;
  int8: Int8Array; int16: Int16Array; int32: Int32Array; int64: BigInt64Array;
  uint8: Uint8Array; uint16: Uint16Array; uint32: Uint32Array; uint64: BigUint64Array;
  bool: Uint8Array; string: string[];
  int4: Int8Array; uint4: Uint8Array; int2: Int8Array; uint2: Uint8Array;
};
export type TensorData = Storage[DType];
/** Storage of the dtypes whose elements are JS numbers. */
export type NumberData = Exclude<TensorData, BigInt64Array | BigUint64Array | string[]>;

export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly dims: readonly number[];
  readonly data: Storage[D];
}

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Row-major strides in elements. */
export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]!; }
  return s;
}

/** A zero-filled storage array for `n` elements of `dtype`. */
export function allocate<D extends DType>(dtype: D, n: number): Storage[D] {
  // every reference-backend tensor passes here: the last line of defence against a model-driven allocation
  checkElements(n, `a ${dtype} tensor`, byteSize(dtype) || undefined);
  const make = (): TensorData => {
    switch (dtype) {
      case 'float32': case 'float16': case 'bfloat16': return new Float32Array(n);
      case 'float64': return new Float64Array(n);
      case 'int8': case 'int4': case 'int2': return new Int8Array(n);
      case 'int16': return new Int16Array(n);
      case 'int32': return new Int32Array(n);
      case 'int64': return new BigInt64Array(n);
      case 'uint8': case 'bool': case 'uint4': case 'uint2': return new Uint8Array(n);
      case 'uint16': return new Uint16Array(n);
      case 'uint32': return new Uint32Array(n);
      case 'uint64': return new BigUint64Array(n);
      case 'string': return new Array<string>(n).fill('');
    }
    throw new Error(`allocate: unknown dtype ${String(dtype)}`);
  };
  return make() as Storage[D];
}

export function makeTensor<D extends DType>(dtype: D, dims: readonly number[], data?: Storage[D]): Tensor<D> {
  const n = sizeOf(dims);
  const d = data ?? allocate(dtype, n);
  if (d.length !== n) throw new Error(`tensor of dims [${dims.join(',')}] needs ${n} elements, got ${d.length}`);
  return { dtype, dims: [...dims], data: d };
}

/** Build a tensor from plain numbers (or bigints), converting to the dtype's storage with ONNX Cast rules. */
export function fromValues<D extends DType>(dtype: D, dims: readonly number[], values: ArrayLike<number | bigint | boolean | string>): Tensor<D> {
  const n = sizeOf(dims);
  if (values.length !== n) throw new Error(`tensor of dims [${dims.join(',')}] needs ${n} elements, got ${values.length}`);
  const out = allocate(dtype, n);
  for (let i = 0; i < n; i++) setElement(dtype, out, i, values[i]!);
  return { dtype, dims: [...dims], data: out };
}

export function scalar<D extends DType>(dtype: D, value: number | bigint | boolean | string): Tensor<D> {
  return fromValues(dtype, [], [value]);
}

/** Element i as a JS number (int64 beyond 2^53 loses precision; use `data` directly for exact bigints). */
export function getNumber(t: Tensor, i: number): number {
  const v = t.data[i];
  return typeof v === 'bigint' ? Number(v) : Number(v);
}

/** All elements as JS numbers. */
export function toNumbers(t: Tensor): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = getNumber(t, i);
  return out;
}

/** Convert one value to a dtype's storage and store it, with Cast semantics: float -> int truncates toward
 *  zero and wraps modulo 2^bits (as typed arrays do), NaN -> 0, bool is x != 0, float16 rounds. */
export function setElement(dtype: DType, data: TensorData, i: number, v: number | bigint | boolean | string): void {
  if (dtype === 'string') { (data as string[])[i] = String(v); return; }
  if (dtype === 'bool') { (data as Uint8Array)[i] = (typeof v === 'string' ? v !== '' && v !== 'false' && v !== '0' : Boolean(v) && !Number.isNaN(v)) ? 1 : 0; return; }
  if (isBigInt(dtype)) {
    let b: bigint;
    if (typeof v === 'bigint') b = v;
    else if (typeof v === 'boolean') b = v ? 1n : 0n;
    else {
      const x = Number(v);
      b = Number.isFinite(x) ? BigInt(Math.trunc(x)) : 0n;
    }
    (data as BigInt64Array | BigUint64Array)[i] = dtype === 'int64' ? BigInt.asIntN(64, b) : BigInt.asUintN(64, b);
    return;
  }
  let x = typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : Number(v);
  if (dtype === 'float16') x = f16Round(x);
  else if (dtype === 'bfloat16') x = bf16Round(x);
  else if (dtype !== 'float32' && dtype !== 'float64') {
    if (!Number.isFinite(x)) x = 0;
    else x = Math.trunc(x);
    const bits = SUB_BYTE_BITS[dtype];
    if (typeof v === 'bigint') {
      // wrap exactly from the bigint rather than via a rounded double
      const w = bits ?? (dtype === 'int8' || dtype === 'uint8' ? 8 : dtype === 'int16' || dtype === 'uint16' ? 16 : 32);
      x = Number(dtype.startsWith('u') ? BigInt.asUintN(w, v) : BigInt.asIntN(w, v));
    } else if (bits !== undefined) {
      // a typed array would keep 8 bits: wrap to the type's own width (ONNX Cast to int4/int2 wraps)
      x = wrapBits(x, bits, !dtype.startsWith('u'));
    }
  }
  (data as NumberData)[i] = x;
}

const SUB_BYTE_BITS: Partial<Record<DType, number>> = { int4: 4, uint4: 4, int2: 2, uint2: 2 };

/** An integral number reduced modulo 2^bits into the signed or unsigned range of that width. */
export function wrapBits(x: number, bits: number, signed: boolean): number {
  const m = 2 ** bits;
  let r = ((x % m) + m) % m;
  if (signed && r >= m / 2) r -= m;
  return r;
}

/** Round float16/bfloat16 storage in place to its type (kernels compute in float32 and call this). */
export function roundToDType(t: Tensor): Tensor {
  if (t.dtype === 'float16') { const d = t.data as Float32Array; for (let i = 0; i < d.length; i++) d[i] = f16Round(d[i]!); }
  else if (t.dtype === 'bfloat16') { const d = t.data as Float32Array; for (let i = 0; i < d.length; i++) d[i] = bf16Round(d[i]!); }
  return t;
}

/** Elements as bigints (for int64 shape-like inputs that must be exact). */
export function toBigInts(t: Tensor): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i]!;
    out.push(typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v))));
  }
  return out;
}

export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function describeTensor(t: Tensor): string {
  return `${t.dtype}[${t.dims.join(',')}]`;
}
