// ArgMax/ArgMin (kernels/reduce.ts: a non-last axis four columns to a vector) against a model of the scalar loop:
// start at element 0, move to a later element when it compares better (strictly, or also when equal with
// select_last_index), so a NaN is never moved to and is kept only from element 0. Ties, NaN and -0/+0 included,
// float32 and int32, column counts that fill vectors and leave a tail, optimiser on and off.

import { describe, expect, it } from 'vitest';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { runWasm } from './helpers.js';

function model(x: ArrayLike<number>, dims: readonly number[], axis: number, isMax: boolean, last: boolean): bigint[] {
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1), L = dims[axis]!, inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const y: bigint[] = [];
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let best = x[o * L * inner + j]!, at = 0;
      for (let i = 1; i < L; i++) {
        const v = x[(o * L + i) * inner + j]!;
        const better = isMax ? (last ? v >= best : v > best) : (last ? v <= best : v < best);
        if (better) { best = v; at = i; }
      }
      y.push(BigInt(at));
    }
  }
  return y;
}

/** Values from a small set, so that ties are common; float inputs also get -0, +0 and NaN. */
function values(n: number, seed: number, float: boolean): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    const r = s % 13;
    if (float && r === 11) return Number.NaN;
    if (float && r === 12) return -0;
    return r - 5;
  });
}

const SHAPES: [number[], number][] = [
  [[2, 5, 4], 1], [[2, 5, 7], 1], [[1, 9, 17], 1], [[3, 4, 3], 1], [[2, 3, 4, 5], 1], [[2, 3, 4, 5], 0], [[6, 5], 1], [[1, 1, 9], 1],
];

describe('wasm ArgMax/ArgMin over any axis', () => {
  for (const [op, isMax] of [['ArgMax', true], ['ArgMin', false]] as const) {
    for (const dtype of ['float32', 'int32'] as const) {
      it(`${op} ${dtype}: the scalar loop's indices, ties and NaN included`, () => {
        SHAPES.forEach(([dims, axis], s) => {
          const n = dims.reduce((a, b) => a * b, 1);
          const xs = values(n, 7 + s, dtype === 'float32');
          const x: Tensor = fromValues(dtype, dims, xs);
          for (const last of [0, 1]) {
            for (const keepdims of [0, 1]) {
              const b = new GraphBuilder();
              b.output(b.op(op, [b.input('x', dtype, dims)], { axis, keepdims, select_last_index: last }));
              const g = b.build();
              for (const optimize of [true, false]) {
                const [y] = runWasm(g, [x], optimize);
                const stored = dtype === 'float32' ? Array.from(Float32Array.from(xs)) : xs;
                expect(Array.from(y!.data as BigInt64Array), `${dims} axis ${axis} last ${last} opt ${optimize}`).toEqual(model(stored, dims, axis, isMax, last === 1));
              }
            }
          }
        });
      });
    }
  }
});
