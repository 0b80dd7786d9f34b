// Conv on WebGPU against the reference interpreter, through Dawn: channel-blocked (pre-packed weights) and
// per-channel forms, depthwise and grouped, strides, dilations, asymmetric pads, auto_pad, 1-D, bias or none,
// run-time weights, awkward sizes (0, 1, 3, 5 and a 1023-wide row), and the split form (input channels in slices).

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor } from '../wasm/helpers.js';
import { convSlices } from '../../backends/webgpu/kernels/conv.js';
import type { Window2d } from '../../backends/webgpu/kernels/window.js';
import { gpu, REQUIRE_WEBGPU, skipReason, worstError, worstErrorAllForms } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;

interface Case { x: number[]; w: number[]; attrs?: Record<string, number | number[] | string>; bias?: boolean; runtimeW?: boolean }
const CASES: Record<string, Case> = {
  'blocked 3x3 pad 1': { x: [1, 3, 7, 5], w: [8, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  'blocked stride 2, asymmetric pads, no bias': { x: [2, 4, 9, 6], w: [4, 4, 3, 3], attrs: { strides: [2, 2], pads: [0, 1, 2, 1] } },
  '1x1 blocked': { x: [1, 5, 3, 4], w: [12, 5, 1, 1], bias: true },
  'depthwise 3x3 stride 2': { x: [1, 6, 7, 7], w: [6, 1, 3, 3], attrs: { group: 6, strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true },
  'grouped (2 groups, 3 channels each)': { x: [1, 4, 5, 5], w: [6, 2, 3, 3], attrs: { group: 2 }, bias: true },
  'grouped blocked (2 groups, 4 channels each)': { x: [1, 6, 4, 5], w: [8, 3, 2, 2], attrs: { group: 2, dilations: [2, 1] } },
  'dilation 2, SAME_UPPER': { x: [1, 2, 6, 6], w: [3, 2, 3, 3], attrs: { dilations: [2, 2], auto_pad: 'SAME_UPPER' }, bias: true },
  '1-D': { x: [2, 3, 11], w: [4, 3, 3], attrs: { pads: [1, 2], strides: [2] }, bias: true },
  'run-time weights': { x: [1, 3, 5, 5], w: [4, 3, 3, 3], runtimeW: true },
  'width 1023': { x: [1, 1, 1, 1023], w: [4, 1, 1, 5], attrs: { pads: [0, 2, 0, 2] }, bias: true },
  '1x1 image, 1 channel': { x: [1, 1, 1, 1], w: [1, 1, 1, 1] },
  'empty batch': { x: [0, 3, 4, 4], w: [4, 3, 3, 3] },
  // few outputs, many input channels: the split form (input channels in slices summed through workgroup memory)
  'split 1x1 blocked, 7x7, 64 channels': { x: [1, 64, 7, 7], w: [20, 64, 1, 1], bias: true },
  'split 3x3 grouped per-channel, batch 2': { x: [2, 32, 5, 6], w: [6, 16, 3, 3], attrs: { group: 2, pads: [1, 0, 1, 2] }, bias: true },
};
/** Window geometry of the split cases above: each must take the split form, or the cases test nothing new. */
const SPLIT_GEOMETRY: [string, Window2d, number, number, boolean][] = [
  ['1x1 blocked', { N: 1, C: 64, H: 7, W: 7, OH: 7, OW: 7, kH: 1, kW: 1, sH: 1, sW: 1, dH: 1, dW: 1, pT: 0, pL: 0, pB: 0, pR: 0 }, 20, 1, true],
  ['3x3 grouped', { N: 2, C: 32, H: 5, W: 6, OH: 5, OW: 6, kH: 3, kW: 3, sH: 1, sW: 1, dH: 1, dW: 1, pT: 1, pL: 0, pB: 1, pR: 2 }, 6, 2, false],
  ['fused 3x3', { N: 1, C: 32, H: 5, W: 5, OH: 5, OW: 5, kH: 3, kW: 3, sH: 1, sW: 1, dH: 1, dW: 1, pT: 1, pL: 1, pB: 1, pR: 1 }, 8, 1, true],
];

describe('webgpu Conv split form', () => {
  for (const [name, g, M, groups, blocked] of SPLIT_GEOMETRY) it(`${name} is split`, () => expect(convSlices(g, M, groups, blocked)).toBeGreaterThan(1));
});

describe.skipIf(!run)(`webgpu Conv${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', c.x);
      const w = c.runtimeW ? b.input('w', 'float32', c.w) : b.weight('w', randTensor(c.w, 2));
      const ins = [x, w, ...(c.bias ? [b.weight('b', randTensor([c.w[0]!], 3))] : [])];
      b.output(b.op('Conv', ins, c.attrs ?? {}));
      const inputs = [randTensor(c.x, 1), ...(c.runtimeW ? [randTensor(c.w, 2)] : [])];
      // the split cases on a device without subgroups too (lavapipe's 8-lane subgroups take the unsplit path)
      expect(await (name.startsWith('split') ? worstErrorAllForms : worstError)(b.build(), inputs)).toBeLessThan(1e-5);
    }, 120_000);
  }

  it('onnxc.FusedConv: bias, residual and every activation, blocked and depthwise', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 4, 5, 5]), z = b.input('z', 'float32', [1, 8, 5, 5]), zd = b.input('zd', 'float32', [1, 4, 3, 3]);
    const w = b.weight('w', randTensor([8, 4, 3, 3], 2)), wd = b.weight('wd', randTensor([4, 1, 3, 3], 3)), bias = b.weight('b', randTensor([8], 4));
    const acts: [string, number[]][] = [['', []], ['Relu', []], ['LeakyRelu', [0.1]], ['Clip', [0, 6]], ['Sigmoid', []], ['HardSigmoid', [0.2, 0.5]], ['HardSwish', []], ['Tanh', []], ['Gelu', []], ['GeluTanh', []], ['SiLU', []]];
    const outs = acts.map(([activation, activation_params], i) => (i % 2 === 0
      ? b.op('onnxc.FusedConv', [x, w, bias, z], { pads: [1, 1, 1, 1], activation, activation_params: { floats: activation_params } })
      : b.op('onnxc.FusedConv', [x, wd, '', zd], { group: 4, activation, activation_params: { floats: activation_params } })));
    b.output(...outs);
    expect(await worstError(b.build(), [randTensor([1, 4, 5, 5], 1), randTensor([1, 8, 5, 5], 5), randTensor([1, 4, 3, 3], 6)])).toBeLessThan(1e-5);
  }, 300_000);

  it('onnxc.FusedConv in the split form: bias, residual, Clip', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 32, 5, 5]), z = b.input('z', 'float32', [1, 8, 5, 5]);
    const w = b.weight('w', randTensor([8, 32, 3, 3], 2)), bias = b.weight('b', randTensor([8], 4));
    b.output(b.op('onnxc.FusedConv', [x, w, bias, z], { pads: [1, 1, 1, 1], activation: 'Clip', activation_params: { floats: [-1, 1] } }));
    expect(await worstErrorAllForms(b.build(), [randTensor([1, 32, 5, 5], 1), randTensor([1, 8, 5, 5], 5)])).toBeLessThan(1e-5);
  }, 120_000);
});
