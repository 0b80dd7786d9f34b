// Packing of the sub-byte integer types (int4/uint4 two per byte, int2/uint2 four per byte, the first element in the
// lowest bits, the last byte zero-padded) as ONNX raw data and int32_data hold them; in memory they are unpacked.

import type { DType } from './dtype.js';
import { isSubByte, packedBytes, subByteBits } from './dtype.js';

export type SubByteDType = 'int4' | 'uint4' | 'int2' | 'uint2';

/** `n` elements of `dtype` read from packed bytes: Int8Array (sign-extended) for int4/int2, Uint8Array otherwise. */
export function unpackSubByte(dtype: SubByteDType, bytes: ArrayLike<number>, n: number): Int8Array | Uint8Array {
  const bits = subByteBits(dtype), perByte = 8 / bits, mask = (1 << bits) - 1;
  const signed = dtype === 'int4' || dtype === 'int2', half = 1 << (bits - 1);
  const out = signed ? new Int8Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = (bytes[Math.floor(i / perByte)]! >>> ((i % perByte) * bits)) & mask;
    out[i] = signed && v >= half ? v - 2 * half : v;
  }
  return out;
}

/** Elements (each already in the type's range; only its low bits are kept) packed into bytes. */
export function packSubByte(dtype: SubByteDType, values: ArrayLike<number>): Uint8Array {
  const bits = subByteBits(dtype), perByte = 8 / bits, mask = (1 << bits) - 1;
  const out = new Uint8Array(packedBytes(dtype, values.length));
  for (let i = 0; i < values.length; i++) out[Math.floor(i / perByte)]! |= (values[i]! & mask) << ((i % perByte) * bits);
  return out;
}

export { isSubByte };
export const isSubByteDType = (t: DType): t is SubByteDType => isSubByte(t);
