// How an op is declared: its attributes (with ONNX defaults) as data, its arity, shape/type inference, its
// exact reference semantics, and how older opset forms are rewritten to the current one at import.
//
// An OpDef is one object per ai.onnx op. Backends other than the reference own their own kernel tables.

import type { Attr, Graph, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim, TensorType, ValueType } from '../ir/types.js';
import type { RuntimeValue } from '../ir/value.js';

// ---- attribute schema -------------------------------------------------------------------------------

export type AttrValueOf = {
  int: number; float: number; string: string; tensor: Tensor; graph: Graph; type: ValueType;
  ints: readonly number[]; floats: readonly number[]; strings: readonly string[];
  tensors: readonly Tensor[]; graphs: readonly Graph[]; types: readonly ValueType[];
};

/** One attribute's declaration. `present: true` means the value is always there after import
 *  (it has a default or is required); otherwise the kernel sees `undefined` when the model omits it. */
export interface AttrSpec<K extends keyof AttrValueOf = keyof AttrValueOf, P extends boolean = boolean> {
  readonly kind: K;
  readonly default?: AttrValueOf[K];
  readonly required?: boolean;
  /** phantom, for typing only */
  readonly present?: P;
}

export type AttrSchema = Readonly<Record<string, AttrSpec>>;

export type AttrsOf<S extends AttrSchema> = {
  readonly [N in keyof S]: S[N] extends AttrSpec<infer K, infer P>
    ? P extends true ? AttrValueOf[K] : AttrValueOf[K] | undefined
    : never;
};

function spec<K extends keyof AttrValueOf>(kind: K) {
  function make(): AttrSpec<K, false>;
  function make(dflt: AttrValueOf[K]): AttrSpec<K, true>;
  function make(dflt?: AttrValueOf[K]): AttrSpec<K, boolean> {
    return dflt === undefined ? { kind } : { kind, default: dflt };
  }
  return Object.assign(make, {
    /** An attribute the model must give; import fails without it. */
    required: (): AttrSpec<K, true> => ({ kind, required: true }),
  });
}

/** Attribute declarations: `int(1)` has default 1; `int()` may be absent; `int.required()` must be given. */
export const attr = {
  int: spec('int'), float: spec('float'), string: spec('string'), tensor: spec('tensor'), graph: spec('graph'),
  type: spec('type'), ints: spec('ints'), floats: spec('floats'), strings: spec('strings'),
  tensors: spec('tensors'), graphs: spec('graphs'), types: spec('types'),
};

// ---- contexts ---------------------------------------------------------------------------------------

export interface InferContext<A> {
  readonly node: Node;
  readonly attrs: A;
  /** Input types; undefined for an omitted optional input. */
  readonly inputs: readonly (ValueType | undefined)[];
  /** The value of input i when it is a known constant (initializer or folded), else undefined. */
  constant(i: number): Tensor | undefined;
  /** The value of a 0-D/1-D integer input (a shape being computed) when each element is known as a number or
   *  a symbolic dim: `Shape(x)` of x: [batch, 3] gives ['batch', 3]. Undefined when unknown. */
  shapeValue(i: number): readonly Dim[] | undefined;
  /** Number of outputs the node declares (some optional outputs may be '' names). */
  readonly numOutputs: number;
  /** Infer a subgraph's output types given its input types (outer-scope values visible). */
  inferSubgraph(graph: Graph, inputTypes: readonly (ValueType | undefined)[]): ValueType[];
  /** A fresh symbolic dim for a size known only at run time (NonZero count, Unique, ...). */
  freshDim(hint?: string): Dim;
}

export interface RunContext<A> {
  readonly node: Node;
  readonly attrs: A;
  /** Input values; undefined for an omitted optional input. */
  readonly inputs: readonly (RuntimeValue | undefined)[];
  readonly numOutputs: number;
  /** Static output types from inference, when known (e.g. to type an empty sequence). */
  readonly outputTypes: readonly (ValueType | undefined)[];
  /** Run a subgraph with the given inputs (by position), outer-scope values visible. */
  runSubgraph(graph: Graph, inputs: readonly (RuntimeValue | undefined)[]): RuntimeValue[];
}

// ---- import-time rewriting of older opset forms ----------------------------------------------------

/** A node as the importer sees it before defaults are filled. */
export interface ImportNode {
  name: string;
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}

/** What a decomposition may ask about the graph around the node. */
export interface DecomposeFacts {
  type(name: string): ValueType | undefined;
}

export interface LegacyContext {
  /** The ai.onnx opset version the model imports. */
  readonly opset: number;
  /** A new value name that does not clash with the model's. */
  freshName(hint: string): string;
  /** Add a constant (initializer) and return its value name. */
  constant(t: Tensor, hint?: string): string;
}

// ---- the op -----------------------------------------------------------------------------------------

export interface OpDef<S extends AttrSchema = AttrSchema> {
  /** ONNX op type, e.g. 'Conv'. */
  readonly op: string;
  readonly attrs: S;
  /** Inputs allowed: [min, max]; max Infinity for variadic. */
  readonly inputs: readonly [number, number];
  /** Outputs allowed: [min, max]. */
  readonly outputs: readonly [number, number];
  /** Attributes that ONNX defines for this op but that onnxc rejects when set to a non-default value would go here;
   *  attributes not in `attrs` are import errors. */
  /** Output types from input types (pure). Throws ShapeError naming the rule broken. */
  infer(ctx: InferContext<AttrsOf<S>>): ValueType[];
  /** Exact ONNX semantics, plain loops. Returns one value per declared output (may fill all). */
  run(ctx: RunContext<AttrsOf<S>>): RuntimeValue[];
  /** The same computation in simpler ops: for onnxc's own ops (`onnxc.X`, made by passes such as fusion) in
   *  standard ai.onnx ops (the exporter uses it so onnxruntime can run any stage of the pipeline); for composite
   *  ai.onnx ops (Gelu, LayerNormalization, ...; ops/decompose/) in primitives a backend has. The one place the
   *  `decompose` pass looks. Undefined: this node's form is not handled (the node stays). */
  decompose?(node: Node, ctx: LegacyContext, facts?: DecomposeFacts): ImportNode[] | undefined;
  /** What passes and backends may assume of the op (ops/traits.ts reads them; absent means the defaults there). */
  readonly traits?: OpTraits;
}

/** Facts about an op that passes read instead of keeping op lists of their own. */
export interface OpTraits {
  /** Outputs are a function of inputs and attributes (default true). False for random ops and Dropout (its mask
   *  in training mode): CSE never merges them, folding and static evaluation never compute them. */
  readonly deterministic?: boolean;
  /** Output element i depends only on the (broadcast) input elements i: fusable into elementwise chains. */
  readonly elementwise?: boolean;
  /** Output 0 is input 0's bytes with new dims (Reshape, Flatten, Squeeze, Unsqueeze, Identity): a backend may
   *  share the buffer. */
  readonly view?: boolean;
  /** A binary op whose two inputs may be swapped (Add, Mul, Max, Min, ...). */
  readonly commutative?: boolean;
}

/** Declare an op; the attribute types of `infer` and `run` follow from `attrs`. */
export function defineOp<S extends AttrSchema>(def: OpDef<S>): OpDef<S> {
  return def;
}

export type AnyOpDef = OpDef<AttrSchema>;

/** Convenience for ops with only tensor inputs: the tensor type of input i, throwing when it is not one. */
export type { TensorType };
