// quantize-weights: weight-only int8/int4. Each MatMul/Gemm weight (and Conv's, int8 per channel) becomes
// DequantizeLinear of an integer initializer (int4 in 4-bit mode: packed two per byte in the ONNX file): per output
// channel, or in blocks of 32/64/128 along the reduction axis (onnxruntime MatMulNBits' layout). Activations stay
// float; backends with a kernel that reads the integer weight directly keep it integer in the artifact
// (passes/quant/fuse-dequant-matmul.ts). Embedding tables (Gather of a constant): int8 per row, gathered as
// integers then scaled; in 4-bit mode int4 in blocks along the row, DequantizeLinear then Gather (ONNX's Gather
// takes no int4), which the wasm artifact stores packed and dequantises at load (lowering/int4-weights.ts).
//
// Options: quant-bits=8|4 (default 8), quant-block-size=0|32|64|128 (default 0 for 8 bits, 32 for 4 bits),
// quant-exclude=OP|NODE,... Conv weights are always int8 per channel (4 bits loses too much on small kernels).

import type { Graph, Node } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { onnxCode } from '../../ir/dtype.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { allNames, allNodeNames, NameSource } from '../graph-util.js';
import { definePass, type PassContext } from '../pass.js';
import { choiceOption, dequantNode, excluded, quantisableWeights, retarget } from './quant-graph.js';
import { quantizeWeight } from './weight-quant.js';

export function quantizeWeights(graph: Graph, ctx: PassContext): Graph {
  const bits = choiceOption(ctx, 'quant-bits', [8, 4] as const, 8);
  const block = choiceOption(ctx, 'quant-block-size', [0, 16, 32, 64, 128, 256] as const, bits === 4 ? 32 : 0);
  const skip = excluded(ctx);
  const uses = quantisableWeights(graph, (u) => !skip(u.node));
  if (uses.size === 0) return graph;
  const names = new NameSource(allNames(graph)), nodeNames = new NameSource(allNodeNames(graph));
  const inits = new Map(graph.initializers);
  const replaced = new Map<string, string>();
  const dq = new Map<string, Node>();
  const gathers = new Map<string, { q: string; scale: string }>();
  for (const [w, us] of uses) {
    if (us[0]!.node.op === 'Gather' && bits === 8) {
      // int8 per row; the rows are gathered as integers and scaled after (Gather, Cast, Mul: nothing to fold, so
      // the table stays integer on every backend)
      const t = graph.initializers.get(w)!;
      const qw = quantizeWeight(t, { bits: 8, channelAxis: 0, blockSize: 0, blockAxis: 1 });
      const q = names.fresh(`${w}_q`), s = names.fresh(`${w}_scale`);
      inits.set(q, qw.q);
      inits.set(s, qw.scale);
      inits.delete(w);
      gathers.set(w, { q, scale: s });
      continue;
    }
    const conv = us[0]!.node.op === 'Conv';
    // a block larger than the reduction axis is one block: per channel
    const t = graph.initializers.get(w)!;
    const b = conv || block >= t.dims[us[0]!.blockAxis]! ? 0 : block;
    const qw = quantizeWeight(t, { bits: conv ? 8 : bits, channelAxis: us[0]!.channelAxis, blockSize: b, blockAxis: us[0]!.blockAxis });
    const made = dequantNode(nodeNames.fresh(`${w}/dequantize`), w, qw, (h) => names.fresh(h));
    for (const [k, v] of made.inits) inits.set(k, v as Tensor);
    inits.delete(w);
    replaced.set(w, made.out);
    dq.set(w, made.node);
  }
  // each DequantizeLinear goes right before the first node that reads its output
  const nodes: Node[] = [];
  for (const n of graph.nodes) {
    const emb = n.op === 'Gather' ? gathers.get(n.inputs[0]!) : undefined;
    if (emb) { nodes.push(...gatherRows(n, emb, names, nodeNames)); continue; }
    for (const v of n.inputs) { const d = dq.get(v); if (d) { nodes.push(d); dq.delete(v); } }
    nodes.push(n.inputs.some((v) => replaced.has(v)) ? retarget(n, n.inputs.map((v) => replaced.get(v) ?? v)) : n);
  }
  const types = new Map(graph.types);
  for (const w of replaced.keys()) types.delete(w);
  return inferGraph({ ...graph, nodes, initializers: inits, types }, { source: ctx.source });
}

/** Gather(q, ids) -> Cast -> Mul(Unsqueeze(Gather(scale, ids), -1)): DequantizeLinear's q * scale, per gathered row. */
export function gatherRows(n: Node, t: { q: string; scale: string }, names: NameSource, nodeNames: NameSource): Node[] {
  const ids = n.inputs[1]!, y = n.outputs[0]!;
  const f = (h: string): string => names.fresh(`${y}_${h}`), nn = (h: string): string => nodeNames.fresh(`${n.name}/${h}`);
  const rows = f('q'), wide = f('f32'), s = f('scale'), s1 = f('scale_col'), axes = f('axes');
  const mk = (name: string, op: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node => ({ name, op, inputs, outputs, attrs: withDefaults(getOp(op)!, attrs) });
  return [
    mk(nn('gather_q'), 'Gather', [t.q, ids], [rows], n.attrs),
    mk(nn('to_float'), 'Cast', [rows], [wide], { to: { kind: 'int', value: onnxCode('float32') } }),
    mk(nn('gather_scale'), 'Gather', [t.scale, ids], [s], n.attrs),
    mk(nn('axes'), 'Constant', [], [axes], { value: { kind: 'tensor', value: makeTensor('int64', [1], BigInt64Array.of(-1n)) } }),
    mk(nn('unsqueeze'), 'Unsqueeze', [s, axes], [s1]),
    mk(nn('scale'), 'Mul', [wide, s1], [y]),
  ];
}

export const quantizeWeightsPass = definePass({
  name: 'quantize-weights',
  summary: 'weight-only int8/int4 quantisation of MatMul/Gemm (per channel or block-wise), Conv and Gather-table (int8) weights',
  requires: ['typed'],
  // int8 per channel on the generated graphs' weights: ~1% of an output's range; 4 bits is looser (test/quant)
  properties: { semantics: { kind: 'range', tol: 0.05 }, idempotent: true },
  run: quantizeWeights,
});
