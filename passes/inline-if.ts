// inline-if: an If whose condition is a constant (a folded shape test, an input fixed at compile time such as a
// sample rate) is replaced by the nodes of the branch it takes. Backends then see straight-line code, and the
// branch's own constants fold with the rest of the graph. Runs inner Ifs first, so nested ones fold in one run.
//
// Names: every value the branch defines is renamed when the name is already used in the enclosing scopes (ONNX
// exporters do reuse names across branches); a branch output produced by a node of the branch takes the If's
// output name, any other (an outer value, a constant, a value output twice) is passed on through an Identity.

import type { Graph, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { ValueType } from '../ir/types.js';
import { allNames, allNodeNames, mapSubgraphs, NameSource, subgraphsIn } from './graph-util.js';
import { foldConstants } from './constant-fold.js';
import { EXACT, definePass, type PassContext } from './pass.js';

/** The constant truth value of `name`, or undefined when it is not a one-element constant in scope. */
function constantCondition(consts: ReadonlyMap<string, Tensor>, name: string): boolean | undefined {
  const t = consts.get(name);
  if (!t || t.data.length !== 1) return undefined;
  const v = (t.data as ArrayLike<number | bigint | string>)[0];
  return typeof v === 'string' ? undefined : v !== 0 && v !== 0n;
}

/** Names a graph defines itself (inputs, initializers, node outputs): they shadow outer names inside it. */
function definedIn(g: Graph): Set<string> {
  const s = new Set<string>([...g.inputs, ...g.initializers.keys()]);
  for (const n of g.nodes) for (const o of n.outputs) if (o !== '') s.add(o);
  return s;
}

/** Rename the free references of a (nested) subgraph: names it defines itself shadow the map. */
function renameFree(g: Graph, map: ReadonlyMap<string, string>): Graph {
  const own = definedIn(g);
  const inner = new Map([...map].filter(([from]) => !own.has(from)));
  if (inner.size === 0) return g;
  const r = (n: string): string => inner.get(n) ?? n;
  const nodes = g.nodes.map((n) => mapSubgraphs({ ...n, inputs: n.inputs.map(r) }, (s) => renameFree(s, inner)));
  return { ...g, nodes, outputs: g.outputs.map(r) };
}

interface Fresh { value(hint: string): string; node(hint: string): string }

/** The nodes, constants and types that replace `node` when it takes `branch`. */
function inlineBranch(node: Node, branch: Graph, fresh: Fresh): { nodes: Node[]; inits: Map<string, Tensor>; types: Map<string, ValueType> } {
  const uses = new Map<string, number>();
  for (const o of branch.outputs) uses.set(o, (uses.get(o) ?? 0) + 1);
  const nodeOutputs = new Set<string>();
  for (const n of branch.nodes) for (const o of n.outputs) if (o !== '') nodeOutputs.add(o);

  // names inside the branch's own subgraphs: a rename target among them would be captured there
  const nested = new Set<string>();
  for (const n of branch.nodes) for (const sub of subgraphsIn(n)) allNames(sub, nested);
  const rename = new Map<string, string>();
  branch.outputs.forEach((o, k) => {
    const target = node.outputs[k];
    if (target && nodeOutputs.has(o) && uses.get(o) === 1 && !nested.has(target)) rename.set(o, target);
  });
  for (const name of definedIn(branch)) if (!rename.has(name)) rename.set(name, fresh.value(name));
  const r = (n: string): string => (n === '' ? n : rename.get(n) ?? n);

  const nodes: Node[] = branch.nodes.map((n) => mapSubgraphs({ ...n, inputs: n.inputs.map(r), outputs: n.outputs.map(r) }, (s) => renameFree(s, rename)));
  branch.outputs.forEach((o, k) => {
    const target = node.outputs[k];
    if (target && r(o) !== target) nodes.push({ name: fresh.node(`${node.name}/out${k}`), op: 'Identity', inputs: [r(o)], outputs: [target], attrs: {} });
  });
  const inits = new Map([...branch.initializers].map(([k, t]) => [r(k), t] as const));
  const types = new Map([...branch.types].filter(([k]) => rename.has(k)).map(([k, t]) => [r(k), t] as const));
  return { nodes, inits, types };
}

/** Names defined at this level of `g` (not inside its subgraphs). */
function ownNames(g: Graph): Set<string> {
  return new Set([...definedIn(g), ...g.types.keys(), ...g.outputs]);
}

function inlineIfs(g0: Graph, outer: ReadonlySet<string>, outerConsts: ReadonlyMap<string, Tensor>, nodeNames: NameSource): Graph {
  // constants visible here: the enclosing scopes' ones, less names this graph redefines, plus its own
  const consts = new Map(outerConsts);
  for (const name of definedIn(g0)) consts.delete(name);
  for (const [k, t] of g0.initializers) consts.set(k, t);
  // inner graphs first (they see this graph's names as their outer scope), so nested Ifs fold in one run
  const here = new Set([...outer, ...allNames(g0)]);
  let changed = false;
  const inner = g0.nodes.map((n) => {
    const m = mapSubgraphs(n, (s) => inlineIfs(s, here, consts, nodeNames));
    if (m !== n) changed = true;
    return m;
  });
  const g: Graph = changed ? { ...g0, nodes: inner } : g0;

  const taken = (n: Node): Graph | undefined => {
    const cond = n.op === 'If' ? constantCondition(consts, n.inputs[0] ?? '') : undefined;
    const attr = cond === undefined ? undefined : n.attrs[cond ? 'then_branch' : 'else_branch'];
    return attr?.kind === 'graph' ? attr.value : undefined;
  };
  // Names a branch value may not take: the enclosing scopes', this level's, and those inside any subgraph that
  // stays (a kept node's, or one nested in a taken branch); a taken branch's own top-level names are free to keep.
  const used = new Set([...outer, ...ownNames(g)]);
  for (const n of g.nodes) {
    const branch = taken(n);
    for (const sub of branch ? branch.nodes.flatMap(subgraphsIn) : subgraphsIn(n)) allNames(sub, used);
  }
  const values = new NameSource(used);
  const fresh: Fresh = { value: (h) => values.fresh(h), node: (h) => nodeNames.fresh(h) };
  const inits = new Map(g.initializers);
  const types = new Map(g.types);
  const nodes: Node[] = [];
  let inlined = false;
  for (const n of g.nodes) {
    const branch = taken(n);
    if (!branch) { nodes.push(n); continue; }
    const r = inlineBranch(n, branch, fresh);
    nodes.push(...r.nodes);
    for (const [k, t] of r.inits) inits.set(k, t);
    for (const [k, t] of r.types) if (!types.has(k)) types.set(k, t);
    inlined = true;
  }
  return inlined ? { ...g, nodes, initializers: inits, types } : g;
}

export function inlineConstantIfs(graph: Graph): Graph {
  return inlineIfs(graph, new Set(), new Map(), new NameSource(allNodeNames(graph)));
}

/** Inline, fold what the inlined branches compute from constants, and repeat while that decides more conditions
 *  (a branch that tests the chunk length inside a branch taken on the sample rate). Bounded by the If count. */
export function inlineIfsAndFold(graph: Graph, ctx: PassContext): Graph {
  let g = graph;
  for (;;) {
    const inlined = inlineConstantIfs(g);
    if (inlined === g) return g;
    g = foldConstants(inlined, ctx);
  }
}

export const inlineIf = definePass({
  name: 'inline-if',
  summary: 'replace an If whose condition is a constant by the branch it takes, folding what that decides (nested Ifs included)',
  requires: [],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph, ctx) => inlineIfsAndFold(graph, ctx),
});
