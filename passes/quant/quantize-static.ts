// quantize-static: QDQ quantisation with calibrated activation ranges. Every Conv/MatMul/Gemm reads its
// activation through QuantizeLinear -> DequantizeLinear (uint8 asymmetric, or int8 symmetric with
// quant-activation=int8; one pair per value, shared by its readers) and its weight through DequantizeLinear of a
// symmetric int8 initializer (per output channel with quant-per-channel=1, the default; per tensor with 0). Biases
// stay float. The result is onnxruntime's QDQ format: standard ops, which integer kernels can take as a pattern.
// Ranges come from ctx.calibration by quant-method=minmax|percentile|entropy; a value that was not calibrated
// leaves its reader in float (so does quant-exclude=OP|NODE,...). With quant-outputs=1 (the default) a Conv's
// result (after its Relu/Clip) and residual Adds are quantised too, so fuse-qdq-conv makes the whole conv chain
// integer. Without calibration the pass changes nothing. quant-weight-bits=7 (`onnxc quantize --reduce-range`, as
// onnxruntime's reduce_range) limits the weights to [-64, 63]: a 7-bit weight is what the relaxed-SIMD int8 dot
// (i16x8.relaxed_dot_i8x16_i7x16_s) multiplies exactly, so a `compile --simd relaxed` build runs the int8 GEMMs on it.

import { UsageError } from '../../ir/errors.js';
import type { Graph, Node } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { allNames, allNodeNames, NameSource } from '../graph-util.js';
import { definePass, type PassContext } from '../pass.js';
import { choiceOption, dequantNode, excluded, quantisableWeights, retarget, type WeightUse } from './quant-graph.js';
import { CALIBRATION_METHODS, clipRange, type CalibrationMethod, type Range } from './ranges.js';
import { quantizeWeight } from './weight-quant.js';

const QUANTISED_OPS = new Set(['Conv', 'MatMul', 'Gemm']);

/** Scale and zero point of an activation range: uint8 asymmetric or int8 symmetric, 0 exactly representable. */
export function activationParams(r: Range, signed: boolean): { scale: number; zp: number } {
  if (signed) {
    const m = Math.max(-r.min, r.max);
    return { scale: m === 0 ? 1 : Math.fround(m / 127), zp: 0 };
  }
  const span = r.max - r.min;
  if (span === 0) return { scale: 1, zp: 0 };
  const scale = Math.fround(span / 255);
  return { scale, zp: Math.min(255, Math.max(0, Math.round(-r.min / scale))) };
}

function methodOf(ctx: PassContext): CalibrationMethod {
  const m = ctx.options.get('quant-method') ?? 'minmax';
  if (!(CALIBRATION_METHODS as readonly string[]).includes(m)) throw new UsageError(`option quant-method=${m}: expected one of ${CALIBRATION_METHODS.join(', ')}`);
  return m as CalibrationMethod;
}

export function quantizeStatic(graph: Graph, ctx: PassContext): Graph {
  const stats = ctx.calibration;
  if (!stats) return graph;
  const method = methodOf(ctx);
  const perChannel = choiceOption(ctx, 'quant-per-channel', [0, 1] as const, 1) === 1;
  const signed = (ctx.options.get('quant-activation') ?? 'uint8') === 'int8';
  const skip = excluded(ctx);
  const withOutputs = choiceOption(ctx, 'quant-outputs', [0, 1] as const, 1) === 1;
  const bits = choiceOption(ctx, 'quant-weight-bits', [7, 8] as const, 8);
  const isFloatValue = (v: string): boolean => { const t = graph.types.get(v); return t?.kind === 'tensor' && t.dtype === 'float32'; };
  // the nodes taken: their activation (input 0) was calibrated
  const taken = (n: Node): boolean => QUANTISED_OPS.has(n.op) && !skip(n) && !!n.inputs[0] && isFloatValue(n.inputs[0]) && stats.values.has(n.inputs[0]);
  if (!graph.nodes.some(taken)) return graph;
  const names = new NameSource(allNames(graph)), nodeNames = new NameSource(allNodeNames(graph));
  const inits = new Map(graph.initializers);
  const weights = quantisableWeights(graph, (u: WeightUse) => taken(u.node) && u.node.op !== 'Gather');
  const nodes: Node[] = [];
  const qdqOf = new Map<string, string>(), wOf = new Map<string, string>();
  const mk = (name: string, op: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node => ({ name, op, inputs, outputs, attrs: withDefaults(getOp(op)!, attrs) });
  const activation = (v: string, at: string): string => {
    let d = qdqOf.get(v);
    if (d) return d;
    // a uint8 activation of a value never negative spends all 256 levels on [0, t]: the entropy method models that many
    const st = stats.values.get(v)!;
    const { scale, zp } = activationParams(clipRange(st, method, undefined, !signed && st.min >= 0 ? 256 : undefined), signed);
    const s = names.fresh(`${v}_scale`), z = names.fresh(`${v}_zero_point`), q = names.fresh(`${v}_quantized`);
    d = names.fresh(`${v}_dequantized`);
    inits.set(s, makeTensor('float32', [], Float32Array.of(scale)));
    inits.set(z, signed ? makeTensor('int8', [], Int8Array.of(zp)) : makeTensor('uint8', [], Uint8Array.of(zp)));
    nodes.push(mk(nodeNames.fresh(`${at}/quantize_${v}`), 'QuantizeLinear', [v, s, z], [q]), mk(nodeNames.fresh(`${at}/dequantize_${v}`), 'DequantizeLinear', [q, s, z], [d]));
    qdqOf.set(v, d);
    return d;
  };
  const weight = (w: string, u: WeightUse): string => {
    let d = wOf.get(w);
    if (d) return d;
    const t = graph.initializers.get(w)! as Tensor;
    const qw = bits === 7 ? sevenBit(t, perChannel ? u.channelAxis : undefined)
      : perChannel ? quantizeWeight(t, { bits: 8, channelAxis: u.channelAxis, blockSize: 0, blockAxis: u.blockAxis })
      : perTensor(t);
    const made = dequantNode(nodeNames.fresh(`${w}/dequantize`), w, qw, (h) => names.fresh(h));
    for (const [k, v] of made.inits) inits.set(k, v);
    inits.delete(w);
    nodes.push(made.node);
    wOf.set(w, made.out);
    return made.out;
  };
  const outputs = withOutputs ? quantisedOutputs(graph, taken, (v) => isFloatValue(v) && stats.values.has(v) && !graph.initializers.has(v)) : new Set<string>();
  for (const n of graph.nodes) {
    if (!taken(n)) {
      const ins = n.inputs.map((v) => (outputs.has(v) ? activation(v, n.name) : v));
      nodes.push(ins.some((v, i) => v !== n.inputs[i]) ? retarget(n, ins) : n);
      continue;
    }
    const inputs = n.inputs.map((v) => (outputs.has(v) ? activation(v, n.name) : v));
    inputs[0] = activation(n.inputs[0]!, n.name);
    const u = weights.get(n.inputs[1] ?? '')?.find((x) => x.node === n);
    if (u) inputs[1] = weight(u.weight, u);
    nodes.push(retarget(n, inputs));
  }
  const types = new Map(graph.types);
  for (const w of wOf.keys()) types.delete(w);
  return inferGraph({ ...graph, nodes, initializers: inits, types }, { source: ctx.source });
}

/** With quant-outputs=1 (the default), the values an integer kernel also needs quantised, as onnxruntime's QDQ
 *  format has them: each taken Conv's result (after its Relu/Clip when that is its only reader, so the clamp joins
 *  the integer conv), and both operands and the result of an Add of two such values (residual connections). */
function quantisedOutputs(graph: Graph, taken: (n: Node) => boolean, ok: (v: string) => boolean): Set<string> {
  const readers = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const v of n.inputs) if (v) readers.set(v, [...(readers.get(v) ?? []), n]);
  const out = new Set<string>(), inputsOfTaken = new Set(graph.nodes.filter(taken).map((n) => n.inputs[0]!));
  for (const n of graph.nodes) {
    if (taken(n) && n.op === 'Conv') {
      let v = n.outputs[0]!;
      const r = readers.get(v) ?? [];
      if (r.length === 1 && (r[0]!.op === 'Relu' || r[0]!.op === 'Clip') && !graph.outputs.includes(v)) v = r[0]!.outputs[0]!;
      if (ok(v)) out.add(v);
    } else if (n.op === 'Add' && n.inputs.length === 2) {
      const inRegion = n.inputs.every((v) => out.has(v) || inputsOfTaken.has(v));
      if (inRegion && n.inputs.every(ok) && ok(n.outputs[0]!)) for (const v of [...n.inputs, n.outputs[0]!]) out.add(v);
    }
  }
  return out;
}

/** One scale for the whole weight (as a [1]-long per-axis scale would not be: DequantizeLinear's scalar form). */
function perTensor(t: Tensor): ReturnType<typeof quantizeWeight> {
  const flat = quantizeWeight(makeTensor('float32', [1, t.data.length], t.data as Float32Array), { bits: 8, channelAxis: 0, blockSize: 0, blockAxis: 1 });
  return { q: makeTensor('int8', t.dims, flat.q.data), scale: makeTensor('float32', [], Float32Array.of(flat.scale.data[0]!)), axis: 0, blockSize: 0 };
}

/** Scale candidates of a 7-bit group, as fractions of the absmax scale (as weight-quant.ts tries for 8 bits). */
const SHRINK7 = [1, 0.95, 0.9, 0.85, 0.8];

/** Symmetric 7-bit weights in [-64, 63] (an int8 tensor), one scale per index along `channelAxis` (or one in all),
 *  each the absmax scale shrunk by the SHRINK7 fraction of least squared error. */
export function sevenBit(t: Tensor, channelAxis: number | undefined): ReturnType<typeof quantizeWeight> {
  const data = t.data as Float32Array, dims = t.dims;
  const C = channelAxis === undefined ? 1 : dims[channelAxis]!;
  const inner = channelAxis === undefined ? data.length : dims.slice(channelAxis + 1).reduce((a, b) => a * b, 1);
  const members: number[][] = Array.from({ length: C }, () => []);
  for (let i = 0; i < data.length; i++) members[Math.floor(i / inner) % C]!.push(i);
  const q = new Int8Array(data.length), scale = new Float32Array(C);
  const at = (v: number, s: number): number => Math.min(63, Math.max(-64, Math.round(v / s)));
  members.forEach((idx, c) => {
    let absMax = 0;
    for (const i of idx) absMax = Math.max(absMax, Math.abs(data[i]!));
    let best = 1, bestErr = Infinity;
    if (absMax > 0) {
      for (const f of SHRINK7) {
        const s = Math.fround((absMax * f) / 63);
        let err = 0;
        for (const i of idx) err += (at(data[i]!, s) * s - data[i]!) ** 2;
        if (err < bestErr) { bestErr = err; best = s; }
      }
    }
    scale[c] = best;
    for (const i of idx) q[i] = at(data[i]!, best);
  });
  return channelAxis === undefined
    ? { q: makeTensor('int8', dims, q), scale: makeTensor('float32', [], Float32Array.of(scale[0]!)), axis: 0, blockSize: 0 }
    : { q: makeTensor('int8', dims, q), scale: makeTensor('float32', [C], scale), axis: channelAxis, blockSize: 0 };
}

export const quantizeStaticPass = definePass({
  name: 'quantize-static',
  summary: 'QDQ int8: calibrated activation ranges (minmax/percentile/entropy), int8 per-channel weights for Conv/MatMul/Gemm',
  requires: ['typed'],
  // 8-bit activations and weights through a few layers: a few percent of an output's range
  properties: { semantics: { kind: 'range', tol: 0.1 }, idempotent: true },
  run: quantizeStatic,
});
