// Resize, Upsample, GridSample and AffineGrid against hand-computed values: every nearest rounding rule on ties,
// linear/cubic/antialias weights, tf_crop_and_resize extrapolation, axes, aspect-ratio policies, exact int64 and
// string gathers, symbolic inference and the legacy rewrites of Resize-10 and Upsample.

import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../ir/errors.js';
import { attrFloat, attrFloats, attrInt, attrInts, attrString, type Attr } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { runOp } from '../helpers/run-op.js';
import { close, f32, i64, inferOnly, legacy, run1, t, vals } from './conv-helpers.js';

const resize = (x: Tensor, a: Record<string, Attr>, scales?: number[], sizes?: number[], roi?: number[]): Tensor =>
  run1('Resize', [x, roi ? f32([roi.length], roi) : undefined, scales ? f32([scales.length], scales) : undefined, sizes ? i64(sizes) : undefined], a);

describe('Resize nearest', () => {
  it('half_pixel with round_prefer_floor (the defaults)', () => {
    expect(vals(resize(f32([2], [1, 2]), {}, [2]))).toEqual([1, 1, 2, 2]);
  });
  it('each nearest_mode on exact ties (asymmetric, x / 2)', () => {
    const x = f32([2], [10, 20]);
    const at = (m: string) => vals(resize(x, { coordinate_transformation_mode: attrString('asymmetric'), nearest_mode: attrString(m) }, undefined, [4]));
    expect(at('round_prefer_floor')).toEqual([10, 10, 20, 20]);
    expect(at('round_prefer_ceil')).toEqual([10, 20, 20, 20]);
    expect(at('floor')).toEqual([10, 10, 20, 20]);
    expect(at('ceil')).toEqual([10, 20, 20, 20]);
  });
  it('only the listed axes change', () => {
    const y = resize(f32([2, 2], [1, 2, 3, 4]), { axes: attrInts([-1]), coordinate_transformation_mode: attrString('asymmetric') }, [2]);
    expect(y.dims).toEqual([2, 4]);
    expect(vals(y)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
  });
  it('int64 values are copied exactly, strings too', () => {
    const big = 2n ** 60n + 1n;
    const y = resize(t('int64', [2], [big, -3n]), {}, [2]);
    expect(Array.from(y.data as BigInt64Array)).toEqual([big, big, -3n, -3n]);
    const s = resize(t('string', [2], ['a', 'b']), {}, [2]);
    expect(s.data).toEqual(['a', 'a', 'b', 'b']);
  });
  it('keep_aspect_ratio_policy scales every axis alike', () => {
    const x = f32([2, 4], new Array(8).fill(1));
    expect(resize(x, { keep_aspect_ratio_policy: attrString('not_larger') }, undefined, [4, 4]).dims).toEqual([2, 4]);
    expect(resize(x, { keep_aspect_ratio_policy: attrString('not_smaller') }, undefined, [4, 4]).dims).toEqual([4, 8]);
    expect(resize(x, {}, undefined, [4, 4]).dims).toEqual([4, 4]);
  });
});

describe('Resize linear and cubic', () => {
  it('linear half_pixel clamps at the edges', () => {
    expect(vals(resize(f32([2], [1, 2]), { mode: attrString('linear') }, [2]))).toEqual([1, 1.25, 1.75, 2]);
  });
  it('linear align_corners', () => {
    expect(vals(resize(f32([2], [1, 3]), { mode: attrString('linear'), coordinate_transformation_mode: attrString('align_corners') }, undefined, [3]))).toEqual([1, 2, 3]);
  });
  it('tf_crop_and_resize with extrapolation outside the roi', () => {
    const y = resize(f32([4], [1, 2, 3, 4]), {
      mode: attrString('linear'), coordinate_transformation_mode: attrString('tf_crop_and_resize'),
      extrapolation_value: attrFloat(10),
    }, undefined, [3], [0.5, 1.5]);
    close(vals(y), [2.5, 4, 10]);
  });
  it('antialiased linear downsampling widens the filter', () => {
    close(vals(resize(f32([4], [1, 2, 3, 4]), { mode: attrString('linear'), antialias: attrInt(1) }, [0.5])), [1.625, 3.375]);
    close(vals(resize(f32([4], [1, 2, 3, 4]), { mode: attrString('linear') }, [0.5])), [1.5, 3.5]);
  });
  it('cubic keeps constants (with and without exclude_outside) and interpolates symmetric data', () => {
    const c = f32([3], [7, 7, 7]);
    close(vals(resize(c, { mode: attrString('cubic') }, [2])), new Array(6).fill(7));
    close(vals(resize(c, { mode: attrString('cubic'), exclude_outside: attrInt(1) }, [2])), new Array(6).fill(7));
    // align_corners: output 3 of 7 samples x = 1.5 of [0, 1, 1, 0]; weights c(1.5), c(0.5), c(0.5), c(1.5)
    // with A = -0.75 are -0.09375, 0.59375, 0.59375, -0.09375
    const y = vals(resize(f32([4], [0, 1, 1, 0]), { mode: attrString('cubic'), coordinate_transformation_mode: attrString('align_corners') }, undefined, [7]));
    close([y[3]!], [1.1875]);
  });
  it('float16 results are float16, integers saturate', () => {
    expect(resize(t('float16', [2], [1, 2]), { mode: attrString('linear') }, [2]).dtype).toBe('float16');
    const y = resize(t('uint8', [4], [0, 255, 255, 0]), { mode: attrString('cubic') }, [2]);
    expect(vals(y).every((v) => v >= 0 && v <= 255)).toBe(true);
  });
});

describe('Resize inference and rules', () => {
  const x = { kind: 'tensor', dtype: 'float32', shape: ['N', 3, 4, 4] } as const;
  it('constant scales keep symbols on unscaled axes', () => {
    const [y] = inferOnly('Resize', [x, undefined, { kind: 'tensor', dtype: 'float32', shape: [4] }], {}, { 2: f32([4], [1, 1, 2, 2.5]) });
    expect(y).toEqual({ kind: 'tensor', dtype: 'float32', shape: ['N', 3, 8, 10] });
  });
  it('unknown sizes give fresh dims; sizes known by value are used', () => {
    const sizesT = { kind: 'tensor', dtype: 'int64', shape: [4] } as const;
    const [y] = inferOnly('Resize', [x, undefined, undefined, sizesT]);
    expect(y!.kind === 'tensor' && y!.shape?.length).toBe(4);
    const [z] = inferOnly('Resize', [x, undefined, undefined, sizesT], {}, { 3: i64([2, 3, 5, 6]) });
    expect(z).toEqual({ kind: 'tensor', dtype: 'float32', shape: [2, 3, 5, 6] });
  });
  it('rejects both scales and sizes, antialias with nearest, unknown modes', () => {
    const v = f32([2], [1, 2]);
    expect(() => runOp('Resize', [v, undefined, f32([1], [2]), i64([4])])).toThrow(ShapeError);
    expect(() => runOp('Resize', [v, undefined, f32([1], [2])], { antialias: attrInt(1) })).toThrow(ShapeError);
    expect(() => runOp('Resize', [v, undefined, f32([1], [2])], { mode: attrString('area') })).toThrow(ShapeError);
    expect(() => runOp('Resize', [v, undefined, f32([1], [2])], { nearest_mode: attrString('round') })).toThrow(ShapeError);
  });
});

describe('legacy Resize-10 and Upsample', () => {
  it('Resize-10 moves scales to input 2 and maps asymmetrically', () => {
    const { nodes } = legacy({ name: 'r', op: 'Resize', inputs: ['x', 's'], outputs: ['y'], attrs: { mode: attrString('nearest') } }, 10);
    expect(nodes[0]!.inputs).toEqual(['x', '', 's']);
    expect(nodes[0]!.attrs['coordinate_transformation_mode']).toEqual(attrString('asymmetric'));
  });
  it('Upsample-7 scales attribute becomes a constant input of a Resize', () => {
    const { nodes, constants } = legacy({ name: 'u', op: 'Upsample', inputs: ['x'], outputs: ['y'], attrs: { mode: attrString('bilinear'), scales: attrFloats([1, 1, 2, 2]) } }, 7);
    expect(nodes[0]!.op).toBe('Resize');
    expect(nodes[0]!.inputs[1]).toBe('');
    expect(vals(constants.get(nodes[0]!.inputs[2]!)!)).toEqual([1, 1, 2, 2]);
    expect(nodes[0]!.attrs['mode']).toEqual(attrString('linear'));
  });
  it('Upsample-9 keeps its scales input; Upsample itself runs as asymmetric nearest', () => {
    const { nodes } = legacy({ name: 'u', op: 'Upsample', inputs: ['x', 's'], outputs: ['y'], attrs: {} }, 9);
    expect(nodes[0]!.inputs).toEqual(['x', '', 's']);
    expect(vals(run1('Upsample', [f32([1, 3], [1, 2, 3]), f32([2], [1, 2])]))).toEqual([1, 1, 2, 2, 3, 3]);
  });
});

describe('GridSample', () => {
  const x = f32([1, 1, 2, 2], [1, 2, 3, 4]);
  const grid = (pts: number[]) => f32([1, 1, pts.length / 2, 2], pts);
  it('align_corners maps -1 and 1 to the corner pixels', () => {
    const y = run1('GridSample', [x, grid([-1, -1, 1, -1, -1, 1, 1, 1])], { align_corners: attrInt(1) });
    expect(y.dims).toEqual([1, 1, 1, 4]);
    expect(vals(y)).toEqual([1, 2, 3, 4]);
  });
  it('padding modes outside the image', () => {
    const g = grid([2, 0]);
    expect(vals(run1('GridSample', [x, g]))).toEqual([0]);
    expect(vals(run1('GridSample', [x, g], { padding_mode: attrString('border') }))).toEqual([3]);
    close(vals(run1('GridSample', [x, grid([1.5, -1])], { padding_mode: attrString('reflection'), align_corners: attrInt(1) })), [1.75]);
  });
  it('nearest rounds half to even; opset 16 names are accepted', () => {
    expect(vals(run1('GridSample', [x, grid([0, 0])], { mode: attrString('nearest') }))).toEqual([1]);
    expect(vals(run1('GridSample', [x, grid([0, 0])], { mode: attrString('bilinear') }))).toEqual([2.5]);
    // bicubic at the centre: taps -1 and 2 read zero, c(0.5) = 0.59375 on each inner tap: 0.59375^2 * (1+2+3+4)
    close(vals(run1('GridSample', [x, grid([0, 0])], { mode: attrString('bicubic'), align_corners: attrInt(1) })), [3.525390625]);
  });
});

describe('AffineGrid', () => {
  it('identity theta gives pixel centres (or corners with align_corners)', () => {
    const theta = f32([1, 2, 3], [1, 0, 0, 0, 1, 0]);
    const y = run1('AffineGrid', [theta, i64([1, 1, 2, 2])]);
    expect(y.dims).toEqual([1, 2, 2, 2]);
    expect(vals(y)).toEqual([-0.5, -0.5, 0.5, -0.5, -0.5, 0.5, 0.5, 0.5]);
    expect(vals(run1('AffineGrid', [theta, i64([1, 1, 2, 2])], { align_corners: attrInt(1) }))).toEqual([-1, -1, 1, -1, -1, 1, 1, 1]);
  });
  it('3-D shape and translation', () => {
    const theta = f32([1, 3, 4], [1, 0, 0, 5, 0, 1, 0, 0, 0, 0, 1, 0]);
    const y = run1('AffineGrid', [theta, i64([1, 1, 1, 1, 2])], { align_corners: attrInt(1) });
    expect(y.dims).toEqual([1, 1, 1, 2, 3]);
    expect(vals(y)[0]).toBe(4);
  });
});
