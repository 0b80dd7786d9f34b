// Remove nodes that compute nothing (rules in noop-rules.ts): their output is forwarded to the value it equals.
// One forward sweep; a chain (Identity of Identity) collapses in the same sweep because inputs are resolved
// through the forwards made so far. Subgraphs are handled first, each on its own.

import type { Graph, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { Aliases } from './aliases.js';
import { mapAllSubgraphs, namesRead } from './graph-util.js';
import type { NoopFacts, NoopRule } from './noop-rules.js';
import { NOOP_RULES } from './noop-rules.js';
import { EXACT, definePass } from './pass.js';

const RULES_BY_OP = new Map<string, NoopRule[]>();
for (const r of NOOP_RULES) RULES_BY_OP.set(r.op, [...(RULES_BY_OP.get(r.op) ?? []), r]);

export function removeNoops(graph: Graph, outerConstants: ReadonlyMap<string, Tensor> = new Map()): Graph {
  const constants = new Map(outerConstants);
  for (const [k, t] of graph.initializers) constants.set(k, t);
  for (const n of graph.nodes) {
    const v = n.attrs['value'];
    if (n.op === 'Constant' && v?.kind === 'tensor' && n.outputs[0]) constants.set(n.outputs[0], v.value);
  }
  const g = mapAllSubgraphs(graph, (s) => removeNoops(s, constants));
  const used = new Set<string>(g.outputs);
  for (const n of g.nodes) for (const name of namesRead(n)) used.add(name);
  const producers = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o !== '') producers.set(o, n);

  const aliases = new Aliases(g);
  const facts: NoopFacts = {
    type: (name) => g.types.get(aliases.resolve(name)) ?? g.types.get(name),
    constant: (name) => constants.get(aliases.resolve(name)),
    producer: (name) => producers.get(aliases.resolve(name)),
    used: (name) => used.has(name),
  };
  const kept: Node[] = [];
  for (const node of g.nodes) {
    const src = matchRule(node, facts);
    if (src !== undefined && src !== '' && aliases.forward(node.outputs[0]!, src)) continue;
    kept.push(node);
  }
  return aliases.empty ? g : aliases.apply(kept);
}

function matchRule(node: Node, facts: NoopFacts): string | undefined {
  const out = node.outputs[0];
  if (!out || node.inputs[0] === undefined || node.inputs[0] === '') return undefined;
  // A second output that something reads would vanish with the node.
  if (node.outputs.slice(1).some((o) => o !== '' && facts.used(o)) && node.op !== 'Dropout') return undefined;
  for (const rule of RULES_BY_OP.get(node.op) ?? []) {
    const src = rule.match(node, facts);
    if (src !== undefined) return src;
  }
  return undefined;
}

export const removeNoopsPass = definePass({
  name: 'remove-noops',
  summary: 'remove Identity, inference Dropout, same-shape Reshape/Expand, inverse Transpose pairs, same-type Cast, whole Slice, zero Pad',
  requires: [],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph) => removeNoops(graph),
});
