// Tiny ModelProto builders for importer tests: plain objects with onnx.proto field names, encoded by protobufjs.

import { encodeMessage } from '../../compiler/onnx/proto.js';
import { tensorProtoObject } from '../../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../../ir/tensor.js';

export type Obj = Record<string, unknown>;

/** A tensor ValueInfoProto: dims are numbers (dim_value), strings (dim_param) or null (unknown). */
export function vi(name: string, elemType = 1, dims?: (number | string | null)[]): Obj {
  const tensor: Obj = { elem_type: elemType };
  if (dims) tensor['shape'] = { dim: dims.map((d) => (d === null ? {} : typeof d === 'number' ? { dim_value: d } : { dim_param: d })) };
  return { name, type: { tensor_type: tensor } };
}

export function node(op: string, inputs: string[], outputs: string[], attribute: Obj[] = [], extra: Obj = {}): Obj {
  return { op_type: op, input: inputs, output: outputs, attribute, ...extra };
}

export const attrI = (name: string, i: number): Obj => ({ name, type: 2, i });
export const attrF = (name: string, f: number): Obj => ({ name, type: 1, f });
export const attrInts = (name: string, ints: number[]): Obj => ({ name, type: 7, ints });
export const attrT = (name: string, t: Tensor): Obj => ({ name, type: 4, t: tensorProtoObject(t, '') });
export const attrG = (name: string, g: Obj): Obj => ({ name, type: 5, g });
export const attrRef = (name: string, ref: string, type: number): Obj => ({ name, ref_attr_name: ref, type });

export function graph(nodes: Obj[], inputs: Obj[], outputs: Obj[], initializers: [string, Tensor][] = [], extra: Obj = {}): Obj {
  return {
    name: 'g', node: nodes, input: inputs, output: outputs,
    initializer: initializers.map(([n, t]) => tensorProtoObject(t, n)), ...extra,
  };
}

export function model(g: Obj, opts: { opset?: number; ir?: number; functions?: Obj[]; opsets?: Obj[] } = {}): Uint8Array {
  return encodeMessage('ModelProto', {
    ir_version: opts.ir ?? 8,
    opset_import: opts.opsets ?? [{ domain: '', version: opts.opset ?? 17 }],
    producer_name: 'test',
    graph: g,
    functions: opts.functions ?? [],
  });
}
