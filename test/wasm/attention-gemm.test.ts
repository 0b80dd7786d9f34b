// Attention's float32 path on the GEMM core (kernels/attention-gemm.ts): 4-D and 3-D heads, grouped-query heads,
// causal, bool and additive masks (broadcast, shorter than the keys, -inf and -3.4e38), a fully masked row,
// past/present caches or K/V read in place, key lengths under one vector and with a tail, row blocks that stop at
// their last visible key (causal, constant causal/banded masks), constant window masks computed over only the keys
// each block of queries sees (attention-gather.ts: SVTR's local mixer), against the reference interpreter (f64)
// with Binaryen's optimiser on and off.

import { describe, expect, it } from 'vitest';
import { fromValues } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { keyBlocks, type AttnGeo } from '../../backends/wasm/kernels/attention-gemm.js';
import { gatherPlan } from '../../backends/wasm/kernels/attention-gather.js';
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
  // ViT-style: no mask, keys not whole vectors (K^T and the scores on rows padded to 24 floats, 20 keys by blocks)
  single('4-D no mask, 23 queries x 23 keys, dk 8 (rows padded to whole vectors)', [[1, 3, 23, 8], [1, 3, 23, 8], [1, 3, 23, 8]], (b, xs) => b.op('Attention', xs, {})),
  single('4-D banded bool mask [qs, total] (a window of 5 keys), 35 queries', [[2, 1, 35, 4], [2, 1, 35, 4], [2, 1, 35, 4]], (b, xs) => {
    const band = Array.from({ length: 35 * 35 }, (_, x) => { const i = Math.floor(x / 35), j = x % 35; return j <= i && j > i - 5 ? 1 : 0; });
    return b.op('Attention', [...xs, b.weight('m', fromValues('bool', [35, 35], band))], {});
  }),
  single('causal -inf mask with one row hidden throughout (full product kept)', [[1, 1, 33, 4], [1, 1, 33, 4], [1, 1, 33, 4]], (b, xs) => {
    const bias = randTensor([33, 33], 8);
    for (let i = 0; i < 33; i++) for (let j = 0; j < 33; j++) bias.data[i * 33 + j] = j > i || i === 20 ? -Infinity : bias.data[i * 33 + j]!;
    return b.op('Attention', [...xs, b.weight('m', bias)], {});
  }),
  // constant window masks (SVTR's local mixer: 0 in a wh x ww window of the H x W token grid, -inf elsewhere): the
  // keys each block of queries sees gathered (attention-gather.ts)
  single('4-D SVTR window 3x5 on a 6x16 grid, 2 heads of 16 (K gathered by 4x4 shuffles)', [[1, 2, 96, 16], [1, 2, 96, 16], [1, 2, 96, 16]], (b, xs) =>
    b.op('Attention', [...xs, b.weight('m', fromValues('float32', [1, 1, 96, 96], [...windowMask(6, 16, 3, 5, 0)]))], { scale: 0.25 })),
  single('3-D GQA in place, head 6 (K one by one, V with a tail), window 1x5 on 3x15 with random visible values: a tail block', [[2, 45, 24], [2, 45, 12], [2, 45, 12]], (b, xs) =>
    b.op('Attention', [...xs, b.weight('m', fromValues('float32', [45, 45], [...windowMask(3, 15, 1, 5, 11)]))], { q_num_heads: 4, kv_num_heads: 2 })),
  single('bool padding mask [1, 64] hiding all but 9 keys (every row the same)', [[1, 2, 40, 8], [1, 2, 64, 8], [1, 2, 64, 12]], (b, xs) =>
    b.op('Attention', [...xs, b.weight('m', fromValues('bool', [1, 64], Array.from({ length: 64 }, (_, j) => (j % 7 === 3 ? 1 : 0))))], {})),
];

/** A window mask over an H x W token grid (row-major tokens): visible keys get 0, or seeded values in +-1 when
 *  `seed` is non-zero, hidden ones -inf (-3.4e38 on odd diagonals). */
function windowMask(H: number, W: number, wh: number, ww: number, seed: number): Float32Array {
  const n = H * W, vals = randTensor([n * n], seed || 1).data, t = new Float32Array(n * n);
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const inside = Math.abs(Math.floor(k / W) - Math.floor(q / W)) <= (wh - 1) / 2 && Math.abs((k % W) - (q % W)) <= (ww - 1) / 2;
      t[q * n + k] = inside ? (seed ? vals[q * n + k]! : 0) : (q + k) % 2 ? -3.4e38 : -Infinity;
    }
  }
  return t;
}

describe('gatherPlan: the keys each block of queries gathers under a constant mask', () => {
  const geo = (qs: number, dk = 32): AttnGeo => ({ B: 1, qh: 2, kvh: 2, qs, kvs: qs, dk, dv: dk, past: 0, total: qs, rank: 4 });
  const ctx = (dims: number[], data: Float32Array, causal = 0): PlanContext => ({
    attrs: { is_causal: causal },
    inputs: [undefined, undefined, undefined, { name: 'm', dtype: 'float32', dims, size: data.length, ptr: { base: 0 }, constant: { dtype: 'float32', dims, data } }],
  }) as unknown as PlanContext;
  it('SVTR-Tiny at 32x320: 8 queries over 128 of 640 keys (8x80 grid), 72 of 320 (4x80)', () => {
    const p = gatherPlan(ctx([1, 1, 640, 640], windowMask(8, 80, 7, 11, 0)), geo(640))!;
    expect([p.R, p.N, p.blocks]).toEqual([8, 128, 80]);
    // block 0 (row 0, columns 0-7) sees rows 0-3, columns 0-12: 52 keys, then padding (the last key, bias -inf)
    expect([...p.keys.slice(0, 14)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 80]);
    expect(p.keys[52]).toBe(3 * 80 + 12);
    // query 0 sees columns 0-5 of its rows, query 7 columns 2-12; slot 52 on is padding
    expect([p.bias[0], p.bias[5], p.bias[6], p.bias[7 * 128 + 12], p.bias[7 * 128 + 1], p.bias[52], p.bias[127]]).toEqual([0, 0, -Infinity, 0, -Infinity, -Infinity, -Infinity]);
    const p2 = gatherPlan(ctx([1, 1, 320, 320], windowMask(4, 80, 7, 11, 0)), geo(320))!;
    expect([p2.R, p2.N, p2.blocks]).toEqual([8, 72, 40]);
  });
  it('is not taken when the window covers most keys, a row sees none, the mask is causal (keyBlocks) or soft, or varies by head', () => {
    expect(gatherPlan(ctx([1, 1, 200, 200], windowMask(8, 25, 7, 11, 0)), geo(200))).toBeUndefined();
    const none = windowMask(4, 24, 3, 5, 0);
    none.fill(-Infinity, 10 * 96, 11 * 96);
    expect(gatherPlan(ctx([96, 96], none), geo(96))).toBeUndefined();
    const causal = Float32Array.from({ length: 96 * 96 }, (_, x) => (x % 96 > Math.floor(x / 96) ? -Infinity : 0));
    expect(gatherPlan(ctx([96, 96], causal), geo(96))).toBeUndefined();
    const soft = windowMask(4, 24, 3, 5, 0).map((v) => (v < 0 ? -1e4 : v));
    expect(gatherPlan(ctx([96, 96], soft), geo(96))).toBeUndefined();
    const twoHeads = new Float32Array(2 * 96 * 96);
    twoHeads.set(windowMask(4, 24, 3, 5, 0)); twoHeads.set(windowMask(4, 24, 3, 5, 0), 96 * 96);
    expect(gatherPlan(ctx([1, 2, 96, 96], twoHeads), geo(96))).toBeUndefined();
    expect(gatherPlan(ctx([96, 96], windowMask(4, 24, 3, 5, 0), 1), geo(96))).toBeUndefined();
    // on 4x24 a 3x5 window leaves little to gain over keyBlocks' cut at each block's last visible key
    expect(gatherPlan(ctx([96, 96], windowMask(4, 24, 3, 5, 0)), geo(96, 16))).toBeUndefined();
    // the numeric cases above take it
    expect(gatherPlan(ctx([1, 1, 96, 96], windowMask(6, 16, 3, 5, 0)), geo(96, 16))?.N).toBe(32);
    expect(gatherPlan(ctx([45, 45], windowMask(3, 15, 1, 5, 11)), { ...geo(45, 6), qh: 4 })?.N).toBe(12);
    const pad = Float32Array.from({ length: 64 }, (_, j) => (j % 7 === 3 ? 0 : -Infinity));
    expect(gatherPlan(ctx([1, 64], pad), { ...geo(40, 8), kvs: 64, total: 64 })?.N).toBe(12);
  });
});

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
