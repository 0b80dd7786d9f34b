// Rewriting every onnxc.* node of a graph (subgraphs included) into standard ai.onnx ops via its OpDef's
// `decompose`, so any stage of the pipeline can be exported and run by onnxruntime. Types are re-inferred.

import { UnsupportedOpError } from '../../ir/errors.js';
import type { Attr, Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../attrs.js';
import { getOp } from '../index.js';
import { inferGraph } from '../infer-graph.js';
import type { ImportNode, LegacyContext } from '../schema.js';

export function isOnnxcOp(op: string): boolean {
  return op.startsWith('onnxc.');
}

function hasOnnxcOps(g: Graph): boolean {
  return g.nodes.some((n) => isOnnxcOp(n.op) || Object.values(n.attrs).some((a) =>
    (a.kind === 'graph' && hasOnnxcOps(a.value)) || (a.kind === 'graphs' && a.value.some(hasOnnxcOps))));
}

function collectNames(g: Graph, into: Set<string>): void {
  for (const n of [...g.inputs, ...g.outputs, ...g.initializers.keys(), ...g.types.keys()]) into.add(n);
  for (const node of g.nodes) {
    into.add(node.name);
    for (const o of node.outputs) into.add(o);
    for (const a of Object.values(node.attrs)) {
      if (a.kind === 'graph') collectNames(a.value, into);
      else if (a.kind === 'graphs') for (const s of a.value) collectNames(s, into);
    }
  }
}

/** The graph with every onnxc.* node replaced by standard ops (the same object when there are none). */
export function decomposeOnnxcOps(graph: Graph): Graph {
  if (!hasOnnxcOps(graph)) return graph;
  const taken = new Set<string>();
  collectNames(graph, taken);
  const freshName = (hint: string): string => {
    let name = hint;
    for (let k = 1; taken.has(name); k++) name = `${hint}_${k}`;
    taken.add(name);
    return name;
  };
  return inferGraph(rewrite(graph, freshName));
}

function rewrite(g: Graph, freshName: (hint: string) => string): Graph {
  const inits = new Map<string, Tensor>(g.initializers);
  const ctx: LegacyContext = {
    opset: 26,
    freshName,
    constant: (t, hint) => { const name = freshName(hint ?? 'const'); inits.set(name, t); return name; },
  };
  const nodes: Node[] = [];
  for (const node of g.nodes) {
    const inner = mapGraphs(node, (s) => rewrite(s, freshName));
    if (!isOnnxcOp(node.op)) { nodes.push(inner); continue; }
    const def = getOp(node.op);
    const parts = def?.decompose?.(inner, ctx);
    if (!parts) throw new UnsupportedOpError(`${node.op} has no decomposition into standard ops`, { node: node.name, op: node.op });
    for (const n of parts) nodes.push(complete(n));
  }
  return { ...g, nodes, initializers: inits };
}

function complete(n: ImportNode): Node {
  const def = getOp(n.op);
  if (!def) throw new UnsupportedOpError(`decomposition produced unknown op ${n.op}`, { node: n.name, op: n.op });
  return { name: n.name, op: n.op, inputs: [...n.inputs], outputs: [...n.outputs], attrs: withDefaults(def, n.attrs) };
}

function mapGraphs(node: Node, f: (g: Graph) => Graph): Node {
  let changed = false;
  const attrs: Record<string, Attr> = {};
  for (const [k, a] of Object.entries(node.attrs)) {
    if (a.kind === 'graph') { attrs[k] = { kind: 'graph', value: f(a.value) }; changed = true; }
    else if (a.kind === 'graphs') { attrs[k] = { kind: 'graphs', value: a.value.map(f) }; changed = true; }
    else attrs[k] = a;
  }
  return changed ? { ...node, attrs } : node;
}
