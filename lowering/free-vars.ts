// The names a subgraph reads from its enclosing graphs (If branches and Loop/Scan bodies may read any value
// defined before their node): the enclosing plan keeps them alive while the node runs.

import type { Graph, Node } from '../ir/graph.js';
import { subgraphsOf } from '../ir/graph.js';

/** Names `g` (and the subgraphs of its nodes) reads without defining them: values of the enclosing graphs. */
export function freeVars(g: Graph): Set<string> {
  const defined = new Set<string>([...g.inputs, ...g.initializers.keys()]);
  const free = new Set<string>();
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i && !defined.has(i)) free.add(i);
    for (const v of nodeFreeVars(n)) if (!defined.has(v)) free.add(v);
    for (const o of n.outputs) if (o) defined.add(o);
  }
  for (const o of g.outputs) if (!defined.has(o)) free.add(o);
  return free;
}

/** The enclosing-scope names a node's subgraphs read (empty for a node without subgraphs). */
export function nodeFreeVars(n: Node): Set<string> {
  const out = new Set<string>();
  for (const sub of subgraphsOf(n)) for (const v of freeVars(sub)) out.add(v);
  return out;
}

