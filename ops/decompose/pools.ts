// LpPool and LRN for backends without them, through AveragePool: LpPool's (sum over the window of |x|^p)^(1/p) is an
// AveragePool of |x|^p that counts the padding (zeros add nothing to the sum) times the window's size.

import { attrInt, attrInts } from '../../ir/graph.js';
import { Emitter, floatInput, type DecomposeRule } from './emitter.js';

const lpPool: DecomposeRule = {
  op: 'LpPool',
  build(node, ctx, facts) {
    const f = floatInput(node, facts);
    const k = node.attrs['kernel_shape'], p = node.attrs['p'], ceil = node.attrs['ceil_mode'];
    // ceil_mode: a last window may reach past the padding, where AveragePool's count is no longer the window size
    if (!f || k?.kind !== 'ints' || p?.kind !== 'int' || p.value < 1 || (ceil?.kind === 'int' && ceil.value !== 0)) return undefined;
    const e = new Emitter(node, ctx, f.dtype);
    const x = node.inputs[0]!;
    const powered = p.value === 1 ? e.op('Abs', [x]) : p.value === 2 ? e.op('Mul', [x, x]) : e.op('Pow', [e.op('Abs', [x]), e.scalar(p.value, 'p')]);
    const window = Object.fromEntries(['auto_pad', 'dilations', 'kernel_shape', 'pads', 'strides'].flatMap((a) => (node.attrs[a] ? [[a, node.attrs[a]!]] : [])));
    const avg = e.op('AveragePool', [powered], { ...window, count_include_pad: attrInt(1) });
    const size = k.value.reduce((a, b) => a * b, 1);
    const sum = e.op('Mul', [avg, e.scalar(size, 'window_size')], {}, p.value === 1 ? node.outputs[0] : undefined);
    if (p.value === 2) e.op('Sqrt', [sum], {}, node.outputs[0]);
    else if (p.value !== 1) e.op('Pow', [sum, e.scalar(1 / p.value, 'inv_p')], {}, node.outputs[0]);
    return e.nodes;
  },
};

/** LRN: x / (bias + alpha / size * sum of x^2 over the channel window)^beta, the window sum an AveragePool of x^2
 *  (padding counted, so avg * size is the sum) over channels laid out as [N, 1, C, rest]. */
const lrn: DecomposeRule = {
  op: 'LRN',
  build(node, ctx, facts) {
    const f = floatInput(node, facts);
    const t = facts.type(node.inputs[0] ?? '');
    const c = t?.kind === 'tensor' ? t.shape?.[1] : undefined;
    const size = node.attrs['size'];
    if (!f || f.rank === undefined || f.rank < 3 || typeof c !== 'number' || size?.kind !== 'int') return undefined;
    const num = (k: string, dflt: number): number => { const a = node.attrs[k]; return a?.kind === 'float' || a?.kind === 'int' ? a.value : dflt; };
    const e = new Emitter(node, ctx, f.dtype);
    const x = node.inputs[0]!;
    const shape = e.op('Shape', [x]);
    const rows = e.op('Reshape', [e.op('Mul', [x, x]), e.ints([0, 1, c, -1], 'channel_rows')]);
    const before = Math.floor((size.value - 1) / 2), after = Math.ceil((size.value - 1) / 2);
    const avg = e.op('AveragePool', [rows], { kernel_shape: attrInts([size.value, 1]), pads: attrInts([before, 0, after, 0]), count_include_pad: attrInt(1) });
    const scaled = e.op('Mul', [e.op('Reshape', [avg, shape]), e.scalar(num('alpha', 1e-4), 'alpha')]);
    const denom = e.op('Pow', [e.op('Add', [scaled, e.scalar(num('bias', 1), 'bias')]), e.scalar(num('beta', 0.75), 'beta')]);
    e.op('Div', [x, denom], {}, node.outputs[0]);
    return e.nodes;
  },
};

export const POOL_DECOMPOSITIONS: readonly DecomposeRule[] = [lpPool, lrn];
