// Compute 16-bit float ops in float32 for a backend without 16-bit kernels: each such node reads its float16 or
// bfloat16 inputs through a Cast to float32 (constant weights are converted once), computes in float32, and its
// results are Cast back. Storage and the graph's interface stay 16-bit; only the arithmetic is widened, which is
// also how onnxruntime's CPU provider runs float16 models. Per op, float32 then one rounding to 16 bits agrees with
// the reference (which rounds each 16-bit result once) except where float32 accumulation differs from double.

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

/** Ops that convert between types themselves, or whose attributes name an element type: left as they are, and so
 *  are views (they move no arithmetic). */
const CONVERTS = new Set(['Cast', 'CastLike', 'Constant', 'ConstantOfShape', 'EyeLike', 'RandomNormal', 'RandomUniform',
  'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'BitCast', 'QuantizeLinear', 'DequantizeLinear',
  'Shape', 'Size']);
const keep = (op: string): boolean => CONVERTS.has(op) || isView(op);

function cast(name: string, input: string, output: string, to: DType): Node {
  return { name, op: 'Cast', inputs: [input], outputs: [output], attrs: withDefaults(getOp('Cast')!, { to: { kind: 'int', value: onnxCode(to) } }) };
}

/** Widen the 16-bit nodes `only` selects (default: every one). */
export function upcastFloat16(graph: Graph, source?: string, only: (n: Node) => boolean = () => true): Graph {
  const widen = (n: Node): boolean => !keep(n.op) && !hasSubgraphs(n)
    && [...n.inputs, ...n.outputs].some((v) => v !== '' && is16(graph.types.get(v))) && only(n);
  if (!graph.nodes.some(widen)) return graph;
  const names = new NameSource(allNames(graph));
  const nodeNames = new NameSource(allNodeNames(graph));
  const inits = new Map(graph.initializers);
  const widened = new Map<string, string>();
  const nodes: Node[] = [];
  const wide = (v: string, at: Node): string => {
    let w = widened.get(v);
    if (w !== undefined) return w;
    w = names.fresh(`${v}__f32`);
    const c = graph.initializers.get(v);
    if (c) inits.set(w, makeTensor('float32', c.dims, Float32Array.from(c.data as Float32Array)) as Tensor);
    else nodes.push(cast(nodeNames.fresh(`${at.name}/upcast_${v}`), v, w, 'float32'));
    widened.set(v, w);
    return w;
  };
  for (const n of graph.nodes) {
    if (!widen(n)) { nodes.push(n); continue; }
    const inputs = n.inputs.map((v) => (v !== '' && is16(graph.types.get(v)) ? wide(v, n) : v));
    const back: Node[] = [];
    const outputs = n.outputs.map((o) => {
      const t = graph.types.get(o);
      if (o === '' || !is16(t)) return o;
      const w = names.fresh(`${o}__f32`);
      back.push(cast(nodeNames.fresh(`${n.name}/downcast_${o}`), w, o, t.dtype));
      return w;
    });
    nodes.push({ ...n, inputs, outputs }, ...back);
  }
  // a 16-bit weight nothing reads any more (its float32 copy replaced it) is dropped
  const read = new Set<string>(graph.outputs);
  for (const n of nodes) for (const v of namesRead(n)) read.add(v);
  for (const v of widened.keys()) if (graph.initializers.has(v) && !read.has(v) && !graph.inputs.includes(v)) inits.delete(v);
  // types of the new values come from re-inference
  return inferGraph({ ...graph, nodes, initializers: inits }, { source });
}

export const upcastFloat16Pass = definePass({
  name: 'upcast-float16',
  summary: 'compute float16/bfloat16 ops in float32 between Casts (for backends without 16-bit kernels)',
  requires: ['typed'],
  // one float16 ulp (2^-10 relative) where float32 and double accumulation round a 16-bit result differently
  properties: { semantics: { kind: 'tolerance', rtol: 1e-3, atol: 1e-4 }, idempotent: true },
  // with a target backend, only the nodes it has no 16-bit kernel for
  run: (graph, ctx) => upcastFloat16(graph, ctx.source, ctx.target ? refuses16(ctx.target, graph) : undefined),
});

/** The nodes a target refuses for a 16-bit float element type. */
export function refuses16(target: TargetQuery, graph: Graph): (n: Node) => boolean {
  return (n) => {
    const r = target.refusal(n, graph);
    return r?.reason === 'dtype' && (r.dtype === 'float16' || r.dtype === 'bfloat16');
  };
}
