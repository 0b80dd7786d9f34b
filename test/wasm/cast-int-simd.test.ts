// Cast from int32 / uint32 to float32 and float16 runs four lanes at a time (f32x4.convert_i32x4_s/u, elementwise.ts
// vecInts) with the scalar loop for the tail: the bits of the reference interpreter at every length around the
// vector width, on the integers where rounding to float32 matters (past 2^24, ties to even, the extremes).

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import type { DType } from '../../ir/dtype.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { prng } from '../../ir/random.js';
import { f16BitsToNumber } from '../../ir/float16.js';
import { GraphBuilder } from '../../models/builder.js';
import { runWasm } from './helpers.js';

const EDGES: Record<'int32' | 'uint32', number[]> = {
  int32: [0, 1, -1, 2 ** 24, 2 ** 24 + 1, 2 ** 24 + 2, 2 ** 24 + 3, -(2 ** 24) - 1, -(2 ** 24) - 3, 2 ** 31 - 1, -(2 ** 31), 2 ** 31 - 64, 2 ** 31 - 65, 65504, 65520, -65520, 2049, 2051],
  uint32: [0, 1, 2 ** 24 + 1, 2 ** 24 + 3, 2 ** 31, 2 ** 31 + 1, 2 ** 31 + 128, 2 ** 31 + 384, 2 ** 32 - 1, 2 ** 32 - 128, 2 ** 32 - 129, 65504, 65520, 2049],
};

function check(from: 'int32' | 'uint32', to: DType, n: number, seed: number): void {
  const b = new GraphBuilder('cast');
  b.output(b.op('Cast', [b.input('x', from, [n])], { to: to === 'float16' ? 10 : 1 }));
  const g = b.build();
  const x = makeTensor(from, [n]), r = prng(seed), data = x.data as Int32Array | Uint32Array, edges = EDGES[from];
  for (let i = 0; i < n; i++) {
    // edges first, then integers of every magnitude (a random exponent), both signs where the type has them
    data[i] = i < edges.length ? edges[i]! : Math.floor(r() * 2 ** Math.floor(r() * 32)) * (from === 'int32' && r() < 0.5 ? -1 : 1);
  }
  const want = runGraph(g, [x])[0] as Tensor;
  for (const optimize of [false, true]) {
    const got = runWasm(g, [x], optimize)[0]!;
    expect(got.dtype).toBe(to);
    // the reference's float16 tensors hold their (rounded) values, the artifact's output the half bits
    const bits = (v: ArrayLike<number>): number[] => Array.from(new Uint32Array(Float32Array.from(v).buffer));
    const gotValues = to === 'float16' ? Array.from(got.data as ArrayLike<number>, f16BitsToNumber) : (got.data as Float32Array);
    expect(bits(gotValues), `${from} -> ${to}, n ${n}, optimize ${optimize}`).toEqual(bits(want.data as Float32Array));
  }
}

describe('wasm Cast int32/uint32 -> float, four lanes at a time', () => {
  for (const from of ['int32', 'uint32'] as const) {
    for (const to of ['float32', 'float16'] as DType[]) {
      it(`${from} -> ${to}: the reference's bits at lengths 1-1027`, () => {
        for (const n of [1, 3, 4, 5, 7, 8, 17, 1024, 1027]) check(from, to, n, n * 7 + (from === 'int32' ? 1 : 2));
      });
    }
  }
});
