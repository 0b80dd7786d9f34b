// Converting onnxc tensors to and from onnxruntime tensors; onnxruntime-node and onnxruntime-web share the
// Tensor shape (type, dims, data), so one converter serves both.

import type { DType } from '../../ir/dtype.js';
import { f16BitsToNumber, numberToF16Bits } from '../../ir/float16.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';

const ORT_TYPE: Partial<Record<DType, string>> = {
  float32: 'float32', float64: 'float64', float16: 'float16', int8: 'int8', int16: 'int16', int32: 'int32',
  int64: 'int64', uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64', bool: 'bool',
};

/** The constructor both packages export. */
export type OrtTensorCtor = new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;

export function toOrt(Ctor: OrtTensorCtor, t: Tensor): unknown {
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new Error(`onnxruntime cannot take ${t.dtype} tensors`);
  const data = t.dtype === 'float16' ? Uint16Array.from(t.data as Float32Array, numberToF16Bits) : t.data;
  return new Ctor(type as 'float32', data as Float32Array, [...t.dims]);
}

export function fromOrt(v: { type: string; dims: readonly number[]; data: unknown }): Tensor {
  const dtype = Object.entries(ORT_TYPE).find(([, o]) => o === v.type)?.[0] as DType | undefined;
  if (!dtype) throw new Error(`onnxruntime returned an unsupported ${v.type} tensor`);
  if (dtype === 'float16') return makeTensor('float16', v.dims, Float32Array.from(v.data as Uint16Array, f16BitsToNumber));
  const t = makeTensor(dtype, v.dims);
  (t.data as Float32Array).set(v.data as Float32Array);
  return t;
}
