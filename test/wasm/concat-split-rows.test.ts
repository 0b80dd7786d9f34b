// Concat and Split along the last axis (channels-last: a pixel's channels) move short contiguous rows by inline
// 16/8/4-byte loads and stores (movement.ts copyRows): bit-identical to the reference, optimised and not, for rows
// of 4 to 256 bytes in every remainder class, rows past the inline limit (a memory.copy each), 1-byte elements and
// a concat along an inner axis.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import type { DType } from '../../ir/dtype.js';
import { fromValues, makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { runWasm } from './helpers.js';

function filled(dtype: DType, dims: number[], seed: number): Tensor {
  const t = makeTensor(dtype, dims);
  for (let i = 0; i < t.data.length; i++) (t.data as Float32Array | Int8Array)[i] = dtype === 'int8' ? ((i * 7 + seed) % 200) - 100 : i * 0.25 + seed;
  return t;
}

function expectSame(g: ReturnType<GraphBuilder['build']>, inputs: Tensor[], what: string): void {
  const want = runGraph(g, inputs) as Tensor[];
  for (const optimize of [false, true]) {
    const got = runWasm(g, inputs, optimize);
    want.forEach((w, k) => expect(Array.from(got[k]!.data as ArrayLike<number>), `${what} output ${k} optimize=${optimize}`).toEqual(Array.from(w.data as ArrayLike<number>)));
  }
}

describe('wasm Concat and Split of short rows', () => {
  const widths: [DType, number[], number][] = [
    ['float32', [1, 3, 5], 3], ['float32', [4, 16, 2], 3], ['float32', [16, 16, 16], 3], ['float32', [6, 14, 13], 3],
    ['float32', [64, 1, 65], 3], ['int8', [4, 12, 5], 3], ['float32', [3, 5], 1],
  ];
  for (const [dtype, channels, axis] of widths) {
    it(`${dtype} channels [${channels}] along axis ${axis}`, () => {
      const dims = (c: number): number[] => (axis === 3 ? [1, 3, 5, c] : [1, c, 3, 5]);
      const b = new GraphBuilder('c');
      const xs = channels.map((c, k) => b.input(`x${k}`, dtype, dims(c)));
      const cat = b.op('Concat', xs, { axis });
      const parts = b.node('Split', [cat, b.weight('split', fromValues('int64', [channels.length], channels.map(BigInt)))], { axis }, channels.length);
      b.output(cat, ...parts);
      const g = b.build();
      expectSame(g, channels.map((c, k) => filled(dtype, dims(c), k + 1)), `[${channels}]`);
    });
  }
});
