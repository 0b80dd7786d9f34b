// fuse-batchnorm: inference-mode BatchNormalization folded into the constant weights and bias of the Conv or
// ConvTranspose feeding it: W'[o] = W[o] * s[o], B'[o] = (B[o] - mean[o]) * s[o] + beta[o], s = gamma / sqrt(var + eps).
// The folded constants are computed in double and rounded once, so results move by a few ulps: a tolerance.

import type { Node } from '../../ir/graph.js';
import { fromValues, getNumber, type Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { definePass } from '../pass.js';
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

const foldBn: Rule = (bn, { index: ix, names }) => {
  if (bn.op !== 'BatchNormalization' || bn.outputs.filter((o) => o !== '').length !== 1) return undefined;
  const training = bn.attrs['training_mode'];
  if (training?.kind === 'int' && training.value !== 0) return undefined;
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

function node0Channels(conv: Node, w: Tensor, group: number): number {
  return conv.op === 'Conv' ? w.dims[0]! : w.dims[1]! * group;
}

export const fuseBatchnorm = definePass({
  name: 'fuse-batchnorm',
  summary: 'fold inference-mode BatchNormalization into the constant weights of the Conv/ConvTranspose before it',
  requires: ['typed'],
  // Weights rescaled in double and rounded once: relative error of a few float32 ulps per product.
  properties: { semantics: { kind: 'tolerance', rtol: 1e-4, atol: 1e-5 }, idempotent: true },
  run: (graph) => applyRules(graph, [foldBn]),
});
