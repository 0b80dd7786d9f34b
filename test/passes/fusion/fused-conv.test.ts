// onnxc.FusedConv against the unfused Conv -> Add -> activation chain: bit-exact in NCHW, in channels-last with
// permuted weights, and after decomposition into standard ops.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../models/builder.js';
import { decomposeOnnxcOps } from '../../../ops/fused/decompose-graph.js';
import { transposeTensor, standardToLayout, toChannelsLast, toChannelsFirst } from '../../../ops/fused/permute.js';
import { expectSameBits, randomTensor, run } from './helpers.js';

const ACTS: [string, string, Record<string, number | { float: number }>, number[]][] = [
  ['Relu', 'Relu', {}, []],
  ['LeakyRelu', 'LeakyRelu', { alpha: { float: Math.fround(0.1) } }, [Math.fround(0.1)]],
  ['HardSigmoid', 'HardSigmoid', { alpha: { float: Math.fround(0.2) }, beta: { float: 0.5 } }, [Math.fround(0.2), 0.5]],
  ['Sigmoid', 'Sigmoid', {}, []],
  ['HardSwish', 'HardSwish', {}, []],
  ['Tanh', 'Tanh', {}, []],
];

function unfused(act: string, attrs: Record<string, number | { float: number }>): ReturnType<GraphBuilder['build']> {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [1, 4, 5, 6]);
  const z = b.input('z', 'float32', [1, 6, 5, 6]);
  const w = b.weight('w', randomTensor([6, 2, 3, 3], 7));
  const bias = b.weight('b', randomTensor([6], 8));
  const c = b.op('Conv', [x, w, bias], { pads: [1, 1, 1, 1], group: 2 });
  const s = b.op('Add', [c, z]);
  b.output(b.op(act, [s], attrs));
  return b.build();
}

function fused(act: string, params: number[], channelsLast: boolean, layout = ''): ReturnType<GraphBuilder['build']> {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', channelsLast ? [1, 5, 6, 4] : [1, 4, 5, 6]);
  const z = b.input('z', 'float32', channelsLast ? [1, 5, 6, 6] : [1, 6, 5, 6]);
  const wStd = randomTensor([6, 2, 3, 3], 7);
  const w = b.weight('w', layout === '' ? wStd : transposeTensor(wStd, standardToLayout(layout, 4)));
  const bias = b.weight('b', randomTensor([6], 8));
  b.output(b.op('onnxc.FusedConv', [x, w, bias, z], {
    pads: [1, 1, 1, 1], group: 2, kernel_shape: [3, 3], activation: act, activation_params: { floats: params },
    channels_last: channelsLast ? 1 : 0, weight_layout: layout,
  }));
  return b.build();
}

describe('onnxc.FusedConv', () => {
  const x = randomTensor([1, 4, 5, 6], 1, 3);
  const z = randomTensor([1, 6, 5, 6], 2, 3);
  for (const [name, op, attrs, params] of ACTS) {
    it(`${name}: fused equals Conv -> Add -> ${op} bit for bit, NCHW and NHWC/OHWI, and decomposed`, () => {
      const want = run(unfused(op, attrs), [x, z]);
      const g = fused(name, params, false);
      expectSameBits(run(g, [x, z]), want);
      expectSameBits(run(decomposeOnnxcOps(g), [x, z]), want);
      for (const layout of ['OHWI', 'HWIO']) {
        const cl = fused(name, params, true, layout);
        expect(cl.types.get(cl.outputs[0]!)).toEqual({ kind: 'tensor', dtype: 'float32', shape: [1, 5, 6, 6] });
        const xs = [transposeTensor(x, toChannelsLast(4)), transposeTensor(z, toChannelsLast(4))];
        const got = run(cl, xs).map((t) => transposeTensor(t, toChannelsFirst(4)));
        expectSameBits(got, want);
        expectSameBits(run(decomposeOnnxcOps(cl), xs).map((t) => transposeTensor(t, toChannelsFirst(4))), want);
      }
    });
  }

  it('rejects an unknown activation and a wrong parameter count', () => {
    expect(() => fused('Swish', [], false)).toThrow(/activation 'Swish'/);
    expect(() => fused('LeakyRelu', [], false)).toThrow(/takes 1 activation_params/);
  });
});
