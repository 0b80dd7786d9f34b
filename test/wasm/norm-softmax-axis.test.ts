// Softmax/LogSoftmax over a non-last axis (kernels/norm.ts: four neighbouring columns to a vector) give the bits of
// the scalar strided loop they replace. A slab of fewer than four columns still runs that loop (all of it is the
// scalar tail), so each run of three columns of a wide input is checked against the same columns alone, with
// Object.is; and every output against the reference interpreter within 1e-5, optimiser on and off. Rows shorter
// than four (a lane per row) likewise against runs of three rows alone.

import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor, runWasm, worstError } from './helpers.js';

function softmax(op: string, dims: readonly number[], axis: number): ReturnType<GraphBuilder['build']> {
  const b = new GraphBuilder();
  b.output(b.op(op, [b.input('x', 'float32', [...dims])], { axis }));
  return b.build();
}

/** Columns [c0, c0 + w) of x viewed as [outer, L, inner]. */
function columns(x: Tensor<'float32'>, outer: number, L: number, inner: number, c0: number, w: number): Tensor<'float32'> {
  const data = new Float32Array(outer * L * w);
  for (let o = 0; o < outer; o++) for (let l = 0; l < L; l++) for (let c = 0; c < w; c++) data[(o * L + l) * w + c] = x.data[(o * L + l) * inner + c0 + c]!;
  return { dtype: 'float32', dims: [outer, L, w], data };
}

// [outer, L, inner]: inner 4 (vectors only), 5 and 7 (with a tail), 17; L 1, 3, 9, 33
const SHAPES: [number, number, number][] = [[2, 3, 4], [1, 9, 5], [3, 1, 7], [2, 33, 17], [1, 4, 1023]];

describe('wasm Softmax over a non-last axis', () => {
  for (const op of ['Softmax', 'LogSoftmax']) {
    it(`${op}: the scalar loop's bits, column by column`, () => {
      for (const [outer, L, inner] of SHAPES.slice(0, 4)) {
        const x = randTensor([outer, L, inner], outer + L + inner);
        x.data[1] = Number.NaN; // a NaN column stays NaN through the max
        for (const optimize of [true, false]) {
          const [y] = runWasm(softmax(op, [outer, L, inner], 1), [x], optimize);
          for (let c0 = 0; c0 < inner; c0 += 3) {
            const w = Math.min(3, inner - c0);
            const [want] = runWasm(softmax(op, [outer, L, w], 1), [columns(x, outer, L, inner, c0, w)], optimize);
            const got = columns(y as Tensor<'float32'>, outer, L, inner, c0, w);
            for (let i = 0; i < got.data.length; i++) {
              if (!Object.is(got.data[i], (want!.data as Float32Array)[i])) {
                expect.fail(`[${outer},${L},${inner}] columns ${c0}+${w} opt ${optimize}: ${i}: ${got.data[i]} != ${(want!.data as Float32Array)[i]}`);
              }
            }
          }
        }
      }
    });

    it(`${op}: the reference interpreter at several axes`, () => {
      const cases: [number[], number][] = [...SHAPES.map(([o, l, i]): [number[], number] => [[o, l, i], 1]), [[2, 3, 4, 5], 1], [[2, 3, 4, 5], 0], [[3, 5, 6], -2]];
      for (const [dims, axis] of cases) {
        for (const optimize of [true, false]) {
          expect(worstError(softmax(op, dims, axis), [randTensor(dims, 9)], optimize), `${dims} axis ${axis}`).toBeLessThan(1e-5);
        }
      }
    });
  }

  for (const op of ['Softmax', 'LogSoftmax']) {
    it(`${op} over rows shorter than a vector: the scalar loop's bits, three rows at a time`, () => {
      for (const [rows, L] of [[4, 1], [5, 2], [7, 3], [13, 2], [8, 3]] as const) {
        const x = randTensor([rows, L], rows * L);
        x.data[L] = Number.NaN; // row 1 all NaN
        for (const optimize of [true, false]) {
          const [y] = runWasm(softmax(op, [rows, L], -1), [x], optimize);
          for (let r0 = 0; r0 < rows; r0 += 3) {
            const n = Math.min(3, rows - r0);
            const part: Tensor<'float32'> = { dtype: 'float32', dims: [n, L], data: x.data.slice(r0 * L, (r0 + n) * L) };
            const [want] = runWasm(softmax(op, [n, L], -1), [part], optimize);
            for (let i = 0; i < n * L; i++) {
              const g = (y!.data as Float32Array)[r0 * L + i], w = (want!.data as Float32Array)[i];
              if (!Object.is(g, w)) expect.fail(`[${rows},${L}] rows ${r0}+${n} opt ${optimize}: ${i}: ${g} != ${w}`);
            }
          }
          expect(worstError(softmax(op, [rows, L], -1), [randTensor([rows, L], 3)], optimize)).toBeLessThan(1e-5);
        }
      }
    });
  }
});
