// Resize on the separable SIMD path (kernels/resize-simd.ts) and DepthToSpace/SpaceToDepth (depth-space.ts)
// against the reference interpreter. Resize: nearest (every nearest_mode), linear and cubic (antialias too), up
// and down, scales and sizes, rows only, columns only, widths around the 4-lane vectors, ranks 1 to 5, channels
// last (NHWC) with pixels of 3 to 16 floats, and the
// forms that stay scalar (an axis before the last two, tf_crop_and_resize extrapolation, float64). Binaryen's
// optimiser on and off.

import { describe, expect, it } from 'vitest';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder, type AttrInput } from '../../models/builder.js';
import { randTensor, worstError } from './helpers.js';

const f32 = (v: number[]): Tensor => fromValues('float32', [v.length], v);
const i64 = (v: number[]): Tensor => fromValues('int64', [v.length], v.map(BigInt));

interface Case { x: number[]; scales?: number[]; sizes?: number[]; roi?: number[]; attrs: Record<string, AttrInput> }

const cases: Case[] = [
  { x: [1, 3, 5, 7], scales: [1, 1, 2, 2], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric' } },
  { x: [2, 2, 4, 9], scales: [1, 1, 2, 2], attrs: { mode: 'nearest', nearest_mode: 'round_prefer_ceil' } },
  { x: [1, 2, 6, 5], scales: [1, 1, 0.5, 0.7], attrs: { mode: 'nearest', nearest_mode: 'ceil', coordinate_transformation_mode: 'align_corners' } },
  { x: [1, 4, 5, 6], scales: [1, 1, 2, 2], attrs: { mode: 'linear', coordinate_transformation_mode: 'half_pixel' } },
  { x: [1, 2, 3, 13], sizes: [1, 2, 7, 5], attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' } },
  { x: [1, 1, 9, 8], scales: [1, 1, 0.6, 0.5], attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' } },
  { x: [1, 2, 4, 5], scales: [1, 1, 1.5, 2.5], attrs: { mode: 'cubic', cubic_coeff_a: -0.5 } },
  { x: [1, 1, 11, 9], scales: [1, 1, 0.4, 0.6], attrs: { mode: 'cubic', antialias: 1 } },
  { x: [1, 1, 8, 10], scales: [1, 1, 0.5, 0.5], attrs: { mode: 'linear', antialias: 1, exclude_outside: 1 } },
  // one axis only: columns (rank 3), rows (width 1, 2, 3 tails), rank 1 and 2, and a rank-5 volume's last two
  { x: [2, 3, 6], scales: [1, 1, 1.7], attrs: { mode: 'linear' } },
  { x: [1, 2, 3, 1], scales: [1, 1, 3, 1], attrs: { mode: 'linear' } },
  { x: [1, 2, 3, 6], scales: [1, 1, 2, 1], attrs: { mode: 'linear' } },
  { x: [1, 1, 2, 7], scales: [1, 1, 3, 1], attrs: { mode: 'cubic' } },
  { x: [5], scales: [2.2], attrs: { mode: 'linear' } },
  { x: [3, 4], sizes: [5, 9], attrs: { mode: 'nearest' } },
  { x: [1, 2, 2, 3, 4], scales: [1, 1, 1, 2, 2], attrs: { mode: 'linear', keep_aspect_ratio_policy: 'stretch' } },
  { x: [1, 2, 5, 7], sizes: [9, 9], attrs: { mode: 'linear', axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' } },
  // channels last (NHWC, as the layout pass leaves Resize): pixels of C floats, C a multiple of 4, with a tail, under
  // 4; nearest (x2 as PyTorch exports F.interpolate, x8), linear (pytorch_half_pixel, align_corners), cubic,
  // antialiased down, one spatial axis only, a batch of 2
  { x: [1, 5, 7, 8], scales: [1, 2, 2, 1], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } },
  { x: [1, 3, 2, 16], scales: [1, 8, 8, 1], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } },
  { x: [1, 5, 6, 6], scales: [1, 2, 2, 1], attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' } },
  { x: [2, 4, 3, 3], scales: [1, 4, 4, 1], attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' } },
  { x: [1, 3, 4, 5], sizes: [1, 7, 5, 5], attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' } },
  { x: [1, 4, 5, 4], scales: [1, 1.5, 2.5, 1], attrs: { mode: 'cubic', cubic_coeff_a: -0.75 } },
  { x: [1, 9, 8, 4], scales: [1, 0.5, 0.5, 1], attrs: { mode: 'linear', antialias: 1 } },
  { x: [1, 4, 6, 5], scales: [1, 2, 1, 1], attrs: { mode: 'linear' } },
  { x: [1, 4, 6, 5], scales: [1, 1, 2, 1], attrs: { mode: 'nearest' } },
  { x: [2, 3, 5, 7], sizes: [2, 6, 9, 7], attrs: { mode: 'nearest', nearest_mode: 'round_prefer_floor' } },
  // scalar path: channels resized, crop with extrapolation
  { x: [1, 3, 4, 4], scales: [1, 2, 1, 1], attrs: { mode: 'nearest' } },
  { x: [1, 1, 4, 5], sizes: [1, 1, 6, 6], roi: [0, 0, 0.2, -0.3, 1, 1, 1.2, 0.9], attrs: { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 0.5 } },
];

describe('Resize (SIMD path) matches the reference', () => {
  for (const c of cases) {
    it(`Resize x[${c.x}] ${c.scales ? `scales ${c.scales}` : `sizes ${c.sizes}`} ${JSON.stringify(c.attrs)}`, () => {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', c.x);
      const ins = [x, c.roi ? b.weight('roi', f32(c.roi)) : '', c.scales ? b.weight('s', f32(c.scales)) : '', c.sizes ? b.weight('z', i64(c.sizes)) : ''];
      while (ins[ins.length - 1] === '') ins.pop();
      b.output(b.op('Resize', ins, c.attrs));
      for (const optimize of [false, true]) expect(worstError(b.build(), [randTensor(c.x, 3)], optimize), `optimize=${optimize}`).toBeLessThanOrEqual(1e-5);
    });
  }
  it('float64 stays on the scalar path', () => {
    const b = new GraphBuilder();
    b.output(b.op('Resize', [b.input('x', 'float64', [1, 1, 3, 3]), '', b.weight('s', f32([1, 1, 2, 2]))], { mode: 'linear' }));
    const x = { dtype: 'float64', dims: [1, 1, 3, 3], data: Float64Array.from(randTensor([1, 1, 3, 3], 4).data) } as Tensor;
    expect(worstError(b.build(), [x])).toBeLessThanOrEqual(1e-12);
  });
});

describe('DepthToSpace / SpaceToDepth (strided copies) match the reference', () => {
  const cases: [string, number[], Record<string, AttrInput>][] = [
    ['DepthToSpace', [2, 12, 3, 5], { blocksize: 2, mode: 'DCR' }],
    ['DepthToSpace', [1, 18, 4, 3], { blocksize: 3, mode: 'CRD' }],
    ['DepthToSpace', [1, 9, 1, 1], { blocksize: 3 }],
    ['DepthToSpace', [1, 5, 2, 3], { blocksize: 1 }],
    ['SpaceToDepth', [2, 3, 4, 6], { blocksize: 2 }],
    ['SpaceToDepth', [1, 1, 9, 3], { blocksize: 3 }],
  ];
  for (const [op, dims, attrs] of cases) {
    it(`${op} [${dims}] ${JSON.stringify(attrs)}`, () => {
      const b = new GraphBuilder();
      b.output(b.op(op, [b.input('x', 'float32', dims)], attrs));
      for (const optimize of [false, true]) expect(worstError(b.build(), [randTensor(dims, 5)], optimize)).toBe(0);
    });
  }
  it('DepthToSpace moves int64 too', () => {
    const b = new GraphBuilder();
    b.output(b.op('DepthToSpace', [b.input('x', 'int64', [1, 4, 2, 2])], { blocksize: 2, mode: 'CRD' }));
    expect(worstError(b.build(), [fromValues('int64', [1, 4, 2, 2], Array.from({ length: 16 }, (_, i) => BigInt(i * 3 - 7)))])).toBe(0);
  });
});
