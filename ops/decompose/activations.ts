// Decompositions of composite activations into primitive ai.onnx ops, for backends that lack them, written in the
// numerically stable forms the reference kernels use (results agree within the decompose pass's tolerance).

import type { Node } from '../../ir/graph.js';
import type { LegacyContext } from '../schema.js';
import { Emitter, floatInput, type DecomposeFacts, type DecomposeRule } from './emitter.js';

const floatAttr = (node: Node, k: string, dflt: number): number => { const a = node.attrs[k]; return a?.kind === 'float' ? a.value : dflt; };

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

const gelu: DecomposeRule = {
  op: 'Gelu',
  build(node, ctx, facts) {
    const f = floatInput(node, facts);
    if (!f) return undefined;
    const e = new Emitter(node, ctx, f.dtype);
    const x = node.inputs[0]!;
    const approx = node.attrs['approximate'];
    let inner: string;
    if (approx?.kind === 'string' && approx.value === 'tanh') {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const x3 = e.op('Mul', [e.op('Mul', [x, x]), x]);
      const poly = e.op('Add', [x, e.op('Mul', [x3, e.scalar(0.044715, 'c')])]);
      inner = e.op('Tanh', [e.op('Mul', [poly, e.scalar(Math.sqrt(2 / Math.PI), 'k')])]);
    } else {
      // 0.5 x (1 + erf(x / sqrt 2))
      inner = e.op('Erf', [e.op('Mul', [x, e.scalar(Math.SQRT1_2, 'rsqrt2')])]);
    }
    const onePlus = e.op('Add', [inner, e.scalar(1, 'one')]);
    e.op('Mul', [e.op('Mul', [x, e.scalar(0.5, 'half')]), onePlus], {}, node.outputs[0]);
    return e.nodes;
  },
};

const hardSwish: DecomposeRule = {
  op: 'HardSwish',
  build(node, ctx, facts) {
    const f = floatInput(node, facts);
    if (!f) return undefined;
    const e = new Emitter(node, ctx, f.dtype);
    const x = node.inputs[0]!;
    const lin = e.op('Add', [e.op('Mul', [x, e.scalar(1 / 6, 'sixth')]), e.scalar(0.5, 'half')]);
    const gate = e.op('Clip', [lin, e.scalar(0, 'zero'), e.scalar(1, 'one')]);
    e.op('Mul', [x, gate], {}, node.outputs[0]);
    return e.nodes;
  },
};

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

export const ACTIVATION_DECOMPOSITIONS: readonly DecomposeRule[] = [gelu, hardSwish, softplusRule, mish, hardSigmoid, selu, celu, thresholdedRelu];
