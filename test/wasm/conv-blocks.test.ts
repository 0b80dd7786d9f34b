// NHWC im2col convs built a block of output rows at a time (kernels/fused-conv.ts: im2colRows): several blocks,
// a shorter last block, stride 2, a residual offset per block, groups, against the reference interpreter.

import { describe, expect, it } from 'vitest';
import { im2colRows } from '../../backends/wasm/kernels/fused-conv.js';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor, worstError } from './helpers.js';

interface Spec { x: [number, number, number, number]; oc: number; k: number; stride?: number; group?: number; residual?: boolean }

function convCase(s: Spec): { name: string; g: ReturnType<GraphBuilder['build']>; inputs: Tensor[]; OH: number; OW: number } {
  const b = new GraphBuilder();
  const [N, H, W, C] = s.x, st = s.stride ?? 1, p = (s.k - 1) >> 1, G = s.group ?? 1;
  const OH = Math.floor((H + 2 * p - s.k) / st) + 1, OW = Math.floor((W + 2 * p - s.k) / st) + 1;
  const ins = [b.input('x', 'float32', s.x), b.weight('w', randTensor([s.oc, C / G, s.k, s.k], 5)), b.weight('b', randTensor([s.oc], 6))];
  const inputs = [randTensor(s.x, 7)];
  if (s.residual) { ins.push(b.input('z', 'float32', [N, OH, OW, s.oc])); inputs.push(randTensor([N, OH, OW, s.oc], 8)); }
  b.output(b.op('onnxc.FusedConv', ins, {
    kernel_shape: [s.k, s.k], channels_last: 1, activation: 'Relu', pads: [p, p, p, p], strides: [st, st], group: G,
  }));
  return { name: `x[${s.x}] oc ${s.oc} k${s.k} s${st} g${G}${s.residual ? ' +Z' : ''}`, g: b.build(), inputs, OH, OW };
}

const specs: Spec[] = [
  // channel counts that are not whole vectors keep stride-1 3x3 convs off the Winograd path (conv-winograd.ts)
  { x: [1, 31, 40, 30], oc: 12, k: 3, residual: true },  // K = 270: 4 rows a block, a last block of 3
  { x: [2, 29, 50, 42], oc: 9, k: 3 },                   // batch 2, 9 channels, K = 378: 2 rows a block, last of 1
  { x: [1, 40, 60, 48], oc: 8, k: 3, stride: 2 },        // stride 2
  { x: [1, 20, 64, 64], oc: 16, k: 3, group: 2 },        // grouped: each group's blocks
];

describe('blocked NHWC im2col convs match the reference interpreter', () => {
  for (const s of specs) {
    const c = convCase(s);
    it(c.name, () => {
      const K = s.k * s.k * (s.x[3] / (s.group ?? 1));
      const rows = im2colRows({ OH: c.OH, OW: c.OW } as Parameters<typeof im2colRows>[0], K);
      expect(rows, 'the case spans several blocks').toBeLessThan(c.OH);
      expect(worstError(c.g, c.inputs, true)).toBeLessThanOrEqual(1e-5);
    });
  }
});
