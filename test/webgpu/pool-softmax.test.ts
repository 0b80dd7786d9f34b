// Pooling and Softmax on WebGPU against the reference interpreter, through Dawn: MaxPool/AveragePool with pads,
// strides, dilations, ceil_mode and count_include_pad, 1-D windows, global pools, Softmax/LogSoftmax on every
// axis, awkward sizes (0, 1, 3, 5, 1023).

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor } from '../wasm/helpers.js';
import { gpu, REQUIRE_WEBGPU, skipReason, worstError, worstErrorAllForms } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;

/** `both`: on a device without subgroups too (the grouped forms' portable shaders; on lavapipe the subgroup ones
 *  take their one-invocation-per-row path). */
async function check(shape: number[], build: (b: GraphBuilder, x: string) => string[], both = false) {
  const b = new GraphBuilder();
  b.output(...build(b, b.input('x', 'float32', shape)));
  return (both ? worstErrorAllForms : worstError)(b.build(), [randTensor(shape, 5)]);
}

describe.skipIf(!run)(`webgpu pooling and Softmax${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('MaxPool and AveragePool: pads, strides, dilations, ceil_mode, count_include_pad', async () => {
    expect(await check([1, 3, 7, 6], (b, x) => [
      b.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
      b.op('MaxPool', [x], { kernel_shape: [2, 3], strides: [2, 2], ceil_mode: 1 }),
      b.op('MaxPool', [x], { kernel_shape: [2, 2], dilations: [2, 2] }),
      b.op('AveragePool', [x], { kernel_shape: [3, 3], pads: [1, 0, 2, 1] }),
      b.op('AveragePool', [x], { kernel_shape: [3, 3], pads: [1, 0, 2, 1], count_include_pad: 1 }),
      b.op('AveragePool', [x], { kernel_shape: [3, 2], strides: [2, 2], ceil_mode: 1, count_include_pad: 1, pads: [1, 1, 1, 1] }),
    ])).toBeLessThan(1e-6);
  }, 300_000);

  it('1-D pools, 1023 wide, and a 1x1 input', async () => {
    expect(await check([2, 1, 1023], (b, x) => [b.op('MaxPool', [x], { kernel_shape: [5], strides: [3] }), b.op('AveragePool', [x], { kernel_shape: [4], auto_pad: 'SAME_UPPER' })])).toBeLessThan(1e-6);
    expect(await check([1, 1, 1, 1], (b, x) => [b.op('MaxPool', [x], { kernel_shape: [1, 1] })])).toBeLessThan(1e-6);
  }, 300_000);

  it('global pools on 0, 1, 5, 20 and 1023 positions', async () => {
    // 20 and 1023 positions: a group of 4 and of 64 lanes per plane (row-group.ts)
    for (const hw of [[0, 1], [1, 1], [1, 5], [4, 5], [3, 341]]) {
      expect(await check([2, 3, ...hw], (b, x) => [b.op('GlobalAveragePool', [x]), b.op('GlobalMaxPool', [x])], true), `[${hw}]`).toBeLessThan(1e-6);
    }
  }, 300_000);

  it('Softmax and LogSoftmax on every axis of [3, 5, 4], and a 1023-long row', async () => {
    expect(await check([3, 5, 4], (b, x) => [0, 1, 2, -1].flatMap((axis) => [b.op('Softmax', [x], { axis }), b.op('LogSoftmax', [x], { axis })]))).toBeLessThan(1e-6);
    expect(await check([2, 1023], (b, x) => [b.op('Softmax', [x]), b.op('Softmax', [b.op('Mul', [x, b.weight('k', { dtype: 'float32', dims: [], data: new Float32Array([80]) })])])])).toBeLessThan(1e-6);
  }, 300_000);

  it('Softmax and LogSoftmax with a group of lanes per row: strided rows, rows past the last workgroup\'s', async () => {
    expect(await check([3, 40, 5], (b, x) => [b.op('Softmax', [x], { axis: 1 }), b.op('LogSoftmax', [x], { axis: 1 })], true)).toBeLessThan(1e-6);
    expect(await check([70, 64], (b, x) => [b.op('Softmax', [x]), b.op('LogSoftmax', [x])], true)).toBeLessThan(1e-6);
  }, 300_000);

  it('Softmax on an empty tensor and a length-1 axis', async () => {
    expect(await check([0, 3], (b, x) => [b.op('Softmax', [x])])).toBe(0);
    expect(await check([4, 1], (b, x) => [b.op('Softmax', [x])])).toBe(0);
  }, 300_000);
});
