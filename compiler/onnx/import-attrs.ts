// Reading ONNX TypeProto, AttributeProto and SparseTensorProto into IR types, attributes and dense tensors.

import { OnnxImportError, UnsupportedTypeError } from '../../ir/errors.js';
import { dtypeFromOnnx, onnxTypeName } from '../../ir/dtype.js';
import type { Attr, Graph } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { allocate, sizeOf } from '../../ir/tensor.js';
import type { Dim, ValueType } from '../../ir/types.js';
import type { AttributeProtoMsg, GraphProtoMsg, SparseTensorProtoMsg, TypeProtoMsg } from './proto.js';
import { AttrType, int64ToBigInt } from './proto.js';
import { decodeTensorProto, tensorDims, type TensorReadOptions } from './tensor-proto.js';

/** Names unknown dims and substitutes user-given sizes for named ones. */
export class DimNamer {
  private n = 0;
  constructor(private readonly given: Readonly<Record<string, number>> = {}) {}
  named(param: string): Dim {
    const v = this.given[param];
    return v !== undefined ? v : param;
  }
  fresh(): Dim {
    return `?${++this.n}`;
  }
}

const MAX_TYPE_DEPTH = 32;

/** A TypeProto as a ValueType. Unknown rank (no shape) stays undefined; unknown dims get fresh symbols. */
export function valueTypeFromProto(tp: TypeProtoMsg, what: string, dims: DimNamer, depth = 0): ValueType {
  if (depth > MAX_TYPE_DEPTH) throw new OnnxImportError(`${what}: type nests too deeply`);
  if (tp.tensor_type) {
    const tt = tp.tensor_type;
    if (!tt.elem_type) throw new OnnxImportError(`${what}: tensor type has no element type`);
    let dtype;
    try {
      dtype = dtypeFromOnnx(tt.elem_type);
    } catch {
      throw new UnsupportedTypeError(`${what} has element type ${onnxTypeName(tt.elem_type)}, which onnxc does not support`);
    }
    if (!tt.shape) return { kind: 'tensor', dtype };
    const shape: Dim[] = tt.shape.dim.map((d) => {
      if (d.dim_param) return dims.named(d.dim_param);
      if (d.dim_value !== null && d.dim_value !== undefined && d.value === 'dim_value') {
        const v = int64ToBigInt(d.dim_value);
        // some exporters write -1 for "unknown"; treat any negative size that way
        if (v < 0n) return dims.fresh();
        if (v > 2n ** 31n) throw new OnnxImportError(`${what}: dim ${v} is too large`);
        return Number(v);
      }
      return dims.fresh();
    });
    return { kind: 'tensor', dtype, shape };
  }
  if (tp.sequence_type) {
    if (!tp.sequence_type.elem_type) throw new OnnxImportError(`${what}: sequence type has no element type`);
    return { kind: 'sequence', elem: valueTypeFromProto(tp.sequence_type.elem_type, what, dims, depth + 1) };
  }
  if (tp.optional_type) {
    if (!tp.optional_type.elem_type) throw new OnnxImportError(`${what}: optional type has no element type`);
    return { kind: 'optional', elem: valueTypeFromProto(tp.optional_type.elem_type, what, dims, depth + 1) };
  }
  if (tp.map_type) throw new UnsupportedTypeError(`${what} is a map, which onnxc does not support`);
  if (tp.sparse_tensor_type) throw new UnsupportedTypeError(`${what} is a sparse tensor, which onnxc does not support`);
  if (tp.opaque_type) throw new UnsupportedTypeError(`${what} has an opaque type, which onnxc does not support`);
  throw new OnnxImportError(`${what} has an empty type`);
}

/** A type that says nothing (`type: {}`, a tensor type without an element type, a sequence/optional of such):
 *  spox and PyTorch write these for If/Loop outputs, and onnxruntime infers them, so the importer leaves them to
 *  inference instead of refusing the model. */
export function isEmptyType(tp: TypeProtoMsg | null | undefined): boolean {
  if (!tp) return true;
  if (tp.tensor_type) return !tp.tensor_type.elem_type;
  if (tp.sequence_type) return isEmptyType(tp.sequence_type.elem_type);
  if (tp.optional_type) return isEmptyType(tp.optional_type.elem_type);
  return !tp.map_type && !tp.sparse_tensor_type && !tp.opaque_type;
}

/** Largest dense tensor (elements) a sparse one may expand to. */
const MAX_DENSE = 1 << 26;

/** A SparseTensorProto as a dense tensor (indices are linear [NNZ] or coordinates [NNZ, rank]). */
export function densify(sp: SparseTensorProtoMsg, opts: TensorReadOptions, what: string): Tensor {
  if (!sp.values || !sp.indices) throw new OnnxImportError(`${what}: sparse tensor needs values and indices`);
  const values = decodeTensorProto(sp.values, opts);
  const indices = decodeTensorProto(sp.indices, opts);
  const { dims, size } = tensorDims(sp.dims, what);
  // a few bytes of sparse tensor can claim a huge dense one: refuse before allocating
  if (size > MAX_DENSE) throw new OnnxImportError(`${what}: densifying gives ${size} elements, more than the ${MAX_DENSE} onnxc accepts`);
  if (values.dims.length !== 1) throw new OnnxImportError(`${what}: sparse values must be 1-D`);
  const nnz = values.dims[0]!;
  if (indices.dtype !== 'int64') throw new OnnxImportError(`${what}: sparse indices must be int64`);
  const linear = indices.dims.length === 1;
  if (!(linear && indices.dims[0] === nnz) && !(indices.dims.length === 2 && indices.dims[0] === nnz && indices.dims[1] === dims.length)) {
    throw new OnnxImportError(`${what}: sparse indices of dims [${indices.dims.join(',')}] do not fit ${nnz} values of a rank-${dims.length} tensor`);
  }
  const data = allocate(values.dtype, size);
  const idx = indices.data as BigInt64Array;
  for (let k = 0; k < nnz; k++) {
    let pos = 0;
    if (linear) pos = Number(idx[k]!);
    else for (let r = 0; r < dims.length; r++) {
      const c = Number(idx[k * dims.length + r]!);
      if (c < 0 || c >= dims[r]!) throw new OnnxImportError(`${what}: sparse index ${c} out of range for dim ${r}`);
      pos = pos * dims[r]! + c;
    }
    if (!(pos >= 0 && pos < size)) throw new OnnxImportError(`${what}: sparse index ${pos} out of range for ${size} elements`);
    (data as unknown as unknown[])[pos] = (values.data as unknown as unknown[])[k];
  }
  if (sizeOf(dims) !== size) throw new OnnxImportError(`${what}: inconsistent sparse dims`);
  return { dtype: values.dtype, dims, data } as Tensor;
}

/** Integer attributes are JS numbers: values beyond 2^53 (INT64_MAX as "to the end" in Slice) become the
 *  nearest double that still fits int64, which every op treats as "huge" anyway. */
const attrInt = (v: Parameters<typeof int64ToBigInt>[0]): number => {
  const x = Number(int64ToBigInt(v));
  // INT64_MAX rounds up to 2^63, which no longer fits int64 when an op turns it back into a bigint
  return x >= 2 ** 63 ? INT64_MAX_AS_NUMBER : x;
};
/** The largest double that is a valid int64 (2^63 - 1024). */
const INT64_MAX_AS_NUMBER = 2 ** 63 - 1024;

const utf8 = new TextDecoder('utf-8');
const str = (b: Uint8Array | number[] | undefined): string => (b ? utf8.decode(b instanceof Uint8Array ? b : Uint8Array.from(b)) : '');

/** Which field an attribute uses when `type` is absent (models from before IR version 2 set no type). */
function guessAttrType(a: AttributeProtoMsg): number {
  if (a.floats.length) return AttrType.FLOATS;
  if (a.ints.length) return AttrType.INTS;
  if (a.strings.length) return AttrType.STRINGS;
  if (a.tensors.length) return AttrType.TENSORS;
  if (a.graphs.length) return AttrType.GRAPHS;
  if (a.t) return AttrType.TENSOR;
  if (a.g) return AttrType.GRAPH;
  if (a.s && a.s.length) return AttrType.STRING;
  if (a.tp) return AttrType.TYPE_PROTO;
  if (a.sparse_tensor) return AttrType.SPARSE_TENSOR;
  const i = int64ToBigInt(a.i);
  if (i !== 0n) return AttrType.INT;
  if (a.f !== 0) return AttrType.FLOAT;
  // every field at its default: a zero, which converts to whichever numeric kind the op declares
  return AttrType.INT;
}

export interface AttrReadContext {
  readonly tensorOpts: TensorReadOptions;
  readonly dims: DimNamer;
  /** Import a subgraph held by this attribute. */
  subgraph(g: GraphProtoMsg, attrName: string): Graph;
}

/** An AttributeProto as an IR attribute (sparse tensors are densified). */
export function attrFromProto(a: AttributeProtoMsg, ctx: AttrReadContext): Attr {
  const what = `attribute '${a.name}'`;
  const type = a.type || guessAttrType(a);
  const tensor = (t: NonNullable<AttributeProtoMsg['t']>): Tensor => decodeTensorProto(t, { ...ctx.tensorOpts, name: t.name || a.name });
  switch (type) {
    case AttrType.FLOAT: return { kind: 'float', value: a.f };
    case AttrType.INT: return { kind: 'int', value: attrInt(a.i) };
    case AttrType.STRING: return { kind: 'string', value: str(a.s) };
    case AttrType.TENSOR:
      if (!a.t) throw new OnnxImportError(`${what} of type TENSOR has no tensor`);
      return { kind: 'tensor', value: tensor(a.t) };
    case AttrType.GRAPH:
      if (!a.g) throw new OnnxImportError(`${what} of type GRAPH has no graph`);
      return { kind: 'graph', value: ctx.subgraph(a.g, a.name) };
    case AttrType.FLOATS: return { kind: 'floats', value: [...a.floats] };
    case AttrType.INTS: return { kind: 'ints', value: a.ints.map(attrInt) };
    case AttrType.STRINGS: return { kind: 'strings', value: a.strings.map(str) };
    case AttrType.TENSORS: return { kind: 'tensors', value: a.tensors.map(tensor) };
    case AttrType.GRAPHS: return { kind: 'graphs', value: a.graphs.map((g) => ctx.subgraph(g, a.name)) };
    case AttrType.SPARSE_TENSOR:
      if (!a.sparse_tensor) throw new OnnxImportError(`${what} of type SPARSE_TENSOR has no tensor`);
      return { kind: 'tensor', value: densify(a.sparse_tensor, ctx.tensorOpts, what) };
    case AttrType.SPARSE_TENSORS: return { kind: 'tensors', value: a.sparse_tensors.map((s) => densify(s, ctx.tensorOpts, what)) };
    case AttrType.TYPE_PROTO:
      if (!a.tp) throw new OnnxImportError(`${what} of type TYPE_PROTO has no type`);
      return { kind: 'type', value: valueTypeFromProto(a.tp, what, ctx.dims) };
    case AttrType.TYPE_PROTOS: return { kind: 'types', value: a.type_protos.map((t) => valueTypeFromProto(t, what, ctx.dims)) };
    default: throw new OnnxImportError(`${what} has unknown attribute type ${type}`);
  }
}

/** Convert an attribute to the kind an op's schema declares, when that loses nothing (INT 1 for FLOAT 1.0,
 *  FLOAT 2.0 for INT 2, a single INT for INTS); undefined when it cannot. */
export function coerceAttr(a: Attr, kind: Attr['kind']): Attr | undefined {
  if (a.kind === kind) return a;
  const isInt = (x: number): boolean => Number.isSafeInteger(x);
  if (kind === 'float' && a.kind === 'int') return { kind: 'float', value: a.value };
  if (kind === 'int' && a.kind === 'float' && isInt(a.value)) return { kind: 'int', value: a.value };
  if (kind === 'floats' && a.kind === 'ints') return { kind: 'floats', value: [...a.value] };
  if (kind === 'ints' && a.kind === 'floats' && a.value.every(isInt)) return { kind: 'ints', value: [...a.value] };
  if (kind === 'ints' && a.kind === 'int') return { kind: 'ints', value: [a.value] };
  if (kind === 'floats' && (a.kind === 'float' || a.kind === 'int')) return { kind: 'floats', value: [a.value] };
  if (kind === 'strings' && a.kind === 'string') return { kind: 'strings', value: [a.value] };
  if (kind === 'tensors' && a.kind === 'tensor') return { kind: 'tensors', value: [a.value] };
  if (kind === 'graphs' && a.kind === 'graph') return { kind: 'graphs', value: [a.value] };
  // an empty list has no element type on the wire: protobuf cannot tell INTS [] from FLOATS []
  if ((a.kind === 'ints' || a.kind === 'floats' || a.kind === 'strings') && a.value.length === 0 &&
      (kind === 'ints' || kind === 'floats' || kind === 'strings' || kind === 'tensors' || kind === 'graphs' || kind === 'types')) {
    return { kind, value: [] } as Attr;
  }
  return undefined;
}
