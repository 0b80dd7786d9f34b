// The ONNX exporter: IR Model -> ModelProto bytes at one ai.onnx opset, loadable by onnxruntime (used to
// compare onnxc against onnxruntime on the IR after passes, and to write example models).

import { onnxCode } from '../../ir/dtype.js';
import type { Attr, Graph, Model } from '../../ir/graph.js';
import { assertNever } from '../../ir/errors.js';
import type { Dim, ValueType } from '../../ir/types.js';
import { encodeMessage, AttrType } from './proto.js';
import { tensorProtoObject } from './tensor-proto.js';
import { decomposeOnnxcOps } from '../../ops/fused/decompose-graph.js';

/** The highest ai.onnx opset onnxruntime-node 1.30 loads (27 and 28 are refused; found by trying). The IR holds
 *  ops in their latest form (Cast's round_mode, QuantizeLinear's precision ...), which older opsets reject. */
export const EXPORT_OPSET = 26;
/** The IR version that opset 26 requires. */
export const EXPORT_IR_VERSION = 13;

export interface ExportOptions {
  /** ai.onnx opset to declare (default EXPORT_OPSET). Ops are always written in their latest form. */
  opset?: number;
  /** IR version to declare (default EXPORT_IR_VERSION). */
  irVersion?: number;
  producer?: string;
}

type Obj = Record<string, unknown>;
const utf8 = new TextEncoder();

/** Serialise a model as ONNX ModelProto bytes. */
export function exportModel(model: Model, opts: ExportOptions = {}): Uint8Array {
  const proto: Obj = {
    ir_version: opts.irVersion ?? EXPORT_IR_VERSION,
    opset_import: [{ domain: '', version: opts.opset ?? EXPORT_OPSET }],
    producer_name: opts.producer ?? 'onnxc',
    producer_version: '0.1.0',
    // onnxc.* ops (fusion, layout) are written as the standard ops they stand for, so onnxruntime runs any stage.
    graph: graphProto(decomposeOnnxcOps(model.graph)),
    metadata_props: Object.entries(model.info.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  if (model.info.docString) proto['doc_string'] = model.info.docString;
  return encodeMessage('ModelProto', proto);
}

/** Symbols inference made up ('?3', 'd?7') say only "unknown": written as dims with neither value nor param, so
 *  onnxruntime does not treat two of them as equal. Names the model chose ('batch') are kept. */
function dimProto(d: Dim): Obj {
  if (typeof d === 'number') return { dim_value: d };
  return d.includes('?') ? {} : { dim_param: d };
}

export function typeProto(t: ValueType): Obj {
  switch (t.kind) {
    case 'tensor': {
      const tensor: Obj = { elem_type: onnxCode(t.dtype) };
      if (t.shape) tensor['shape'] = { dim: t.shape.map(dimProto) };
      return { tensor_type: tensor };
    }
    case 'sequence': return { sequence_type: { elem_type: typeProto(t.elem) } };
    case 'optional': return { optional_type: { elem_type: typeProto(t.elem) } };
    default: return assertNever(t, 'value type');
  }
}

function valueInfo(name: string, t: ValueType | undefined): Obj {
  return t ? { name, type: typeProto(t) } : { name };
}

function graphProto(g: Graph): Obj {
  const listed = new Set<string>([...g.inputs, ...g.outputs, ...g.initializers.keys()]);
  const valueInfos: Obj[] = [];
  for (const [name, t] of g.types) if (!listed.has(name)) valueInfos.push(valueInfo(name, t));
  return {
    name: g.name || 'graph',
    node: g.nodes.map((n) => ({
      name: n.name,
      op_type: n.op,
      domain: '',
      input: [...n.inputs],
      output: [...n.outputs],
      attribute: Object.entries(n.attrs).map(([name, a]) => attrProto(name, a)),
    })),
    initializer: [...g.initializers].map(([name, t]) => tensorProtoObject(t, name)),
    input: g.inputs.map((name) => valueInfo(name, g.types.get(name))),
    output: g.outputs.map((name) => valueInfo(name, g.types.get(name))),
    value_info: valueInfos,
  };
}

function attrProto(name: string, a: Attr): Obj {
  switch (a.kind) {
    case 'int': return { name, type: AttrType.INT, i: a.value };
    case 'float': return { name, type: AttrType.FLOAT, f: a.value };
    case 'string': return { name, type: AttrType.STRING, s: utf8.encode(a.value) };
    case 'tensor': return { name, type: AttrType.TENSOR, t: tensorProtoObject(a.value, name) };
    case 'graph': return { name, type: AttrType.GRAPH, g: graphProto(a.value) };
    case 'type': return { name, type: AttrType.TYPE_PROTO, tp: typeProto(a.value) };
    case 'ints': return { name, type: AttrType.INTS, ints: [...a.value] };
    case 'floats': return { name, type: AttrType.FLOATS, floats: [...a.value] };
    case 'strings': return { name, type: AttrType.STRINGS, strings: a.value.map((s) => utf8.encode(s)) };
    case 'tensors': return { name, type: AttrType.TENSORS, tensors: a.value.map((t) => tensorProtoObject(t, name)) };
    case 'graphs': return { name, type: AttrType.GRAPHS, graphs: a.value.map((sg) => graphProto(sg)) };
    case 'types': return { name, type: AttrType.TYPE_PROTOS, type_protos: a.value.map(typeProto) };
    default: return assertNever(a, 'attribute');
  }
}
