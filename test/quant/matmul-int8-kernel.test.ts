// The SIMD MatMulInteger kernel (constant 2-D B) against the reference: uint8/int8 A with a zero point, int8 B,
// uint8 B around a per-column zero point, odd K, row and column tails, batched A; exact int32 results.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { runWasm } from '../wasm/helpers.js';

function ints<D extends 'int8' | 'uint8'>(dtype: D, dims: number[], lo: number, hi: number, seed: number): Tensor<D> {
  const n = dims.reduce((a, b) => a * b, 1), d = dtype === 'int8' ? new Int8Array(n) : new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; d[i] = lo + (s % (hi - lo + 1)); }
  return makeTensor(dtype, dims, d as never);
}

interface Spec { aDims: number[]; N: number; aType: 'int8' | 'uint8'; bType: 'int8' | 'uint8'; bzp: 'none' | 'scalar' | 'column' }

function check(s: Spec, optimize: boolean): void {
  const K = s.aDims.at(-1)!;
  const b = new GraphBuilder();
  const a = b.input('a', s.aType, s.aDims);
  const za = b.input('za', s.aType, []);
  const w = b.weight('w', s.bType === 'int8' ? ints('int8', [K, s.N], -128, 127, 5) : ints('uint8', [K, s.N], 1, 255, 5));
  const zb = s.bzp === 'none' ? [] : [b.weight('zb', s.bType === 'int8' ? ints('int8', [s.bzp === 'scalar' ? 1 : s.N], 0, 0, 1) : ints('uint8', [s.bzp === 'scalar' ? 1 : s.N], 127, 129, 9))];
  b.output(b.op('MatMulInteger', [a, w, za, ...zb]));
  const g = b.build();
  const inputs = [s.aType === 'uint8' ? ints('uint8', s.aDims, 0, 255, 3) : ints('int8', s.aDims, -128, 127, 3), s.aType === 'uint8' ? makeTensor('uint8', [], Uint8Array.of(131)) : makeTensor('int8', [], Int8Array.of(-3))];
  const got = runWasm(g, inputs, optimize)[0]!;
  const want = runGraph(g, inputs)[0] as Tensor;
  expect(got.dims).toEqual(want.dims);
  expect(Array.from(got.data as Int32Array)).toEqual(Array.from(want.data as Int32Array));
}

const specs: Spec[] = [];
for (const [aDims, N] of [[[1, 1], 1], [[1, 5], 3], [[3, 7], 8], [[4, 16], 13], [[5, 33], 16], [[9, 64], 20], [[2, 3, 24], 12]] as [number[], number][]) {
  specs.push({ aDims, N, aType: 'uint8', bType: 'int8', bzp: 'none' });
  specs.push({ aDims, N, aType: 'int8', bType: 'int8', bzp: 'scalar' });
  specs.push({ aDims, N, aType: 'uint8', bType: 'uint8', bzp: 'column' });
}

describe('MatMulInteger SIMD kernel', () => {
  for (const s of specs) {
    for (const optimize of [true, false]) {
      it(`A ${s.aType}[${s.aDims}] x B ${s.bType}[${s.aDims.at(-1)},${s.N}] zero point ${s.bzp}${optimize ? '' : ' (no opt)'}`, () => check(s, optimize));
    }
  }
});
