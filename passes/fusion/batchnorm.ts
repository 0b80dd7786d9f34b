// fuse-batchnorm: inference-mode BatchNormalization folded into the constant weights and bias of the Conv,
// ConvTranspose, Gemm or 2-D MatMul feeding it: W'[o] = W[o] * s[o], B'[o] = (B[o] - mean[o]) * s[o] + beta[o],
// s = gamma / sqrt(var + eps). For Gemm/MatMul the channel is the output column (BN's dim 1 of a 2-D input); a
// MatMul becomes a Gemm to carry the new bias.
// The folded constants are computed in double and rounded once, so results move by a few ulps: a tolerance.

import type { Node } from '../../ir/graph.js';
import { fromValues, getNumber, type Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { definePass } from '../pass.js';
import type { GraphIndex } from './match.js';
import { applyRules, type Rule } from './rewrite.js';

/** Output channel of element i of a weight: Conv W is [M, C/g, k...]; ConvTranspose W is [C, M/g, k...]. */
function channelOf(node: Node, w: Tensor, group: number): (i: number) => number {
  const inner = w.dims.slice(2).reduce((a, b) => a * b, 1);
  if (node.op === 'Conv') return (i) => Math.floor(i / (inner * w.dims[1]!));
  const perGroupOut = w.dims[1]!;
  const inPerGroup = w.dims[0]! / group;
  return (i) => {
    const c = Math.floor(i / (inner * perGroupOut));
    const j = Math.floor(i / inner) % perGroupOut;
    return Math.floor(c / inPerGroup) * perGroupOut + j;
  };
}

/** An inference-mode BatchNormalization with one output. */
function inferenceBn(bn: Node): boolean {
  if (bn.op !== 'BatchNormalization' || bn.outputs.filter((o) => o !== '').length !== 1) return false;
  const training = bn.attrs['training_mode'];
  return !(training?.kind === 'int' && training.value !== 0);
}

/** s[o] and shift[o] = beta[o] - mean[o] * s[o] of an inference BN with constant parameters of m channels. */
function bnAffine(bn: Node, ix: GraphIndex, m: number): { s: number[]; shift: number[] } | undefined {
  const params = bn.inputs.slice(1, 5).map((n) => ix.constant(n));
  if (params.some((p) => p === undefined || p.data.length !== m)) return undefined;
  const [gamma, beta, mean, vari] = params as Tensor[];
  const eps = bn.attrs['epsilon']?.kind === 'float' ? bn.attrs['epsilon'].value : 1e-5;
  const s = Array.from({ length: m }, (_, o) => getNumber(gamma, o) / Math.sqrt(getNumber(vari, o) + eps));
  return { s, shift: s.map((si, o) => getNumber(beta, o) - getNumber(mean, o) * si) };
}

const foldBn: Rule = (bn, { index: ix, names }) => {
  if (!inferenceBn(bn)) return undefined;
  const conv = ix.producedBy(bn.inputs[0]!, 'Conv', 'ConvTranspose');
  if (!conv || !ix.singleUse(bn.inputs[0]!)) return undefined;
  const params = bn.inputs.slice(1, 5).map((n) => ix.constant(n));
  const w = ix.constant(conv.inputs[1]!);
  const b = conv.inputs[2] ? ix.constant(conv.inputs[2]) : undefined;
  if (params.some((p) => p === undefined) || !w || (conv.inputs[2] && !b)) return undefined;
  if (w.dtype !== 'float32' && w.dtype !== 'float64') return undefined;
  const [gamma, beta, mean, vari] = params as Tensor[];
  const eps = bn.attrs['epsilon']?.kind === 'float' ? bn.attrs['epsilon'].value : 1e-5;
  const groupAttr = conv.attrs['group'];
  const group = groupAttr?.kind === 'int' ? groupAttr.value : 1;
  const m = node0Channels(conv, w, group);
  if ([gamma, beta, mean, vari].some((t) => t.data.length !== m) || (b && b.data.length !== m)) return undefined;
  const s = Array.from({ length: m }, (_, o) => getNumber(gamma, o) / Math.sqrt(getNumber(vari, o) + eps));
  const ch = channelOf(conv, w, group);
  const wNew = fromValues(w.dtype, w.dims, Array.from({ length: w.data.length }, (_, i) => getNumber(w, i) * s[ch(i)]!));
  const bNew = fromValues(w.dtype, [m], s.map((si, o) => ((b ? getNumber(b, o) : 0) - getNumber(mean, o)) * si + getNumber(beta, o)));
  const wName = names.fresh(`${conv.inputs[1]}_bn`);
  const bName = names.fresh(`${conv.name}_bias_bn`);
  return {
    remove: new Set([conv, bn]),
    replacement: { ...conv, attrs: withDefaults(getOp(conv.op)!, conv.attrs), inputs: [conv.inputs[0]!, wName, bName], outputs: [bn.outputs[0]!] },
    initializers: new Map([[wName, wNew], [bName, bNew]]),
  };
};

/** Y = alpha * A @ B (+ beta * C) of 2-D A, constant B [K, M] (or [M, K] with transB) and constant or absent C
 *  broadcasting as [M] or a scalar: the BN becomes B'[:, o] = B[:, o] * s[o], C' = beta * C * s + shift, beta 1. */
const foldBnGemm: Rule = (bn, { index: ix, names }) => {
  if (!inferenceBn(bn)) return undefined;
  const mm = ix.producedBy(bn.inputs[0]!, 'Gemm', 'MatMul');
  const yt = ix.graph.types.get(bn.inputs[0]!);
  if (!mm || !ix.singleUse(bn.inputs[0]!) || yt?.kind !== 'tensor' || yt.shape?.length !== 2) return undefined;
  const at = ix.graph.types.get(mm.inputs[0]!);
  const w = ix.constant(mm.inputs[1]!);
  if (at?.kind !== 'tensor' || at.shape?.length !== 2 || !w || w.dims.length !== 2 || (w.dtype !== 'float32' && w.dtype !== 'float64')) return undefined;
  const int = (k: string, d: number): number => { const a = mm.attrs[k]; return a?.kind === 'int' ? a.value : d; };
  const flt = (k: string, d: number): number => { const a = mm.attrs[k]; return a?.kind === 'float' ? a.value : d; };
  const transB = mm.op === 'Gemm' && int('transB', 0) === 1;
  const m = transB ? w.dims[0]! : w.dims[1]!;
  const c = mm.op === 'Gemm' && mm.inputs[2] ? ix.constant(mm.inputs[2]) : undefined;
  if (mm.op === 'Gemm' && mm.inputs[2] && (!c || (c.data.length !== 1 && (c.data.length !== m || c.dims[c.dims.length - 1] !== m)))) return undefined;
  const aff = bnAffine(bn, ix, m);
  if (!aff) return undefined;
  const beta = mm.op === 'Gemm' ? flt('beta', 1) : 1;
  const col = (i: number): number => (transB ? Math.floor(i / w.dims[1]!) : i % m);
  const wNew = fromValues(w.dtype, w.dims, Array.from({ length: w.data.length }, (_, i) => getNumber(w, i) * aff.s[col(i)]!));
  const cAt = (o: number): number => (c ? getNumber(c, c.data.length === 1 ? 0 : o) : 0);
  const bNew = fromValues(w.dtype, [m], aff.s.map((si, o) => beta * cAt(o) * si + aff.shift[o]!));
  const wName = names.fresh(`${mm.inputs[1]}_bn`);
  const bName = names.fresh(`${mm.name}_bias_bn`);
  const gemm = getOp('Gemm')!;
  const attrs = mm.op === 'Gemm' ? { ...mm.attrs, beta: { kind: 'float' as const, value: 1 } } : {};
  return {
    remove: new Set([mm, bn]),
    replacement: { name: mm.name, op: 'Gemm', attrs: withDefaults(gemm, attrs), inputs: [mm.inputs[0]!, wName, bName], outputs: [bn.outputs[0]!] },
    initializers: new Map([[wName, wNew], [bName, bNew]]),
  };
};

function node0Channels(conv: Node, w: Tensor, group: number): number {
  return conv.op === 'Conv' ? w.dims[0]! : w.dims[1]! * group;
}

export const fuseBatchnorm = definePass({
  name: 'fuse-batchnorm',
  summary: 'fold inference-mode BatchNormalization into the constant weights of the Conv/ConvTranspose/Gemm/MatMul before it',
  requires: ['typed'],
  // Weights rescaled in double and rounded once: relative error of a few float32 ulps per product.
  properties: { semantics: { kind: 'tolerance', rtol: 1e-4, atol: 1e-5 }, idempotent: true },
  run: (graph) => applyRules(graph, [foldBn, foldBnGemm]),
});
