// quantize-dynamic: int8 weights, activations quantised at run time, for transformers. Each MatMul/Gemm with a
// constant weight becomes DynamicQuantizeLinear(A) -> MatMulInteger(A_q, W_q, A_zp) -> Cast -> Mul(A_scale * W_scale)
// (+ Gemm's bias): onnxruntime's dynamic quantisation format, standard ai.onnx ops only. Weights are symmetric int8,
// per output column (option quant-per-channel=0 for one scale per tensor), their scales float16 values stored as
// float16 + Cast (passes/quant/f16-store.ts). Embedding tables (Gather of a constant): int8 per row, or float16 for
// the small ones every token reads (positions, token types: passes/quant/tables.ts).

import { UsageError } from '../../ir/errors.js';
import type { Graph, Node } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { onnxCode } from '../../ir/dtype.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { allNames, allNodeNames, NameSource } from '../graph-util.js';
import { definePass, type PassContext } from '../pass.js';
import { choiceOption, excluded, quantisableWeights, retarget, type WeightUse } from './quant-graph.js';
import { storeFloat } from './f16-store.js';
import { tableForms } from './tables.js';
import { quantizeWeight } from './weight-quant.js';
import { gatherRows } from './quantize-weights.js';

const node = (name: string, op: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node =>
  ({ name, op, inputs, outputs, attrs: withDefaults(getOp(op)!, attrs) });

/** The weight as [K, N] (Gemm's transB undone). */
function asKN(w: Tensor, transposed: boolean): Tensor {
  if (!transposed) return w;
  const [N, K] = w.dims as [number, number], src = w.data as Float32Array, out = new Float32Array(K * N);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[k * N + n] = src[n * K + k]!;
  return makeTensor('float32', [K, N], out);
}

/** Gemm forms this pass rewrites: no transA, alpha = beta = 1 (a scaled Gemm stays float). */
function plainGemm(n: Node): boolean {
  const a = (k: string, d: number): number => (n.attrs[k]?.kind === 'int' || n.attrs[k]?.kind === 'float' ? n.attrs[k].value as number : d);
  return a('transA', 0) === 0 && a('alpha', 1) === 1 && a('beta', 1) === 1;
}

export function quantizeDynamic(graph: Graph, ctx: PassContext): Graph {
  const perChannel = choiceOption(ctx, 'quant-per-channel', [0, 1] as const, 1) === 1;
  const skip = excluded(ctx);
  const take = (u: WeightUse): boolean => !skip(u.node) && (u.node.op === 'MatMul' || u.node.op === 'Gather' || (u.node.op === 'Gemm' && plainGemm(u.node)));
  const uses = quantisableWeights(graph, take);
  if (uses.size === 0) return graph;
  const names = new NameSource(allNames(graph)), nodeNames = new NameSource(allNodeNames(graph));
  const inits = new Map(graph.initializers);
  const weightOf = new Map<string, { q: string; scale: string }>();
  const tables = new Map<string, { q: string; scale: string }>();
  const halves = new Map<string, string>();
  // nodes that compute each replaced weight's pieces (float16 Casts), placed right before its first reader
  const before = new Map<string, Node[]>();
  const fresh = (h: string): string => names.fresh(h), freshNode = (h: string): string => nodeNames.fresh(h);
  const forms = tableForms(graph, uses, 8, ctx);
  for (const [w, us] of uses) {
    const t0 = graph.initializers.get(w)!;
    inits.delete(w);
    if (forms.get(w) === 'float16') {
      const st = storeFloat(w, t0, fresh, freshNode, true);
      for (const [k, v] of st.inits) inits.set(k, v);
      halves.set(w, st.out);
      before.set(w, [...st.nodes]);
      continue;
    }
    if (us[0]!.node.op === 'Gather') {
      // embedding tables: int8 per row (int4 tables need quantize-weights' 4-bit mode)
      const qw = quantizeWeight(t0, { bits: 8, channelAxis: 0, blockSize: 0, blockAxis: 1, f16Scales: true });
      const q = fresh(`${w}_q`), st = storeFloat(`${w}_scale`, qw.scale, fresh, freshNode);
      inits.set(q, qw.q);
      for (const [k, v] of st.inits) inits.set(k, v);
      tables.set(w, { q, scale: st.out });
      before.set(w, [...st.nodes]);
      continue;
    }
    const t = asKN(t0, us[0]!.channelAxis === 0);
    const [K, N] = t.dims as [number, number];
    // per tensor: the weight seen as one row, so one scale serves every column
    const qw = perChannel ? quantizeWeight(t, { bits: 8, channelAxis: 1, blockSize: 0, blockAxis: 0, f16Scales: true })
      : quantizeWeight(makeTensor('float32', [1, K * N], t.data as Float32Array), { bits: 8, channelAxis: 0, blockSize: 0, blockAxis: 1, f16Scales: true });
    const q = fresh(`${w}_q`);
    const st = storeFloat(`${w}_scale`, makeTensor('float32', [qw.scale.data.length], Float32Array.from(qw.scale.data)), fresh, freshNode);
    inits.set(q, makeTensor('int8', [K, N], qw.q.data));
    for (const [k, v] of st.inits) inits.set(k, v);
    weightOf.set(w, { q, scale: st.out });
    before.set(w, [...st.nodes]);
  }
  const nodes: Node[] = [];
  const types = new Map(graph.types);
  for (const n of graph.nodes) {
    for (const v of n.inputs) { const d = before.get(v); if (d) { nodes.push(...d); before.delete(v); } }
    if (n.inputs.some((v) => halves.has(v))) { nodes.push(retarget(n, n.inputs.map((v) => halves.get(v) ?? v))); continue; }
    const emb = n.op === 'Gather' ? tables.get(n.inputs[0]!) : undefined;
    if (emb) { nodes.push(...gatherRows(n, emb, names, nodeNames)); types.delete(n.outputs[0]!); continue; }
    const u = uses.get(n.inputs[1] ?? '')?.find((x) => x.node === n);
    if (!u) { nodes.push(n); continue; }
    const { q, scale } = weightOf.get(u.weight)!;
    const a = n.inputs[0]!, y = n.outputs[0]!, base = n.name;
    const fresh = (h: string): string => names.fresh(`${y}_${h}`);
    const aq = fresh('aq'), as = fresh('ascale'), az = fresh('azp'), acc = fresh('i32'), accF = fresh('f32'), sc = fresh('scale');
    const bias = n.op === 'Gemm' ? n.inputs[2] : undefined;
    const prod = bias ? fresh('mm') : y;
    nodes.push(
      node(nodeNames.fresh(`${base}/quantize_a`), 'DynamicQuantizeLinear', [a], [aq, as, az]),
      node(nodeNames.fresh(`${base}/matmul_int`), 'MatMulInteger', [aq, q, az], [acc]),
      node(nodeNames.fresh(`${base}/to_float`), 'Cast', [acc], [accF], { to: { kind: 'int', value: onnxCode('float32') } }),
      node(nodeNames.fresh(`${base}/scale`), 'Mul', [as, scale], [sc]),
      node(nodeNames.fresh(`${base}/rescale`), 'Mul', [accF, sc], [prod]),
    );
    if (bias) nodes.push(node(nodeNames.fresh(`${base}/bias`), 'Add', [prod, bias], [y]));
    types.delete(y);
  }
  for (const w of uses.keys()) types.delete(w);
  try {
    return inferGraph({ ...graph, nodes, initializers: inits, types }, { source: ctx.source });
  } catch (e) {
    throw e instanceof Error ? new UsageError(`quantize-dynamic: ${e.message}`) : e;
  }
}

export const quantizeDynamicPass = definePass({
  name: 'quantize-dynamic',
  summary: 'int8 weights and run-time quantised activations (DynamicQuantizeLinear + MatMulInteger) for MatMul/Gemm',
  requires: ['typed'],
  // activations rounded to 8 bits per tensor at run time: a few percent of an output's range on small graphs
  properties: { semantics: { kind: 'range', tol: 0.08 }, idempotent: true },
  run: quantizeDynamic,
});
