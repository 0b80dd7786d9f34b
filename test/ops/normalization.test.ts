// Unit tests for the normalization family: softmax ops, batch/instance/layer/group/RMS/Lp normalisation, LRN,
// MVN, the two losses and Dropout, with hand-computed values, inference and legacy rewrites.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KernelError, ShapeError } from '../../ir/errors.js';
import { fromValues } from '../../ir/tensor.js';
import { out, runOp } from '../helpers/run-op.js';
import { T, expectClose, f16, f32, flt, i64, inferTypes, int, ints, legacy, shapeOf, str, vals } from './reduce-helpers.js';

describe('Softmax, LogSoftmax, Hardmax', () => {
  const v = f32([1, 3], [1, 2, 3]);
  it('computes along the last axis by default', () => {
    expectClose(out(runOp('Softmax', [v])), [0.09003057, 0.24472847, 0.66524096]);
    expectClose(out(runOp('LogSoftmax', [v])), [-2.40760596, -1.40760596, -0.40760596]);
    expect(vals(out(runOp('Hardmax', [f32([2, 3], [1, 3, 3, 2, 1, 0])])))).toEqual([0, 1, 0, 1, 0, 0]);
  });
  it('takes any axis, negative included', () => {
    const x = f32([2, 2], [0, 0, Math.log(3), 0]);
    expectClose(out(runOp('Softmax', [x], { axis: int(0) })), [0.25, 0.5, 0.75, 0.5]);
    expectClose(out(runOp('Softmax', [x], { axis: int(-2) })), [0.25, 0.5, 0.75, 0.5]);
  });
  it('is stable for large inputs', () => {
    expectClose(out(runOp('Softmax', [f32([2], [1000, 1001])])), [0.26894142, 0.73105858]);
    expectClose(out(runOp('LogSoftmax', [f32([2], [1000, 1001])])), [-1.31326169, -0.31326169]);
  });
  it('handles empty tensors and float16', () => {
    expect(out(runOp('Softmax', [f32([0, 3], [])])).dims).toEqual([0, 3]);
    const h = out(runOp('Softmax', [f16([2], [0, 0])]));
    expect(h.dtype).toBe('float16');
    expect(vals(h)).toEqual([0.5, 0.5]);
  });
  it('rejects integer inputs and bad axes', () => {
    expect(() => runOp('Softmax', [i64([1, 2])])).toThrow(ShapeError);
    expect(() => runOp('Softmax', [v], { axis: int(2) })).toThrow(ShapeError);
    expect(shapeOf(inferTypes('Softmax', [T('float32', ['b', 'n'])])[0])).toEqual(['b', 'n']);
  });
  it('legacy (< 13) coerces to 2-D at axis (default 1) with standard ops', () => {
    const { nodes } = legacy('Softmax', {}, 11);
    expect(nodes.map((n) => n.op)).toEqual(['Shape', 'Flatten', 'Softmax', 'Reshape']);
    expect(nodes[1]!.attrs.axis).toEqual(int(1));
    expect(nodes[2]!.attrs).toEqual({ axis: int(1) });
    expect(nodes[3]!.outputs).toEqual(['y']);
    expect(nodes[3]!.inputs).toEqual([nodes[2]!.outputs[0], nodes[0]!.outputs[0]]);
    const h = legacy('Hardmax', { attrs: { axis: int(-1) } }, 1);
    expect(h.nodes[1]!.attrs.axis).toEqual(int(-1));
    expect(legacy('LogSoftmax', {}, 13).nodes).toHaveLength(1);
  });
});

describe('BatchNormalization', () => {
  const x = f32([1, 2, 1, 2], [1, 3, 2, 6]);
  const p = (a: number[]) => f32([2], a);
  it('normalises with the given statistics in inference mode', () => {
    const r = runOp('BatchNormalization', [x, p([1, 2]), p([0, 1]), p([2, 4]), p([1, 4])], { epsilon: flt(0) });
    expectClose(out(r), [-1, 1, -1, 3]);
  });
  it('uses batch statistics and updates running ones in training mode', () => {
    const r = runOp('BatchNormalization', [x, p([1, 2]), p([0, 1]), p([0, 0]), p([1, 1])],
      { epsilon: flt(0), training_mode: int(1) }, 3);
    expectClose(out(r, 0), [-1, 1, -1, 3]);
    expectClose(out(r, 1), [0.2, 0.4]);
    expectClose(out(r, 2), [1, 1.3]);
  });
  it('checks per-channel parameter lengths', () => {
    expect(() => runOp('BatchNormalization', [x, p([1, 2]), p([0, 1]), f32([3], [0, 0, 0]), p([1, 1])])).toThrow(ShapeError);
  });
  it('legacy drops old attributes and picks training mode from the outputs', () => {
    const inputs = ['x', 's', 'b', 'm', 'v'];
    const inf = legacy('BatchNormalization', { inputs, attrs: { is_test: int(1), spatial: int(1), consumed_inputs: ints([0, 0, 0, 1, 1]) } }, 6);
    expect(inf.nodes[0]!.attrs).toEqual({});
    const tr = legacy('BatchNormalization', { inputs, outputs: ['y', 'rm', 'rv'] }, 9);
    expect(tr.nodes[0]!.attrs).toEqual({ training_mode: int(1) });
    const sp = legacy('BatchNormalization', { inputs, attrs: { spatial: int(0), epsilon: flt(0.01) } }, 7);
    expect(sp.nodes.map((n) => n.op)).toEqual(['CastLike', 'Add', 'Sqrt', 'Sub', 'Div', 'Mul', 'Add']);
    expect(vals(sp.consts.values().next().value!)).toEqual([Math.fround(0.01)]);
    expect(sp.nodes.at(-1)!.outputs).toEqual(['y']);
  });
});

describe('InstanceNormalization, LayerNormalization, GroupNormalization, RMSNormalization', () => {
  it('InstanceNormalization normalises each (n, c) over space', () => {
    const r = runOp('InstanceNormalization', [f32([1, 1, 4], [1, 2, 3, 4]), f32([1], [2]), f32([1], [1])], { epsilon: flt(0) });
    const sd = Math.sqrt(1.25);
    expectClose(out(r), [1, 2, 3, 4].map((v) => ((v - 2.5) / sd) * 2 + 1));
  });
  it('LayerNormalization returns Y, Mean and InvStdDev', () => {
    const r = runOp('LayerNormalization', [f32([2, 2], [1, 3, 2, 2]), f32([2], [2, 3]), f32([2], [1, 1])], {}, 3);
    expectClose(out(r, 0), [-1 * 2 / Math.sqrt(1 + 1e-5) + 1, 3 / Math.sqrt(1 + 1e-5) + 1, 1, 1]);
    expect(out(r, 1).dims).toEqual([2, 1]);
    expectClose(out(r, 1), [2, 2]);
    expectClose(out(r, 2), [1 / Math.sqrt(1 + 1e-5), 1 / Math.sqrt(1e-5)]);
    const [, m] = inferTypes('LayerNormalization', [T('float16', ['b', 's', 8]), T('float16', [8])], {}, { axis: int(1) }, 3);
    expect(m).toEqual(T('float32', ['b', 1, 1]));
  });
  it('LayerNormalization broadcasts a scale over the normalised dims and works without B', () => {
    const r = runOp('LayerNormalization', [f32([1, 2, 2], [1, 3, 5, 7]), f32([1], [2])], { axis: int(1), epsilon: flt(0) });
    const sd = Math.sqrt(5);
    expectClose(out(r), [1, 3, 5, 7].map((v) => ((v - 4) / sd) * 2));
  });
  it('GroupNormalization uses per-channel scale and bias', () => {
    const r = runOp('GroupNormalization', [f32([1, 4, 1, 1], [1, 2, 3, 5]), f32([4], [1, 2, 3, 4]), f32([4], [0, 0, 0, 1])],
      { num_groups: int(2), epsilon: flt(0) });
    expectClose(out(r), [-1, 2, -3, 5]);
    expect(() => runOp('GroupNormalization', [f32([1, 3, 1], [1, 2, 3]), f32([3], [1, 1, 1]), f32([3], [0, 0, 0])], { num_groups: int(2) })).toThrow(ShapeError);
  });
  it('GroupNormalization legacy (18-20) expands per-group parameters to per-channel', () => {
    const { nodes, consts } = legacy('GroupNormalization', { inputs: ['x', 's', 'b'], attrs: { num_groups: int(2) } }, 18);
    expect(nodes.map((n) => n.op)).toEqual(['Shape', 'Div', 'Concat', 'Unsqueeze', 'Expand', 'Reshape', 'Unsqueeze', 'Expand', 'Reshape', 'GroupNormalization']);
    expect(nodes[0]!.attrs).toEqual({ start: int(1), end: int(2) });
    expect(vals(consts.get(nodes[1]!.inputs[1]!)!)).toEqual([2]);
    expect(nodes.at(-1)!.inputs).toEqual(['x', nodes[5]!.outputs[0], nodes[8]!.outputs[0]]);
    expect(legacy('GroupNormalization', { inputs: ['x', 's', 'b'], attrs: { num_groups: int(2) } }, 21).nodes).toHaveLength(1);
  });
  it('RMSNormalization divides by the root mean square', () => {
    const rms = Math.sqrt(12.5);
    expectClose(out(runOp('RMSNormalization', [f32([1, 2], [3, 4]), f32([2], [1, 2])], { epsilon: flt(0) })), [3 / rms, 8 / rms]);
  });
});

describe('LpNormalization, LRN, MeanVarianceNormalization', () => {
  it('LpNormalization with p = 1 and 2; zero lanes stay zero', () => {
    expectClose(out(runOp('LpNormalization', [f32([2, 2], [3, 4, 0, 0])])), [0.6, 0.8, 0, 0]);
    expectClose(out(runOp('LpNormalization', [f32([2], [1, -3])], { p: int(1), axis: int(0) })), [0.25, -0.75]);
    expect(() => runOp('LpNormalization', [f32([1], [1])], { p: int(3) })).toThrow(ShapeError);
  });
  it('LRN sums squares over a channel window', () => {
    const r = runOp('LRN', [f32([1, 3, 1, 1], [1, 2, 3])], { size: int(3), alpha: flt(3), beta: flt(1), bias: flt(1) });
    expectClose(out(r), [1 / 6, 2 / 15, 3 / 14]);
  });
  it('MeanVarianceNormalization adds epsilon to the standard deviation', () => {
    expectClose(out(runOp('MeanVarianceNormalization', [f32([1, 2, 1, 2], [1, 3, 5, 5])])), [-1, 1, 0, 0]);
    expectClose(out(runOp('MeanVarianceNormalization', [f32([2, 2], [1, 3, 5, 5])], { axes: ints([1]) })), [-1, 1, 0, 0]);
  });
});

describe('NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss', () => {
  const logp = f32([2, 3], [-1, -2, -3, -4, -5, -6]);
  const target = i64([0, 2]);
  const w = f32([3], [1, 0.5, 2]);
  it('reduces none, sum and mean (weighted)', () => {
    expect(vals(out(runOp('NegativeLogLikelihoodLoss', [logp, target], { reduction: str('none') })))).toEqual([1, 6]);
    expect(vals(out(runOp('NegativeLogLikelihoodLoss', [logp, target], { reduction: str('sum') })))).toEqual([7]);
    expect(vals(out(runOp('NegativeLogLikelihoodLoss', [logp, target])))).toEqual([3.5]);
    expectClose(out(runOp('NegativeLogLikelihoodLoss', [logp, target, w])), [13 / 3]);
  });
  it('skips ignore_index targets in the loss and in the mean', () => {
    expect(vals(out(runOp('NegativeLogLikelihoodLoss', [logp, target, w], { ignore_index: int(2) })))).toEqual([1]);
    expect(vals(out(runOp('NegativeLogLikelihoodLoss', [logp, i64([-1, 1])], { ignore_index: int(-1), reduction: str('none') })))).toEqual([0, 5]);
  });
  it('handles extra spatial dims and rejects out-of-range targets', () => {
    const x = f32([1, 2, 2], [-1, -2, -3, -4]);
    expect(vals(out(runOp('NegativeLogLikelihoodLoss', [x, i64([1, 0], [1, 2])], { reduction: str('none') })))).toEqual([3, 2]);
    expect(() => runOp('NegativeLogLikelihoodLoss', [logp, i64([0, 3])])).toThrow(KernelError);
    expect(() => runOp('NegativeLogLikelihoodLoss', [logp, i64([0, 1])], { reduction: str('avg') })).toThrow(ShapeError);
  });
  it('SoftmaxCrossEntropyLoss applies log-softmax on the class axis and can return it', () => {
    const r = runOp('SoftmaxCrossEntropyLoss', [f32([1, 3], [1, 2, 3]), i64([2])], {}, 2);
    expectClose(out(r, 0), [0.40760596]);
    expectClose(out(r, 1), [-2.40760596, -1.40760596, -0.40760596]);
    expect(shapeOf(inferTypes('SoftmaxCrossEntropyLoss', [T('float32', ['n', 5, 'd']), T('int64', ['n', 'd'])], {}, { reduction: str('none') })[0])).toEqual(['n', 'd']);
  });
});

describe('Dropout', () => {
  const x = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  it('is the identity with an all-true mask in inference', () => {
    const r = runOp('Dropout', [x, f32([], [0.7])], {}, 2);
    expect(vals(out(r, 0))).toEqual(vals(x));
    expect(out(r, 1).dtype).toBe('bool');
    expect(vals(out(r, 1))).toEqual([1, 1, 1, 1, 1, 1]);
  });
  it('in training, drops values and scales the kept ones by 1/(1-ratio), matching the mask', () => {
    const big = f32([1000], new Array(1000).fill(1));
    const r = runOp('Dropout', [big, f32([], [0.25]), fromValues('bool', [], [1])], { seed: int(3) }, 2);
    const y = vals(out(r, 0)); const m = vals(out(r, 1));
    y.forEach((v, i) => expect(v).toBeCloseTo(m[i] ? 4 / 3 : 0, 6));
    const kept = m.reduce((a, b) => a + b, 0);
    expect(kept).toBeGreaterThan(650); expect(kept).toBeLessThan(850);
    const zero = runOp('Dropout', [x, f32([], [0]), fromValues('bool', [], [1])], {}, 2);
    expect(vals(out(zero, 0))).toEqual(vals(x));
  });
  it('rejects a ratio of 1 in training', () => {
    expect(() => runOp('Dropout', [x, f32([], [1]), fromValues('bool', [], [1])])).toThrow(KernelError);
  });
  it('legacy moves ratio to an input and casts the old typed mask', () => {
    const a = legacy('Dropout', { attrs: { ratio: flt(0.2), is_test: int(1) } }, 6);
    expect(a.nodes[0]!.attrs).toEqual({});
    expect(vals(a.consts.get(a.nodes[0]!.inputs[1]!)!)).toEqual([Math.fround(0.2)]);
    const b = legacy('Dropout', { outputs: ['y', 'mask'] }, 7);
    expect(b.nodes.map((n) => n.op)).toEqual(['Dropout', 'CastLike']);
    expect(b.nodes[1]!.outputs).toEqual(['mask']);
    expect(legacy('Dropout', { outputs: ['y', 'mask'] }, 10).nodes).toHaveLength(1);
  });
});

describe('properties', () => {
  it('Softmax lanes sum to 1 and LogSoftmax is its log', () => {
    const lane = fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 8 });
    fc.assert(fc.property(lane, (v) => {
      const x = fromValues('float64', [v.length], v);
      const s = vals(out(runOp('Softmax', [x])));
      expect(Math.abs(s.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
      expectClose(out(runOp('LogSoftmax', [x])), s.map(Math.log), 1e-9);
    }), { numRuns: 100 });
  });
});
