// Conv, ConvTranspose, DeformConv, Col2Im and CausalConvWithState against hand-computed values: padding modes,
// groups, dilations, float16 rounding, symbolic shapes and the shape rules.

import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../ir/errors.js';
import { attrInt, attrInts, attrString } from '../../ir/graph.js';
import { f16Round } from '../../ir/float16.js';
import { out, runOp } from '../helpers/run-op.js';
import { close, f32, i64, inferOnly, run1, t, vals } from './conv-helpers.js';

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('Conv', () => {
  it('2-D valid convolution with a 2x2 kernel', () => {
    const y = run1('Conv', [f32([1, 1, 3, 3], range(9)), f32([1, 1, 2, 2], [1, 1, 1, 1])]);
    expect(y.dims).toEqual([1, 1, 2, 2]);
    expect(vals(y)).toEqual([8, 12, 20, 24]);
  });

  it('explicit pads and bias', () => {
    // 1-D [1,2,3] with kernel [1,1], pads 1 each side: windows [0,1] [1,2] [2,3] [3,0]
    const y = run1('Conv', [f32([1, 1, 3], [1, 2, 3]), f32([1, 1, 2], [1, 1]), f32([1], [10])], { pads: attrInts([1, 1]) });
    expect(vals(y)).toEqual([11, 13, 15, 13]);
  });

  it('SAME_UPPER pads at the end, SAME_LOWER at the beginning', () => {
    const x = f32([1, 1, 4], [1, 2, 3, 4]); const w = f32([1, 1, 2], [1, 1]);
    expect(vals(run1('Conv', [x, w], { auto_pad: attrString('SAME_UPPER') }))).toEqual([3, 5, 7, 4]);
    expect(vals(run1('Conv', [x, w], { auto_pad: attrString('SAME_LOWER') }))).toEqual([1, 3, 5, 7]);
    // stride 2: output ceil(4/2) = 2
    expect(vals(run1('Conv', [x, w], { auto_pad: attrString('SAME_UPPER'), strides: attrInts([2]) }))).toEqual([3, 7]);
  });

  it('VALID ignores pads', () => {
    const y = run1('Conv', [f32([1, 1, 4], [1, 2, 3, 4]), f32([1, 1, 2], [1, 1])], { auto_pad: attrString('VALID'), pads: attrInts([5, 5]) });
    expect(vals(y)).toEqual([3, 5, 7]);
  });

  it('dilations and strides', () => {
    const x = f32([1, 1, 5], [1, 2, 3, 4, 5]);
    expect(vals(run1('Conv', [x, f32([1, 1, 2], [1, 1])], { dilations: attrInts([2]) }))).toEqual([4, 6, 8]);
    expect(vals(run1('Conv', [x, f32([1, 1, 2], [1, 1])], { strides: attrInts([2]) }))).toEqual([3, 7]);
  });

  it('depthwise groups', () => {
    const y = run1('Conv', [f32([1, 2, 3], [1, 2, 3, 10, 20, 30]), f32([2, 1, 1], [2, 3])], { group: attrInt(2) });
    expect(vals(y)).toEqual([2, 4, 6, 30, 60, 90]);
  });

  it('groups with two input channels each', () => {
    // 4 input channels of constant 1,2,3,4; group 2: out0 sees channels 0,1; out1 sees channels 2,3.
    const x = f32([1, 4, 1], [1, 2, 3, 4]);
    const y = run1('Conv', [x, f32([2, 2, 1], [1, 10, 1, 10])], { group: attrInt(2) });
    expect(vals(y)).toEqual([21, 43]);
  });

  it('3-D convolution, batch 2', () => {
    const x = f32([2, 1, 2, 2, 2], [...range(8), ...range(8, 10)]);
    const y = run1('Conv', [x, f32([1, 1, 2, 2, 2], new Array(8).fill(1))]);
    expect(y.dims).toEqual([2, 1, 1, 1, 1]);
    expect(vals(y)).toEqual([28, 108]);
  });

  it('float16 output is rounded to float16 (ties to even)', () => {
    const a = f16Round(0.1); const b = f16Round(0.2);
    const y = run1('Conv', [t('float16', [1, 1, 2], [1, 1]), t('float16', [1, 1, 2], [a, b])]);
    expect(y.dtype).toBe('float16');
    expect(vals(y)[0]).toBe(f16Round(a + b));
    expect(vals(y)[0]).not.toBe(a + b);
  });

  it('float64 and empty batch', () => {
    const y = run1('Conv', [t('float64', [0, 1, 3], []), t('float64', [1, 1, 2], [1, 1])]);
    expect(y.dims).toEqual([0, 1, 2]);
  });

  it('keeps the batch symbol and computes spatial dims', () => {
    const [y] = inferOnly('Conv', [
      { kind: 'tensor', dtype: 'float32', shape: ['N', 3, 224, 224] },
      { kind: 'tensor', dtype: 'float32', shape: [64, 3, 7, 7] },
    ], { strides: attrInts([2, 2]), pads: attrInts([3, 3, 3, 3]) });
    expect(y).toEqual({ kind: 'tensor', dtype: 'float32', shape: ['N', 64, 112, 112] });
  });

  it('symbolic spatial dims: same symbol under SAME with stride 1, fresh otherwise', () => {
    const x = { kind: 'tensor', dtype: 'float32', shape: ['N', 3, 'H', 'W'] } as const;
    const w = { kind: 'tensor', dtype: 'float32', shape: [8, 3, 3, 3] } as const;
    const [same] = inferOnly('Conv', [x, w], { auto_pad: attrString('SAME_UPPER') });
    expect(same).toEqual({ kind: 'tensor', dtype: 'float32', shape: ['N', 8, 'H', 'W'] });
    const [strided] = inferOnly('Conv', [x, w], { strides: attrInts([2, 2]) });
    expect((strided as unknown as { shape: unknown[] }).shape.slice(2).every((d) => typeof d === 'string' && d !== 'H' && d !== 'W')).toBe(true);
    expect(inferOnly('Conv', [{ kind: 'tensor', dtype: 'float32' }, w])).toEqual([{ kind: 'tensor', dtype: 'float32' }]);
  });

  it('rejects mismatched channels, dtypes and attributes', () => {
    const x = f32([1, 2, 3], range(6));
    expect(() => runOp('Conv', [x, f32([1, 3, 1], [1, 1, 1])])).toThrow(ShapeError);
    expect(() => runOp('Conv', [x, f32([3, 1, 1], [1, 1, 1])], { group: attrInt(2) })).toThrow(ShapeError);
    expect(() => runOp('Conv', [t('int32', [1, 2, 3], range(6)), t('int32', [1, 2, 1], [1, 1])])).toThrow(ShapeError);
    expect(() => runOp('Conv', [x, f32([1, 2, 1], [1, 1])], { auto_pad: attrString('SAME') })).toThrow(ShapeError);
    expect(() => runOp('Conv', [x, f32([1, 2, 1], [1, 1])], { strides: attrInts([0]) })).toThrow(ShapeError);
    expect(() => runOp('Conv', [x, f32([1, 2, 5], range(10))])).toThrow(ShapeError);
  });
});

describe('ConvTranspose', () => {
  const x = f32([1, 1, 3], [1, 2, 3]);
  const w = f32([1, 1, 3], [1, 1, 1]);
  it('stride 1 and stride 2 scatter', () => {
    expect(vals(run1('ConvTranspose', [x, w]))).toEqual([1, 3, 6, 5, 3]);
    expect(vals(run1('ConvTranspose', [x, w], { strides: attrInts([2]) }))).toEqual([1, 1, 3, 2, 5, 3, 3]);
  });
  it('output_padding, pads and output_shape', () => {
    expect(vals(run1('ConvTranspose', [x, w], { strides: attrInts([2]), output_padding: attrInts([1]) }))).toEqual([1, 1, 3, 2, 5, 3, 3, 0]);
    expect(vals(run1('ConvTranspose', [x, w], { strides: attrInts([2]), pads: attrInts([1, 1]) }))).toEqual([1, 3, 2, 5, 3]);
    // output_shape 5 from a full size of 7: total padding 2, one each side
    expect(vals(run1('ConvTranspose', [x, w], { strides: attrInts([2]), output_shape: attrInts([5]) }))).toEqual([1, 3, 2, 5, 3]);
  });
  it('SAME_UPPER gives input * stride', () => {
    const y = run1('ConvTranspose', [x, w], { strides: attrInts([2]), auto_pad: attrString('SAME_UPPER') });
    // total padding 1; SAME_UPPER puts the smaller half (0) first
    expect(y.dims).toEqual([1, 1, 6]);
    expect(vals(y)).toEqual([1, 1, 3, 2, 5, 3]);
  });
  it('groups, output channels and bias', () => {
    // 2 input channels, group 2, 2 outputs per group: W [2, 2, 1]
    const y = run1('ConvTranspose', [f32([1, 2, 1], [1, 10]), f32([2, 2, 1], [1, 2, 3, 4]), f32([4], [0, 0, 0, 0.5])], { group: attrInt(2) });
    expect(y.dims).toEqual([1, 4, 1]);
    expect(vals(y)).toEqual([1, 2, 30, 40.5]);
  });
  it('2-D with dilation', () => {
    const y = run1('ConvTranspose', [f32([1, 1, 1, 1], [2]), f32([1, 1, 2, 2], [1, 2, 3, 4])], { dilations: attrInts([2, 2]) });
    expect(y.dims).toEqual([1, 1, 3, 3]);
    expect(vals(y)).toEqual([2, 0, 4, 0, 0, 0, 6, 0, 8]);
  });
  it('infers symbolic batch and output_shape', () => {
    const [y] = inferOnly('ConvTranspose', [
      { kind: 'tensor', dtype: 'float32', shape: ['N', 4, 'H'] },
      { kind: 'tensor', dtype: 'float32', shape: [4, 3, 2] },
    ], { output_shape: attrInts([9]), strides: attrInts([2]) });
    expect(y).toEqual({ kind: 'tensor', dtype: 'float32', shape: ['N', 3, 9] });
  });
});

describe('DeformConv', () => {
  const x = f32([1, 1, 2, 3], [1, 2, 3, 4, 5, 6]);
  const w = f32([1, 1, 1, 2], [1, 1]);
  it('zero offsets equal Conv', () => {
    const y = run1('DeformConv', [x, w, f32([1, 4, 2, 2], new Array(16).fill(0))]);
    expect(vals(y)).toEqual(vals(run1('Conv', [x, w])));
  });
  it('fractional offsets interpolate; outside reads zero; mask scales taps', () => {
    // Shift every tap half a pixel right: taps at w+0.5 and w+1.5.
    const off = new Array(16).fill(0);
    for (const ch of [1, 3]) for (let p = 0; p < 4; p++) off[ch * 4 + p] = 0.5;
    const y = run1('DeformConv', [x, w, f32([1, 4, 2, 2], off)]);
    // row 0: (1.5 + 2.5), (2.5 + 3*0.5)  (3.5 falls half outside: 0.5*3 + 0.5*0)
    close(vals(y), [4, 4, 10, 8.5]);
    const mask = f32([1, 2, 2, 2], [1, 1, 1, 1, 0, 0, 0, 0]);
    close(vals(run1('DeformConv', [x, w, f32([1, 4, 2, 2], off), f32([1], [100]), mask])), [101.5, 102.5, 104.5, 105.5]);
  });
});

describe('Col2Im', () => {
  it('sums overlapping blocks', () => {
    // image 1x3, block 1x2, stride 1: two blocks; columns [a0 a1; b0 b1]
    const y = run1('Col2Im', [f32([1, 2, 2], [1, 2, 10, 20]), i64([1, 3]), i64([1, 2])]);
    expect(y.dims).toEqual([1, 1, 1, 3]);
    expect(vals(y)).toEqual([1, 12, 20]);
  });
  it('non-overlapping 2x2 blocks with strides', () => {
    const y = run1('Col2Im', [f32([1, 4, 1], [1, 2, 3, 4]), i64([2, 2]), i64([2, 2])], { strides: attrInts([2, 2]) });
    expect(vals(y)).toEqual([1, 2, 3, 4]);
  });
  it('checks the block count', () => {
    expect(() => runOp('Col2Im', [f32([1, 2, 3], range(6)), i64([1, 3]), i64([1, 2])])).toThrow();
  });
});

describe('CausalConvWithState', () => {
  it('uses the past state and returns the new one', () => {
    const r = runOp('CausalConvWithState', [f32([1, 1, 3], [1, 2, 3]), f32([1, 1, 2], [1, 10]), undefined, f32([1, 1, 1], [5])], {}, 2);
    expect(vals(out(r, 0))).toEqual([15, 21, 32]);
    expect(vals(out(r, 1))).toEqual([3]);
  });
  it('zero state, bias and silu', () => {
    const r = runOp('CausalConvWithState', [f32([1, 1, 2], [1, 2]), f32([1, 1, 2], [1, 1]), f32([1], [-1])], { activation: attrString('silu') }, 2);
    const silu = (v: number) => v / (1 + Math.exp(-v));
    close(vals(out(r, 0)), [silu(0), silu(2)]);
    expect(vals(out(r, 1))).toEqual([2]);
  });
});
