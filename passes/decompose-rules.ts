// Rules that rewrite composite ai.onnx ops into primitives, as data: op -> builder. Each builder emits nodes with
// every attribute filled (as the importer would) and constants of the input's float type.
// Used by the `decompose` pass for ops the target backend lacks.

import { attrInt } from '../ir/graph.js';
import { MORE_RULES } from './decompose-rules-more.js';
import { Emitter, floatInput, type DecomposeRule } from './decompose-emitter.js';

export type { DecomposeFacts, DecomposeRule } from './decompose-emitter.js';

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

const layerNorm: DecomposeRule = {
  op: 'LayerNormalization',
  build(node, ctx, facts) {
    const f = floatInput(node, facts);
    // Mean and InvStdDev outputs are rarely read; only the plain form is rewritten.
    if (!f || f.rank === undefined || node.outputs.slice(1).some((o) => o !== '')) return undefined;
    const axisAttr = node.attrs['axis'];
    const epsAttr = node.attrs['epsilon'];
    const axis0 = axisAttr?.kind === 'int' ? axisAttr.value : -1;
    const axis = axis0 < 0 ? axis0 + f.rank : axis0;
    const eps = epsAttr?.kind === 'float' ? epsAttr.value : 1e-5;
    const e = new Emitter(node, ctx, f.dtype);
    const [x, scale, bias] = node.inputs;
    const axes = e.ints([...Array(f.rank - axis).keys()].map((k) => k + axis), 'axes');
    const mean = e.op('ReduceMean', [x!, axes], { keepdims: attrInt(1) });
    const d = e.op('Sub', [x!, mean]);
    const variance = e.op('ReduceMean', [e.op('Mul', [d, d]), axes], { keepdims: attrInt(1) });
    const std = e.op('Sqrt', [e.op('Add', [variance, e.scalar(eps, 'eps')])]);
    const normed = e.op('Div', [d, std]);
    const hasBias = bias !== undefined && bias !== '';
    const scaled = e.op('Mul', [normed, scale!], {}, hasBias ? undefined : node.outputs[0]);
    if (hasBias) e.op('Add', [scaled, bias], {}, node.outputs[0]);
    return e.nodes;
  },
};

export const DECOMPOSE_RULES: ReadonlyMap<string, DecomposeRule> = new Map([gelu, hardSwish, layerNorm, ...MORE_RULES].map((r) => [r.op, r]));
