// Decompose: rewrite ops the target backend lacks into primitives it has. onnxc's own `onnxc.X` ops use their
// OpDef.decompose; composite ai.onnx ops (Gelu, HardSwish, LayerNormalization, ...) use decompose-rules.ts and
// decompose-rules-more.ts.
// Which ops: those outside ctx.supportedOps, plus any named in the option `decompose` (comma list) or all rule ops
// with `decompose=all`. Ops with no rule, or forms a rule does not handle, stay for the backend to report.

import type { Graph, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { inferGraph } from '../ops/infer-graph.js';
import { getOp } from '../ops/index.js';
import type { ImportNode, LegacyContext } from '../ops/schema.js';
import { DECOMPOSE_RULES } from './decompose-rules.js';
import { NameSource, allNames, allNodeNames, mapSubgraphs, rebuild } from './graph-util.js';
import type { PassContext } from './pass.js';
import { definePass } from './pass.js';

/** A decomposition may itself use ops the backend lacks (rule output decomposed again): a few rounds at most. */
const MAX_ROUNDS = 4;

export function decomposeGraph(graph: Graph, ctx: PassContext): Graph {
  const wanted = wantedOps(ctx);
  let g = graph;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const names = new NameSource(allNodeNames(g, allNames(g)));
    const next = decomposeIn(g, wanted, names);
    if (next === g) break;
    g = inferGraph(next, { source: ctx.source });
  }
  return g;
}

function wantedOps(ctx: PassContext): (op: string) => boolean {
  const listed = (ctx.options.get('decompose') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const all = listed.includes('all');
  return (op) => (ctx.supportedOps !== undefined && !ctx.supportedOps.has(op)) || listed.includes(op) || (all && DECOMPOSE_RULES.has(op));
}

function decomposeIn(graph: Graph, wanted: (op: string) => boolean, names: NameSource): Graph {
  const inits = new Map(graph.initializers);
  const lctx: LegacyContext = {
    opset: 26,
    freshName: (hint) => names.fresh(hint),
    constant: (t: Tensor, hint = 'const') => { const n = names.fresh(hint); inits.set(n, t); return n; },
  };
  const nodes: Node[] = [];
  let changed = false;
  for (const node of graph.nodes) {
    const replaced = wanted(node.op) ? replacement(node, lctx, graph) : undefined;
    if (replaced === undefined) {
      const n = mapSubgraphs(node, (s) => decomposeIn(s, wanted, names));
      if (n !== node) changed = true;
      nodes.push(n);
      continue;
    }
    changed = true;
    nodes.push(...replaced.map((n): Node => ({ name: n.name, op: n.op, inputs: n.inputs, outputs: n.outputs, attrs: n.attrs })));
  }
  return changed ? rebuild(graph, nodes, inits) : graph;
}

function replacement(node: Node, lctx: LegacyContext, graph: Graph): ImportNode[] | undefined {
  const def = getOp(node.op);
  if (def?.decompose) return def.decompose(node, lctx);
  return DECOMPOSE_RULES.get(node.op)?.build(node, lctx, { type: (name) => graph.types.get(name) });
}

export const decomposePass = definePass({
  name: 'decompose',
  summary: 'rewrite ops the backend lacks (onnxc.X, Gelu, HardSwish, LayerNormalization, RMSNormalization, LogSoftmax, Softplus, Mish, Selu, ...) into primitive ai.onnx ops',
  requires: [],
  // float32 rounding after every primitive step, where the composite kernel rounds once
  properties: { semantics: { kind: 'tolerance', rtol: 1e-4, atol: 1e-5 }, idempotent: true },
  run: (graph, ctx) => decomposeGraph(graph, ctx),
});
