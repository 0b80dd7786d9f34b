// Transposes that are a batch of 2-D ones (NCHW <-> NHWC, [1, A, C] -> [1, C, A]) take movement.ts's 4x4-block
// kernel, and an RGB image's [1, 3, H, W] -> [1, H, W, 3] its three-row form with overlapping stores: the wasm
// output equals the reference bit for bit (optimised and not) at awkward sizes (rows and columns not multiples of 4,
// the fewest columns the block form takes), for float32 and int32; asBatched2d says which perms are such.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import binaryen from '../../backends/wasm/binaryen.js';
import { Fn } from '../../backends/wasm/fn.js';
import { asBatched2d, transpose2d } from '../../backends/wasm/kernels/movement.js';
import type { DType } from '../../ir/dtype.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { instantiate, runWasm } from './helpers.js';

function check(dtype: DType, dims: number[], perm: number[]): void {
  const b = new GraphBuilder('t');
  b.output(b.op('Transpose', [b.input('x', dtype, dims)], { perm }));
  const g = b.build();
  const x = makeTensor(dtype, dims);
  for (let i = 0; i < x.data.length; i++) (x.data as Float32Array | Int32Array)[i] = dtype === 'int32' ? i * 7 - 3 : i + 0.5;
  const want = runGraph(g, [x])[0] as Tensor;
  for (const optimize of [false, true]) {
    const got = runWasm(g, [x], optimize)[0]!;
    expect(got.dims).toEqual(want.dims);
    expect(Array.from(got.data as ArrayLike<number>), `${dtype} [${dims}] perm [${perm}] optimize=${optimize}`).toEqual(Array.from(want.data as ArrayLike<number>));
  }
}

describe('wasm Transpose as batched 2-D blocks', () => {
  it('recognises batched 2-D transposes and nothing else', () => {
    expect(asBatched2d([1, 3, 320, 320], [0, 2, 3, 1])).toEqual([1, 3, 102400]);
    expect(asBatched2d([2, 5, 6, 7], [0, 3, 1, 2])).toEqual([2, 30, 7]);
    expect(asBatched2d([1, 2100, 84], [0, 2, 1])).toEqual([1, 2100, 84]);
    expect(asBatched2d([4, 1, 9], [2, 1, 0])).toEqual([1, 4, 9]);
    expect(asBatched2d([2, 3, 4, 5], [0, 2, 1, 3])).toBeUndefined();
    expect(asBatched2d([2, 3, 4], [0, 1, 2])).toBeUndefined();
    expect(asBatched2d([2, 3, 4, 5], [3, 2, 1, 0])).toBeUndefined();
  });

  const cases: [number[], number[]][] = [
    [[1, 3, 5, 7], [0, 2, 3, 1]], // RGB to NHWC: 35 columns, blocks up to 32, tail of 3
    [[2, 3, 3, 3], [0, 2, 3, 1]], // RGB, 9 columns, two images
    [[1, 3, 1, 8], [0, 2, 3, 1]], // RGB, the fewest columns
    [[1, 8, 4, 4], [0, 2, 3, 1]], // whole blocks
    [[1, 6, 3, 5], [0, 2, 3, 1]], // 6 rows: one block row + 2, 15 columns
    [[2, 9, 11], [0, 2, 1]], // batch 2, rows and columns past the blocks
    [[1, 5, 5, 13], [0, 3, 1, 2]], // NHWC -> NCHW, 13 channels
    [[1, 21, 84], [0, 2, 1]], // YOLO head [1, A, 84] -> [1, 84, A]
    [[4, 1, 9], [2, 1, 0]], // a unit axis dropped
  ];
  for (const [dims, perm] of cases) {
    it(`[${dims}] perm [${perm}]: float32 and int32 bit for bit`, () => {
      check('float32', dims, perm);
      check('int32', dims, perm);
    });
  }
});

/** transpose2d alone in one memory: x, then y, each followed by NaN guards, so a read past x (a NaN in y) or a write
 *  past y (a guard changed) fails, which the model tests above cannot see: the R = 3 blocks' last 16-byte store
 *  writes one element past its output row, and only the blocks' bound keeps that inside y. */
describe('wasm Transpose 2-D blocks stay inside their operands', () => {
  const GUARD = 8;
  function run(brc: [number, number, number]): { y: Float32Array; after: Float32Array } {
    const [B, R, C] = brc, n = B * R * C, x0 = 16, y0 = x0 + n + GUARD;
    const m = new binaryen.Module();
    try {
      m.setFeatures(binaryen.Features.SIMD128);
      const pages = Math.ceil(((y0 + n + GUARD) * 4) / 65536) + 1;
      m.setMemory(pages, pages, 'memory');
      const fn = new Fn(m);
      const { mem, run: f } = instantiate(m, fn, transpose2d(fn, x0 * 4, y0 * 4, brc));
      mem.fill(NaN);
      for (let i = 0; i < n; i++) mem[x0 + i] = i + 0.5;
      f();
      return { y: mem.slice(y0, y0 + n), after: mem.slice(y0 + n, y0 + n + GUARD) };
    } finally {
      m.dispose();
    }
  }
  // R = 3 with C a multiple of 4 is the case where a block running to the last column would spill
  for (const brc of [[1, 3, 8], [1, 3, 12], [2, 3, 16], [1, 3, 9], [1, 4, 8], [2, 5, 12], [1, 8, 9]] as [number, number, number][]) {
    it(`[${brc}]: y = x transposed, nothing written past y`, () => {
      const [B, R, C] = brc, { y, after } = run(brc);
      const want = new Float32Array(B * R * C);
      for (let b = 0; b < B; b++) for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) want[(b * C + c) * R + r] = (b * R + r) * C + c + 0.5;
      expect(Array.from(y)).toEqual(Array.from(want));
      expect(Array.from(after).every(Number.isNaN), `guards after y: ${Array.from(after)}`).toBe(true);
    });
  }
});
