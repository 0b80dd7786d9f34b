// Spatial and signal kernels on WebGPU against the reference interpreter, through Dawn inside error scopes: Resize
// (modes, coordinate transforms, antialias, extrapolation), GridSample (modes, paddings, 3-D), 3-D pools and LpPool,
// ConvTranspose (groups, strides, dilations, output_shape, 1-D and 3-D), DeformConv, DFT, Det and OneHot.

import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor } from '../wasm/helpers.js';
import { OnnxcRuntimeError } from '../../runtime/wasm/errors.js';
import { gpu, REQUIRE_WEBGPU, runWebGpu, skipReason, worstError } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;
const f32 = (dims: number[], xs: number[]): Tensor => ({ dtype: 'float32', dims, data: Float32Array.from(xs) });
const i64 = (dims: number[], xs: number[]): Tensor => ({ dtype: 'int64', dims, data: BigInt64Array.from(xs.map(BigInt)) });

describe.skipIf(!run)(`webgpu spatial and signal kernels${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('Resize: nearest modes, linear and cubic (antialias, exclude_outside), tf_crop_and_resize extrapolation, sizes with axes, scale 1', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 2, 5, 7]);
    const none = '';
    const sc = (n: string, v: number[]) => b.weight(n, f32([v.length], v));
    b.output(
      b.op('Resize', [x, none, sc('s1', [1, 1, 2.5, 0.6])], { mode: 'nearest', nearest_mode: 'round_prefer_ceil', coordinate_transformation_mode: 'asymmetric' }),
      b.op('Resize', [x, none, sc('s2', [1, 1, 0.6, 1.7])], { mode: 'linear', antialias: 1 }),
      b.op('Resize', [x, none, sc('s3', [1, 1, 1.3, 0.5])], { mode: 'cubic', exclude_outside: 1, cubic_coeff_a: -0.5, coordinate_transformation_mode: 'align_corners' }),
      b.op('Resize', [x, sc('roi', [0, 0, 0.2, 0.3, 1, 1, 1.2, 0.8]), sc('s4', [1, 1, 1.4, 1.1])], { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 7 }),
      b.op('Resize', [x, none, none, b.weight('sz', i64([2], [3, 9]))], { mode: 'cubic', axes: [3, 2], keep_aspect_ratio_policy: 'not_larger' }),
      b.op('Resize', [x, none, sc('s6', [1, 1, 1, 1])], { mode: 'linear' }),
    );
    expect(await worstError(b.build(), [randTensor([1, 2, 5, 7], 1)])).toBeLessThan(1e-5);
  }, 300_000);

  it('GridSample: nearest, linear and cubic with zeros, border and reflection padding (both align_corners), and a 3-D grid', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3, 4, 5]), grid = b.input('grid', 'float32', [2, 3, 6, 2]);
    const v = b.input('v', 'float32', [1, 2, 3, 4, 5]), g3 = b.input('g3', 'float32', [1, 2, 3, 2, 3]);
    const outs: string[] = [];
    for (const mode of ['nearest', 'linear', 'cubic']) for (const padding_mode of ['zeros', 'border', 'reflection']) {
      outs.push(b.op('GridSample', [x, grid], { mode, padding_mode, align_corners: mode === 'cubic' ? 1 : 0 }));
    }
    outs.push(b.op('GridSample', [x, grid], { mode: 'linear', padding_mode: 'reflection', align_corners: 1 }));
    outs.push(b.op('GridSample', [v, g3], { mode: 'linear' }), b.op('GridSample', [v, g3], { mode: 'nearest', padding_mode: 'border' }));
    b.output(...outs);
    // grid coordinates past [-1, 1] exercise the paddings
    const wide = (d: number[], s: number): Tensor => { const t = randTensor(d, s); return { ...t, data: t.data.map((q) => q * 0.8) }; };
    expect(await worstError(b.build(), [randTensor([2, 3, 4, 5], 1), wide([2, 3, 6, 2], 2), randTensor([1, 2, 3, 4, 5], 3), wide([1, 2, 3, 2, 3], 4)])).toBeLessThan(1e-5);
  }, 300_000);

  it('3-D MaxPool/AveragePool (pads, ceil_mode, dilations, count_include_pad) and LpPool p = 1, 2, 3 in 1-D, 2-D, 3-D', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 2, 5, 6, 7]), y = b.input('y', 'float32', [2, 3, 9]), z = b.input('z', 'float32', [1, 2, 6, 5]);
    const k3 = { kernel_shape: [2, 3, 2], strides: [2, 1, 2], pads: [1, 0, 1, 0, 1, 1] };
    b.output(b.op('MaxPool', [x], { ...k3, dilations: [1, 2, 1], ceil_mode: 1 }), b.op('AveragePool', [x], { ...k3, count_include_pad: 1, ceil_mode: 1 }), b.op('AveragePool', [x], k3),
      b.op('LpPool', [y], { kernel_shape: [3], strides: [2], p: 1 }), b.op('LpPool', [z], { kernel_shape: [2, 3], pads: [1, 1, 0, 1], p: 2 }),
      b.op('LpPool', [x], { kernel_shape: [2, 2, 2], p: 3, auto_pad: 'SAME_UPPER' }));
    expect(await worstError(b.build(), [randTensor([1, 2, 5, 6, 7], 1), randTensor([2, 3, 9], 2), randTensor([1, 2, 6, 5], 3)])).toBeLessThan(1e-5);
  }, 300_000);

  it('ConvTranspose: groups, strides, dilations, pads, output_padding, output_shape, bias; 1-D and 3-D', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 4, 3, 5]), x1 = b.input('x1', 'float32', [1, 2, 7]), x3 = b.input('x3', 'float32', [1, 1, 2, 3, 2]);
    const w = b.weight('w', randTensor([4, 3, 3, 2], 5)), bias = b.weight('bias', randTensor([6], 6));
    b.output(
      b.op('ConvTranspose', [x, w, bias], { group: 2, strides: [2, 3], dilations: [2, 1], pads: [1, 0, 0, 1], output_padding: [1, 2] }),
      b.op('ConvTranspose', [x, w], { group: 2, strides: [2, 2], output_shape: [8, 11], auto_pad: 'SAME_LOWER' }),
      b.op('ConvTranspose', [x1, b.weight('w1', randTensor([2, 1, 3], 7))], { strides: [3] }),
      b.op('ConvTranspose', [x3, b.weight('w3', randTensor([1, 2, 2, 2, 2], 8))], { strides: [1, 2, 1] }),
    );
    expect(await worstError(b.build(), [randTensor([2, 4, 3, 5], 1), randTensor([1, 2, 7], 2), randTensor([1, 1, 2, 3, 2], 3)])).toBeLessThan(1e-5);
  }, 300_000);

  it('CumSum/CumProd (exclusive, reverse, each axis, int32), Trilu (upper, lower, k past the matrix), GatherElements (int32, run-time int64, negative indices)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [3, 4, 5]), p = b.input('p', 'int32', [2, 3]), ix = b.input('ix', 'int64', [3, 2, 5]), iy = b.input('iy', 'int32', [3, 4, 2]);
    const ax = (n: string, v: number) => b.weight(n, i64([], [v]));
    b.output(b.op('CumSum', [x, ax('a0', 0)]), b.op('CumSum', [x, ax('a1', 1)], { exclusive: 1 }), b.op('CumSum', [x, ax('a2', -1)], { reverse: 1, exclusive: 1 }),
      b.op('CumProd', [x, ax('a3', 2)], { reverse: 1 }), b.op('CumSum', [p, ax('a4', 1)]),
      b.op('Trilu', [x]), b.op('Trilu', [x, ax('k1', -1)], { upper: 0 }), b.op('Trilu', [x, ax('k2', 9)]), b.op('Trilu', [p, ax('k3', 1)], { upper: 0 }),
      b.op('GatherElements', [x, ix], { axis: 1 }), b.op('GatherElements', [x, iy], { axis: -1 }));
    const ixv = Array.from({ length: 30 }, (_, i) => ((i * 7) % 8) - 4);
    const iyv = Array.from({ length: 24 }, (_, i) => ((i * 5) % 10) - 5);
    const inputs: Tensor[] = [randTensor([3, 4, 5], 1), { dtype: 'int32', dims: [2, 3], data: Int32Array.from([1, -2, 3, 4, 5, -6]) }, i64([3, 2, 5], ixv), { dtype: 'int32', dims: [3, 4, 2], data: Int32Array.from(iyv) }];
    expect(await worstError(b.build(), inputs)).toBeLessThan(1e-6);
  }, 300_000);

  it('GatherElements: an index out of range, or an int64 index past int32, is an OnnxcRuntimeError, never a read outside', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 4]), ix = b.input('ix', 'int64', [2, 2]);
    b.output(b.op('GatherElements', [x, ix], { axis: 1 }));
    const g = b.build();
    for (const bad of [4, -5, 2 ** 40]) {
      const err = await runWebGpu(g, [randTensor([2, 4], 1), i64([2, 2], [0, 1, bad, 2])]).then(() => undefined, (e: unknown) => e);
      expect(err, String(bad)).toBeInstanceOf(OnnxcRuntimeError);
    }
  }, 300_000);

  it('ScatterElements and ScatterND (reduction none; run-time int64 indices, negative ones, slices)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [4, 5]), ie = b.input('ie', 'int64', [2, 3]), ue = b.input('ue', 'float32', [2, 3]);
    const x3 = b.input('x3', 'float32', [4, 3, 2]), ind = b.input('ind', 'int64', [2, 1]), un = b.input('un', 'float32', [2, 3, 2]), i2 = b.input('i2', 'int64', [3, 2]), u2 = b.input('u2', 'float32', [3, 2]);
    b.output(b.op('ScatterElements', [x, ie, ue], { axis: 1 }), b.op('ScatterElements', [x, ie, ue], { axis: 0 }), b.op('ScatterND', [x3, ind, un]), b.op('ScatterND', [x3, i2, u2]));
    const inputs: Tensor[] = [randTensor([4, 5], 1), i64([2, 3], [0, -1, 2, 3, 1, -4]), randTensor([2, 3], 2), randTensor([4, 3, 2], 3),
      i64([2, 1], [-1, 1]), randTensor([2, 3, 2], 4), i64([3, 2], [0, 0, 3, -1, 1, 2]), randTensor([3, 2], 5)];
    expect(await worstError(b.build(), inputs)).toBe(0);
  }, 300_000);

  it('empty batches: ConvTranspose, GridSample, LpPool, Resize, Hardmax, LRN, InstanceNormalization emit nothing and give empty outputs', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [0, 2, 3, 4]), grid = b.input('grid', 'float32', [0, 2, 2, 2]);
    b.output(b.op('ConvTranspose', [x, b.weight('w', randTensor([2, 1, 2, 2], 1))]), b.op('GridSample', [x, grid]), b.op('LpPool', [x], { kernel_shape: [2, 2] }),
      b.op('Resize', [x, '', b.weight('s', f32([4], [1, 1, 2, 2]))]), b.op('Hardmax', [x]), b.op('LRN', [x], { size: 3 }),
      b.op('InstanceNormalization', [x, b.weight('g', randTensor([2], 2)), b.weight('bb', randTensor([2], 3))]));
    expect(await worstError(b.build(), [randTensor([0, 2, 3, 4], 1), randTensor([0, 2, 2, 2], 2)])).toBe(0);
  }, 300_000);

  it('DeformConv (offset groups, mask, bias, stride and pads), DFT (forward, onesided, inverse, irfft, axis, length), Det (singular too), OneHot', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 4, 5, 5]), off = b.input('off', 'float32', [1, 2 * 9 * 2, 3, 3]), mask = b.input('mask', 'float32', [1, 2 * 9, 3, 3]);
    const w = b.weight('w', randTensor([2, 2, 3, 3], 4)), bias = b.weight('b', randTensor([2], 5));
    const sig = b.input('sig', 'float32', [2, 6, 1]), cs = b.input('cs', 'float32', [2, 5, 2]), m = b.input('m', 'float32', [3, 3, 3]), ind = b.input('ind', 'float32', [2, 3]);
    const one = (n: string, v: number) => b.weight(n, i64([], [v]));
    b.output(
      b.op('DeformConv', [x, w, off, bias, mask], { group: 2, offset_group: 2, strides: [2, 2], pads: [1, 1, 1, 1] }),
      b.op('DFT', [sig]), b.op('DFT', [sig], { onesided: 1 }), b.op('DFT', [cs, one('len', 8), one('ax', 1)], { inverse: 1 }),
      b.op('DFT', [cs, '', one('ax0', 1)], { inverse: 1, onesided: 1 }),
      b.op('Det', [m]), b.op('Det', [b.weight('sing', f32([2, 2], [1, 2, 2, 4]))]),
      b.op('OneHot', [ind, b.weight('depth', f32([], [4])), b.weight('vals', f32([2], [-1, 3]))], { axis: 1 }),
    );
    const indices = f32([2, 3], [0, 3, -1, 5, -5, 2.7]);
    expect(await worstError(b.build(), [randTensor([1, 4, 5, 5], 1), randTensor([1, 36, 3, 3], 2), randTensor([1, 18, 3, 3], 3), randTensor([2, 6, 1], 6), randTensor([2, 5, 2], 7), randTensor([3, 3, 3], 8), indices])).toBeLessThan(1e-5);
  }, 300_000);
});
