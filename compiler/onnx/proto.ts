// The ONNX protobuf schema (IR versions 3-10, onnx.proto + onnx-data.proto), written out from the ONNX spec and
// loaded with protobufjs reflection, plus decoding that turns every protobuf failure into an OnnxImportError.

import protobuf from 'protobufjs';
import { OnnxImportError } from '../../ir/errors.js';

// Field numbers follow onnx/onnx.proto. Repeated numeric tensor fields are declared packed as ONNX does;
// protobufjs decodes both packed and unpacked encodings regardless.
const SCHEMA = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; SPARSE_TENSOR = 11; TYPE_PROTO = 13;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10; SPARSE_TENSORS = 12; TYPE_PROTOS = 14;
  }
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  optional SparseTensorProto sparse_tensor = 22;
  optional TypeProto tp = 14;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  repeated SparseTensorProto sparse_tensors = 23;
  repeated TypeProto type_protos = 15;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
  repeated StringStringEntryProto metadata_props = 4;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  optional string overload = 8;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  repeated StringStringEntryProto metadata_props = 9;
}

message TrainingInfoProto {
  optional GraphProto initialization = 1;
  optional GraphProto algorithm = 2;
  repeated StringStringEntryProto initialization_binding = 3;
  repeated StringStringEntryProto update_binding = 4;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
  repeated TrainingInfoProto training_info = 20;
  repeated FunctionProto functions = 25;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message TensorAnnotation {
  optional string tensor_name = 1;
  repeated StringStringEntryProto quant_parameter_tensor_names = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated SparseTensorProto sparse_initializer = 15;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
  repeated TensorAnnotation quantization_annotation = 14;
  repeated StringStringEntryProto metadata_props = 16;
}

message TensorProto {
  message Segment {
    optional int64 begin = 1;
    optional int64 end = 2;
  }
  enum DataLocation { DEFAULT = 0; EXTERNAL = 1; }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional Segment segment = 3;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  optional DataLocation data_location = 14;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
  repeated StringStringEntryProto metadata_props = 16;
}

message SparseTensorProto {
  optional TensorProto values = 1;
  optional TensorProto indices = 2;
  repeated int64 dims = 3;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  message Sequence {
    optional TypeProto elem_type = 1;
  }
  message Map {
    optional int32 key_type = 1;
    optional TypeProto value_type = 2;
  }
  message Optional {
    optional TypeProto elem_type = 1;
  }
  message SparseTensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  message Opaque {
    optional string domain = 1;
    optional string name = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
    Sequence sequence_type = 4;
    Map map_type = 5;
    Optional optional_type = 9;
    SparseTensor sparse_tensor_type = 8;
    Opaque opaque_type = 7;
  }
  optional string denotation = 6;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message FunctionProto {
  optional string name = 1;
  repeated string input = 4;
  repeated string output = 5;
  repeated string attribute = 6;
  repeated AttributeProto attribute_proto = 11;
  repeated NodeProto node = 7;
  optional string doc_string = 8;
  repeated OperatorSetIdProto opset_import = 9;
  optional string domain = 10;
  optional string overload = 13;
  repeated ValueInfoProto value_info = 12;
  repeated StringStringEntryProto metadata_props = 14;
}

message SequenceProto {
  enum DataType { UNDEFINED = 0; TENSOR = 1; SPARSE_TENSOR = 2; SEQUENCE = 3; MAP = 4; OPTIONAL = 5; }
  optional string name = 1;
  optional int32 elem_type = 2;
  repeated TensorProto tensor_values = 3;
  repeated SparseTensorProto sparse_tensor_values = 4;
  repeated SequenceProto sequence_values = 5;
  repeated MapProto map_values = 6;
  repeated OptionalProto optional_values = 7;
}

message MapProto {
  optional string name = 1;
  optional int32 key_type = 2;
  repeated int64 keys = 3;
  repeated bytes string_keys = 4;
  optional SequenceProto values = 5;
}

message OptionalProto {
  enum DataType { UNDEFINED = 0; TENSOR = 1; SPARSE_TENSOR = 2; SEQUENCE = 3; MAP = 4; OPTIONAL = 5; }
  optional string name = 1;
  optional int32 elem_type = 2;
  optional TensorProto tensor_value = 3;
  optional SparseTensorProto sparse_tensor_value = 4;
  optional SequenceProto sequence_value = 5;
  optional MapProto map_value = 6;
  optional OptionalProto optional_value = 7;
}
`;

// ---- decoded message shapes (only what onnxc reads; protobufjs fills absent scalars with defaults) --------

/** An int64 as protobufjs decodes it: a Long when long.js is present, else a number. */
export type Int64 = number | { low: number; high: number; unsigned?: boolean; toString(): string };

export interface StringStringEntry { key: string; value: string }
export interface OperatorSetId { domain: string; version: Int64 }

export interface TensorProtoMsg {
  dims: Int64[];
  data_type: number;
  segment?: { begin: Int64; end: Int64 } | null;
  float_data: number[];
  int32_data: number[];
  string_data: Uint8Array[];
  int64_data: Int64[];
  name: string;
  raw_data: Uint8Array;
  external_data: StringStringEntry[];
  data_location: number;
  double_data: number[];
  uint64_data: Int64[];
}
export interface SparseTensorProtoMsg { values?: TensorProtoMsg | null; indices?: TensorProtoMsg | null; dims: Int64[] }

export interface DimensionMsg { dim_value?: Int64 | null; dim_param?: string | null; value?: string }
export interface TypeProtoMsg {
  tensor_type?: { elem_type: number; shape?: { dim: DimensionMsg[] } | null } | null;
  sequence_type?: { elem_type?: TypeProtoMsg | null } | null;
  map_type?: { key_type: number; value_type?: TypeProtoMsg | null } | null;
  optional_type?: { elem_type?: TypeProtoMsg | null } | null;
  sparse_tensor_type?: { elem_type: number } | null;
  opaque_type?: { domain: string; name: string } | null;
  value?: string;
}
export interface ValueInfoMsg { name: string; type?: TypeProtoMsg | null }

export interface AttributeProtoMsg {
  name: string;
  ref_attr_name: string;
  type: number;
  f: number;
  i: Int64;
  s: Uint8Array;
  t?: TensorProtoMsg | null;
  g?: GraphProtoMsg | null;
  sparse_tensor?: SparseTensorProtoMsg | null;
  tp?: TypeProtoMsg | null;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  tensors: TensorProtoMsg[];
  graphs: GraphProtoMsg[];
  sparse_tensors: SparseTensorProtoMsg[];
  type_protos: TypeProtoMsg[];
}

export interface NodeProtoMsg {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  domain: string;
  overload: string;
  attribute: AttributeProtoMsg[];
}

export interface GraphProtoMsg {
  node: NodeProtoMsg[];
  name: string;
  initializer: TensorProtoMsg[];
  sparse_initializer: SparseTensorProtoMsg[];
  doc_string: string;
  input: ValueInfoMsg[];
  output: ValueInfoMsg[];
  value_info: ValueInfoMsg[];
}

export interface FunctionProtoMsg {
  name: string;
  input: string[];
  output: string[];
  attribute: string[];
  attribute_proto: AttributeProtoMsg[];
  node: NodeProtoMsg[];
  opset_import: OperatorSetId[];
  domain: string;
  overload: string;
  value_info: ValueInfoMsg[];
}

export interface ModelProtoMsg {
  ir_version: Int64;
  opset_import: OperatorSetId[];
  producer_name: string;
  producer_version: string;
  domain: string;
  doc_string: string;
  graph?: GraphProtoMsg | null;
  metadata_props: StringStringEntry[];
  functions: FunctionProtoMsg[];
}

export interface SequenceProtoMsg {
  name: string;
  elem_type: number;
  tensor_values: TensorProtoMsg[];
  sparse_tensor_values: SparseTensorProtoMsg[];
  sequence_values: SequenceProtoMsg[];
  map_values: unknown[];
  optional_values: OptionalProtoMsg[];
}
export interface OptionalProtoMsg {
  name: string;
  elem_type: number;
  tensor_value?: TensorProtoMsg | null;
  sparse_tensor_value?: SparseTensorProtoMsg | null;
  sequence_value?: SequenceProtoMsg | null;
  map_value?: unknown;
  optional_value?: OptionalProtoMsg | null;
}

/** SequenceProto/OptionalProto elem_type codes (onnx-data.proto). */
export const DataKind = { UNDEFINED: 0, TENSOR: 1, SPARSE_TENSOR: 2, SEQUENCE: 3, MAP: 4, OPTIONAL: 5 } as const;

/** AttributeProto.AttributeType codes. */
export const AttrType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9,
  GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

// ---- loading and decoding ------------------------------------------------------------------------------

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;

export type MessageName =
  | 'ModelProto' | 'GraphProto' | 'NodeProto' | 'TensorProto' | 'SequenceProto' | 'OptionalProto'
  | 'FunctionProto' | 'AttributeProto' | 'TypeProto' | 'ValueInfoProto' | 'MapProto';

export function messageType(name: MessageName): protobuf.Type {
  return root.lookupType(`onnx.${name}`);
}

/** Decode bytes as one ONNX message. Any protobuf failure (truncation, bad wire type, nesting too deep for the
 *  stack) becomes an OnnxImportError naming what was being read. */
export function decodeMessage<T>(name: MessageName, bytes: Uint8Array, what = name): T {
  try {
    return messageType(name).decode(bytes) as unknown as T;
  } catch (e) {
    throw new OnnxImportError(`cannot decode ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Encode a plain object (field names as in onnx.proto) as one ONNX message. */
export function encodeMessage(name: MessageName, value: object): Uint8Array {
  const type = messageType(name);
  return type.encode(type.fromObject(value as Record<string, unknown>)).finish();
}

/** An int64 field as a bigint, exactly. */
export function int64ToBigInt(v: Int64 | null | undefined, unsigned = false): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'string') return BigInt(v);
  const b = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return unsigned ? BigInt.asUintN(64, b) : BigInt.asIntN(64, b);
}

/** An int64 field as a number; OnnxImportError when it is not exactly representable. */
export function int64ToNumber(v: Int64 | null | undefined, what: string): number {
  const b = int64ToBigInt(v);
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new OnnxImportError(`${what} ${b} is out of range`);
  }
  return Number(b);
}

/** A copy of a decoded message with some fields replaced. Decoded messages keep their scalar defaults on the
 *  prototype, so a plain object spread would lose them. */
export function patch<T extends object>(msg: T, fields: Partial<T>): T {
  return Object.assign(Object.create(Object.getPrototypeOf(msg) as object) as T, msg, fields);
}
