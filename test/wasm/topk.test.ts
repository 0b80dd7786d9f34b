// TopK (kernels/topk.ts) against the reference interpreter: awkward sizes, inner axes, smallest/largest, ties
// (lower index first), NaN ordering and int64 values, Binaryen's optimiser on and off.

import { describe, expect, it } from 'vitest';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor, runWasm } from './helpers.js';
import { runGraph } from '../../backends/reference/interpreter.js';

const i64 = (v: number[]): Tensor => fromValues('int64', [v.length], v.map(BigInt));

function check(x: Tensor, k: number, attrs: Record<string, number>): void {
  const b = new GraphBuilder();
  const xi = b.input('x', x.dtype, x.dims);
  const [v, i] = b.node('TopK', [xi, b.weight('k', i64([k]))], attrs, 2);
  b.output(v!); b.output(i!);
  const g = b.build(), ref = runGraph(g, [x]) as Tensor[];
  for (const optimize of [false, true]) {
    const ours = runWasm(g, [x], optimize);
    ours.forEach((t, n) => {
      expect(t.dims, `output ${n}`).toEqual(ref[n]!.dims);
      expect(Array.from(t.data as ArrayLike<unknown>), `output ${n} optimize=${optimize}`).toEqual(Array.from(ref[n]!.data as ArrayLike<unknown>));
    });
  }
}

describe('TopK matches the reference exactly', () => {
  it('largest along the last axis, k = 1 and k = L', () => { check(randTensor([3, 7], 2), 1, {}); check(randTensor([2, 5], 3), 5, {}); });
  it('smallest along an inner axis', () => check(randTensor([2, 9, 3], 4), 4, { axis: 1, largest: 0 }));
  it('ties keep the lower index first; NaN ranks above numbers', () => {
    check(fromValues('float32', [2, 6], [1, 3, 3, NaN, 1, 3, 0, 0, 0, 0, 0, 0]), 4, {});
    check(fromValues('float32', [2, 6], [1, 3, 3, NaN, 1, 3, 0, 0, 0, 0, 0, 0]), 4, { largest: 0 });
  });
  it('int64 values are copied exactly', () => check(fromValues('int64', [5], [2n ** 40n, -3n, 7n, 2n ** 40n + 1n, 0n]), 3, {}));
});
