// Dead-code elimination: drop nodes none of whose outputs reach a graph output, and initializers nothing reads.
// Works inside subgraphs first, so a node whose only use was in a branch that got smaller is seen as dead too.
// Every ONNX op is side-effect free, so "unused" is the only criterion.

import type { Graph, Node } from '../ir/graph.js';
import { mapAllSubgraphs, namesRead, rebuild } from './graph-util.js';
import { EXACT, definePass } from './pass.js';

export function eliminateDeadCode(graph: Graph): Graph {
  const inner = mapAllSubgraphs(graph, eliminateDeadCode);
  const live = new Set<string>(inner.outputs);
  const kept: Node[] = [];
  for (let k = inner.nodes.length - 1; k >= 0; k--) {
    const node = inner.nodes[k]!;
    if (!node.outputs.some((o) => o !== '' && live.has(o))) continue;
    kept.push(node);
    for (const name of namesRead(node)) live.add(name);
  }
  kept.reverse();
  // An initializer that is also a graph input is a default the caller may override: part of the interface.
  const inits = new Map([...inner.initializers].filter(([name]) => live.has(name) || inner.inputs.includes(name)));
  if (kept.length === inner.nodes.length && inits.size === inner.initializers.size) return inner;
  return rebuild(inner, kept, inits);
}

export const dce = definePass({
  name: 'dce',
  summary: 'remove nodes and initializers that no graph output depends on (subgraphs included)',
  requires: [],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph) => eliminateDeadCode(graph),
});
