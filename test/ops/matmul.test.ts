// Unit tests for MatMul, Gemm, Det and Einsum: hand-computed values, 1-D and batched broadcasting, integer
// wrap-around and bigint exactness, float16, symbolic inference and legacy Gemm.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../ir/errors.js';
import { f16Round } from '../../ir/float16.js';
import { fromValues } from '../../ir/tensor.js';
import { out, runOp } from '../helpers/run-op.js';
import { T, expectClose, f16, f32, flt, i32, i64, inferTypes, int, legacy, shapeOf, str, vals } from './reduce-helpers.js';

const A = f32([2, 2], [1, 2, 3, 4]);
const B = f32([2, 2], [5, 6, 7, 8]);

describe('MatMul', () => {
  it('multiplies 2-D matrices', () => {
    expect(vals(out(runOp('MatMul', [A, B])))).toEqual([19, 22, 43, 50]);
  });
  it('promotes 1-D operands and removes the added dim', () => {
    const d = out(runOp('MatMul', [f32([3], [1, 2, 3]), f32([3], [4, 5, 6])]));
    expect(d.dims).toEqual([]);
    expect(vals(d)).toEqual([32]);
    const l = out(runOp('MatMul', [f32([2], [1, 2]), B]));
    expect(l.dims).toEqual([2]);
    expect(vals(l)).toEqual([19, 22]);
    const r = out(runOp('MatMul', [A, f32([2], [5, 6])]));
    expect(vals(r)).toEqual([17, 39]);
  });
  it('broadcasts batch dims', () => {
    const a = f32([2, 1, 2], [1, 2, 3, 4]);
    const b = f32([3, 1, 2, 1], [1, 1, 1, 0, 0, 1]);
    const r = out(runOp('MatMul', [a, b]));
    expect(r.dims).toEqual([3, 2, 1, 1]);
    expect(vals(r)).toEqual([3, 7, 1, 3, 2, 4]);
  });
  it('handles an empty inner dim', () => {
    const r = out(runOp('MatMul', [f32([2, 0], []), f32([0, 3], [])]));
    expect(r.dims).toEqual([2, 3]);
    expect(vals(r)).toEqual([0, 0, 0, 0, 0, 0]);
  });
  it('wraps int32 like C and is exact for int64/uint64', () => {
    expect(vals(out(runOp('MatMul', [i32([1], [65536]), i32([1], [65536])])))).toEqual([0]);
    expect(vals(out(runOp('MatMul', [i32([2], [-3, 4]), i32([2], [5, 6])])))).toEqual([9]);
    expect(out(runOp('MatMul', [i64([2n ** 40n, 1n]), i64([2n ** 20n, 3n])])).data[0]).toBe(2n ** 60n + 3n);
    const u = fromValues('uint64', [1], [2n ** 63n]);
    expect(out(runOp('MatMul', [u, fromValues('uint64', [1], [1n])])).data[0]).toBe(2n ** 63n);
  });
  it('rounds float16 results', () => {
    const r = out(runOp('MatMul', [f16([2], [0.1, 0.2]), f16([2], [0.3, 0.4])]));
    expect(vals(r)).toEqual([f16Round(f16Round(0.1) * f16Round(0.3) + f16Round(0.2) * f16Round(0.4))]);
  });
  it('infers symbolic shapes and rejects mismatched inner dims', () => {
    expect(shapeOf(inferTypes('MatMul', [T('float32', ['b', 'm', 4]), T('float32', [4, 'n'])])[0])).toEqual(['b', 'm', 'n']);
    expect(shapeOf(inferTypes('MatMul', [T('float32', ['k']), T('float32', [1, 'k', 5])])[0])).toEqual([1, 5]);
    expect(() => inferTypes('MatMul', [T('float32', [2, 3]), T('float32', [4, 5])])).toThrow(ShapeError);
    expect(() => inferTypes('MatMul', [T('float32', [2, 3]), T('float64', [3, 5])])).toThrow(ShapeError);
    expect(shapeOf(inferTypes('MatMul', [T('float32'), T('float32', [3, 5])])[0])).toBeUndefined();
  });
});

describe('Gemm', () => {
  const a = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  const b = f32([3, 2], [1, 2, 3, 4, 5, 6]);
  it('computes alpha*A*B + beta*C with C broadcast', () => {
    const r = runOp('Gemm', [a, b, f32([2], [1, 1])], { alpha: flt(0.5), beta: flt(2) });
    expect(vals(out(r))).toEqual([13, 16, 26.5, 34]);
    expect(vals(out(runOp('Gemm', [a, b, f32([], [1])])))).toEqual([23, 29, 50, 65]);
    expect(vals(out(runOp('Gemm', [a, b])))).toEqual([22, 28, 49, 64]);
  });
  it('transposes A and B', () => {
    const at = f32([3, 2], [1, 4, 2, 5, 3, 6]);
    const bt = f32([2, 3], [1, 3, 5, 2, 4, 6]);
    expect(vals(out(runOp('Gemm', [at, bt], { transA: int(1), transB: int(1) })))).toEqual([22, 28, 49, 64]);
    expect(shapeOf(inferTypes('Gemm', [T('float32', ['k', 'm']), T('float32', ['k', 7])], {}, { transA: int(1) })[0])).toEqual(['m', 7]);
  });
  it('computes integer Gemm exactly', () => {
    expect(vals(out(runOp('Gemm', [i32([1, 2], [2, 3]), i32([2, 1], [4, 5]), i32([1], [1])])))).toEqual([24]);
    expect(out(runOp('Gemm', [i64([2n ** 40n], [1, 1]), i64([2n ** 20n], [1, 1])])).data[0]).toBe(2n ** 60n);
  });
  it('rejects C that does not broadcast and mismatched K', () => {
    expect(() => runOp('Gemm', [a, b, f32([3], [1, 1, 1])])).toThrow(ShapeError);
    expect(() => runOp('Gemm', [a, a])).toThrow(ShapeError);
  });
  it('legacy drops the broadcast attribute', () => {
    const { nodes } = legacy('Gemm', { inputs: ['a', 'b', 'c'], attrs: { broadcast: int(1), alpha: flt(2) } }, 6);
    expect(nodes[0]!.attrs).toEqual({ alpha: flt(2) });
  });
});

describe('Det', () => {
  it('computes 2-D and batched determinants', () => {
    expectClose(out(runOp('Det', [A])), [-2]);
    const r = out(runOp('Det', [f32([2, 2, 2], [1, 0, 0, 1, 0, 1, 1, 0])]));
    expect(r.dims).toEqual([2]);
    expectClose(r, [1, -1]);
    expectClose(out(runOp('Det', [f32([3, 3], [6, 1, 1, 4, -2, 5, 2, 8, 7])])), [-306]);
    expectClose(out(runOp('Det', [f32([2, 2], [1, 2, 2, 4])])), [0]);
  });
  it('rejects non-square input', () => {
    expect(() => runOp('Det', [f32([2, 3], [1, 2, 3, 4, 5, 6])])).toThrow(ShapeError);
  });
});

describe('Einsum', () => {
  const e = (eq: string, ...xs: Parameters<typeof out>[0]['outputs']) => out(runOp('Einsum', xs, { equation: str(eq) }));
  it('matrix product, explicit and implicit', () => {
    expect(vals(e('ij,jk->ik', A, B))).toEqual([19, 22, 43, 50]);
    expect(vals(e('ij,jk', A, B))).toEqual([19, 22, 43, 50]);
  });
  it('implicit output sorts the labels used once', () => {
    const t = e('ba', f32([2, 3], [1, 2, 3, 4, 5, 6]));
    expect(t.dims).toEqual([3, 2]);
    expect(vals(t)).toEqual([1, 4, 2, 5, 3, 6]);
  });
  it('diagonals, traces, sums and outer products', () => {
    expect(vals(e('ii->i', A))).toEqual([1, 4]);
    expect(vals(e('ii', A))).toEqual([5]);
    expect(vals(e('ij->', A))).toEqual([10]);
    expect(vals(e('ij->j', A))).toEqual([4, 6]);
    expect(vals(e('i,j->ij', f32([2], [1, 2]), f32([2], [3, 4])))).toEqual([3, 4, 6, 8]);
    expect(vals(e('->', f32([], [7])))).toEqual([7]);
  });
  it('ellipsis: batch dims, broadcasting and the implicit form', () => {
    const x = f32([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(vals(e('...ii->...i', x))).toEqual([1, 4, 5, 8]);
    const r = e('...i,...i->...', f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([3], [1, 1, 1]));
    expect(r.dims).toEqual([2]);
    expect(vals(r)).toEqual([6, 15]);
    expect(e('...ij', x).dims).toEqual([2, 2, 2]);
    expect(vals(e('b i j, b j k -> b i k', x, x))).toEqual([7, 10, 15, 22, 67, 78, 91, 106]);
  });
  it('integers are exact', () => {
    expect(e('i,i', i64([2n ** 40n, 1n]), i64([2n ** 20n, 5n])).data[0]).toBe(2n ** 60n + 5n);
    expect(vals(e('i,i->', i32([2], [2, 3]), i32([2], [4, 5])))).toEqual([23]);
  });
  it('infers shapes and rejects bad equations', () => {
    const [t] = inferTypes('Einsum', [T('float32', ['b', 'm', 4]), T('float32', ['b', 4, 'n'])], {}, { equation: str('bij,bjk->bik') });
    expect(shapeOf(t)).toEqual(['b', 'm', 'n']);
    expect(() => e('ij,jk->ik', A, f32([3, 2], [1, 2, 3, 4, 5, 6]))).toThrow(ShapeError);
    expect(() => e('ij->ii', A)).toThrow(ShapeError);
    expect(() => e('ij->k', A)).toThrow(ShapeError);
    expect(() => e('ijk', A)).toThrow(ShapeError);
    expect(() => e('i,j', A)).toThrow(ShapeError);
  });
});


describe('properties', () => {
  const matrix = (r: number, c: number) => fc.array(fc.integer({ min: -9, max: 9 }), { minLength: r * c, maxLength: r * c }).map((v) => f32([r, c], v));
  const triple = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }))
    .chain(([m, k, n]) => fc.tuple(matrix(m, k), matrix(k, n)));
  it('MatMul, Gemm and Einsum agree on small integer-valued matrices', () => {
    fc.assert(fc.property(triple, ([a, b]) => {
      const mm = vals(out(runOp('MatMul', [a, b])));
      expect(vals(out(runOp('Einsum', [a, b], { equation: str('ij,jk->ik') })))).toEqual(mm);
      expect(vals(out(runOp('Gemm', [a, b])))).toEqual(mm);
      expect(vals(out(runOp('Einsum', [b, a], { equation: str('jk,ij') })))).toEqual(mm);
    }), { numRuns: 50 });
  });
});
