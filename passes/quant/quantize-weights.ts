// quantize-weights: weight-only int8/int4. Each MatMul/Gemm weight (and Conv's, int8 per channel) becomes
// DequantizeLinear of an integer initializer (int4 in 4-bit mode: packed two per byte in the ONNX file): per output
// channel, or in blocks of 32/64/128 along the reduction axis (onnxruntime MatMulNBits' layout). Activations stay
// float; backends with a kernel that reads the integer weight directly keep it integer in the artifact
// (passes/quant/fuse-dequant-matmul.ts). With calibration second moments (XᵀX of each MatMul's input), the integers
// are rounded by GPTQ (passes/quant/gptq.ts): the output error, not the weight error, is minimised; then each column's
// scales are re-fitted by least squares to the integers GPTQ chose and the integers rounded again on them (once by
// default: bert-tiny's relative L2 output error at int4 blocks of 64, seq 32 / 128: 6.45e-3 / 6.61e-3 -> 6.45e-3 /
// 6.57e-3; blocks of 128: 6.76e-3 / 6.92e-3 -> 6.69e-3 / 6.89e-3; calibration 32 + 32 inputs at seq 32 and 128). Scales are
// float16 values stored as float16 + Cast (passes/quant/f16-store.ts) where float16 holds them as normal numbers.
// Embedding tables (Gather of a constant), as passes/quant/tables.ts decides: float16, int8 per row (gathered as
// integers then scaled), or int4 blocks along the row (DequantizeLinear then Gather: ONNX's Gather takes no int4;
// the wasm artifact stores them packed and dequantises at load, lowering/int4-weights.ts).
//
// Options: quant-bits=8|4 (default 8), quant-block-size=0|16|32|64|128|256 (default 0 for 8 bits, 64 for 4 bits:
// with GPTQ's rounding, blocks of 64 lose about what round-to-nearest blocks of 32 do, for half the scales),
// quant-gptq=0|1 (default 1), quant-refit=0|1|2 (scale re-fits after GPTQ, default 1), quant-f16-scales=0|1
// (default 1), quant-coarsen=0|1 (per-channel scales for layers whose error is far under the worst one's, coarsenLayers;
// default 1 at 4 bits: bert-tiny at seq 32 / 128, blocks of 64: relative L2 6.45e-3 / 6.57e-3 -> 6.53e-3 / 6.65e-3,
// ONNX 406.6 -> 402.2 KB, weights.bin 5.97x -> 6.02x / 5.72x -> 5.76x), quant-tables=auto|int8|int4|float16 and/or
// TABLE=FORM items (passes/quant/tables.ts), quant-signed-scales=0|1 (default 1 at 4 bits for MatMul/Gemm: a block may
// take a negative scale so its largest weight lands on -8, weight-quant.ts; bert-tiny relative L2 6.50e-3 / 6.64e-3 ->
// 6.18e-3 / 6.37e-3 at seq 32 / 128, no bytes; onnxruntime runs them, fuse-dequant-matmul's kernel multiplies by them),
// quant-exclude=OP|NODE,..., quant-layer-bits=NODE=8|4|2[/BLOCK],... (one MatMul/Gemm layer's width and block size:
// 2 bits is int2, four per byte in ONNX and in the wasm kernel; `onnxc quantize --mode weights-int4` fills it from
// measurements, passes/quant/allocate.ts). Conv weights are always int8 per channel (4 bits loses too much on small
// kernels).

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
import { quantizeWeight, type QuantizedWeight } from './weight-quant.js';
import { storeFloat, type Stored } from './f16-store.js';
import { outputError, refineGptq, refitScales } from './gptq.js';
import { tableForms } from './tables.js';

export function quantizeWeights(graph: Graph, ctx: PassContext): Graph {
  const bits = choiceOption(ctx, 'quant-bits', [8, 4] as const, 8);
  const block = choiceOption(ctx, 'quant-block-size', [0, 16, 32, 64, 128, 256] as const, bits === 4 ? 64 : 0);
  const useGptq = choiceOption(ctx, 'quant-gptq', [0, 1] as const, 1) === 1;
  const f16Scales = choiceOption(ctx, 'quant-f16-scales', [0, 1] as const, 1) === 1;
  const refit = choiceOption(ctx, 'quant-refit', [0, 1, 2] as const, 1);
  const signed = choiceOption(ctx, 'quant-signed-scales', [0, 1] as const, bits === 4 ? 1 : 0) === 1;
  const coarsen = choiceOption(ctx, 'quant-coarsen', [0, 1] as const, bits === 4 ? 1 : 0) === 1;
  const skip = excluded(ctx);
  const uses = quantisableWeights(graph, (u) => !skip(u.node));
  if (uses.size === 0) return graph;
  const forms = tableForms(graph, uses, bits, ctx);
  /** A MatMul/Gemm weight in `bs` blocks (0: per channel), GPTQ-rounded on `gram` when given. */
  const layerBits = namedBits(ctx);
  const linear = (t: Tensor, u: WeightUse, bs: number, gram: Float64Array | undefined): QuantizedWeight => {
    const lb = layerBits.get(u.node.name), b = lb?.bits ?? bits;
    if (lb?.block !== undefined) bs = lb.block;
    let qw = quantizeWeight(t, { bits: b, channelAxis: u.channelAxis, blockSize: bs >= t.dims[u.blockAxis]! ? 0 : bs, blockAxis: u.blockAxis, f16Scales, signedScales: signed && b !== 8 && u.node.op !== 'Gather' });
    if (!gram) return qw;
    qw = refineGptq(t, qw, u.channelAxis, gram);
    for (let i = 0; i < refit; i++) qw = refineGptq(t, refitScales(t, qw, u.channelAxis, gram, f16Scales), u.channelAxis, gram);
    return qw;
  };
  const grams = new Map<string, Float64Array>();
  for (const [w, us] of uses) {
    const t = graph.initializers.get(w)!;
    const gram = useGptq && !forms.has(w) && us[0]!.node.op !== 'Conv' ? inputMoment(us, ctx, t.dims[us[0]!.blockAxis]!) : undefined;
    if (gram) grams.set(w, gram);
  }
  const chosen = coarsen && block > 0 ? coarsenLayers(graph, uses, grams, block, linear) : new Map<string, QuantizedWeight>();

  const names = new NameSource(allNames(graph)), nodeNames = new NameSource(allNodeNames(graph));
  const fresh = (h: string): string => names.fresh(h), freshNode = (h: string): string => nodeNames.fresh(h);
  const inits = new Map(graph.initializers);
  const replaced = new Map<string, string>();
  // nodes that compute each replaced weight, placed right before its first reader
  const before = new Map<string, Node[]>();
  const gathers = new Map<string, { q: string; scale: string }>();
  const add = (st: Stored): void => { for (const [k, v] of st.inits) inits.set(k, v); };
  for (const [w, us] of uses) {
    const t = graph.initializers.get(w)!;
    const form = forms.get(w);
    inits.delete(w);
    if (form === 'float16') {
      const st = storeFloat(w, t, fresh, freshNode, true);
      add(st);
      replaced.set(w, st.out);
      before.set(w, [...st.nodes]);
      continue;
    }
    if (form === 'int8') {
      // int8 per row; the rows are gathered as integers and scaled after (Gather, Cast, Mul: nothing to fold, so
      // the table stays integer on every backend)
      const qw = quantizeWeight(t, { bits: 8, channelAxis: 0, blockSize: 0, blockAxis: 1, f16Scales });
      const q = fresh(`${w}_q`), st = storeFloat(`${w}_scale`, qw.scale, fresh, freshNode);
      inits.set(q, qw.q);
      add(st);
      gathers.set(w, { q, scale: st.out });
      before.set(w, [...st.nodes]);
      continue;
    }
    const conv = us[0]!.node.op === 'Conv';
    const qw = conv ? quantizeWeight(t, { bits: 8, channelAxis: us[0]!.channelAxis, blockSize: 0, blockAxis: us[0]!.blockAxis, f16Scales })
      : chosen.get(w) ?? linear(t, us[0]!, block, grams.get(w));
    const q = fresh(`${w}_q`), st = storeFloat(`${w}_scale`, qw.scale, fresh, freshNode), out = fresh(`${w}_dq`);
    inits.set(q, qw.q);
    add(st);
    const attrs = withDefaults(getOp('DequantizeLinear')!, { axis: { kind: 'int', value: qw.axis }, block_size: { kind: 'int', value: qw.blockSize } });
    before.set(w, [...st.nodes, { name: freshNode(`${w}/dequantize`), op: 'DequantizeLinear', inputs: [q, st.out], outputs: [out], attrs }]);
    replaced.set(w, out);
  }
  const nodes: Node[] = [];
  for (const n of graph.nodes) {
    for (const v of n.inputs) { const d = before.get(v); if (d) { nodes.push(...d); before.delete(v); } }
    const emb = n.op === 'Gather' ? gathers.get(n.inputs[0]!) : undefined;
    if (emb) { nodes.push(...gatherRows(n, emb, names, nodeNames)); continue; }
    nodes.push(n.inputs.some((v) => replaced.has(v)) ? retarget(n, n.inputs.map((v) => replaced.get(v) ?? v)) : n);
  }
  const types = new Map(graph.types);
  for (const w of uses.keys()) types.delete(w);
  return inferGraph({ ...graph, nodes, initializers: inits, types }, { source: ctx.source });
}

/**
 * Scale bytes where the error is: every layer with calibration moments quantised in blocks of `block`, then those
 * whose relative output error (gptq.ts outputError) is at least 6 dB under the worst layer's are quantised per
 * channel instead, kept so when that stays 3 dB under the worst. Layers with correlated inputs (attention outputs,
 * the FFN's GELU output), where GPTQ's feedback already cancels most of the error, give up their block scales.
 */
export function coarsenLayers(graph: Graph, uses: ReadonlyMap<string, readonly WeightUse[]>, grams: ReadonlyMap<string, Float64Array>,
  block: number, linear: (t: Tensor, u: WeightUse, bs: number, gram: Float64Array) => QuantizedWeight): Map<string, QuantizedWeight> {
  const out = new Map<string, QuantizedWeight>(), err = new Map<string, number>();
  for (const [w, gram] of grams) {
    const t = graph.initializers.get(w)!, u = uses.get(w)![0]!, qw = linear(t, u, block, gram);
    out.set(w, qw);
    err.set(w, outputError(t, qw, u.channelAxis, gram));
  }
  // the worst among layers at the default width: a 2-bit layer (quant-layer-bits) is far worse by choice
  const worst = Math.max(0, ...[...err].filter(([w]) => out.get(w)!.q.dtype !== 'int2').map(([, e]) => e));
  for (const [w, gram] of grams) {
    const t = graph.initializers.get(w)!, u = uses.get(w)![0]!;
    if (out.get(w)!.blockSize === 0 || err.get(w)! > worst / 4) continue;
    const pc = linear(t, u, 0, gram);
    if (outputError(t, pc, u.channelAxis, gram) <= worst / 2) out.set(w, pc);
  }
  return out;
}

/** quant-layer-bits=NODE=BITS,...: a width per MatMul/Gemm node. */
function namedBits(ctx: PassContext): Map<string, { bits: 8 | 4 | 2; block?: number }> {
  const out = new Map<string, { bits: 8 | 4 | 2; block?: number }>();
  for (const it of (ctx.options.get('quant-layer-bits') ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const eq = it.lastIndexOf('='), [b, bs] = it.slice(eq + 1).split('/').map(Number);
    if (eq < 0 || (b !== 8 && b !== 4 && b !== 2)) throw new UsageError(`option quant-layer-bits=${it}: expected NODE=8|4|2[/BLOCK]`);
    out.set(it.slice(0, eq), { bits: b, ...(bs !== undefined ? { block: bs } : {}) });
  }
  return out;
}

/** The calibration second moment of the input a weight's readers multiply it with (summed over readers), when every
 *  reader's input has one of the weight's reduction length K. */
export function inputMoment(us: readonly WeightUse[], ctx: PassContext, K: number): Float64Array | undefined {
  let sum: Float64Array | undefined;
  for (const u of us) {
    const m = ctx.calibration?.values.get(u.node.inputs[0] ?? '')?.secondMoment;
    if (!m || m.size !== K) return undefined;
    if (!sum) sum = Float64Array.from(m.gram);
    else for (let i = 0; i < sum.length; i++) sum[i]! += m.gram[i]!;
  }
  return sum;
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
