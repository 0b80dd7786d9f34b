// TensorProto <-> Tensor (raw_data views, typed fields, external data confined to the model's folder), and the
// SequenceProto/OptionalProto files the ONNX backend tests use for non-tensor inputs and outputs.

import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { OnnxImportError, OnnxcError, UnsupportedTypeError } from '../../ir/errors.js';
import { checkElements, limits } from '../../ir/limits.js';
import type { DType } from '../../ir/dtype.js';
import { byteSize, dtypeFromOnnx, isSubByte, onnxCode, onnxTypeName, packedBytes } from '../../ir/dtype.js';
import { bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits } from '../../ir/float16.js';
import { packSubByte, unpackSubByte } from '../../ir/packed.js';
import type { Tensor, TensorData } from '../../ir/tensor.js';
import type { ValueType } from '../../ir/types.js';
import type { OptionalValue, RuntimeValue, SequenceValue } from '../../ir/value.js';
import { isTensor } from '../../ir/value.js';
import type { Int64, OptionalProtoMsg, SequenceProtoMsg, TensorProtoMsg } from './proto.js';
import { DataKind, decodeMessage, encodeMessage, int64ToBigInt, int64ToNumber } from './proto.js';
import { readRegularFile } from './read-file.js';


export interface TensorReadOptions {
  /** Folder that external data paths are relative to; external data is refused without one. */
  readonly baseDir?: string;
  /** Name for messages when the proto has none. */
  readonly name?: string;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Dims of a TensorProto, checked: non-negative, and an element count within limits.maxElements. */
export function tensorDims(dims: readonly Int64[], what: string): { dims: number[]; size: number } {
  const out: number[] = [];
  let size = 1;
  for (const d of dims) {
    const b = int64ToBigInt(d);
    if (b < 0n) throw new OnnxImportError(`${what} has a negative dim ${b}`);
    if (b > BigInt(limits.maxElements)) checkElements(Number(b), `${what} (dim ${b})`);
    out.push(Number(b));
    size *= Number(b);
  }
  // a zero dim makes the product 0 even when other dims are huge, which is fine: nothing is allocated
  checkElements(size, `${what} of dims [${out.join(',')}]`);
  return { dims: out, size };
}

/** Decode a TensorProto into a Tensor. */
export function decodeTensorProto(msg: TensorProtoMsg, opts: TensorReadOptions = {}): Tensor {
  const name = msg.name || opts.name || '(unnamed)';
  const what = `tensor '${name}'`;
  try {
    if (!msg.data_type) throw new OnnxImportError(`${what} has no data type`);
    let dtype: DType;
    try {
      dtype = dtypeFromOnnx(msg.data_type);
    } catch (e) {
      throw new UnsupportedTypeError(`${what} has element type ${onnxTypeName(msg.data_type)}, which onnxc does not support`);
    }
    const { dims, size } = tensorDims(msg.dims ?? [], what);
    if (msg.segment) throw new OnnxImportError(`${what} is a segment of a larger tensor, which onnxc does not support`);
    if (msg.data_location === 1) {
      const bytes = readExternal(msg, packedBytes(dtype, size), opts.baseDir, what);
      return { dtype, dims, data: fromRaw(dtype, bytes, size, what) } as Tensor;
    }
    if (dtype !== 'string' && msg.raw_data && msg.raw_data.length > 0) {
      return { dtype, dims, data: fromRaw(dtype, toBytes(msg.raw_data), size, what) } as Tensor;
    }
    return { dtype, dims, data: fromFields(dtype, msg, size, what) } as Tensor;
  } catch (e) {
    if (e instanceof OnnxcError) throw e;
    throw new OnnxImportError(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function toBytes(b: Uint8Array | number[]): Uint8Array {
  return b instanceof Uint8Array ? b : Uint8Array.from(b);
}

/** Little-endian raw bytes -> storage. Views share the bytes when aligned; float16/bfloat16/bool are converted,
 *  the sub-byte integers unpacked to a byte each. */
function fromRaw(dtype: DType, bytes: Uint8Array, n: number, what: string): TensorData {
  const width = byteSize(dtype);
  if (dtype === 'string') throw new OnnxImportError(`${what}: string tensors cannot use raw_data`);
  if (isSubByte(dtype)) {
    const need = packedBytes(dtype, n);
    if (bytes.length !== need) throw new OnnxImportError(`${what}: raw data has ${bytes.length} bytes, ${n} packed ${dtype} elements need ${need}`);
    return unpackSubByte(dtype, bytes, n);
  }
  if (bytes.length !== n * width) {
    throw new OnnxImportError(`${what}: raw data has ${bytes.length} bytes, dims need ${n} x ${width} = ${n * width}`);
  }
  const view = <T>(Ctor: { new (b: ArrayBufferLike, off: number, len: number): T; new (b: ArrayBufferLike): T; BYTES_PER_ELEMENT: number }): T => {
    if (LITTLE_ENDIAN && bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(bytes.buffer, bytes.byteOffset, n);
    // unaligned (or big-endian host): copy into a fresh buffer, swapping bytes on big-endian hosts
    const copy = new Uint8Array(bytes); // not bytes.slice(): on a Node Buffer that is a view
    if (!LITTLE_ENDIAN) for (let i = 0; i < n; i++) copy.subarray(i * width, (i + 1) * width).reverse();
    return new Ctor(copy.buffer, 0, n);
  };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'float32': return view(Float32Array);
    case 'float64': return view(Float64Array);
    case 'int8': return new Int8Array(bytes.buffer, bytes.byteOffset, n);
    case 'uint8': return new Uint8Array(bytes.buffer, bytes.byteOffset, n);
    case 'int16': return view(Int16Array);
    case 'uint16': return view(Uint16Array);
    case 'int32': return view(Int32Array);
    case 'uint32': return view(Uint32Array);
    case 'int64': return view(BigInt64Array);
    case 'uint64': return view(BigUint64Array);
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i] ? 1 : 0;
      return out;
    }
    case 'float16': case 'bfloat16': {
      const out = new Float32Array(n);
      const conv = dtype === 'float16' ? f16BitsToNumber : bf16BitsToNumber;
      for (let i = 0; i < n; i++) out[i] = conv(dv.getUint16(i * 2, true));
      return out;
    }
  }
}

/** The typed *_data fields -> storage (int32_data also carries the 8/16-bit types, bool and float16 bits). */
function fromFields(dtype: DType, msg: TensorProtoMsg, n: number, what: string): TensorData {
  const check = (have: number, field: string): void => {
    if (have !== n) throw new OnnxImportError(`${what}: ${field} has ${have} elements, dims need ${n}`);
  };
  switch (dtype) {
    case 'float32': check(msg.float_data.length, 'float_data'); return Float32Array.from(msg.float_data);
    case 'float64': check(msg.double_data.length, 'double_data'); return Float64Array.from(msg.double_data);
    case 'int32': check(msg.int32_data.length, 'int32_data'); return Int32Array.from(msg.int32_data);
    case 'int16': check(msg.int32_data.length, 'int32_data'); return Int16Array.from(msg.int32_data);
    case 'int8': check(msg.int32_data.length, 'int32_data'); return Int8Array.from(msg.int32_data);
    case 'uint16': check(msg.int32_data.length, 'int32_data'); return Uint16Array.from(msg.int32_data);
    case 'uint8': check(msg.int32_data.length, 'int32_data'); return Uint8Array.from(msg.int32_data);
    case 'bool': check(msg.int32_data.length, 'int32_data'); return Uint8Array.from(msg.int32_data, (v) => (v ? 1 : 0));
    case 'float16': check(msg.int32_data.length, 'int32_data'); return Float32Array.from(msg.int32_data, (v) => f16BitsToNumber(v & 0xffff));
    case 'bfloat16': check(msg.int32_data.length, 'int32_data'); return Float32Array.from(msg.int32_data, (v) => bf16BitsToNumber(v & 0xffff));
    case 'int64': check(msg.int64_data.length, 'int64_data'); return BigInt64Array.from(msg.int64_data, (v) => int64ToBigInt(v));
    case 'uint32': check(msg.uint64_data.length, 'uint64_data'); return Uint32Array.from(msg.uint64_data, (v) => Number(int64ToBigInt(v, true) & 0xffffffffn));
    case 'uint64': check(msg.uint64_data.length, 'uint64_data'); return BigUint64Array.from(msg.uint64_data, (v) => int64ToBigInt(v, true));
    case 'int4': case 'uint4': case 'int2': case 'uint2': {
      // packed as in raw data, one byte per int32_data entry
      const need = packedBytes(dtype, n);
      if (msg.int32_data.length !== need) throw new OnnxImportError(`${what}: int32_data has ${msg.int32_data.length} entries, ${n} packed ${dtype} elements need ${need}`);
      return unpackSubByte(dtype, msg.int32_data.map((v) => v & 0xff), n);
    }
    case 'string': {
      check(msg.string_data.length, 'string_data');
      const dec = new TextDecoder('utf-8');
      return msg.string_data.map((b) => dec.decode(toBytes(b)));
    }
  }
}

// ---- external data ------------------------------------------------------------------------------------

/** Resolve an external-data location inside `baseDir`, refusing absolute paths and anything (after following
 *  symlinks) outside the folder. */
export function resolveInside(baseDir: string, location: string, what: string): string {
  if (location === '' || isAbsolute(location) || /^[a-zA-Z]:/.test(location) || location.startsWith('\\')) {
    throw new OnnxImportError(`${what}: external data path '${location}' must be relative to the model's folder`);
  }
  if (location.split(/[\\/]/).includes('..')) {
    throw new OnnxImportError(`${what}: external data path '${location}' leaves the model's folder`);
  }
  let base: string;
  let full: string;
  try {
    base = realpathSync(baseDir);
    full = realpathSync(resolve(base, location));
  } catch (e) {
    throw new OnnxImportError(`${what}: cannot open external data '${location}': ${(e as Error).message}`);
  }
  const rel = relative(base, full);
  if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) {
    throw new OnnxImportError(`${what}: external data path '${location}' resolves outside the model's folder`);
  }
  return full;
}

function readExternal(msg: TensorProtoMsg, need: number, baseDir: string | undefined, what: string): Uint8Array {
  const entries = new Map(msg.external_data.map((e) => [e.key, e.value]));
  const location = entries.get('location');
  if (location === undefined) throw new OnnxImportError(`${what}: external data without a location`);
  if (baseDir === undefined) throw new OnnxImportError(`${what}: external data '${location}' needs the model's folder (load the model from a file)`);
  const parseInt64 = (key: string): number | undefined => {
    const v = entries.get(key);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v.trim())) throw new OnnxImportError(`${what}: external data ${key} '${v}' is not a non-negative integer`);
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new OnnxImportError(`${what}: external data ${key} ${v} is too large`);
    return n;
  };
  const offset = parseInt64('offset') ?? 0;
  const length = parseInt64('length');
  if (length !== undefined && length !== need) {
    throw new OnnxImportError(`${what}: external data length ${length} does not match the ${need} bytes its dims need`);
  }
  const path = resolveInside(baseDir, location, what);
  // regular files only, read no further than the region the dims need (never to a device's or FIFO's end)
  return readRegularFile(path, `${what}: external data '${location}'`, { offset, length: need });
}

// ---- encoding ----------------------------------------------------------------------------------------

/** A Tensor as a TensorProto plain object (field names as in onnx.proto): raw_data for numbers, string_data for strings. */
export function tensorProtoObject(t: Tensor, name: string): Record<string, unknown> {
  const base = { name, dims: [...t.dims], data_type: onnxCode(t.dtype) };
  if (t.dtype === 'string') {
    const enc = new TextEncoder();
    return { ...base, string_data: (t.data as string[]).map((s) => enc.encode(s)) };
  }
  return { ...base, raw_data: rawBytes(t) };
}

/** Little-endian bytes of a numeric tensor's elements (sub-byte integers packed). */
export function rawBytes(t: Tensor): Uint8Array {
  if (isSubByte(t.dtype)) return packSubByte(t.dtype, t.data as Int8Array | Uint8Array);
  const n = t.data.length;
  const out = new Uint8Array(n * byteSize(t.dtype));
  const dv = new DataView(out.buffer);
  const d = t.data;
  for (let i = 0; i < n; i++) {
    switch (t.dtype) {
      case 'float32': dv.setFloat32(i * 4, d[i] as number, true); break;
      case 'float64': dv.setFloat64(i * 8, d[i] as number, true); break;
      case 'float16': dv.setUint16(i * 2, numberToF16Bits(d[i] as number), true); break;
      case 'bfloat16': dv.setUint16(i * 2, numberToBf16Bits(d[i] as number), true); break;
      case 'int8': dv.setInt8(i, d[i] as number); break;
      case 'uint8': case 'bool': dv.setUint8(i, d[i] as number); break;
      case 'int16': dv.setInt16(i * 2, d[i] as number, true); break;
      case 'uint16': dv.setUint16(i * 2, d[i] as number, true); break;
      case 'int32': dv.setInt32(i * 4, d[i] as number, true); break;
      case 'uint32': dv.setUint32(i * 4, d[i] as number, true); break;
      case 'int64': dv.setBigInt64(i * 8, d[i] as bigint, true); break;
      case 'uint64': dv.setBigUint64(i * 8, d[i] as bigint, true); break;
      case 'string': throw new Error('rawBytes: string tensors have no raw form');
    }
  }
  return out;
}

/** Encode a Tensor as TensorProto bytes (the .pb files of the ONNX backend tests). */
export function encodeTensorProto(t: Tensor, name: string): Uint8Array {
  return encodeMessage('TensorProto', tensorProtoObject(t, name));
}

// ---- test-data files: TensorProto, SequenceProto, OptionalProto ----------------------------------------

/** Which message a test-data file holds. */
export type ValueKind = 'tensor' | 'sequence' | 'optional';

/** Decode a test-data value of a known kind (from the model's declared input/output type). */
export function readTestValue(bytes: Uint8Array, kind: ValueKind | ValueType, opts: TensorReadOptions = {}): RuntimeValue {
  const type = typeof kind === 'string' ? undefined : kind;
  const k = typeof kind === 'string' ? kind : kind.kind;
  switch (k) {
    case 'tensor': return decodeTensorProto(decodeMessage<TensorProtoMsg>('TensorProto', bytes), opts);
    case 'sequence': return sequenceValue(decodeMessage<SequenceProtoMsg>('SequenceProto', bytes), type, opts, 0);
    case 'optional': return optionalValue(decodeMessage<OptionalProtoMsg>('OptionalProto', bytes), type, opts, 0);
  }
}

const MAX_NESTING = 64;

function typeOfValue(v: RuntimeValue): ValueType {
  if (isTensor(v)) return { kind: 'tensor', dtype: v.dtype, shape: [...v.dims] };
  return v.kind === 'sequence' ? { kind: 'sequence', elem: v.elemType } : { kind: 'optional', elem: v.elemType };
}

/** The element type: the declared one when known, else that of the first item (a float32 tensor for an empty one). */
function elemTypeOf(declared: ValueType | undefined, items: readonly RuntimeValue[]): ValueType {
  if (declared && declared.kind !== 'tensor') return declared.elem;
  const first = items[0];
  if (first === undefined) return { kind: 'tensor', dtype: 'float32' };
  const t = typeOfValue(first);
  // a sequence's items may differ in shape: keep only the dtype for tensors
  return t.kind === 'tensor' ? { kind: 'tensor', dtype: t.dtype } : t;
}

function sequenceValue(msg: SequenceProtoMsg, type: ValueType | undefined, opts: TensorReadOptions, depth: number): SequenceValue {
  if (depth > MAX_NESTING) throw new OnnxImportError('sequence values nest too deeply');
  const elemDeclared = type?.kind === 'sequence' ? type.elem : undefined;
  let items: RuntimeValue[];
  switch (msg.elem_type) {
    case DataKind.TENSOR: case DataKind.UNDEFINED: items = msg.tensor_values.map((t) => decodeTensorProto(t, opts)); break;
    case DataKind.SEQUENCE: items = msg.sequence_values.map((s) => sequenceValue(s, elemDeclared, opts, depth + 1)); break;
    case DataKind.OPTIONAL: items = msg.optional_values.map((o) => optionalValue(o, elemDeclared, opts, depth + 1)); break;
    default: throw new UnsupportedTypeError(`sequence of element kind ${msg.elem_type} (sparse tensor or map) is not supported`);
  }
  return { kind: 'sequence', elemType: elemTypeOf(type, items), items };
}

function optionalValue(msg: OptionalProtoMsg, type: ValueType | undefined, opts: TensorReadOptions, depth: number): OptionalValue {
  if (depth > MAX_NESTING) throw new OnnxImportError('optional values nest too deeply');
  const elemDeclared = type?.kind === 'optional' ? type.elem : undefined;
  let value: RuntimeValue | undefined;
  if (msg.tensor_value) value = decodeTensorProto(msg.tensor_value, opts);
  else if (msg.sequence_value) value = sequenceValue(msg.sequence_value, elemDeclared, opts, depth + 1);
  else if (msg.optional_value) value = optionalValue(msg.optional_value, elemDeclared, opts, depth + 1);
  else if (msg.sparse_tensor_value || msg.map_value) throw new UnsupportedTypeError('optional of a sparse tensor or map is not supported');
  let elemType: ValueType;
  if (type?.kind === 'optional') elemType = type.elem;
  else if (value !== undefined) elemType = typeOfValue(value);
  else elemType = msg.elem_type === DataKind.SEQUENCE ? { kind: 'sequence', elem: { kind: 'tensor', dtype: 'float32' } } : { kind: 'tensor', dtype: 'float32' };
  return { kind: 'optional', elemType, value };
}

/** Guess which message a test-data file holds from its top-level field numbers: TensorProto files carry
 *  fields >= 8 (name, raw_data, ...) or dims/data_type only; Sequence/OptionalProto use fields 1-7 with field 1
 *  a string. Sequence and Optional of one tensor look the same; without a declared type we read a sequence. */
export function guessValueKind(bytes: Uint8Array): ValueKind {
  const fields = topLevelFields(bytes);
  if (fields === undefined) return 'tensor';
  const nums = [...fields.keys()];
  if (nums.some((f) => f >= 8)) return 'tensor';
  if (fields.get(1) !== undefined && fields.get(1)!.wire !== 2) return 'tensor';
  if (!fields.has(1) && !fields.has(3) && !fields.has(5) && !fields.has(7)) return 'tensor';
  // more than one field-3 entry is a sequence's tensor_values; an OptionalProto holds at most one
  const three = fields.get(3);
  if (three !== undefined && three.count > 1) return 'sequence';
  const five = fields.get(5);
  if (five !== undefined && five.count > 1) return 'sequence';
  return 'sequence';
}

function topLevelFields(bytes: Uint8Array): Map<number, { wire: number; count: number }> | undefined {
  const out = new Map<number, { wire: number; count: number }>();
  let pos = 0;
  const varint = (): number => {
    let x = 0; let shift = 0;
    for (;;) {
      if (pos >= bytes.length || shift > 63) throw new Error('truncated');
      const b = bytes[pos++]!;
      x += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return x;
      shift += 7;
    }
  };
  try {
    while (pos < bytes.length) {
      const tag = varint();
      const field = Math.floor(tag / 8); const wire = tag & 7;
      if (wire === 0) varint();
      else if (wire === 1) pos += 8;
      else if (wire === 2) { const len = varint(); pos += len; }
      else if (wire === 5) pos += 4;
      else return undefined;
      if (pos > bytes.length) return undefined;
      const e = out.get(field);
      if (e) e.count++; else out.set(field, { wire, count: 1 });
    }
  } catch {
    return undefined;
  }
  return out;
}

/** Read a test-data file holding a TensorProto. */
export function readTensorFile(path: string, opts: TensorReadOptions = {}): Tensor {
  const v = readTestValue(readBytes(path), 'tensor', opts);
  if (!isTensor(v)) throw new OnnxImportError(`${path} does not hold a tensor`);
  return v;
}

/** Read a test-data file holding a TensorProto, SequenceProto or OptionalProto; `type` (the model's declared
 *  type for this value) settles what the file holds, else it is guessed from its fields. */
export function readValueFile(path: string, type?: ValueType, opts: TensorReadOptions = {}): RuntimeValue {
  const bytes = readBytes(path);
  try {
    return readTestValue(bytes, type ?? guessValueKind(bytes), opts);
  } catch (e) {
    if (e instanceof OnnxcError) throw e.at({ model: path });
    throw e;
  }
}

function readBytes(path: string): Uint8Array {
  return readRegularFile(path, path);
}
