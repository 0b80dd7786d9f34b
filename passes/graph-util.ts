// Small graph helpers every pass shares: free names of subgraphs, use counts, rebuilding a graph with its types
// pruned to what it still defines, and applying a pass to the subgraphs a node holds.

import type { Attr, Graph, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { ValueType } from '../ir/types.js';

/** Names a graph (and its nested subgraphs) reads but does not define itself: its references to outer scopes. */
export function freeNames(graph: Graph): Set<string> {
  const local = new Set<string>([...graph.inputs, ...graph.initializers.keys()]);
  for (const n of graph.nodes) for (const o of n.outputs) if (o !== '') local.add(o);
  const free = new Set<string>();
  const use = (name: string): void => { if (name !== '' && !local.has(name)) free.add(name); };
  for (const n of graph.nodes) {
    for (const i of n.inputs) use(i);
    for (const sub of subgraphsIn(n)) for (const f of freeNames(sub)) use(f);
  }
  for (const o of graph.outputs) use(o);
  return free;
}

/** The subgraphs of a node, in attribute order (cheap: no sorting, unlike ir's subgraphsOf). */
export function subgraphsIn(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of Object.values(node.attrs)) {
    if (a.kind === 'graph') out.push(a.value);
    else if (a.kind === 'graphs') out.push(...a.value);
  }
  return out;
}

export function hasSubgraphs(node: Node): boolean {
  return Object.values(node.attrs).some((a) => a.kind === 'graph' || a.kind === 'graphs');
}

/** Every name a node reads: its inputs and its subgraphs' free names. */
export function namesRead(node: Node): string[] {
  const out = node.inputs.filter((i) => i !== '');
  for (const sub of subgraphsIn(node)) out.push(...freeNames(sub));
  return out;
}

/** Apply `f` to each subgraph of the node; the same node when `f` changed none. */
export function mapSubgraphs(node: Node, f: (g: Graph) => Graph): Node {
  let changed = false;
  const attrs: Record<string, Attr> = {};
  for (const [k, a] of Object.entries(node.attrs)) {
    if (a.kind === 'graph') {
      const g = f(a.value);
      if (g !== a.value) changed = true;
      attrs[k] = g === a.value ? a : { kind: 'graph', value: g };
    } else if (a.kind === 'graphs') {
      const gs = a.value.map(f);
      if (gs.some((g, i) => g !== a.value[i])) { changed = true; attrs[k] = { kind: 'graphs', value: gs }; } else attrs[k] = a;
    } else attrs[k] = a;
  }
  return changed ? { ...node, attrs } : node;
}

/** Apply `f` to every subgraph of every node; the same graph when nothing changed. */
export function mapAllSubgraphs(graph: Graph, f: (g: Graph) => Graph): Graph {
  let changed = false;
  const nodes = graph.nodes.map((n) => {
    const m = mapSubgraphs(n, f);
    if (m !== n) changed = true;
    return m;
  });
  return changed ? { ...graph, nodes } : graph;
}

/** A copy of `graph` with new nodes/initializers whose types map keeps only the names it still defines
 *  (plus entries the original recorded for names it never defined, which the printer keeps as `type` lines). */
export function rebuild(
  graph: Graph, nodes: readonly Node[], inits: ReadonlyMap<string, Tensor> = graph.initializers,
  extraTypes?: ReadonlyMap<string, ValueType>,
): Graph {
  const definedBefore = new Set<string>(graph.initializers.keys());
  for (const n of graph.nodes) for (const o of n.outputs) if (o !== '') definedBefore.add(o);
  const definedNow = new Set<string>([...graph.inputs, ...inits.keys(), ...graph.outputs]);
  for (const n of nodes) for (const o of n.outputs) if (o !== '') definedNow.add(o);
  const types = new Map<string, ValueType>();
  for (const [name, t] of graph.types) {
    if (definedNow.has(name) || !definedBefore.has(name)) types.set(name, t);
  }
  if (extraTypes) for (const [name, t] of extraTypes) types.set(name, t);
  return { ...graph, nodes, initializers: inits, types };
}

/** Names of the graph's values, for making fresh ones. */
export function allNames(graph: Graph, into = new Set<string>()): Set<string> {
  for (const n of graph.inputs) into.add(n);
  for (const n of graph.initializers.keys()) into.add(n);
  for (const n of graph.types.keys()) into.add(n);
  for (const node of graph.nodes) {
    for (const o of node.outputs) into.add(o);
    for (const sub of subgraphsIn(node)) allNames(sub, into);
  }
  return into;
}

/** Node names of the graph and its subgraphs (node names are unique model-wide). */
export function allNodeNames(graph: Graph, into = new Set<string>()): Set<string> {
  for (const node of graph.nodes) {
    into.add(node.name);
    for (const sub of subgraphsIn(node)) allNodeNames(sub, into);
  }
  return into;
}

/** Hands out names not yet taken, `hint`, `hint_1`, `hint_2`, ... */
export class NameSource {
  constructor(private readonly taken: Set<string>) {}
  fresh(hint: string): string {
    let name = hint;
    for (let k = 1; this.taken.has(name); k++) name = `${hint}_${k}`;
    this.taken.add(name);
    return name;
  }
}
