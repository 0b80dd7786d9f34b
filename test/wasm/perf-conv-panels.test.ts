// NHWC FusedConv GEMM paths reading panel-packed weights (kernels/fused-conv.ts + gemm-pack.ts): grouped convs
// (each group its own run of panels), the 4-column tail panel (OCg % 8 == 4), wide (OC > pixels) and tall tiles,
// batches, stored layouts other than HWIO, against the reference interpreter with Binaryen's optimiser on and off.

import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { standardToLayout, transposeTensor } from '../../ops/fused/permute.js';
import { randTensor, worstError } from './helpers.js';

interface Spec { x: [number, number, number, number]; oc: number; k: number; group?: number; stride?: number; pad?: number; layout?: string; residual?: boolean }

function convCase(s: Spec): { name: string; g: ReturnType<GraphBuilder['build']>; inputs: Tensor[] } {
  const b = new GraphBuilder();
  const [N, H, W, C] = s.x, G = s.group ?? 1, st = s.stride ?? 1, p = s.pad ?? 0;
  const x = b.input('x', 'float32', [N, H, W, C]);
  let w: Tensor = randTensor([s.oc, C / G, s.k, s.k], 5);
  if (s.layout) w = transposeTensor(w, standardToLayout(s.layout, 4));
  const ins = [x, b.weight('w', w), b.weight('b', randTensor([s.oc], 6))];
  const inputs = [randTensor([N, H, W, C], 7)];
  if (s.residual) {
    const oh = Math.floor((H + 2 * p - s.k) / st) + 1, ow = Math.floor((W + 2 * p - s.k) / st) + 1;
    ins.push(b.input('z', 'float32', [N, oh, ow, s.oc]));
    inputs.push(randTensor([N, oh, ow, s.oc], 8));
  }
  b.output(b.op('onnxc.FusedConv', ins, {
    kernel_shape: [s.k, s.k], group: G, channels_last: 1, weight_layout: s.layout ?? '', activation: 'Relu',
    strides: [st, st], pads: [p, p, p, p],
  }));
  return { name: `NHWC x[${s.x}] oc ${s.oc} k${s.k} g${G} s${st} p${p} ${s.layout ?? 'OIHW'}${s.residual ? ' +Z' : ''}`, g: b.build(), inputs };
}

const specs: Spec[] = [
  { x: [1, 3, 3, 16], oc: 36, k: 1 },                          // wide: 36 channels > 9 pixels, tail panel of 4
  { x: [2, 5, 3, 7], oc: 12, k: 1, residual: true },            // batch 2, tall, tail panel
  { x: [1, 4, 5, 8], oc: 16, k: 1, group: 2 },                  // grouped 1x1: two runs of panels
  { x: [1, 6, 5, 6], oc: 24, k: 3, group: 3, pad: 1, residual: true }, // grouped im2col, OCg 8
  { x: [2, 7, 6, 5], oc: 20, k: 3, stride: 2, pad: 1, layout: 'OHWI' }, // strided im2col from another layout
  { x: [1, 2, 2, 9], oc: 4, k: 2, layout: 'HWIO' },             // one 4-wide panel, weight already HWIO
];

describe('NHWC convs with panel-packed weights match the reference interpreter', () => {
  for (const s of specs) {
    const c = convCase(s);
    it(c.name, () => {
      for (const optimize of [false, true]) expect(worstError(c.g, c.inputs, optimize), `optimize=${optimize}`).toBeLessThanOrEqual(1e-4);
    });
  }
});
