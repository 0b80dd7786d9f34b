// ArgMax/ArgMin on WebGPU with their int64 outputs (word pairs read back as BigInt64Array) against the reference
// interpreter: every axis, keepdims, select_last_index with ties, NaN (ranked above numbers), int32 input, and an
// index fed on to Gather (which reads run-time int64 indices) on the GPU.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor } from '../wasm/helpers.js';
import { gpu, REQUIRE_WEBGPU, runWebGpu, skipReason } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;

describe.skipIf(!run)(`webgpu ArgMax/ArgMin (int64 outputs)${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('match the reference exactly (axes, keepdims, ties with select_last_index, NaN, int32, into Gather)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [3, 4, 5]);
    const t = b.input('t', 'float32', [2, 6]);
    const q = b.input('q', 'int32', [4, 3]);
    const outs: string[] = [];
    for (const axis of [0, 1, 2, -1]) for (const keepdims of [0, 1]) outs.push(b.op('ArgMax', [x], { axis, keepdims }));
    outs.push(b.op('ArgMin', [x], { axis: 1 }));
    for (const select_last_index of [0, 1]) {
      outs.push(b.op('ArgMax', [t], { axis: 1, select_last_index }), b.op('ArgMin', [t], { axis: 1, select_last_index }));
    }
    outs.push(b.op('ArgMax', [q], { axis: 0, keepdims: 0 }));
    const idx = b.op('ArgMax', [x], { axis: 2, keepdims: 0 });
    outs.push(b.op('Gather', [b.weight('table', randTensor([5, 3], 9)), idx], { axis: 0 }));
    b.output(...outs);
    const g = b.build();
    // ties (2 and 2, -1 and -1) and a NaN in row 1
    const tie = fromValues('float32', [2, 6], [1, 2, -1, 2, -1, 0, 3, Number.NaN, 5, Number.NaN, -4, -4]);
    const ints = fromValues('int32', [4, 3], [3, -7, 2, 9, -7, 2, 9, 0, 1, -2, 5, 2]);
    const inputs: Tensor[] = [randTensor([3, 4, 5], 1), tie, ints];
    const got = await runWebGpu(g, inputs);
    const want = runGraph(g, inputs) as Tensor[];
    expect(got.map((o) => o.dtype)).toEqual(want.map((o) => o.dtype));
    got.forEach((o, k) => {
      expect(o.dims, `output ${k}`).toEqual(want[k]!.dims);
      expect(Array.from(o.data as ArrayLike<bigint | number>), `output ${k}`).toEqual(Array.from(want[k]!.data as ArrayLike<bigint | number>));
    });
  }, 300_000);
});
