// Unit tests for the Reduce* ops: hand-computed values, empty sets, noop, bigint exactness, float16, symbolic
// inference and the legacy axes attribute.

import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../ir/errors.js';
import { f16Round } from '../../ir/float16.js';
import { fromValues } from '../../ir/tensor.js';
import { out, runOp } from '../helpers/run-op.js';
import { T, expectClose, f16, f32, f64, i32, i64, inferTypes, int, ints, legacy, shapeOf, vals } from './reduce-helpers.js';

const x = f32([3, 2], [1, 2, 3, 4, 5, 6]);
const run = (op: string, t = x, axes?: number[], attrs = {}) =>
  out(runOp(op, axes === undefined ? [t] : [t, i64(axes)], attrs));

describe('Reduce* values', () => {
  it('ReduceSum over one axis, negative axes, all axes and keepdims', () => {
    const a = run('ReduceSum', x, [1]);
    expect(a.dims).toEqual([3, 1]);
    expect(vals(a)).toEqual([3, 7, 11]);
    const b = run('ReduceSum', x, [-2], { keepdims: int(0) });
    expect(b.dims).toEqual([2]);
    expect(vals(b)).toEqual([9, 12]);
    expect(run('ReduceSum', x).dims).toEqual([1, 1]);
    expect(vals(run('ReduceSum', x, []))).toEqual([21]);
    expect(run('ReduceSum', x, undefined, { keepdims: int(0) }).dims).toEqual([]);
  });
  it('noop_with_empty_axes returns the input unchanged', () => {
    const a = run('ReduceSum', x, [], { noop_with_empty_axes: int(1) });
    expect(a.dims).toEqual([3, 2]);
    expect(vals(a)).toEqual(vals(x));
  });
  it('computes every kind', () => {
    expect(vals(run('ReduceMean', x, [0], { keepdims: int(0) }))).toEqual([3, 4]);
    expect(vals(run('ReduceProd', x))).toEqual([720]);
    expect(vals(run('ReduceMax', x, [1]))).toEqual([2, 4, 6]);
    expect(vals(run('ReduceMin', x, [1]))).toEqual([1, 3, 5]);
    const s = f32([2, 2], [-1, 2, 3, -4]);
    expect(vals(run('ReduceL1', s, [1]))).toEqual([3, 7]);
    expectClose(run('ReduceL2', s, [1]), [Math.sqrt(5), 5]);
    expectClose(run('ReduceLogSum', s, [0]), [Math.log(2), NaN]);
    expect(vals(run('ReduceSumSquare', s, [1]))).toEqual([5, 25]);
    expectClose(run('ReduceLogSumExp', s, [1]), [Math.log(Math.exp(-1) + Math.exp(2)), Math.log(Math.exp(3) + Math.exp(-4))]);
  });
  it('ReduceLogSumExp subtracts the max: no overflow, -inf stays -inf', () => {
    const big = f64([2], [1000, 1000]);
    expectClose(run('ReduceLogSumExp', big), [1000 + Math.log(2)]);
    expect(vals(run('ReduceLogSumExp', f32([2], [-Infinity, -Infinity])))).toEqual([-Infinity]);
    expect(vals(run('ReduceLogSumExp', f32([2], [Infinity, 1])))).toEqual([Infinity]);
  });
  it('min/max propagate NaN', () => {
    expect(vals(run('ReduceMax', f32([3], [1, NaN, 3])))[0]).toBeNaN();
    expect(vals(run('ReduceMin', f32([3], [NaN, 1, 3])))[0]).toBeNaN();
  });
  it('reduces empty sets to the identity of each reduction', () => {
    const e = f32([2, 0, 4], []);
    const r = (op: string) => run(op, e, [1]);
    expect(r('ReduceSum').dims).toEqual([2, 1, 4]);
    expect(vals(r('ReduceSum'))).toEqual(new Array(8).fill(0));
    expect(vals(r('ReduceProd'))).toEqual(new Array(8).fill(1));
    expect(vals(r('ReduceMax'))).toEqual(new Array(8).fill(-Infinity));
    expect(vals(r('ReduceMin'))).toEqual(new Array(8).fill(Infinity));
    expect(vals(r('ReduceLogSum'))).toEqual(new Array(8).fill(-Infinity));
    expect(vals(r('ReduceLogSumExp'))).toEqual(new Array(8).fill(-Infinity));
    expect(vals(r('ReduceL2'))).toEqual(new Array(8).fill(0));
    expect(vals(r('ReduceMean')).every(Number.isNaN)).toBe(true);
    // a zero dim that is not reduced gives an empty output
    expect(run('ReduceSum', e, [2]).dims).toEqual([2, 0, 1]);
    expect(vals(run('ReduceMax', i32([0], []), [0]))).toEqual([-2147483648]);
  });
});

describe('Reduce* element types', () => {
  it('int64 and uint64 are exact (bigint), wrapping like C', () => {
    const big = run('ReduceSum', i64([2n ** 62n, 2n ** 62n, 1n]));
    expect(big.data[0]).toBe(-(2n ** 63n) + 1n);
    expect(run('ReduceProd', i64([3000000000, 3000000000])).data[0]).toBe(9000000000000000000n);
    const u = fromValues('uint64', [2], [2n ** 64n - 1n, 5n]);
    expect(run('ReduceMax', u).data[0]).toBe(2n ** 64n - 1n);
    expect(run('ReduceMean', i64([-1, -2])).data[0]).toBe(-1n);
    expect(run('ReduceSumSquare', i64([3, -4])).data[0]).toBe(25n);
    expect(run('ReduceL1', i64([3, -4])).data[0]).toBe(7n);
  });
  it('int32 mean truncates toward zero', () => {
    expect(vals(run('ReduceMean', i32([2], [1, 2])))).toEqual([1]);
    expect(vals(run('ReduceMean', i32([2], [-1, -2])))).toEqual([-1]);
  });
  it('bool ReduceMax/ReduceMin are any/all', () => {
    const b = fromValues('bool', [2, 2], [1, 0, 0, 0]);
    const mx = run('ReduceMax', b, [1]);
    expect(mx.dtype).toBe('bool');
    expect(vals(mx)).toEqual([1, 0]);
    expect(vals(run('ReduceMin', b, [1]))).toEqual([0, 0]);
  });
  it('float16 results are rounded to float16', () => {
    const h = f16([2], [0.1, 0.2]);
    const r = run('ReduceSum', h);
    expect(r.dtype).toBe('float16');
    expect(vals(r)).toEqual([f16Round(f16Round(0.1) + f16Round(0.2))]);
  });
  it('rejects types the op does not take', () => {
    expect(() => run('ReduceSum', fromValues('bool', [1], [1]))).toThrow(ShapeError);
    expect(() => run('ReduceSum', fromValues('int8', [1], [1]))).toThrow(ShapeError);
  });
});

describe('Reduce* inference', () => {
  it('uses constant axes with symbolic dims', () => {
    const [t] = inferTypes('ReduceMean', [T('float32', ['b', 3, 'n']), T('int64', [1])], { 1: i64([1]) }, { keepdims: int(0) });
    expect(shapeOf(t)).toEqual(['b', 'n']);
    const [k] = inferTypes('ReduceMean', [T('float32', ['b', 3, 'n']), T('int64', [1])], { 1: i64([-1]) });
    expect(shapeOf(k)).toEqual(['b', 3, 1]);
  });
  it('gives fresh dims when axes are only known at run time', () => {
    const [k] = inferTypes('ReduceSum', [T('float32', ['b', 1, 4]), T('int64', [1])]);
    expect(shapeOf(k)).toEqual(['?0', 1, '?1']);
    const [d] = inferTypes('ReduceSum', [T('float32', ['b', 1, 4]), T('int64', [2])], {}, { keepdims: int(0) });
    expect(shapeOf(d)).toEqual(['?0']);
    const [u] = inferTypes('ReduceSum', [T('float32'), T('int64', [1])]);
    expect(shapeOf(u)).toBeUndefined();
  });
  it('reduces everything without axes, or nothing with noop', () => {
    expect(shapeOf(inferTypes('ReduceMax', [T('float32', ['b', 2])])[0])).toEqual([1, 1]);
    expect(shapeOf(inferTypes('ReduceMax', [T('float32', ['b', 2])], {}, { keepdims: int(0) })[0])).toEqual([]);
    expect(shapeOf(inferTypes('ReduceMax', [T('float32', ['b', 2]), T('int64', [0])], {}, { noop_with_empty_axes: int(1) })[0])).toEqual(['b', 2]);
  });
  it('rejects out-of-range axes', () => {
    expect(() => inferTypes('ReduceSum', [T('float32', [2, 2]), T('int64', [1])], { 1: i64([2]) })).toThrow(ShapeError);
    // runOp infers first, with the axes as a constant
    expect(() => run('ReduceSum', x, [-3])).toThrow(ShapeError);
  });
});

describe('Reduce* legacy', () => {
  it('moves the axes attribute to an input before opset 18', () => {
    const { nodes, consts } = legacy('ReduceMax', { attrs: { axes: ints([0, -1]), keepdims: int(0) } }, 13);
    expect(nodes).toHaveLength(1);
    expect(nodes[0]!.attrs).toEqual({ keepdims: int(0) });
    expect(vals(consts.get(nodes[0]!.inputs[1]!)!)).toEqual([0, -1]);
  });
  it('ReduceSum takes axes as an input from opset 13', () => {
    const old = legacy('ReduceSum', { attrs: { axes: ints([1]) } }, 11);
    expect(old.nodes[0]!.inputs).toHaveLength(2);
    const cur = legacy('ReduceSum', { inputs: ['x', 'a'] }, 13);
    expect(cur.nodes[0]!.inputs).toEqual(['x', 'a']);
  });
  it('leaves a node without axes reducing everything', () => {
    const { nodes } = legacy('ReduceMean', {}, 11);
    expect(nodes[0]!.inputs).toEqual(['x']);
  });
});
