// Pools against hand-computed values: MaxPool indices in both storage orders, count_include_pad, the ceil_mode
// rule for the last window, integer MaxPool, Lp and global pools, MaxUnpool, ROI pools and legacy rewrites.

import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../ir/errors.js';
import { attrFloat, attrInt, attrInts, attrString } from '../../ir/graph.js';
import { out, runOp } from '../helpers/run-op.js';
import { close, f32, i64, inferOnly, legacy, run1, t, vals } from './conv-helpers.js';

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
const k2s2 = { kernel_shape: attrInts([2, 2]), strides: attrInts([2, 2]) };

describe('MaxPool', () => {
  it('values and row-major indices, including the plane offset', () => {
    const r = runOp('MaxPool', [f32([1, 2, 4, 4], range(32))], k2s2, 2);
    expect(vals(out(r, 0))).toEqual([5, 7, 13, 15, 21, 23, 29, 31]);
    expect(out(r, 1).dtype).toBe('int64');
    expect(vals(out(r, 1))).toEqual([5, 7, 13, 15, 21, 23, 29, 31]);
  });
  it('column-major indices with storage_order 1', () => {
    const r = runOp('MaxPool', [f32([1, 1, 4, 4], range(16))], { ...k2s2, storage_order: attrInt(1) }, 2);
    expect(vals(out(r, 1))).toEqual([5, 13, 7, 15]);
  });
  it('ceil_mode drops a last window that would start in the right padding', () => {
    const a = { kernel_shape: attrInts([2]), strides: attrInts([2]), ceil_mode: attrInt(1) };
    expect(vals(run1('MaxPool', [f32([1, 1, 5], [1, 2, 3, 4, 5])], a))).toEqual([2, 4, 5]);
    expect(vals(run1('MaxPool', [f32([1, 1, 4], [1, 2, 3, 4])], { ...a, pads: attrInts([0, 1]) }))).toEqual([2, 4]);
    expect(vals(run1('MaxPool', [f32([1, 1, 5], [1, 2, 3, 4, 5])], { kernel_shape: attrInts([2]), strides: attrInts([2]) }))).toEqual([2, 4]);
  });
  it('pads never win, dilations skip', () => {
    expect(vals(run1('MaxPool', [f32([1, 1, 2], [-5, -6])], { kernel_shape: attrInts([2]), pads: attrInts([1, 1]) }))).toEqual([-5, -5, -6]);
    expect(vals(run1('MaxPool', [f32([1, 1, 4], [1, 9, 2, 8])], { kernel_shape: attrInts([2]), dilations: attrInts([2]) }))).toEqual([2, 9]);
  });
  it('a huge kernel from the attributes visits only the taps inside the input', () => {
    const big = 1_000_000_000;
    const y = run1('MaxPool', [f32([1, 1, 2], [3, 4])], { kernel_shape: attrInts([big]), pads: attrInts([big - 1, big - 1]), strides: attrInts([big]) });
    expect(vals(y)).toEqual([3, 4]);
    const a = run1('AveragePool', [f32([1, 1, 2], [3, 4])], { kernel_shape: attrInts([big]), pads: attrInts([big - 1, big - 1]), strides: attrInts([big]), count_include_pad: attrInt(1) });
    close(vals(a), [3 / big, 4 / big], 12);
  });
  it('uint8 and int8 inputs', () => {
    const y = run1('MaxPool', [t('uint8', [1, 1, 4], [1, 200, 3, 4])], { kernel_shape: attrInts([2]), strides: attrInts([2]) });
    expect(y.dtype).toBe('uint8');
    expect(vals(y)).toEqual([200, 4]);
    expect(vals(run1('MaxPool', [t('int8', [1, 1, 2], [-100, -7])], { kernel_shape: attrInts([2]) }))).toEqual([-7]);
  });
  it('SAME_UPPER keeps ceil(in / stride)', () => {
    const y = run1('MaxPool', [f32([1, 1, 5], [1, 2, 3, 4, 5])], { kernel_shape: attrInts([2]), strides: attrInts([2]), auto_pad: attrString('SAME_UPPER') });
    expect(vals(y)).toEqual([2, 4, 5]);
  });
  it('inference: symbolic batch, fresh symbols for strided symbolic dims, rule errors', () => {
    const [y, i] = inferOnly('MaxPool', [{ kind: 'tensor', dtype: 'float32', shape: ['N', 3, 8, 'W'] }], k2s2, {}, 2);
    expect(y!.kind === 'tensor' && y!.shape?.slice(0, 3)).toEqual(['N', 3, 4]);
    expect(i!.kind === 'tensor' && i!.dtype).toBe('int64');
    expect(() => runOp('MaxPool', [f32([1, 1, 4], range(4))], { kernel_shape: attrInts([2, 2]) })).toThrow(ShapeError);
    expect(() => runOp('MaxPool', [t('int32', [1, 1, 4], range(4))], { kernel_shape: attrInts([2]) })).toThrow(ShapeError);
  });
});

describe('AveragePool', () => {
  const x = f32([1, 1, 3], [1, 2, 3]);
  const a = { kernel_shape: attrInts([2]), pads: attrInts([1, 1]) };
  it('count_include_pad decides whether padding counts', () => {
    expect(vals(run1('AveragePool', [x], a))).toEqual([1, 1.5, 2.5, 3]);
    expect(vals(run1('AveragePool', [x], { ...a, count_include_pad: attrInt(1) }))).toEqual([0.5, 1.5, 2.5, 1.5]);
  });
  it('ceil_mode windows past the padding are not counted', () => {
    const b = { kernel_shape: attrInts([2]), strides: attrInts([2]), ceil_mode: attrInt(1) };
    const y = f32([1, 1, 5], [1, 2, 3, 4, 5]);
    expect(vals(run1('AveragePool', [y], b))).toEqual([1.5, 3.5, 5]);
    expect(vals(run1('AveragePool', [y], { ...b, count_include_pad: attrInt(1) }))).toEqual([1.5, 3.5, 5]);
  });
  it('2-D, float64', () => {
    const y = run1('AveragePool', [t('float64', [1, 1, 2, 2], [1, 2, 3, 4])], { kernel_shape: attrInts([2, 2]) });
    expect(y.dtype).toBe('float64');
    expect(vals(y)).toEqual([2.5]);
  });
});

describe('LpPool and global pools', () => {
  it('LpPool p=2 and p=1', () => {
    expect(vals(run1('LpPool', [f32([1, 1, 2], [3, 4])], { kernel_shape: attrInts([2]) }))).toEqual([5]);
    expect(vals(run1('LpPool', [f32([1, 1, 2], [-3, 4])], { kernel_shape: attrInts([2]), p: attrInt(1) }))).toEqual([7]);
  });
  it('global average, max and Lp keep rank with 1s', () => {
    const x = f32([1, 2, 2, 2], [1, 2, 3, 4, -1, -2, -3, -4]);
    const avg = run1('GlobalAveragePool', [x]);
    expect(avg.dims).toEqual([1, 2, 1, 1]);
    expect(vals(avg)).toEqual([2.5, -2.5]);
    expect(vals(run1('GlobalMaxPool', [x]))).toEqual([4, -1]);
    close(vals(run1('GlobalLpPool', [x])), [Math.sqrt(30), Math.sqrt(30)]);
    const [s] = inferOnly('GlobalAveragePool', [{ kind: 'tensor', dtype: 'float16', shape: ['N', 'C', 'H', 'W'] }]);
    expect(s).toEqual({ kind: 'tensor', dtype: 'float16', shape: ['N', 'C', 1, 1] });
  });
  it('legacy float p becomes an int', () => {
    const { nodes } = legacy({ name: 'n', op: 'LpPool', inputs: ['x'], outputs: ['y'], attrs: { p: attrFloat(3), kernel_shape: attrInts([2]) } }, 1);
    expect(nodes[0]!.attrs['p']).toEqual({ kind: 'int', value: 3 });
  });
});

describe('MaxUnpool', () => {
  const x = f32([1, 1, 2, 2], [5, 7, 13, 15]);
  const idx = t('int64', [1, 1, 2, 2], [5, 7, 13, 15]);
  it('scatters values back to their argmax positions', () => {
    const y = run1('MaxUnpool', [x, idx], k2s2);
    expect(y.dims).toEqual([1, 1, 4, 4]);
    const want = new Array(16).fill(0); want[5] = 5; want[7] = 7; want[13] = 13; want[15] = 15;
    expect(vals(y)).toEqual(want);
  });
  it('a larger output_shape pads the unpooled tensor at the end', () => {
    const y = run1('MaxUnpool', [x, idx, i64([1, 1, 5, 5])], k2s2);
    expect(y.dims).toEqual([1, 1, 5, 5]);
    expect(vals(y)[6]).toBe(5);
    expect(vals(y)[18]).toBe(15);
  });
  it('rejects out-of-range indices', () => {
    expect(() => runOp('MaxUnpool', [x, t('int64', [1, 1, 2, 2], [0, 1, 2, 99])], k2s2)).toThrow(/out of range/);
  });
});

describe('RoiAlign and MaxRoiPool', () => {
  const x = f32([1, 1, 2, 2], [0, 1, 2, 3]);
  const rois = f32([1, 4], [0, 0, 1, 1]);
  const bi = t('int64', [1], [0]);
  it('output_half_pixel samples the centre; half_pixel shifts by half a pixel', () => {
    const a = { sampling_ratio: attrInt(1), coordinate_transformation_mode: attrString('output_half_pixel') };
    close(vals(run1('RoiAlign', [x, rois, bi], a)), [1.5]);
    close(vals(run1('RoiAlign', [x, rois, bi], { sampling_ratio: attrInt(1) })), [0]);
    // max mode keeps the largest weighted corner, as onnxruntime does
    close(vals(run1('RoiAlign', [x, rois, bi], { ...a, mode: attrString('max') })), [0.75]);
  });
  it('output shape and legacy default', () => {
    const y = run1('RoiAlign', [x, f32([2, 4], [0, 0, 1, 1, 0, 0, 2, 2]), t('int64', [2], [0, 0])], { output_height: attrInt(2), output_width: attrInt(3) });
    expect(y.dims).toEqual([2, 1, 2, 3]);
    const { nodes } = legacy({ name: 'r', op: 'RoiAlign', inputs: ['x', 'r', 'b'], outputs: ['y'], attrs: {} }, 10);
    expect(nodes[0]!.attrs['coordinate_transformation_mode']).toEqual({ kind: 'string', value: 'output_half_pixel' });
    expect(legacy({ name: 'r', op: 'RoiAlign', inputs: ['x', 'r', 'b'], outputs: ['y'], attrs: {} }, 16).nodes[0]!.attrs).toEqual({});
  });
  it('MaxRoiPool bins', () => {
    const img = f32([1, 1, 3, 3], range(9));
    expect(vals(run1('MaxRoiPool', [img, f32([1, 5], [0, 0, 0, 2, 2])], { pooled_shape: attrInts([1, 1]) }))).toEqual([8]);
    expect(vals(run1('MaxRoiPool', [img, f32([1, 5], [0, 0, 0, 2, 2])], { pooled_shape: attrInts([2, 2]) }))).toEqual([4, 5, 7, 8]);
    expect(() => runOp('MaxRoiPool', [img, f32([1, 5], [3, 0, 0, 2, 2])], { pooled_shape: attrInts([1, 1]) })).toThrow(/batch index/);
  });
});
