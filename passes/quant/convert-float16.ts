// convert-float16: float16 weights and activations. Nodes of the ops listed in FP16_OPS compute in float16 (their
// float32 weights stored as float16 initializers); every other op (Softmax and the normalisations, whose
// reductions lose accuracy in 16 bits, Exp/Log/Pow, shape arithmetic) stays float32, and Casts are placed where a
// value crosses between the two. Graph inputs and outputs keep float32. Option fp16-keep=OP|NODE,... keeps more.

import type { Graph, Node } from '../../ir/graph.js';
import { makeTensor, roundToDType, type Tensor } from '../../ir/tensor.js';
import { onnxCode } from '../../ir/dtype.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { allNames, allNodeNames, freeNames, NameSource, namesRead, subgraphsIn } from '../graph-util.js';
import { definePass, type PassContext } from '../pass.js';
import { retarget } from './quant-graph.js';

/** Ops computed in float16: products accumulate in float32 on every backend onnxc targets, and the rest are
 *  elementwise or movement ops whose float16 result is one rounding of the exact one. */
export const FP16_OPS: ReadonlySet<string> = new Set([
  'Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'Add', 'Sub', 'Mul', 'Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'Tanh',
  'HardSigmoid', 'HardSwish', 'Max', 'Min', 'Neg', 'Abs', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool',
  'Concat', 'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Slice', 'Gather', 'Split', 'Identity',
  'BatchNormalization', 'Where', 'Pad', 'Resize', 'DepthToSpace', 'SpaceToDepth', 'Expand', 'Tile',
]);

/** Inputs that keep float32 whatever the op computes in (Resize's roi and scales). */
const FIXED_F32: Readonly<Record<string, readonly number[]>> = { Resize: [1, 2] };

const isF32 = (g: Graph, v: string): boolean => { const t = g.types.get(v); return t?.kind === 'tensor' && t.dtype === 'float32'; };

export function convertFloat16(graph: Graph, ctx: PassContext): Graph {
  const keep = new Set((ctx.options.get('fp16-keep') ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  // values a subgraph reads from this scope keep their type (the subgraph was typed against it)
  const pinned = new Set<string>();
  for (const n of graph.nodes) for (const sub of subgraphsIn(n)) for (const v of freeNames(sub)) pinned.add(v);
  const low = (n: Node): boolean => FP16_OPS.has(n.op) && !keep.has(n.op) && !keep.has(n.name) && !n.outputs.some((o) => pinned.has(o))
    && n.outputs.some((o) => o && isF32(graph, o)) && n.inputs.some((v) => v && isF32(graph, v));
  if (!graph.nodes.some(low)) return graph;
  const names = new NameSource(allNames(graph)), nodeNames = new NameSource(allNodeNames(graph));
  const inits = new Map(graph.initializers);
  // the 16-bit variable of a float32 value, and the 32-bit one of a value that became 16-bit
  const half = new Map<string, string>(), full = new Map<string, string>();
  const nowHalf = new Set<string>();
  const nodes: Node[] = [];
  const cast = (from: string, to: 'float16' | 'float32', at: string): string => {
    const out = names.fresh(`${from}_${to === 'float16' ? 'fp16' : 'fp32'}`);
    nodes.push({ name: nodeNames.fresh(`${at}/to_${to}`), op: 'Cast', inputs: [from], outputs: [out], attrs: withDefaults(getOp('Cast')!, { to: { kind: 'int', value: onnxCode(to) } }) });
    return out;
  };
  const asHalf = (v: string, at: string): string => {
    if (nowHalf.has(v)) return v;
    let h = half.get(v);
    if (h) return h;
    const c = graph.initializers.get(v);
    if (c && !graph.inputs.includes(v)) {
      h = names.fresh(`${v}_fp16`);
      inits.set(h, roundToDType(makeTensor('float16', c.dims, Float32Array.from(c.data as Float32Array))) as Tensor);
    } else h = cast(v, 'float16', at);
    half.set(v, h);
    return h;
  };
  const asFull = (v: string, at: string): string => {
    if (!nowHalf.has(v)) return v;
    let f = full.get(v);
    if (!f) { f = cast(v, 'float32', at); full.set(v, f); }
    return f;
  };
  for (const n of graph.nodes) {
    if (!low(n)) {
      nodes.push(n.inputs.some((v) => nowHalf.has(v)) ? retarget(n, n.inputs.map((v) => (v ? asFull(v, n.name) : v))) : n);
      continue;
    }
    const fixed = FIXED_F32[n.op] ?? [];
    const inputs = n.inputs.map((v, i) => (v && !fixed.includes(i) && (isF32(graph, v) || nowHalf.has(v)) ? asHalf(v, n.name) : v));
    // a graph output keeps float32: the node writes a 16-bit value that a Cast right after turns back
    const back: [string, string][] = [];
    const outputs = n.outputs.map((o) => {
      if (!o || !isF32(graph, o)) return o;
      if (!graph.outputs.includes(o)) { nowHalf.add(o); return o; }
      const h = names.fresh(`${o}_fp16`);
      nowHalf.add(h);
      back.push([h, o]);
      return h;
    });
    nodes.push(retarget(n, inputs, outputs));
    for (const [h, o] of back) nodes.push({ name: nodeNames.fresh(`${o}/to_float32`), op: 'Cast', inputs: [h], outputs: [o], attrs: withDefaults(getOp('Cast')!, { to: { kind: 'int', value: onnxCode('float32') } }) });
  }
  // later readers of a renamed graph output read the float32 value, which still has its name: nothing to rewrite
  const renamed = nodes;
  // float32 weights only the 16-bit nodes read are dropped
  const read = new Set<string>(graph.outputs);
  for (const n of renamed) for (const v of namesRead(n)) read.add(v);
  for (const v of half.keys()) if (graph.initializers.has(v) && !read.has(v)) inits.delete(v);
  const types = new Map([...graph.types].filter(([k]) => !nowHalf.has(k) || graph.inputs.includes(k) || graph.outputs.includes(k)));
  return inferGraph({ ...graph, nodes: renamed, initializers: inits, types }, { source: ctx.source });
}

export const convertFloat16Pass = definePass({
  name: 'convert-float16',
  summary: 'float16 weights and activations (float32 inputs/outputs, Softmax/norms/Exp kept float32)',
  requires: ['typed'],
  // float16 has 11 significant bits; a chain of a few products keeps the outputs within ~1% of their range
  properties: { semantics: { kind: 'range', tol: 0.02 }, idempotent: true },
  run: convertFloat16,
});
