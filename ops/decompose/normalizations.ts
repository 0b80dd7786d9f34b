// Decompositions of normalisations (LayerNormalization, RMSNormalization, LogSoftmax, InstanceNormalization) into
// reductions and elementwise ai.onnx ops, for backends that lack them.

import { attrInt, type Attr, type Node } from '../../ir/graph.js';
import { Emitter, floatInput, type DecomposeRule } from './emitter.js';

const floatAttr = (node: Node, k: string, dflt: number): number => { const a = node.attrs[k]; return a?.kind === 'float' ? a.value : dflt; };
const intAttr = (node: Node, k: string, dflt: number): number => { const a = node.attrs[k]; return a?.kind === 'int' ? a.value : dflt; };

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

/** (x - mean) / sqrt(var + eps) * scale + B over each (image, channel)'s spatial axes [2, rank), scale and B
 *  (length C) unsqueezed to [C, 1, ...] to broadcast; for backends without an InstanceNormalization kernel. */
const instanceNorm: DecomposeRule = {
  op: 'InstanceNormalization',
  build(node, ctx, facts) {
    const f = floatInput(node, facts);
    // rank 2 has no spatial axes (ReduceMean over none would reduce all): left to a kernel
    if (!f || f.rank === undefined || f.rank < 3) return undefined;
    const e = new Emitter(node, ctx, f.dtype);
    const [x, scale, bias] = node.inputs;
    const axes = trailingAxes(e, 2, f.rank);
    const perChannel = (v: string, hint: string): string => e.op('Unsqueeze', [v, e.ints([...Array(f.rank! - 2).keys()].map((k) => k + 1), hint)]);
    const mean = e.op('ReduceMean', [x!, axes], { keepdims: attrInt(1) });
    const d = e.op('Sub', [x!, mean]);
    const variance = e.op('ReduceMean', [e.op('Mul', [d, d]), axes], { keepdims: attrInt(1) });
    const std = e.op('Sqrt', [e.op('Add', [variance, e.scalar(floatAttr(node, 'epsilon', 1e-5), 'eps')])]);
    const scaled = e.op('Mul', [e.op('Div', [d, std]), perChannel(scale!, 'scale_axes')]);
    e.op('Add', [scaled, perChannel(bias!, 'bias_axes')], {}, node.outputs[0]);
    return e.nodes;
  },
};

export const NORMALIZATION_DECOMPOSITIONS: readonly DecomposeRule[] = [layerNorm, logSoftmax, rmsNorm, instanceNorm];
