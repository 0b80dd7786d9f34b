// Attention's float32 path on the GEMM core (kernels/attention-gemm.ts): 4-D and 3-D heads, grouped-query heads,
// causal, bool and additive masks (broadcast, shorter than the keys, -inf and -3.4e38), a fully masked row,
// past/present caches or K/V read in place, key lengths under one vector and with a tail, row blocks that stop at
// their last visible key (causal, constant causal/banded masks), against the reference interpreter (f64) with
// Binaryen's optimiser on and off.

import { describe, expect, it } from 'vitest';
import { fromValues } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { keyBlocks, type AttnGeo } from '../../backends/wasm/kernels/attention-gemm.js';
import type { PlanContext } from '../../backends/wasm/kernels/types.js';
import { randTensor, singleCase, worstError, type KernelCase } from './helpers.js';

const TOL = 1e-5;
const single = (name: string, shapes: number[][], make: (b: GraphBuilder, xs: string[]) => string): KernelCase => singleCase(name, shapes, make, TOL, 31);

const cases: KernelCase[] = [
  single('4-D causal, 9 queries x 13 keys, dk 8, dv 6', [[2, 3, 9, 8], [2, 3, 13, 8], [2, 3, 13, 6]], (b, xs) => b.op('Attention', xs, { is_causal: 1 })),
  single('4-D GPT-2 shape, 16 x 16, head 16, scale', [[1, 4, 16, 16], [1, 4, 16, 16], [1, 4, 16, 16]], (b, xs) => b.op('Attention', xs, { scale: 0.3 })),
  single('3-D GQA, bool mask [qs, total]', [[2, 3, 8], [2, 5, 4], [2, 5, 6]], (b, [q, k, v]) =>
    b.op('Attention', [q!, k!, v!, b.weight('m', fromValues('bool', [3, 5], [1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1]))], { q_num_heads: 4, kv_num_heads: 2 })),
  single('4-D additive mask [1, 1, qs, total] (BERT), one row fully masked', [[1, 2, 3, 5], [1, 2, 7, 5], [1, 2, 7, 5]], (b, xs) => {
    const bias = randTensor([1, 1, 3, 7], 9);
    for (let j = 0; j < 7; j++) bias.data[7 + j] = -Infinity;
    return b.op('Attention', [...xs, b.weight('m', bias)], {});
  }),
  // K and V read in place (no cache): 3-D projections, K^T by 4x4 shuffle blocks, the float mask added in vectors
  single('3-D GPT-2 in place, 3 heads of 8, 12 keys, causal-style float mask [1, 1, qs, total]', [[1, 6, 24], [1, 12, 24], [1, 12, 24]], (b, xs) => {
    const bias = randTensor([1, 1, 6, 12], 5);
    for (let i = 0; i < 6; i++) for (let j = 0; j < 12; j++) if (j > i + 6) bias.data[i * 12 + j] = (i + j) % 2 ? -Infinity : -3.4e38;
    return b.op('Attention', [...xs, b.weight('m', bias)], { q_num_heads: 3, kv_num_heads: 3, scale: 0.125 });
  }),
  single('3-D GQA in place, 13 keys (vector mask and a scalar tail), head 4 (K^T one by one: 13 keys)', [[2, 5, 16], [2, 13, 8], [2, 13, 12]], (b, xs) =>
    b.op('Attention', [...xs, b.weight('m', randTensor([5, 13], 6))], { q_num_heads: 4, kv_num_heads: 2 })),
  single('mask shorter than the keys, 3 keys (under one vector)', [[1, 1, 4, 4], [1, 1, 3, 4], [1, 1, 3, 4]], (b, xs) =>
    b.op('Attention', [...xs, b.weight('m', randTensor([4, 2], 3))], {})),
  single('past/present cache, causal', [[1, 2, 2, 4], [1, 2, 2, 4], [1, 2, 2, 4], [1, 2, 5, 4], [1, 2, 5, 4]], (b, [q, k, v, pk, pv]) => {
    const [y, kk, vv] = b.node('Attention', [q!, k!, v!, '', pk!, pv!], { is_causal: 1 }, 3);
    return b.op('Concat', [y!, b.op('Slice', [kk!, b.weight('s0', fromValues('int64', [1], [0n])), b.weight('s1', fromValues('int64', [1], [2n])), b.weight('ax', fromValues('int64', [1], [2n]))])], { axis: 3 });
  }),
  // row blocks of 16 queries, each stopping at its last visible key (keyBlocks)
  single('3-D GPT-2 causal mask of -3.4e38 [1, 1, 40, 40], 2 heads of 8: blocks of 16, 16, 8 queries', [[1, 40, 16], [1, 40, 16], [1, 40, 16]], (b, xs) => {
    const bias = randTensor([1, 1, 40, 40], 7);
    for (let i = 0; i < 40; i++) for (let j = 0; j < 40; j++) bias.data[i * 40 + j] = j > i ? -3.4028234663852886e38 : 0;
    return b.op('Attention', [...xs, b.weight('m', bias)], { q_num_heads: 2, kv_num_heads: 2, scale: 0.125 });
  }),
  single('4-D is_causal, 37 queries x 42 keys, dk 8, dv 12', [[1, 2, 37, 8], [1, 2, 42, 8], [1, 2, 42, 12]], (b, xs) => b.op('Attention', xs, { is_causal: 1 })),
  single('4-D banded bool mask [qs, total] (a window of 5 keys), 35 queries', [[2, 1, 35, 4], [2, 1, 35, 4], [2, 1, 35, 4]], (b, xs) => {
    const band = Array.from({ length: 35 * 35 }, (_, x) => { const i = Math.floor(x / 35), j = x % 35; return j <= i && j > i - 5 ? 1 : 0; });
    return b.op('Attention', [...xs, b.weight('m', fromValues('bool', [35, 35], band))], {});
  }),
  single('causal -inf mask with one row hidden throughout (full product kept)', [[1, 1, 33, 4], [1, 1, 33, 4], [1, 1, 33, 4]], (b, xs) => {
    const bias = randTensor([33, 33], 8);
    for (let i = 0; i < 33; i++) for (let j = 0; j < 33; j++) bias.data[i * 33 + j] = j > i || i === 20 ? -Infinity : bias.data[i * 33 + j]!;
    return b.op('Attention', [...xs, b.weight('m', bias)], {});
  }),
];

describe('keyBlocks: the keys each row block of queries computes', () => {
  const geo = (qs: number, total: number): AttnGeo => ({ B: 1, qh: 2, kvh: 2, qs, kvs: total, dk: 8, dv: 8, past: 0, total, rank: 4 });
  const ctx = (mask?: { dims: number[]; data: Float32Array }): PlanContext => ({
    inputs: [undefined, undefined, undefined, mask && { name: 'm', dtype: 'float32', dims: mask.dims, size: mask.data.length, ptr: { base: 0 }, constant: { dtype: 'float32', dims: mask.dims, data: mask.data } }],
  }) as unknown as PlanContext;
  const causalMask = (n: number, hidden: number): Float32Array => Float32Array.from({ length: n * n }, (_, x) => (x % n > Math.floor(x / n) ? hidden : 0));
  it('a causal 64 x 64 stops each block of 16 queries at its last row', () => {
    expect(keyBlocks(ctx(), geo(64, 64), true)).toEqual([{ r0: 0, r1: 16, n: 16 }, { r0: 16, r1: 32, n: 32 }, { r0: 32, r1: 48, n: 48 }, { r0: 48, r1: 64, n: 64 }]);
    expect(keyBlocks(ctx({ dims: [1, 1, 64, 64], data: causalMask(64, -3.4e38) }), geo(64, 64), false).map((b) => b.n)).toEqual([16, 32, 48, 64]);
  });
  it('a causal 512 x 512 takes 8 blocks of 64 queries (the code stays bounded)', () => {
    const blocks = keyBlocks(ctx(), geo(512, 512), true);
    expect(blocks.map((b) => [b.r0, b.n])).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((k) => [64 * k, 64 * (k + 1)]));
  });
  it('keeps one block when nothing is hidden, the mask is not constant-hidden, a row sees no key, or the queries are few', () => {
    const whole = (qs: number, total: number) => [{ r0: 0, r1: qs, n: total }];
    expect(keyBlocks(ctx(), geo(64, 64), false)).toEqual(whole(64, 64));
    // -1e4 (a soft mask) is not hidden: those keys still weigh something
    expect(keyBlocks(ctx({ dims: [64, 64], data: causalMask(64, -1e4) }), geo(64, 64), false)).toEqual(whole(64, 64));
    const oneHidden = causalMask(64, -Infinity);
    oneHidden.fill(-Infinity, 5 * 64, 6 * 64);
    expect(keyBlocks(ctx({ dims: [64, 64], data: oneHidden }), geo(64, 64), false)).toEqual(whole(64, 64));
    expect(keyBlocks(ctx(), geo(16, 16), true)).toEqual(whole(16, 16));
    // with is_causal, row 40 sees only keys past itself: hidden throughout, so the full product stays
    const late = new Float32Array(64 * 64);
    for (let j = 0; j <= 40; j++) late[40 * 64 + j] = -3.4e38;
    expect(keyBlocks(ctx({ dims: [64, 64], data: late }), geo(64, 64), true)).toEqual(whole(64, 64));
    // a row hidden in one head only ([1, 2, qs, total]: head 1's row 3)
    const perHead = new Float32Array(2 * 64 * 64);
    perHead.set(causalMask(64, -3.4e38)); perHead.set(causalMask(64, -3.4e38), 64 * 64);
    perHead.fill(-3.4e38, 64 * 64 + 3 * 64, 64 * 64 + 4 * 64);
    expect(keyBlocks(ctx({ dims: [1, 2, 64, 64], data: perHead }), geo(64, 64), false)).toEqual(whole(64, 64));
  });
});

describe('float32 attention on the GEMM core matches the reference interpreter', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { g, inputs } = c.build();
      for (const optimize of [false, true]) expect(worstError(g, inputs, optimize), `optimize=${optimize}`).toBeLessThanOrEqual(TOL);
    });
  }
});
