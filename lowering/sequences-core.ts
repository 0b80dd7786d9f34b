// The machinery of the sequence lowering (lowering/sequences.ts): values as structures of tensors, scopes that
// subgraphs read through, graphs being built, and compile-time questions (is this tensor a constant, what is its
// shape) answered by inferring and statically evaluating what has been built so far.

import { OnnxcError, ShapeError } from '../ir/errors.js';
import type { Graph, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { ValueType } from '../ir/types.js';
import { isTensor } from '../ir/value.js';
import { plainAttrs } from '../ops/attrs.js';
import { getOp } from '../ops/index.js';
import { inferGraph } from '../ops/infer-graph.js';
import { isDeterministic } from '../ops/traits.js';
import { staticEval, type PreparedGraph } from './prepare.js';
import type { ReasonCode, UnsupportedNode } from './protocol.js';

/** A value during the lowering: a tensor (by its name in the graph being built), or a sequence or optional whose
 *  structure (length, presence) is known at compile time and whose elements are themselves structures. */
export type Struct =
  | { readonly kind: 'tensor'; readonly name: string }
  | { readonly kind: 'sequence'; readonly elem: ValueType; readonly items: readonly Struct[] }
  | { readonly kind: 'optional'; readonly elem: ValueType; readonly value: Struct | undefined }
  /** A list a loop (kept as a loop) appends one tensor to per iteration: its elements stacked along a new leading
   *  axis in tensor `name`, a scan output of the loop. Only ConcatFromSequence reads it. */
  | { readonly kind: 'stacked'; readonly elem: ValueType; readonly name: string };

export const tensorStruct = (name: string): Struct => ({ kind: 'tensor', name });

/** A node the lowering cannot turn into tensors, with the reason the support check would give. */
export class SequenceRefusal extends OnnxcError {
  constructor(readonly refused: UnsupportedNode) {
    super(refused.detail, { node: refused.node, op: refused.op });
  }
}

export function refuse(node: Node, reason: ReasonCode, detail: string): never {
  throw new SequenceRefusal({ node: node.name, op: node.op, reason, detail });
}

/** Names as seen from one (sub)graph: its own definitions, then its enclosing graphs'. A body that redefines an
 *  outer name (exporters do) shadows it only inside. */
export class Scope {
  private readonly map = new Map<string, Struct>();
  constructor(readonly parent?: Scope) {}
  get(name: string): Struct | undefined {
    return this.map.get(name) ?? this.parent?.get(name);
  }
  set(name: string, s: Struct): void {
    this.map.set(name, s);
  }
}

/** Names of the model being built: every name of the source model is reserved, each is claimed by its first
 *  definition, and copies (unrolled bodies, inlined branches, shadowing definitions) get fresh ones. */
export class Names {
  private readonly claimed = new Set<string>();
  private n = 0;
  constructor(private readonly reserved: ReadonlySet<string>) {}
  /** The name itself the first time it is defined, a fresh variant after. */
  define(name: string): string {
    if (!this.claimed.has(name)) { this.claimed.add(name); return name; }
    return this.fresh(name);
  }
  /** A name no value of the source model or the built one has. */
  fresh(base: string): string {
    if (!this.reserved.has(base) && !this.claimed.has(base)) { this.claimed.add(base); return base; }
    for (;;) {
      const s = `${base}#${++this.n}`;
      if (!this.reserved.has(s) && !this.claimed.has(s)) { this.claimed.add(s); return s; }
    }
  }
}

/** Every value name of a graph and its subgraphs. */
export function allNames(g: Graph, out = new Set<string>()): Set<string> {
  for (const n of [...g.inputs, ...g.outputs, ...g.initializers.keys()]) out.add(n);
  for (const node of g.nodes) {
    for (const n of [...node.inputs, ...node.outputs]) if (n) out.add(n);
    for (const a of Object.values(node.attrs)) {
      if (a.kind === 'graph') allNames(a.value, out);
      else if (a.kind === 'graphs') for (const s of a.value) allNames(s, out);
    }
  }
  return out;
}

/** A graph being built: the top level, or a body kept as a subgraph (its enclosing graph is `parent`). */
export class Builder {
  readonly nodes: Node[] = [];
  readonly initializers = new Map<string, Tensor>();
  readonly inputs: string[] = [];
  /** Types of this graph's inputs (node outputs are inferred afterwards). */
  readonly types = new Map<string, ValueType>();
  private cache: { count: number; prepared: PreparedGraph | undefined } | undefined;
  private readonly definer = new Map<string, Node>();
  private readonly known = new Map<string, Tensor>();
  constructor(readonly parent: Builder | undefined, readonly source: string) {}

  private chain(): Builder[] {
    const out: Builder[] = [];
    for (let b: Builder | undefined = this; b; b = b.parent) out.unshift(b);
    return out;
  }

  /** What is built so far, this graph and the ones around it flattened into one, inferred and statically
   *  evaluated: enough to say which tensors are constants and which shapes are static. Undefined when it cannot
   *  be inferred as a whole (the caller then treats values as unknown). */
  private evaluated(): PreparedGraph | undefined {
    const chain = this.chain();
    const count = chain.reduce((a, b) => a + b.nodes.length + b.initializers.size + b.inputs.length, 0);
    if (this.cache?.count === count) return this.cache.prepared;
    const nodes = chain.flatMap((b) => b.nodes);
    const g: Graph = {
      name: 'partial', inputs: chain.flatMap((b) => b.inputs), nodes,
      // every node output is an output, so nothing is pruned
      outputs: nodes.flatMap((n) => n.outputs.filter((o) => o !== '')),
      initializers: new Map(chain.flatMap((b) => [...b.initializers])), types: new Map(chain.flatMap((b) => [...b.types])),
    };
    let prepared: PreparedGraph | undefined;
    try { prepared = staticEval(inferGraph(g, { source: this.source }), this.source); } catch { prepared = undefined; }
    this.cache = { count, prepared };
    return prepared;
  }

  /** The value of a tensor when it is known at compile time. */
  constant(name: string): Tensor | undefined {
    return this.folded(name, 8) ?? this.evaluated()?.constants.get(name);
  }

  /** The quick answer: an initializer, or a node of constant inputs computed with its reference `run` (an
   *  unrolled loop asks for each iteration's condition; inferring the whole graph each time grows quadratically). */
  private folded(name: string, depth: number): Tensor | undefined {
    for (let b: Builder | undefined = this; b; b = b.parent) {
      const t = b.initializers.get(name) ?? b.known.get(name);
      if (t) return t;
    }
    let node: Node | undefined;
    for (let b: Builder | undefined = this; b && !node; b = b.parent) node = b.definer.get(name);
    const def = node && getOp(node.op);
    if (!node || !def || depth === 0 || !isDeterministic(node.op) || Object.values(node.attrs).some((a) => a.kind === 'graph' || a.kind === 'graphs')) return undefined;
    const inputs = node.inputs.map((i) => (i ? this.folded(i, depth - 1) : undefined));
    if (node.inputs.some((i, k) => i && !inputs[k])) return undefined;
    try {
      const outs = def.run({ node, attrs: plainAttrs(def, node), inputs, numOutputs: node.outputs.length, outputTypes: node.outputs.map(() => undefined), runSubgraph: () => { throw new Error('no subgraphs'); } });
      const at = node.outputs.indexOf(name), v = outs[at];
      if (v === undefined || !isTensor(v)) return undefined;
      this.known.set(name, v);
      return v;
    } catch {
      return undefined;
    }
  }

  /** The static dims of a tensor, when they are known at compile time. */
  dims(name: string): readonly number[] | undefined {
    return this.staticType(name)?.dims;
  }

  /** Element type and static dims of a tensor, when known at compile time. */
  staticType(name: string): { readonly dtype: Tensor['dtype']; readonly dims: readonly number[] } | undefined {
    const c = this.folded(name, 8);
    if (c) return { dtype: c.dtype, dims: c.dims };
    return this.evaluated()?.staticType(name);
  }

  /** A constant tensor as a new initializer. */
  addConstant(names: Names, base: string, t: Tensor): string {
    const name = names.fresh(base);
    this.initializers.set(name, t);
    return name;
  }

  add(node: Node): void {
    this.nodes.push(node);
    for (const o of node.outputs) if (o) this.definer.set(o, node);
  }
}

/** The tensors of a structure in order (a sequence's items, an optional's value when present). */
export function flatten(s: Struct): string[] {
  if (s.kind === 'tensor' || s.kind === 'stacked') return [s.name];
  if (s.kind === 'sequence') return s.items.flatMap(flatten);
  return s.value ? flatten(s.value) : [];
}

/** A structure like `shape` whose tensors are `names` in order. */
export function rebuild(shape: Struct, names: readonly string[], at = { i: 0 }): Struct {
  if (shape.kind === 'tensor') return tensorStruct(names[at.i++]!);
  if (shape.kind === 'stacked') return { ...shape, name: names[at.i++]! };
  if (shape.kind === 'sequence') return { ...shape, items: shape.items.map((x) => rebuild(x, names, at)) };
  return { ...shape, value: shape.value && rebuild(shape.value, names, at) };
}

/** Why two structures differ (sequence lengths, presence, kinds), or undefined when they match. */
export function structDiff(a: Struct, b: Struct): string | undefined {
  if (a.kind !== b.kind) return `a ${a.kind} and a ${b.kind}`;
  if (a.kind === 'sequence' && b.kind === 'sequence') {
    if (a.items.length !== b.items.length) return `sequences of ${a.items.length} and ${b.items.length} elements`;
    for (let i = 0; i < a.items.length; i++) { const d = structDiff(a.items[i]!, b.items[i]!); if (d) return d; }
  }
  if (a.kind === 'optional' && b.kind === 'optional') {
    if (!a.value !== !b.value) return 'an empty optional and a present one';
    if (a.value && b.value) return structDiff(a.value, b.value);
  }
  return undefined;
}

export function describe(s: Struct): string {
  if (s.kind === 'tensor') return 'a tensor';
  if (s.kind === 'stacked') return 'a list appended to by a loop';
  if (s.kind === 'sequence') return `a sequence of ${s.items.length}`;
  return s.value ? `an optional holding ${describe(s.value)}` : 'an empty optional';
}

export function expectTensor(node: Node, s: Struct | undefined, i: number): string {
  if (!s) throw new ShapeError(`input ${i} is required`, { node: node.name, op: node.op });
  if (s.kind !== 'tensor') throw new ShapeError(`input ${i} must be a tensor, got ${describe(s)}`, { node: node.name, op: node.op });
  return s.name;
}

/** Where a node is being lowered: the graph being built, the scope its inputs are read in, the types of the
 *  source graph it comes from, and how to lower a subgraph's nodes into a builder (inlining). */
export interface Walk {
  readonly b: Builder;
  readonly scope: Scope;
  readonly names: Names;
  readonly source: string;
  readonly types: ReadonlyMap<string, ValueType>;
  /** The source graph the node is in (its other nodes read the node's outputs). */
  readonly graph: Graph;
  inline(g: Graph, scope: Scope, b: Builder): void;
}

/** Add a node computing `op` on tensors, its one output named after `base`; returns that name. */
export function emit(w: Walk, op: string, inputs: readonly string[], base: string, attrs: Node['attrs'] = {}): string {
  const out = w.names.fresh(base);
  w.b.add({ name: w.names.fresh(`${op}_${base}`), op, inputs: [...inputs], outputs: [out], attrs });
  return out;
}
