// A 3-D Conv for backends whose Conv handles 1-2 spatial axes: with depth folded into the batch, the output at depth
// d is the sum over the kernel's depth taps k of a 2-D Conv of input depth d * stride + k * dilation with W[:, :, k].

import { attrInt, attrInts, type Node } from '../../ir/graph.js';
import type { DecomposeFacts } from '../schema.js';
import { Emitter, floatInput, type DecomposeRule } from './emitter.js';

const ints = (node: Node, k: string, dflt: readonly number[]): readonly number[] => { const a = node.attrs[k]; return a?.kind === 'ints' && a.value.length ? a.value : dflt; };
const staticDims = (facts: DecomposeFacts, name: string): number[] | undefined => {
  const t = facts.type(name);
  return t?.kind === 'tensor' && t.shape?.every((d) => typeof d === 'number') ? (t.shape as number[]) : undefined;
};

const conv3d: DecomposeRule = {
  op: 'Conv',
  build(node, ctx, facts) {
    const f = floatInput(node, facts);
    const [x, w, b] = node.inputs;
    const xd = staticDims(facts, x!), wd = staticDims(facts, w!);
    const autoPad = node.attrs['auto_pad'];
    if (!f || f.rank !== 5 || !xd || !wd || wd.length !== 5 || (autoPad?.kind === 'string' && autoPad.value !== 'NOTSET')) return undefined;
    const [, C, D, H, W] = xd as [number, number, number, number, number];
    const [M, , KD, KH, KW] = wd as [number, number, number, number, number];
    const [sd, sh, sw] = ints(node, 'strides', [1, 1, 1]) as [number, number, number];
    const [dd, dh, dw] = ints(node, 'dilations', [1, 1, 1]) as [number, number, number];
    const [pd0, ph0, pw0, pd1, ph1, pw1] = ints(node, 'pads', [0, 0, 0, 0, 0, 0]) as number[];
    const g = node.attrs['group']?.kind === 'int' ? (node.attrs['group'].value as number) : 1;
    const Dp = D + pd0! + pd1!;
    const OD = Math.floor((Dp - dd * (KD - 1) - 1) / sd) + 1;
    const OH = Math.floor((H + ph0! + ph1! - dh * (KH - 1) - 1) / sh) + 1;
    const OW = Math.floor((W + pw0! + pw1! - dw * (KW - 1) - 1) / sw) + 1;
    if (OD < 1 || OH < 1 || OW < 1) return undefined;
    const e = new Emitter(node, ctx, f.dtype);
    const padded = pd0 || pd1 ? e.op('Pad', [x!, e.ints([0, 0, pd0!, 0, 0, 0, 0, pd1!, 0, 0], 'depth_pads')]) : x!;
    // [N, Dp, C, H, W]: each depth tap is then a strided slice of axis 1, reshaped to a batch of N * OD images
    const byDepth = e.op('Transpose', [padded], { perm: attrInts([0, 2, 1, 3, 4]) });
    const conv2d = { pads: attrInts([ph0!, pw0!, ph1!, pw1!]), strides: attrInts([sh, sw]), dilations: attrInts([dh, dw]), group: attrInt(g), kernel_shape: attrInts([KH, KW]) };
    let sum: string | undefined;
    for (let k = 0; k < KD; k++) {
      const start = k * dd;
      const slab = e.op('Slice', [byDepth, e.ints([start], `d${k}_start`), e.ints([start + (OD - 1) * sd + 1], `d${k}_end`), e.ints([1], 'axis1'), e.ints([sd], 'depth_step')]);
      const images = e.op('Reshape', [slab, e.ints([-1, C, H, W], 'images')]);
      const wk = e.op('Squeeze', [e.op('Slice', [w!, e.ints([k], `w${k}_start`), e.ints([k + 1], `w${k}_end`), e.ints([2], 'axis2')]), e.ints([2], 'axis2')]);
      const y = e.op('Conv', k === 0 && b ? [images, wk, b] : [images, wk], conv2d);
      sum = sum === undefined ? y : e.op('Add', [sum, y]);
    }
    const grouped = e.op('Reshape', [sum!, e.ints([-1, OD, M, OH, OW], 'out_shape')]);
    e.op('Transpose', [grouped], { perm: attrInts([0, 2, 1, 3, 4]) }, node.outputs[0]);
    return e.nodes;
  },
};

export const CONV_DECOMPOSITIONS: readonly DecomposeRule[] = [conv3d];
