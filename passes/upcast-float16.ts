// Compute 16-bit float ops in float32 for a backend without 16-bit kernels, as onnxruntime's CPU provider runs a
// float16 model: the nodes it widens form float32 islands whose values stay float32 from op to op, with Casts only
// where a value crosses the island's edge (graph inputs and outputs, a node that stays 16-bit, a subgraph).
// Constant weights are converted once. Storage at the interface stays 16-bit; inside an island a value is not
// rounded to 16 bits between ops, so results differ from the reference's op-by-op rounding by about one float16
// ulp per op in a chain (and agree better with float32 arithmetic, which is what onnxruntime computes).

import { onnxCode, type DType } from '../ir/dtype.js';
import type { Graph, Node } from '../ir/graph.js';
import { makeTensor, type Tensor } from '../ir/tensor.js';
import type { ValueType } from '../ir/types.js';
import { withDefaults } from '../ops/attrs.js';
import { getOp } from '../ops/index.js';
import { inferGraph } from '../ops/infer-graph.js';
import { isView } from '../ops/traits.js';
import { allNames, allNodeNames, hasSubgraphs, NameSource, namesRead } from './graph-util.js';
import { definePass, type TargetQuery } from './pass.js';

const is16 = (t: ValueType | undefined): t is { kind: 'tensor'; dtype: 'float16' | 'bfloat16' } =>
  t?.kind === 'tensor' && (t.dtype === 'float16' || t.dtype === 'bfloat16');

/** Ops that convert between types themselves, or whose attributes name an element type: never widened. */
const CONVERTS = new Set(['Cast', 'CastLike', 'Constant', 'ConstantOfShape', 'EyeLike', 'RandomNormal', 'RandomUniform',
  'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'BitCast', 'QuantizeLinear', 'DequantizeLinear']);
/** Ops that move no arithmetic (views) or read only the shape: not widened for their own sake, but they read an
 *  island's float32 value where it has one, which is exact and spares a Cast back to 16 bits. */
const FOLLOWS = (op: string): boolean => isView(op) || op === 'Shape' || op === 'Size';

function cast(name: string, input: string, output: string, to: DType): Node {
  return { name, op: 'Cast', inputs: [input], outputs: [output], attrs: withDefaults(getOp('Cast')!, { to: { kind: 'int', value: onnxCode(to) } }) };
}

/** Widen the 16-bit nodes `only` selects (default: every one), and with them every node that reads a value one of
 *  them computes (in float32 anyway, such a node would get the value rounded and widened again). */
export function upcastFloat16(graph: Graph, source?: string, only: (n: Node) => boolean = () => true): Graph {
  const sixteen = (v: string): boolean => v !== '' && is16(graph.types.get(v));
  // which nodes are widened, decided in graph order: `computed` holds the 16-bit values a widened node computes
  // (a node reading only values that were merely widened for someone else gains nothing by joining)
  const computed = new Set<string>();
  const widened = new Set<Node>();
  for (const n of graph.nodes) {
    if (CONVERTS.has(n.op) || hasSubgraphs(n) || ![...n.inputs, ...n.outputs].some(sixteen)) continue;
    const joins = n.inputs.some((v) => computed.has(v));
    if (FOLLOWS(n.op) ? !joins : !(joins || only(n))) continue;
    widened.add(n);
    for (const v of n.outputs) if (sixteen(v)) computed.add(v);
  }
  if (widened.size === 0) return graph;
  // a 16-bit value an island computes is rounded back only where something outside reads it
  const read16 = new Set<string>(graph.outputs);
  for (const n of graph.nodes) if (!widened.has(n)) for (const v of namesRead(n)) read16.add(v);

  const names = new NameSource(allNames(graph));
  const nodeNames = new NameSource(allNodeNames(graph));
  const inits = new Map(graph.initializers);
  const twins = new Map<string, string>();
  const nodes: Node[] = [];
  const twin = (v: string, at: Node): string => {
    let w = twins.get(v);
    if (w !== undefined) return w;
    w = names.fresh(`${v}__f32`);
    const c = graph.initializers.get(v);
    if (c) inits.set(w, makeTensor('float32', c.dims, Float32Array.from(c.data as Float32Array)) as Tensor);
    else nodes.push(cast(nodeNames.fresh(`${at.name}/upcast_${v}`), v, w, 'float32'));
    twins.set(v, w);
    return w;
  };
  for (const n of graph.nodes) {
    if (!widened.has(n)) { nodes.push(n); continue; }
    const inputs = n.inputs.map((v) => (sixteen(v) ? twin(v, n) : v));
    const back: Node[] = [];
    const outputs = n.outputs.map((o) => {
      if (!sixteen(o)) return o;
      const w = names.fresh(`${o}__f32`);
      twins.set(o, w);
      if (read16.has(o)) back.push(cast(nodeNames.fresh(`${n.name}/downcast_${o}`), w, o, (graph.types.get(o) as { dtype: DType }).dtype));
      return w;
    });
    nodes.push({ ...n, inputs, outputs }, ...back);
  }
  // a 16-bit weight nothing reads any more (its float32 copy replaced it) is dropped
  const read = new Set<string>(graph.outputs);
  for (const n of nodes) for (const v of namesRead(n)) read.add(v);
  for (const v of twins.keys()) if (graph.initializers.has(v) && !read.has(v) && !graph.inputs.includes(v)) inits.delete(v);
  // types of the new values come from re-inference
  return inferGraph({ ...graph, nodes, initializers: inits }, { source });
}

export const upcastFloat16Pass = definePass({
  name: 'upcast-float16',
  summary: 'compute float16/bfloat16 ops in float32 islands, Cast at their edges (for backends without 16-bit kernels)',
  requires: ['typed'],
  // float32 between ops where the reference rounds every 16-bit result: about one float16 ulp (2^-11 relative) per
  // op of a chain; the figure allows a few
  properties: { semantics: { kind: 'tolerance', rtol: 4e-3, atol: 1e-4 }, idempotent: true },
  // with a target backend, only the nodes it has no 16-bit kernel for (and those reading their results)
  run: (graph, ctx) => upcastFloat16(graph, ctx.source, ctx.target ? refuses16(ctx.target, graph) : undefined),
});

/** The nodes a target refuses for a 16-bit float element type. */
export function refuses16(target: TargetQuery, graph: Graph): (n: Node) => boolean {
  return (n) => {
    const r = target.refusal(n, graph);
    return r?.reason === 'dtype' && (r.dtype === 'float16' || r.dtype === 'bfloat16');
  };
}
