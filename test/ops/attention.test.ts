// Attention and RotaryEmbedding against hand-computed values: masks, causal offsets, GQA head mapping, KV cache,
// qk_matmul_output modes, fully masked rows and symbolic shape inference.

import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../ir/errors.js';
import { attrFloat, attrInt } from '../../ir/graph.js';
import { fromValues } from '../../ir/tensor.js';
import { getOp } from '../../ops/index.js';
import type { TensorType } from '../../ir/types.js';
import { out, runOp } from '../helpers/run-op.js';

const f32 = (dims: number[], v: number[]) => fromValues('float32', dims, v);
const close = (got: unknown, want: number[]) => {
  const g = got as ArrayLike<number>;
  expect(g.length).toBe(want.length);
  want.forEach((w, i) => expect(g[i]).toBeCloseTo(w, 5));
};

describe('Attention', () => {
  // one head, 2 queries, 2 keys, head size 1: scores q*k / 1
  const Q = f32([1, 1, 2, 1], [1, 2]), K = f32([1, 1, 2, 1], [0, 1]), V = f32([1, 1, 2, 1], [10, 20]);
  const softmax2 = (a: number, b: number) => { const e = Math.exp(b - a); return [1 / (1 + e), e / (1 + e)]; };

  it('plain 4-D attention', () => {
    const r = runOp('Attention', [Q, K, V]);
    const [p0, p1] = softmax2(0, 1), [r0, r1] = softmax2(0, 2);
    close(out(r).data, [10 * p0! + 20 * p1!, 10 * r0! + 20 * r1!]);
  });
  it('causal masks keys after the query position', () => {
    const r = runOp('Attention', [Q, K, V], { is_causal: attrInt(1) });
    const [r0, r1] = softmax2(0, 2);
    close(out(r).data, [10, 10 * r0! + 20 * r1!]);
  });
  it('a bool mask row of all false gives zeros, not NaN', () => {
    const mask = fromValues('bool', [2, 2], [0, 0, 1, 0]);
    const r = runOp('Attention', [Q, K, V, mask], { qk_matmul_output_mode: attrInt(3) }, 4);
    close(out(r).data, [0, 10]);
    close(out(r, 3).data, [0, 0, 1, 0]);
  });
  it('float mask, scale and softcap in qk_matmul_output modes 0-2', () => {
    const mask = f32([1, 2], [0, -1]);
    for (const [mode, want] of [[0, [0, 0.5, 0, 1]], [1, [0, Math.tanh(0.5), 0, Math.tanh(1)]], [2, [0, Math.tanh(0.5) - 1, 0, Math.tanh(1) - 1]]] as const) {
      const r = runOp('Attention', [Q, K, V, mask], { scale: attrFloat(0.5), softcap: attrFloat(1), qk_matmul_output_mode: attrInt(mode) }, 4);
      close(out(r, 3).data, [...want]);
    }
  });
  it('past key/value are prepended and shift the causal diagonal', () => {
    const pk = f32([1, 1, 1, 1], [5]), pv = f32([1, 1, 1, 1], [1]);
    const r = runOp('Attention', [f32([1, 1, 1, 1], [0]), f32([1, 1, 1, 1], [0]), f32([1, 1, 1, 1], [3]), undefined, pk, pv], { is_causal: attrInt(1) }, 3);
    expect(out(r, 1).dims).toEqual([1, 1, 2, 1]);
    close(out(r, 1).data, [5, 0]);
    close(out(r, 2).data, [1, 3]);
    // q=0 scores 0 for both keys: mean of values
    close(out(r).data, [2]);
  });
  it('GQA maps query heads to kv heads in groups, 3-D inputs', () => {
    // 2 query heads, 1 kv head, head size 1, seq 1: output is V for each head
    const r = runOp('Attention', [f32([1, 1, 2], [1, 2]), f32([1, 1, 1], [1]), f32([1, 1, 1], [7])], { q_num_heads: attrInt(2), kv_num_heads: attrInt(1) });
    expect(out(r).dims).toEqual([1, 1, 2]);
    close(out(r).data, [7, 7]);
  });
  it('nonpad_kv_seqlen hides padded keys', () => {
    const r = runOp('Attention', [Q, K, V, undefined, undefined, undefined, fromValues('int64', [1], [1n])]);
    close(out(r).data, [10, 10]);
  });
  it('infers symbolic shapes and total length with a past cache', () => {
    const def = getOp('Attention')!;
    const t = (shape: (number | string)[]): TensorType => ({ kind: 'tensor', dtype: 'float32', shape });
    const types = def.infer({
      node: { name: 'a', op: 'Attention', inputs: ['q', 'k', 'v', '', 'pk', 'pv'], outputs: ['y', 'pk2', 'pv2', 'qk'], attrs: {} },
      attrs: { is_causal: 0, qk_matmul_output_mode: 0, softcap: 0, q_num_heads: undefined, kv_num_heads: undefined, scale: undefined, softmax_precision: undefined },
      inputs: [t(['B', 8, 'S', 64]), t(['B', 2, 'S', 64]), t(['B', 2, 'S', 32]), undefined, t(['B', 2, 'P', 64]), t(['B', 2, 'P', 32])],
      constant: () => undefined, shapeValue: () => undefined, numOutputs: 4, inferSubgraph: () => [], freshDim: () => 'T',
    });
    expect((types[0] as TensorType).shape).toEqual(['B', 8, 'S', 32]);
    expect((types[1] as TensorType).shape).toEqual(['B', 2, 'T', 64]);
    expect((types[3] as TensorType).shape).toEqual(['B', 8, 'S', 'T']);
  });
  it('rejects head counts that do not divide and mixed dtypes', () => {
    expect(() => runOp('Attention', [f32([1, 3, 1, 1], [1, 1, 1]), f32([1, 2, 1, 1], [1, 1]), f32([1, 2, 1, 1], [1, 1])])).toThrow(ShapeError);
    expect(() => runOp('Attention', [Q, fromValues('float64', [1, 1, 2, 1], [0, 1]), V])).toThrow(ShapeError);
  });
  it('float16 output is rounded to float16', () => {
    const h = (v: number[]) => fromValues('float16', [1, 1, 1, 1], v);
    const r = runOp('Attention', [h([1]), h([1]), h([0.1])]);
    expect(out(r).dtype).toBe('float16');
    expect(out(r).data[0]).toBe(fromValues('float16', [1], [0.1]).data[0]);
  });
});

describe('RotaryEmbedding', () => {
  const cos = f32([2, 1], [1, 0]), sin = f32([2, 1], [0, 1]);
  it('rotates half-split pairs by position (4-D, position_ids)', () => {
    // head size 2: pair (x0, x1); position 1 rotates by 90 degrees
    const x = f32([1, 1, 2, 2], [1, 2, 1, 2]);
    const r = runOp('RotaryEmbedding', [x, cos, sin, fromValues('int64', [1, 2], [0n, 1n])]);
    close(out(r).data, [1, 2, -2, 1]);
  });
  it('interleaved pairs with a partial rotary dim (3-D input)', () => {
    const x = f32([1, 1, 4], [1, 2, 3, 4]);
    const r = runOp('RotaryEmbedding', [x, f32([1, 1, 1], [0]), f32([1, 1, 1], [1])], { interleaved: attrInt(1), rotary_embedding_dim: attrInt(2), num_heads: attrInt(1) });
    close(out(r).data, [-2, 1, 3, 4]);
  });
  it('3-D input needs num_heads', () => {
    expect(() => runOp('RotaryEmbedding', [f32([1, 1, 2], [1, 2]), cos, sin, fromValues('int64', [1, 1], [0n])])).toThrow(ShapeError);
  });
});

describe('LinearAttention', () => {
  const one = (v: number) => f32([1, 1, 1], [v]);
  const heads = { q_num_heads: attrInt(1), kv_num_heads: attrInt(1), scale: attrFloat(1) };
  it('linear rule accumulates k v^T and reads it with q', () => {
    // two tokens, d=1: S1 = 1*2 = 2, y1 = 3*2; S2 = 2 + 1*4 = 6, y2 = 1*6
    const q = f32([1, 2, 1], [3, 1]), k = f32([1, 2, 1], [1, 1]), v = f32([1, 2, 1], [2, 4]);
    const r = runOp('LinearAttention', [q, k, v], { ...heads, update_rule: { kind: 'string', value: 'linear' } }, 2);
    close(out(r).data, [6, 6]);
    close(out(r, 1).data, [6]);
  });
  it('gated_delta decays the past state and applies the delta correction', () => {
    // S = 2 * e^0 = 2; v' = 0.5 * (4 - 2*1) = 1; S = 2 + 1*1 = 3; y = 1 * 3
    const r = runOp('LinearAttention', [one(1), one(1), one(4), fromValues('float32', [1, 1, 1, 1], [2]), one(0), one(0.5)], heads, 2);
    close(out(r).data, [3]);
    close(out(r, 1).data, [3]);
  });
  it('checks which inputs the rule needs', () => {
    expect(() => runOp('LinearAttention', [one(1), one(1), one(1)], heads, 2)).toThrow(ShapeError);
  });
});
