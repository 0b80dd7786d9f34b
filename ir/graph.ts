// Graphs, nodes and attributes. Plain immutable data: passes build new graphs rather than mutate.
//
// Values are named (SSA: each name defined once, by a graph input, an initializer or one node output).
// A subgraph (If/Loop/Scan bodies) may read names defined in enclosing graphs.

import type { Tensor } from './tensor.js';
import type { ValueType } from './types.js';

/** An attribute, tagged with its ONNX attribute type so the text form round-trips (1 vs 1.0). */
export type Attr =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: Tensor }
  | { readonly kind: 'graph'; readonly value: Graph }
  | { readonly kind: 'type'; readonly value: ValueType }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'strings'; readonly value: readonly string[] }
  | { readonly kind: 'tensors'; readonly value: readonly Tensor[] }
  | { readonly kind: 'graphs'; readonly value: readonly Graph[] }
  | { readonly kind: 'types'; readonly value: readonly ValueType[] };

export type AttrKind = Attr['kind'];

export interface Node {
  /** Unique within the model; the importer names unnamed nodes. */
  readonly name: string;
  /** ai.onnx op type (other domains are rejected or inlined at import). */
  readonly op: string;
  /** Input value names; '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  /** Output value names; '' marks an unused optional output. */
  readonly outputs: readonly string[];
  /** Complete after import: every attribute the op reads is present, defaults filled. */
  readonly attrs: Readonly<Record<string, Attr>>;
}

export interface Graph {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Topologically sorted. */
  readonly nodes: readonly Node[];
  readonly initializers: ReadonlyMap<string, Tensor>;
  /** The type of every value this graph defines (inputs, initializers, node outputs). */
  readonly types: ReadonlyMap<string, ValueType>;
}

export interface ModelInfo {
  /** Where the model came from (file name), for messages. */
  readonly source?: string;
  readonly irVersion?: number;
  readonly producer?: string;
  /** Opsets the source model imported, domain -> version ('' is ai.onnx). Informational only. */
  readonly opsets?: Readonly<Record<string, number>>;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface Model {
  readonly graph: Graph;
  readonly info: ModelInfo;
}

export function attrInt(v: number): Attr { return { kind: 'int', value: v }; }
export function attrFloat(v: number): Attr { return { kind: 'float', value: v }; }
export function attrString(v: string): Attr { return { kind: 'string', value: v }; }
export function attrInts(v: readonly number[]): Attr { return { kind: 'ints', value: [...v] }; }
export function attrFloats(v: readonly number[]): Attr { return { kind: 'floats', value: [...v] }; }
export function attrTensor(v: Tensor): Attr { return { kind: 'tensor', value: v }; }
export function attrGraph(v: Graph): Attr { return { kind: 'graph', value: v }; }

/** The subgraphs a node holds (If branches, Loop/Scan bodies), in attribute-name order. */
export function subgraphsOf(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const name of Object.keys(node.attrs).sort()) {
    const a = node.attrs[name]!;
    if (a.kind === 'graph') out.push(a.value);
    else if (a.kind === 'graphs') out.push(...a.value);
  }
  return out;
}
