// More decomposition rules (see decompose-rules.ts): activations and normalisations a small backend may lack,
// written in the numerically stable forms the reference kernels use, so results agree within the decompose
// pass's declared tolerance (float32 rounding after every step instead of once).

import { attrInt, type Attr, type Node } from '../ir/graph.js';
import type { LegacyContext } from '../ops/schema.js';
import { Emitter, floatInput, type DecomposeFacts, type DecomposeRule } from './decompose-emitter.js';

const floatAttr = (node: Node, k: string, dflt: number): number => { const a = node.attrs[k]; return a?.kind === 'float' ? a.value : dflt; };
const intAttr = (node: Node, k: string, dflt: number): number => { const a = node.attrs[k]; return a?.kind === 'int' ? a.value : dflt; };

/** A rule for a unary float op: `body` emits the nodes computing the output from x, the last one into `out`. */
function unary(op: string, body: (e: Emitter, x: string, out: string, node: Node) => void): DecomposeRule {
  return {
    op,
    build(node: Node, ctx: LegacyContext, facts: DecomposeFacts) {
      const f = floatInput(node, facts);
      if (!f) return undefined;
      const e = new Emitter(node, ctx, f.dtype);
      body(e, node.inputs[0]!, node.outputs[0]!, node);
      return e.nodes;
    },
  };
}

/** softplus(x) = max(x, 0) + log(1 + exp(-|x|)): no overflow for large |x|, as the reference computes it. */
function softplus(e: Emitter, x: string, out?: string): string {
  const tail = e.op('Log', [e.op('Add', [e.op('Exp', [e.op('Neg', [e.op('Abs', [x])])]), e.scalar(1, 'one')])]);
  return e.op('Add', [e.op('Max', [x, e.scalar(0, 'zero')]), tail], {}, out);
}

const softplusRule = unary('Softplus', (e, x, out) => { softplus(e, x, out); });

const mish = unary('Mish', (e, x, out) => { e.op('Mul', [x, e.op('Tanh', [softplus(e, x)])], {}, out); });

const hardSigmoid = unary('HardSigmoid', (e, x, out, n) => {
  const lin = e.op('Add', [e.op('Mul', [x, e.scalar(floatAttr(n, 'alpha', 0.2), 'alpha')]), e.scalar(floatAttr(n, 'beta', 0.5), 'beta')]);
  e.op('Clip', [lin, e.scalar(0, 'zero'), e.scalar(1, 'one')], {}, out);
});

/** gamma * (x > 0 ? x : alpha * (exp(x) - 1)); Where picks x where exp(x) would overflow. */
const selu = unary('Selu', (e, x, out, n) => {
  const neg = e.op('Mul', [e.op('Sub', [e.op('Exp', [x]), e.scalar(1, 'one')]), e.scalar(floatAttr(n, 'alpha', 1.67326319217681884765625), 'alpha')]);
  const pick = e.op('Where', [e.op('Greater', [x, e.scalar(0, 'zero')]), x, neg]);
  e.op('Mul', [pick, e.scalar(floatAttr(n, 'gamma', 1.05070102214813232421875), 'gamma')], {}, out);
});

/** max(0, x) + min(0, alpha * (exp(x / alpha) - 1)). */
const celu = unary('Celu', (e, x, out, n) => {
  const alpha = floatAttr(n, 'alpha', 1);
  const a = e.scalar(alpha, 'alpha');
  const neg = e.op('Mul', [e.op('Sub', [e.op('Exp', [e.op('Div', [x, a])]), e.scalar(1, 'one')]), a]);
  const zero = e.scalar(0, 'zero');
  e.op('Add', [e.op('Max', [x, zero]), e.op('Min', [neg, zero])], {}, out);
});

const thresholdedRelu = unary('ThresholdedRelu', (e, x, out, n) => {
  e.op('Where', [e.op('Greater', [x, e.scalar(floatAttr(n, 'alpha', 1), 'alpha')]), x, e.scalar(0, 'zero')], {}, out);
});

/** Axes [axis, rank) of a normalisation over trailing axes, as an int64 constant. */
function trailingAxes(e: Emitter, axis0: number, rank: number): string {
  const axis = axis0 < 0 ? axis0 + rank : axis0;
  return e.ints([...Array(rank - axis).keys()].map((k) => k + axis), 'axes');
}

/** x - max - log(sum(exp(x - max))) along one axis (opset-13 form). */
const logSoftmax: DecomposeRule = {
  op: 'LogSoftmax',
  build(node, ctx, facts) {
    const f = floatInput(node, facts);
    if (!f || f.rank === undefined) return undefined;
    const e = new Emitter(node, ctx, f.dtype);
    const x = node.inputs[0]!;
    const axis0 = intAttr(node, 'axis', -1);
    const axes = e.ints([axis0 < 0 ? axis0 + f.rank : axis0], 'axis');
    const keep: Record<string, Attr> = { keepdims: attrInt(1) };
    const shifted = e.op('Sub', [x, e.op('ReduceMax', [x, axes], keep)]);
    const lse = e.op('Log', [e.op('ReduceSum', [e.op('Exp', [shifted]), axes], keep)]);
    e.op('Sub', [shifted, lse], {}, node.outputs[0]);
    return e.nodes;
  },
};

/** x / sqrt(mean(x^2 over axes [axis, rank)) + eps) * scale. */
const rmsNorm: DecomposeRule = {
  op: 'RMSNormalization',
  build(node, ctx, facts) {
    const f = floatInput(node, facts);
    if (!f || f.rank === undefined) return undefined;
    const e = new Emitter(node, ctx, f.dtype);
    const x = node.inputs[0]!;
    const axes = trailingAxes(e, intAttr(node, 'axis', -1), f.rank);
    const ms = e.op('ReduceMean', [e.op('Mul', [x, x]), axes], { keepdims: attrInt(1) });
    const rms = e.op('Sqrt', [e.op('Add', [ms, e.scalar(floatAttr(node, 'epsilon', 1e-5), 'eps')])]);
    e.op('Mul', [e.op('Div', [x, rms]), node.inputs[1]!], {}, node.outputs[0]);
    return e.nodes;
  },
};

export const MORE_RULES: readonly DecomposeRule[] = [softplusRule, mish, hardSigmoid, selu, celu, thresholdedRelu, logSoftmax, rmsNorm];
