// Forwarding values when a node is removed because its output equals another value (no-op removal, CSE).
// The subtle case: a graph output keeps its name, so when the removed node's output IS a graph output, the value
// it equals is renamed to that output at its definition instead (possible only when that value is a node output
// of the same graph and not itself part of the graph's interface).

import type { Graph, Node } from '../ir/graph.js';
import { mapSubgraphs, rebuild } from './graph-util.js';

export class Aliases {
  private readonly alias = new Map<string, string>();
  /** Node outputs renamed at their definition: old name -> graph output name. */
  private readonly renamed = new Map<string, string>();
  private readonly interface_: Set<string>;
  private readonly outputs: Set<string>;
  private readonly producedHere = new Set<string>();

  constructor(private readonly graph: Graph) {
    this.outputs = new Set(graph.outputs);
    this.interface_ = new Set([...graph.inputs, ...graph.outputs, ...graph.initializers.keys()]);
    for (const n of graph.nodes) for (const o of n.outputs) if (o !== '') this.producedHere.add(o);
  }

  /** The value a name now stands for. */
  resolve(name: string): string {
    let n = name;
    for (let next = this.alias.get(n); next !== undefined; next = this.alias.get(n)) n = next;
    return n;
  }

  /** Record that `out` (an output of a node about to be dropped) equals `src`. False when the node must stay. */
  forward(out: string, src: string): boolean {
    const s = this.resolve(src);
    if (s === out) return false;
    if (!this.outputs.has(out)) { this.alias.set(out, s); return true; }
    if (!this.producedHere.has(s) || this.interface_.has(s)) return false;
    // `s` is renamed to `out`: every later mention of `s` (and of names forwarded to it) means `out`.
    this.renamed.set(s, out);
    this.alias.set(s, out);
    this.interface_.add(out);
    return true;
  }

  get empty(): boolean { return this.alias.size === 0; }

  /** Rewrite the kept nodes' inputs (and free names in their subgraphs) and renamed definitions; prune types. */
  apply(kept: readonly Node[], inits = this.graph.initializers): Graph {
    const g = this.graph;
    const nodes = kept.map((n) => this.rewriteNode(n));
    const rebuilt = rebuild(g, nodes, inits);
    if (this.renamed.size === 0) return rebuilt;
    // A renamed value takes the graph output's recorded type (the interface keeps its types).
    const types = new Map(rebuilt.types);
    for (const [from, to] of this.renamed) { if (!types.has(to) && g.types.has(from)) types.set(to, g.types.get(from)!); types.delete(from); }
    return { ...rebuilt, types };
  }

  private rewriteNode(n: Node): Node {
    const inputs = n.inputs.map((i) => (i === '' ? i : this.resolve(i)));
    const outputs = n.outputs.map((o) => this.renamed.get(o) ?? o);
    const sub = mapSubgraphs(n, (s) => substituteFree(s, (name) => this.resolve(name)));
    const same = inputs.every((x, i) => x === n.inputs[i]) && outputs.every((x, i) => x === n.outputs[i]);
    return same ? sub : { ...sub, inputs, outputs };
  }
}

/** Rename the names a subgraph reads from enclosing scopes (respecting names it defines itself, which shadow). */
export function substituteFree(g: Graph, f: (name: string) => string, shadow: ReadonlySet<string> = new Set()): Graph {
  const local = new Set<string>([...shadow, ...g.inputs, ...g.initializers.keys()]);
  for (const n of g.nodes) for (const o of n.outputs) if (o !== '') local.add(o);
  const map = (name: string): string => (name === '' || local.has(name) ? name : f(name));
  let changed = false;
  const nodes = g.nodes.map((n) => {
    const inputs = n.inputs.map(map);
    const sub = mapSubgraphs(n, (s) => substituteFree(s, f, local));
    if (sub === n && inputs.every((x, i) => x === n.inputs[i])) return n;
    changed = true;
    return { ...sub, inputs };
  });
  const outputs = g.outputs.map(map);
  if (outputs.some((x, i) => x !== g.outputs[i])) changed = true;
  return changed ? { ...g, nodes, outputs } : g;
}
