// Forms the wasm backend has no kernel for, decomposed before lowering (ops/decompose/): 3-D Conv (refused by the
// Conv kernel as a form, rewritten as 2-D Convs over depth), LpPool, LRN and InstanceNormalization; each compiled through
// the backend (wasm and wasm-O3) and compared with the reference backend.

import { describe, expect, it } from 'vitest';
import { loadBackend } from '../../compiler/backends.js';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor } from './helpers.js';

interface FormCase { name: string; dims: number[]; make: (b: GraphBuilder, x: string) => string }

const CASES: FormCase[] = [
  // groups, padding on every axis, depth stride and dilation, bias: each changes the depth slicing
  { name: 'Conv 3-D grouped, padded, strided, dilated, bias', dims: [2, 4, 7, 6, 5], make: (b, x) => b.op('Conv', [x, b.weight('w', randTensor([6, 2, 3, 2, 3], 3)), b.weight('bias', randTensor([6], 4))], { group: 2, pads: [1, 0, 1, 2, 1, 0], strides: [2, 1, 2], dilations: [2, 1, 1] }) },
  { name: 'Conv 3-D one depth tap, no bias', dims: [1, 3, 4, 5, 5], make: (b, x) => b.op('Conv', [x, b.weight('w', randTensor([2, 3, 1, 3, 3], 5))], { pads: [0, 1, 1, 0, 1, 1] }) },
  { name: 'LpPool p=3 2-D dilated', dims: [1, 2, 7, 6], make: (b, x) => b.op('LpPool', [x], { kernel_shape: [3, 2], p: 3, dilations: [2, 1], pads: [1, 0, 1, 1] }) },
  { name: 'LRN size 5', dims: [1, 7, 3, 4], make: (b, x) => b.op('LRN', [x], { size: 5, alpha: 0.01, beta: 0.75, bias: 2 }) },
  { name: 'InstanceNormalization 4-D', dims: [2, 3, 4, 5], make: (b, x) => b.op('InstanceNormalization', [x, b.weight('s', randTensor([3], 5)), b.weight('bias', randTensor([3], 6))], { epsilon: 1e-3 }) },
];

describe('wasm: decomposed forms match the reference backend', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const b = new GraphBuilder();
      b.output(c.make(b, b.input('x', 'float32', c.dims)));
      const model = b.model({ source: 'forms.onnx' });
      const x = randTensor(c.dims, 7);
      const want = (await loadBackend('reference')).prepare(model).run([x])[0] as Tensor;
      for (const name of ['wasm', 'wasm-O3'] as const) {
        const got = (await loadBackend(name)).prepare(model).run([x])[0] as Tensor;
        expect(got.dims, name).toEqual(want.dims);
        const worst = Array.from(got.data as Float32Array).reduce((m, v, i) => Math.max(m, Math.abs(v - Number(want.data[i]))), 0);
        expect(worst, name).toBeLessThan(1e-4);
      }
    });
  }
});
