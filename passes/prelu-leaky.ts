// prelu-leaky-relu: PRelu(x, slope) whose slope is a constant with every element the same number is
// LeakyRelu(x) {alpha = slope}: PyTorch's default nn.PReLU() has one parameter, exported as a [1] (or [C,1,1] of
// one value) slope. The conv / GEMM epilogue fusion takes LeakyRelu, not PRelu (a separate elementwise pass each
// otherwise). Exact: both compute x < 0 ? s * x : x, rounded once to x's type, with the same s.
//
// Left alone: a slope that varies (per channel: a later epilogue may take it as a vector), a run-time slope, an
// integer x (LeakyRelu is floats only), a slope that a float32 attribute cannot hold exactly (float64), mixed
// 0 / -0 or NaN elements, and a slope of a dimension > 1 that x's (symbolic) dimension might broadcast up.

import type { Graph } from '../ir/graph.js';
import { getNumber, type Tensor } from '../ir/tensor.js';
import { GraphFacts } from './graph-facts.js';
import { mapAllSubgraphs, rebuild } from './graph-util.js';
import { EXACT, definePass } from './pass.js';

const FLOAT_TYPES = new Set(['float32', 'float16', 'bfloat16', 'float64']);

/** The one value every element of the slope holds, when it is a float a float32 attribute holds exactly. */
function uniformSlope(t: Tensor): number | undefined {
  if (!FLOAT_TYPES.has(t.dtype) || t.data.length === 0) return undefined;
  const s = getNumber(t, 0);
  if (Number.isNaN(s) || Math.fround(s) !== s) return undefined;
  for (let i = 1; i < t.data.length; i++) if (!Object.is(getNumber(t, i), s)) return undefined;
  return s;
}

/** True when a slope of this shape cannot broadcast x up: each slope dimension other than 1 meets the same known
 *  dimension of x. */
function fitsX(f: GraphFacts, x: string, slope: Tensor): boolean {
  const xt = f.type(x);
  if (xt?.shape === undefined || !FLOAT_TYPES.has(xt.dtype)) return false;
  const xs = xt.shape, ss = slope.dims;
  if (ss.length > xs.length) return false;
  return ss.every((d, i) => d === 1 || d === xs[xs.length - ss.length + i]);
}

function run(graph: Graph): Graph {
  const g = mapAllSubgraphs(graph, run);
  const f = new GraphFacts(g);
  let changed = g !== graph;
  const nodes = g.nodes.map((n) => {
    if (n.op !== 'PRelu' || n.inputs.length !== 2) return n;
    const slope = f.fixed(n.inputs[1]);
    const alpha = slope && fitsX(f, n.inputs[0]!, slope) ? uniformSlope(slope) : undefined;
    if (alpha === undefined) return n;
    changed = true;
    return { name: n.name, op: 'LeakyRelu', inputs: [n.inputs[0]!], outputs: [...n.outputs], attrs: { alpha: { kind: 'float' as const, value: alpha } } };
  });
  return changed ? rebuild(g, nodes) : graph;
}

export const preluLeakyRelu = definePass({
  name: 'prelu-leaky-relu',
  summary: 'PRelu with a constant slope of one value -> LeakyRelu {alpha = slope}, which the conv/GEMM epilogues fuse',
  requires: ['typed'],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph) => run(graph),
});
