// Reductions and LayerNormalization on WebGPU against the reference interpreter, through Dawn: every kind over
// leading, middle, trailing, several and all axes, keepdims on and off, noop_with_empty_axes, empty reductions,
// and LayerNormalization on rows of 1, 5 and 1023 with and without bias.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor } from '../wasm/helpers.js';
import { gpu, REQUIRE_WEBGPU, skipReason, worstError, worstErrorAllForms } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;
const i64 = (xs: number[]) => ({ dtype: 'int64' as const, dims: [xs.length], data: BigInt64Array.from(xs.map(BigInt)) });
const KINDS = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp'];

describe.skipIf(!run)(`webgpu reductions and LayerNormalization${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('every kind over various axes, keepdims on and off', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [3, 4, 5]);
    const axesSets = [[0], [1], [-1], [0, 2], []];
    const outs: string[] = [];
    KINDS.forEach((op, k) => {
      const axes = axesSets[k % axesSets.length]!;
      outs.push(b.op(op, axes.length ? [x, b.weight(`a${k}`, i64(axes))] : [x], { keepdims: k % 2 }));
    });
    outs.push(b.op('ReduceLogSum', [b.op('Abs', [x]), b.weight('al', i64([1]))]));
    outs.push(b.op('ReduceSum', [x], { noop_with_empty_axes: 1 }));
    b.output(...outs);
    expect(await worstError(b.build(), [randTensor([3, 4, 5], 1)])).toBeLessThan(1e-5);
  }, 300_000);

  it('empty reductions and 1023-long rows', async () => {
    const b = new GraphBuilder();
    const e = b.input('e', 'float32', [2, 0, 3]), w = b.input('w', 'float32', [2, 1023]);
    b.output(...['ReduceSum', 'ReduceProd', 'ReduceMax', 'ReduceLogSumExp'].map((op) => b.op(op, [e, b.weight(`a_${op}`, i64([1]))], { keepdims: 0 })),
      b.op('ReduceMean', [w, b.weight('a1', i64([1]))]), b.op('ReduceLogSumExp', [w, b.weight('a2', i64([-1]))]));
    expect(await worstError(b.build(), [randTensor([2, 0, 3], 1), randTensor([2, 1023], 2)])).toBeLessThan(1e-5);
  }, 300_000);

  it('LayerNormalization with and without bias, rows of 1, 5 and 1023, Mean and InvStdDev outputs', async () => {
    const b = new GraphBuilder();
    const outs: string[] = [];
    const shapes = [[4, 1], [2, 3, 5], [2, 1023]];
    shapes.forEach((s, k) => {
      const x = b.input(`x${k}`, 'float32', s);
      const n = s[s.length - 1]!;
      outs.push(b.op('LayerNormalization', [x, b.weight(`g${k}`, randTensor([n], 3 + k)), b.weight(`b${k}`, randTensor([n], 7 + k))], { axis: -1, epsilon: 1e-5 }));
      outs.push(b.op('LayerNormalization', [x, b.weight(`g2${k}`, randTensor([n], 5 + k))], { axis: -1 }));
    });
    outs.push(b.op('LayerNormalization', [b.input('y', 'float32', [2, 3, 4]), b.weight('gy', randTensor([3, 4], 11))], { axis: 1 }));
    outs.push(...b.node('LayerNormalization', [b.input('z', 'float32', [3, 2, 5]), b.weight('gz', randTensor([5], 12))], { axis: -1 }, 3));
    // rows of 64+ take a workgroup each (the Mean and InvStdDev outputs written by its first invocation)
    outs.push(...b.node('LayerNormalization', [b.input('w', 'float32', [3, 4, 80]), b.weight('gw', randTensor([80], 13)), b.weight('bw', randTensor([80], 14))], { axis: 1 }, 3));
    b.output(...outs);
    expect(await worstErrorAllForms(b.build(), [...shapes.map((s, k) => randTensor(s, k + 1)), randTensor([2, 3, 4], 9), randTensor([3, 2, 5], 10), randTensor([3, 4, 80], 15)])).toBeLessThan(1e-5);
  }, 300_000);

  it('BatchNormalization (inference) on [2, 3, 4, 5], [3, 7] and [1, 1]', async () => {
    const b = new GraphBuilder();
    const shapes = [[2, 3, 4, 5], [3, 7], [1, 1]];
    b.output(...shapes.map((s, k) => {
      const C = s[1]!, w = (n: string, seed: number) => b.weight(`${n}${k}`, randTensor([C], seed));
      const v = b.weight(`v${k}`, { dtype: 'float32', dims: [C], data: Float32Array.from({ length: C }, (_, i) => 0.5 + i) });
      return b.op('BatchNormalization', [b.input(`x${k}`, 'float32', s), w('g', 2), w('b', 3), w('m', 4), v], { epsilon: 1e-3 });
    }));
    expect(await worstError(b.build(), shapes.map((s, k) => randTensor(s, k + 1)))).toBeLessThan(1e-5);
  }, 300_000);
});
