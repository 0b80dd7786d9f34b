// NonMaxSuppression, TfIdfVectorizer and the random ops (dtype, shape, range and reproducibility by seed).

import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../ir/errors.js';
import { attrFloat, attrInt, attrInts } from '../../ir/graph.js';
import type { Attr } from '../../ir/graph.js';
import { fromValues, scalar } from '../../ir/tensor.js';
import { out, runOp } from '../helpers/run-op.js';

const f32 = (dims: number[], v: number[]) => fromValues('float32', dims, v);

describe('NonMaxSuppression', () => {
  const boxes = f32([1, 3, 4], [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 5, 1, 6]);
  const scores = f32([1, 1, 3], [0.9, 0.8, 0.7]);
  it('suppresses by IoU and limits the count per class', () => {
    const r = runOp('NonMaxSuppression', [boxes, scores, fromValues('int64', [1], [3n]), f32([1], [0.5]), f32([1], [0])]);
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([0n, 0n, 0n, 0n, 0n, 2n]);
    const r2 = runOp('NonMaxSuppression', [boxes, scores, fromValues('int64', [1], [1n]), f32([1], [0.5])]);
    expect(out(r2).dims).toEqual([1, 3]);
  });
  it('no max_output_boxes_per_class selects nothing; score threshold is strict', () => {
    expect(out(runOp('NonMaxSuppression', [boxes, scores])).dims).toEqual([0, 3]);
    const r = runOp('NonMaxSuppression', [boxes, scores, fromValues('int64', [1], [9n]), f32([1], [1]), f32([1], [0.8])]);
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([0n, 0n, 0n]);
  });
  it('centre-point boxes', () => {
    const b = f32([1, 2, 4], [0.5, 0.5, 1, 1, 0.5, 0.6, 1, 1]);
    const r = runOp('NonMaxSuppression', [b, f32([1, 1, 2], [0.1, 0.2]), fromValues('int64', [1], [2n]), f32([1], [0.5])], { center_point_box: attrInt(1) });
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([0n, 0n, 1n]);
  });
});

describe('TfIdfVectorizer', () => {
  const base: Record<string, Attr> = {
    min_gram_length: attrInt(1), max_gram_length: attrInt(2), max_skip_count: attrInt(1),
    ngram_counts: attrInts([0, 2]), ngram_indexes: attrInts([0, 1, 2]), pool_int64s: attrInts([1, 2, 1, 3]),
    mode: { kind: 'string', value: 'TF' },
  };
  it('counts unigrams once and skip-grams for each skip', () => {
    // tokens 1 2 3 1: unigram 1 x2, 2 x1; bigram (1,3): skip 1 at positions 0,2 -> once
    const r = runOp('TfIdfVectorizer', [fromValues('int64', [4], [1n, 2n, 3n, 1n])], base);
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([2, 1, 1]);
  });
  it('TFIDF weights and batched rows, strings', () => {
    const attrs = { ...base, mode: { kind: 'string', value: 'TFIDF' } as Attr, weights: { kind: 'floats', value: [0.5, 2, 3] } as Attr,
      pool_int64s: undefined as unknown as Attr, pool_strings: { kind: 'strings', value: ['a', 'b', 'a', 'c'] } as Attr };
    delete (attrs as Record<string, unknown>).pool_int64s;
    const r = runOp('TfIdfVectorizer', [fromValues('string', [2, 2], ['a', 'a', 'b', 'c'])], attrs);
    expect(out(r).dims).toEqual([2, 3]);
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([1, 0, 0, 0, 2, 0]);
  });
  it('rejects a bad mode', () => {
    expect(() => runOp('TfIdfVectorizer', [fromValues('int32', [1], [1])], { ...base, mode: { kind: 'string', value: 'X' } })).toThrow(ShapeError);
  });
});

describe('random ops', () => {
  it('RandomUniform: dtype, shape, range and seed reproducibility', () => {
    const attrs = { shape: attrInts([1000]), low: attrFloat(-2), high: attrFloat(3), seed: attrFloat(7), dtype: attrInt(11) };
    const a = out(runOp('RandomUniform', [], attrs)), b = out(runOp('RandomUniform', [], attrs));
    expect(a.dtype).toBe('float64');
    expect(Array.from(a.data as ArrayLike<unknown>)).toEqual(Array.from(b.data as ArrayLike<unknown>));
    const v = Array.from(a.data as Float64Array);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...v)).toBeLessThan(3);
    expect(v.reduce((s, x) => s + x, 0) / v.length).toBeCloseTo(0.5, 0);
  });
  it('RandomNormal mean/scale and RandomNormalLike keeps the input dtype/shape', () => {
    const a = out(runOp('RandomNormal', [], { shape: attrInts([4000]), mean: attrFloat(5), scale: attrFloat(2), seed: attrFloat(1) }));
    const v = Array.from(a.data as Float32Array);
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
    expect(mean).toBeCloseTo(5, 0);
    expect(sd).toBeGreaterThan(1.8);
    expect(sd).toBeLessThan(2.2);
    const like = out(runOp('RandomNormalLike', [fromValues('float16', [2, 3], [0, 0, 0, 0, 0, 0])]));
    expect(like.dtype).toBe('float16');
    expect(like.dims).toEqual([2, 3]);
  });
  it('RandomUniformLike rejects a non-float input without dtype', () => {
    expect(() => runOp('RandomUniformLike', [fromValues('int32', [1], [0])])).toThrow(ShapeError);
  });
  it('Multinomial draws only possible classes', () => {
    const r = out(runOp('Multinomial', [f32([2, 3], [0, -Infinity, -Infinity, -Infinity, -Infinity, 0])], { sample_size: attrInt(5), dtype: attrInt(7) }));
    expect(r.dtype).toBe('int64');
    expect(r.dims).toEqual([2, 5]);
    expect(Array.from(r.data as ArrayLike<unknown>)).toEqual([0n, 0n, 0n, 0n, 0n, 2n, 2n, 2n, 2n, 2n]);
  });
  it('Bernoulli of 0/1 probabilities is exact; output dtype follows dtype', () => {
    const r = out(runOp('Bernoulli', [f32([4], [0, 1, 1, 0])], { dtype: attrInt(9) }));
    expect(r.dtype).toBe('bool');
    expect(Array.from(r.data as ArrayLike<unknown>)).toEqual([0, 1, 1, 0]);
    expect(() => runOp('Bernoulli', [f32([1], [2])])).toThrow();
  });
  it('a huge shape is refused at inference', () => {
    expect(() => runOp('RandomUniform', [], { shape: attrInts([1 << 20, 1 << 20]) })).toThrow(ShapeError);
  });
  it('scalar seeds differ', () => {
    const a = out(runOp('RandomUniform', [], { shape: attrInts([]), seed: attrFloat(1) }));
    const b = out(runOp('RandomUniform', [], { shape: attrInts([]), seed: attrFloat(2) }));
    expect(a.data[0]).not.toBe(b.data[0]);
    expect(scalar('float32', 0).dims).toEqual([]);
  });
});
