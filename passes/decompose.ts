// Decompose: rewrite ops the target backend lacks into primitives it has, through the op's OpDef.decompose (onnxc's
// own `onnxc.X` ops, and composite ai.onnx ops: Gelu, HardSwish, LayerNormalization, ... in ops/decompose/).
// Which ops: those outside ctx.supportedOps, plus any named in the option `decompose` (comma list) or all rule ops
// with `decompose=all`. Ops with no rule, or forms a rule does not handle, stay for the backend to report.

import type { Graph, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { inferGraph } from '../ops/infer-graph.js';
import { getOp } from '../ops/index.js';
import type { ImportNode, LegacyContext } from '../ops/schema.js';
import { NameSource, allNames, allNodeNames, mapSubgraphs, rebuild } from './graph-util.js';
import type { PassContext } from './pass.js';
import { definePass } from './pass.js';

/** A decomposition may itself use ops the backend lacks (rule output decomposed again): a few rounds at most. */
const MAX_ROUNDS = 4;

export function decomposeGraph(graph: Graph, ctx: PassContext): Graph {
  const wanted = wantedNodes(ctx);
  let g = graph;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const names = new NameSource(allNodeNames(g, allNames(g)));
    const next = decomposeIn(g, wanted, names);
    if (next === g) break;
    g = inferGraph(next, { source: ctx.source });
  }
  return g;
}

type Wanted = (node: Node, graph: Graph) => boolean;

/** Nodes to rewrite: ops outside ctx.supportedOps, ops the option names, and nodes the target backend refuses
 *  for their form or element type (a FusedElementwise step it has no formula for, say) — asked, not tried. */
function wantedNodes(ctx: PassContext): Wanted {
  const listed = (ctx.options.get('decompose') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const all = listed.includes('all');
  const byOp = (op: string): boolean => (ctx.supportedOps !== undefined && !ctx.supportedOps.has(op)) || listed.includes(op) || (all && hasDecomposition(op));
  const target = ctx.target;
  return (node, graph) => {
    if (byOp(node.op)) return true;
    if (!target || !hasDecomposition(node.op)) return false;
    const r = target.refusal(node, graph);
    // 16-bit floats are upcast rather than decomposed (upcast-float16)
    return r !== undefined && (r.reason === 'form' || (r.reason === 'dtype' && r.dtype !== 'float16' && r.dtype !== 'bfloat16'));
  };
}

const hasDecomposition = (op: string): boolean => getOp(op)?.decompose !== undefined;

function decomposeIn(graph: Graph, wanted: Wanted, names: NameSource): Graph {
  const inits = new Map(graph.initializers);
  const lctx: LegacyContext = {
    opset: 26,
    freshName: (hint) => names.fresh(hint),
    constant: (t: Tensor, hint = 'const') => { const n = names.fresh(hint); inits.set(n, t); return n; },
  };
  const nodes: Node[] = [];
  let changed = false;
  for (const node of graph.nodes) {
    const replaced = wanted(node, graph) ? replacement(node, lctx, graph) : undefined;
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
  return getOp(node.op)?.decompose?.(node, lctx, { type: (name) => graph.types.get(name) });
}

export const decomposePass = definePass({
  name: 'decompose',
  summary: 'rewrite ops the backend lacks (onnxc.X, Gelu, HardSwish, LayerNormalization, RMSNormalization, LogSoftmax, Softplus, Mish, Selu, ...) into primitive ai.onnx ops',
  requires: [],
  // float32 rounding after every primitive step, where the composite kernel rounds once
  properties: { semantics: { kind: 'tolerance', rtol: 1e-4, atol: 1e-5 }, idempotent: true },
  run: (graph, ctx) => decomposeGraph(graph, ctx),
});
