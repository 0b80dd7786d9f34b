// Sequences and optionals for backends that compute tensors only (wasm): a graph-to-graph lowering run before
// shapes are fixed. Every sequence or optional whose structure is known at compile time (a sequence's length, an
// optional's presence; element shapes may differ) becomes a tuple of tensors: a sequence input `x` fed with two
// tensors becomes inputs `x[0]`, `x[1]`, an output likewise, and the artifact's manifest records the layout so the
// runtime takes and gives arrays (and null for an empty optional). Sequence ops then move no data (SequenceAt is
// the element); SplitToSequence and ConcatFromSequence become Slice and Concat; a Loop carrying a sequence and
// SequenceMap are unrolled (a loop's append-only list becomes a scan output instead); an If on a compile-time
// condition is inlined. What depends on values known only at run time (a position, a split, a trip count computed
// by the model) is refused as `data-dependent`, so callers may specialise on the small inputs those come from
// (compiler/compile.ts). This is the "tuple" choice of issue 12, taken for every case: sequences in the node suite
// and in exported streaming models have compile-time structure once the inputs' shapes are fixed. An arena
// representation (capacity-bounded, with a trap on overflow) would serve sequences whose length stays a run-time
// value (a list edited in a loop with a run-time trip count); it is not built.

import { OnnxcError, ShapeError } from '../ir/errors.js';
import type { Graph, Node } from '../ir/graph.js';
import type { ValueType } from '../ir/types.js';
import { inferGraph } from '../ops/infer-graph.js';
import { allNames, Builder, describe, flatten, Names, Scope, SequenceRefusal, tensorStruct, type Struct, type Walk } from './sequences-core.js';
import { CONTROL_RULES } from './sequences-control.js';
import { SEQUENCE_RULES } from './sequences-ops.js';
import type { UnsupportedNode } from './protocol.js';

export { SequenceRefusal } from './sequences-core.js';

/** The structure of a sequence or optional input for one compile: a sequence's elements (each with its dims), an
 *  optional's value or null. */
export type InputStructure =
  | { readonly kind: 'tensor'; readonly dims: readonly number[] }
  | { readonly kind: 'sequence'; readonly items: readonly InputStructure[] }
  | { readonly kind: 'optional'; readonly value: InputStructure | null };

/** How a model input or output is laid out as the artifact's tensors (`io`: a name in the manifest's inputs or
 *  outputs). The runtime's structural copy is in runtime/wasm/types.ts. */
export type ValueLayout =
  | { readonly kind: 'tensor'; readonly io: string }
  | { readonly kind: 'sequence'; readonly items: readonly ValueLayout[] }
  | { readonly kind: 'optional'; readonly value: ValueLayout | null };

export interface IoLayouts {
  readonly inputs: readonly { readonly name: string; readonly layout: ValueLayout }[];
  readonly outputs: readonly { readonly name: string; readonly layout: ValueLayout }[];
}

const SEQUENCE_OPS = new Set([...Object.keys(SEQUENCE_RULES), 'SequenceMap']);

/** True when a graph (or a subgraph) has a sequence or optional anywhere: only those graphs are lowered, so a
 *  tensor-only model is passed on untouched. */
export function hasSequences(g: Graph): boolean {
  if ([...g.types.values()].some((t) => t.kind !== 'tensor')) return true;
  return g.nodes.some((n) => SEQUENCE_OPS.has(n.op) || Object.values(n.attrs).some((a) => (a.kind === 'graph' && hasSequences(a.value)) || (a.kind === 'graphs' && a.value.some(hasSequences))));
}

class Lowerer {
  constructor(readonly names: Names, readonly source: string) {}

  /** Lower the nodes of `g` into `b`, reading and defining names in `scope`. */
  inline(g: Graph, scope: Scope, b: Builder): void {
    for (const [n, t] of g.initializers) {
      const name = this.names.define(n);
      b.initializers.set(name, t);
      scope.set(n, tensorStruct(name));
    }
    const w: Walk = { b, scope, names: this.names, source: this.source, types: g.types, graph: g, inline: (sg, s, bb) => this.inline(sg, s, bb) };
    for (const node of g.nodes) {
      try {
        this.node(w, node);
      } catch (e) {
        if (e instanceof SequenceRefusal) throw e;
        if (e instanceof OnnxcError) throw e.at({ model: this.source, node: node.name, op: node.op });
        throw e;
      }
    }
  }

  private node(w: Walk, node: Node): void {
    const ins = node.inputs.map((i) => {
      if (!i) return undefined;
      const s = w.scope.get(i);
      if (!s) throw new ShapeError(`input '${i}' is not defined before this node`);
      return s;
    });
    const rule = SEQUENCE_RULES[node.op] ?? CONTROL_RULES[node.op];
    let outs: (Struct | undefined)[];
    if (rule) outs = rule(w, node, ins);
    else if (node.op === 'Identity' && ins[0] && ins[0].kind !== 'tensor') outs = [ins[0]];
    else {
      // a tensor op: the same node on the tensors' names (a copy's outputs renamed)
      const inputs = ins.map((s, i) => {
        if (s && s.kind !== 'tensor') throw new ShapeError(`input ${i} ('${node.inputs[i]}') is ${describe(s)}; ${node.op} takes tensors`);
        return s ? s.name : '';
      });
      const outputs = node.outputs.map((o) => (o ? w.names.define(o) : ''));
      w.b.add({ ...node, name: w.names.define(node.name), inputs, outputs });
      outs = outputs.map((o) => (o ? tensorStruct(o) : undefined));
    }
    node.outputs.forEach((o, k) => { const s = outs[k]; if (o && s) w.scope.set(o, s); });
  }
}

/** The tensors for an input of the given structure, named `x`, `x[0]`, `x[0][1]`...: added to `b` as inputs. */
function structInput(b: Builder, names: Names, base: string, t: ValueType, s: InputStructure, fail: (msg: string) => never): { struct: Struct; layout: ValueLayout } {
  if (t.kind === 'tensor') {
    if (s.kind !== 'tensor') fail(`is a tensor, given ${s.kind}`);
    const name = names.define(base);
    b.inputs.push(name);
    b.types.set(name, { kind: 'tensor', dtype: t.dtype, shape: [...s.dims] });
    return { struct: tensorStruct(name), layout: { kind: 'tensor', io: name } };
  }
  if (t.kind === 'sequence') {
    if (s.kind !== 'sequence') fail(`is a sequence, given ${s.kind}`);
    const parts = s.items.map((x, i) => structInput(b, names, `${base}[${i}]`, t.elem, x, fail));
    return { struct: { kind: 'sequence', elem: t.elem, items: parts.map((p) => p.struct) }, layout: { kind: 'sequence', items: parts.map((p) => p.layout) } };
  }
  if (s.kind !== 'optional') fail(`is an optional, given ${s.kind}`);
  const inner = s.value && structInput(b, names, base, t.elem, s.value, fail);
  return { struct: { kind: 'optional', elem: t.elem, value: inner?.struct }, layout: { kind: 'optional', value: inner?.layout ?? null } };
}

/** Outputs: each of the structure's tensors under its own name (`y`, `y[0]`...), by an Identity where needed. */
function structOutput(b: Builder, names: Names, base: string, s: Struct, taken: Set<string>, inputs: ReadonlySet<string>): ValueLayout {
  if (s.kind === 'tensor') {
    const own = s.name === base && !taken.has(s.name) && !inputs.has(s.name);
    const name = own ? s.name : names.define(base);
    if (!own) b.add({ name: names.fresh(`Identity_${base}`), op: 'Identity', inputs: [s.name], outputs: [name], attrs: {} });
    taken.add(name);
    return { kind: 'tensor', io: name };
  }
  if (s.kind === 'sequence') return { kind: 'sequence', items: s.items.map((x, i) => structOutput(b, names, `${base}[${i}]`, x, taken, inputs)) };
  if (s.kind === 'stacked') throw new ShapeError(`output '${base}' is a list a loop appends to; its length is known only at run time`);
  return { kind: 'optional', value: s.value ? structOutput(b, names, base, s.value, taken, inputs) : null };
}

export interface LoweredSequences {
  readonly graph: Graph;
  /** The lowered graph's inputs in the model's order, fixed inputs included (what an artifact lists). */
  readonly declaredInputs: readonly string[];
  /** Undefined when the model has no sequence or optional (only Ifs were inlined): the artifact lists tensors. */
  readonly layouts: IoLayouts | undefined;
}

/** Lower every sequence and optional of `g` (inputs' shapes fixed, fixed inputs already constants) to tensors.
 *  `declared`: the model's inputs as declared (fixed ones included); `structures`: each sequence or optional
 *  input's structure. A SequenceRefusal (carrying the node and reason) when a structure depends on run-time values. */
export function lowerSequences(g: Graph, declared: readonly string[], structures: Readonly<Record<string, InputStructure>>, source: string): LoweredSequences {
  const names = new Names(allNames(g));
  const b = new Builder(undefined, source);
  const scope = new Scope();
  const inputs: IoLayouts['inputs'][number][] = [];
  for (const n of g.inputs) {
    const t = g.types.get(n);
    if (!t) throw new ShapeError(`input '${n}' has no type`, { model: source });
    const fail = (msg: string): never => { throw new ShapeError(`input '${n}' ${msg}`, { model: source }); };
    const s = structures[n] ?? (t.kind === 'tensor' && t.shape && t.shape.every((d) => typeof d === 'number') ? { kind: 'tensor' as const, dims: t.shape as number[] } : undefined);
    if (!s) fail(t.kind === 'tensor' ? 'has no static shape' : `is a ${t.kind}: give its structure (length and element shapes) to compile it`);
    const r = structInput(b, names, n, t, s!, fail);
    scope.set(n, r.struct);
    inputs.push({ name: n, layout: r.layout });
  }
  new Lowerer(names, source).inline(g, scope, b);
  const taken = new Set<string>(), inputNames = new Set(b.inputs);
  const outputs = g.outputs.map((o) => ({ name: o, layout: structOutput(b, names, o, scope.get(o)!, taken, inputNames) }));
  const outNames = outputs.flatMap((o) => layoutTensors(o.layout));
  const lowered: Graph = { name: g.name, inputs: b.inputs, outputs: outNames, nodes: b.nodes, initializers: b.initializers, types: b.types };
  const byInput = new Map(inputs.map((i) => [i.name, i.layout]));
  return {
    graph: inferGraph(lowered, { source }),
    declaredInputs: declared.flatMap((n) => { const l = byInput.get(n); return l ? layoutTensors(l) : [n]; }),
    layouts: { inputs: declared.map((n) => ({ name: n, layout: byInput.get(n) ?? { kind: 'tensor' as const, io: n } })), outputs },
  };
}

const countIfs = (g: Graph): number => g.nodes.reduce((a, n) => a + (n.op === 'If' ? 1 : 0) + Object.values(n.attrs).reduce((b, x) => b + (x.kind === 'graph' ? countIfs(x.value) : x.kind === 'graphs' ? x.value.reduce((c, y) => c + countIfs(y), 0) : 0), 0), 0);

/** lowerSequences for a graph with sequences, and for one with an If whose condition is known at compile time
 *  (a function-expanded op tests the rank of its input: test_affine_grid_*_expanded), whose taken branch is then
 *  inlined so what follows it is static; undefined when there is nothing to do, so other graphs pass untouched. */
export function maybeLowerSequences(g: Graph, declared: readonly string[], structures: Readonly<Record<string, InputStructure>>, source: string): LoweredSequences | undefined {
  if (hasSequences(g)) return lowerSequences(g, declared, structures, source);
  const ifs = countIfs(g);
  if (ifs === 0) return undefined;
  const lowered = lowerSequences(g, declared, structures, source);
  return countIfs(lowered.graph) < ifs ? { ...lowered, layouts: undefined } : undefined;
}

/** The artifact tensors of a layout, in order. */
export function layoutTensors(l: ValueLayout): string[] {
  if (l.kind === 'tensor') return [l.io];
  if (l.kind === 'sequence') return l.items.flatMap(layoutTensors);
  return l.value ? layoutTensors(l.value) : [];
}

/** The refusal a lowering error carries, for callers that collect unsupported nodes. */
export const refusalOf = (e: unknown): UnsupportedNode | undefined => (e instanceof SequenceRefusal ? e.refused : undefined);

export { flatten };
