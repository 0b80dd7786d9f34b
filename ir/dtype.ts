// Element types: every ONNX TensorProto.DataType, the ones onnxc computes with and the ones it only recognises.
// The sub-byte integers (int4/uint4/int2/uint2) are held one element per byte in memory (Int8Array/Uint8Array) and
// packed (low bits first) only in ONNX raw data: packedBytes() is their size there.

import { UnsupportedTypeError } from './errors.js';

/** Element types onnxc computes with. */
export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'bool' | 'string'
  | 'int4' | 'uint4' | 'int2' | 'uint2';

/** Element types that ONNX defines and onnxc recognises, but does not compute with. */
export type UnsupportedDType =
  | 'complex64' | 'complex128'
  | 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz' | 'float8e8m0' | 'float4e2m1';

/** ONNX TensorProto.DataType codes. */
const ONNX_CODES: Record<DType | UnsupportedDType, number> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9,
  float16: 10, float64: 11, uint32: 12, uint64: 13, complex64: 14, complex128: 15, bfloat16: 16,
  float8e4m3fn: 17, float8e4m3fnuz: 18, float8e5m2: 19, float8e5m2fnuz: 20, uint4: 21, int4: 22,
  float4e2m1: 23, float8e8m0: 24, uint2: 25, int2: 26,
};

const SUPPORTED: ReadonlySet<string> = new Set<DType>([
  'float32', 'float64', 'float16', 'bfloat16', 'int8', 'int16', 'int32', 'int64',
  'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string', 'int4', 'uint4', 'int2', 'uint2',
]);

const BY_CODE = new Map<number, DType | UnsupportedDType>(
  Object.entries(ONNX_CODES).map(([name, code]) => [code, name as DType]),
);

export const ALL_DTYPES: readonly DType[] = [...SUPPORTED] as DType[];

export function isDType(name: string): name is DType {
  return SUPPORTED.has(name);
}

export function onnxCode(dtype: DType): number {
  return ONNX_CODES[dtype];
}

/** The DType of an ONNX data type code; throws UnsupportedTypeError for recognised-but-unsupported ones. */
export function dtypeFromOnnx(code: number): DType {
  const name = BY_CODE.get(code);
  if (name === undefined) throw new UnsupportedTypeError(`unknown ONNX element type code ${code}`);
  if (!isDType(name)) throw new UnsupportedTypeError(`element type ${name} (ONNX code ${code}) is not supported`);
  return name;
}

/** The name of an ONNX data type code, supported or not (for messages). */
export function onnxTypeName(code: number): string {
  return BY_CODE.get(code) ?? `unknown(${code})`;
}

export const isFloat = (t: DType): boolean => t === 'float32' || t === 'float64' || t === 'float16' || t === 'bfloat16';
export const isBigInt = (t: DType): t is 'int64' | 'uint64' => t === 'int64' || t === 'uint64';
export const isSignedInt = (t: DType): boolean => t === 'int8' || t === 'int16' || t === 'int32' || t === 'int64' || t === 'int4' || t === 'int2';
export const isUnsignedInt = (t: DType): boolean => t === 'uint8' || t === 'uint16' || t === 'uint32' || t === 'uint64' || t === 'uint4' || t === 'uint2';
/** The 4- and 2-bit integer types, packed in ONNX raw data. */
export const isSubByte = (t: DType): t is 'int4' | 'uint4' | 'int2' | 'uint2' => t === 'int4' || t === 'uint4' || t === 'int2' || t === 'uint2';
/** Bits per element of a sub-byte type (4 or 2). */
export const subByteBits = (t: 'int4' | 'uint4' | 'int2' | 'uint2'): 4 | 2 => (t === 'int4' || t === 'uint4' ? 4 : 2);
export const isInt = (t: DType): boolean => isSignedInt(t) || isUnsignedInt(t);
export const isNumeric = (t: DType): boolean => t !== 'string' && t !== 'bool';

/** Bytes per element in memory, and in ONNX raw_data for all but the sub-byte types (string: not fixed, reported
 *  as 0). The sub-byte types take one byte each in memory; packedBytes() gives their raw_data size. */
export function byteSize(t: DType): number {
  switch (t) {
    case 'int4': case 'uint4': case 'int2': case 'uint2': return 1;
    case 'float64': case 'int64': case 'uint64': return 8;
    case 'float32': case 'int32': case 'uint32': return 4;
    case 'float16': case 'bfloat16': case 'int16': case 'uint16': return 2;
    case 'int8': case 'uint8': case 'bool': return 1;
    case 'string': return 0;
  }
}

/** Bytes that `n` elements take in ONNX raw_data (and external data): sub-byte types packed, the last byte padded. */
export function packedBytes(t: DType, n: number): number {
  return isSubByte(t) ? Math.ceil((n * subByteBits(t)) / 8) : n * byteSize(t);
}

/** Range of an integer dtype, as numbers (int64/uint64 bounds are approximate as numbers; use bigint helpers). */
export function intRange(t: DType): [number, number] {
  switch (t) {
    case 'int8': return [-128, 127];
    case 'uint8': return [0, 255];
    case 'int4': return [-8, 7];
    case 'uint4': return [0, 15];
    case 'int2': return [-2, 1];
    case 'uint2': return [0, 3];
    case 'int16': return [-32768, 32767];
    case 'uint16': return [0, 65535];
    case 'int32': return [-2147483648, 2147483647];
    case 'uint32': return [0, 4294967295];
    case 'int64': return [-9223372036854775808, 9223372036854775807];
    case 'uint64': return [0, 18446744073709551615];
    case 'bool': return [0, 1];
    default: throw new Error(`intRange: ${t} is not an integer type`);
  }
}
