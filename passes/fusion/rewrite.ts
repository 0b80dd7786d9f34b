// The driver the fusion passes share: find one match, apply it, re-index, until no rule matches. Graphs are a few
// hundred nodes, so re-indexing after each rewrite is cheap and keeps every rule free of bookkeeping.

import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { tensorType, type ValueType } from '../../ir/types.js';
import { GraphIndex, replaceGroup } from './match.js';
import { NameSource, allNames, mapAllSubgraphs, namesRead, rebuild } from '../graph-util.js';

/** A match: the nodes it removes and the node replacing them (which defines the group's last output). */
export interface Rewrite {
  readonly remove: ReadonlySet<Node>;
  readonly replacement: Node;
  /** Nodes placed just before the replacement (in order), e.g. a fused node ahead of a Reshape it was moved past. */
  readonly before?: readonly Node[];
  /** Types of new intermediate values the rewrite defines (not graph outputs). */
  readonly types?: ReadonlyMap<string, ValueType>;
  /** New constants the replacement reads. */
  readonly initializers?: ReadonlyMap<string, Tensor>;
}

export interface RuleContext {
  readonly index: GraphIndex;
  readonly names: NameSource;
}

/** A rule looks at one node (the root of a candidate group, usually its last node) and proposes a rewrite. */
export type Rule = (node: Node, ctx: RuleContext) => Rewrite | undefined;

/** Apply the rules to the graph and, innermost first, to the If/Loop/Scan bodies it holds. Value names are fresh
 *  model-wide (one NameSource), so a name made in a body never shadows an outer one. */
export function applyRules(graph: Graph, rules: readonly Rule[], names = new NameSource(allNames(graph))): Graph {
  const inner = mapAllSubgraphs(graph, (sub) => applyRules(sub, rules, names));
  return applyHere(inner, rules, names, graph);
}

function applyHere(graph: Graph, rules: readonly Rule[], names: NameSource, original: Graph): Graph {
  let g = graph;
  for (;;) {
    const index = new GraphIndex(g);
    let hit: Rewrite | undefined;
    for (const node of g.nodes) {
      for (const rule of rules) { hit = rule(node, { index, names }); if (hit) break; }
      if (hit) break;
    }
    if (!hit) return g === original ? g : pruneInitializers(g);
    const inits = new Map(g.initializers);
    const types = new Map<string, ValueType>();
    for (const [k, t] of hit.initializers ?? []) { inits.set(k, t); types.set(k, tensorType(t.dtype, t.dims)); }
    for (const [k, t] of hit.types ?? []) types.set(k, t);
    g = rebuild(g, replaceGroup(g.nodes, hit.remove, [...(hit.before ?? []), hit.replacement]), inits, types);
  }
}

/** Drop the initializers a rewrite left unread (the folded originals); graph inputs and outputs stay. */
function pruneInitializers(g: Graph): Graph {
  const read = new Set<string>([...g.inputs, ...g.outputs]);
  for (const n of g.nodes) for (const name of namesRead(n)) read.add(name);
  const inits = new Map([...g.initializers].filter(([k]) => read.has(k)));
  return inits.size === g.initializers.size ? g : rebuild(g, g.nodes, inits);
}
