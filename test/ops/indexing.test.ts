// Unit tests for the indexing ops: hand-computed values, negative and out-of-range indices, bigint types.

import { describe, expect, it } from 'vitest';
import { KernelError, ShapeError } from '../../ir/errors.js';
import type { Attr } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { fromValues, scalar, toNumbers } from '../../ir/tensor.js';
import { out, runOp } from '../helpers/run-op.js';

const f32 = (dims: number[], v: number[]) => fromValues('float32', dims, v);
const i64 = (v: (number | bigint)[], dims = [v.length]) => fromValues('int64', dims, v.map((x) => BigInt(x)));
const int = (value: number): Attr => ({ kind: 'int', value });
const str = (value: string): Attr => ({ kind: 'string', value });
const vals = (t: Tensor) => toNumbers(t);

describe('Gather family', () => {
  const x = f32([3, 2], [1, 2, 3, 4, 5, 6]);
  it('Gather with negative and 2-D indices on an axis', () => {
    expect(vals(out(runOp('Gather', [x, i64([-1, 0])])))).toEqual([5, 6, 1, 2]);
    const r = out(runOp('Gather', [x, i64([1, 1, 0, 1], [2, 2])], { axis: int(1) }));
    expect(r.dims).toEqual([3, 2, 2]);
    expect(vals(r)).toEqual([2, 2, 1, 2, 4, 4, 3, 4, 6, 6, 5, 6]);
    expect(out(runOp('Gather', [x, i64([2], [])])).dims).toEqual([2]);
  });
  it('Gather out of range is a KernelError', () => {
    expect(() => runOp('Gather', [x, i64([3])])).toThrow(KernelError);
    expect(() => runOp('Gather', [x, i64([-4])])).toThrow(KernelError);
  });
  it('GatherElements', () => {
    const r = out(runOp('GatherElements', [f32([2, 2], [1, 2, 3, 4]), i64([0, 0, 1, -2], [2, 2])], { axis: int(1) }));
    expect(vals(r)).toEqual([1, 1, 4, 3]);
    expect(() => runOp('GatherElements', [x, i64([5], [1, 1])])).toThrow(KernelError);
  });
  it('GatherND with and without batch_dims', () => {
    const d = fromValues('int32', [2, 2], [0, 1, 2, 3]);
    expect(vals(out(runOp('GatherND', [d, i64([0, 0, 1, 1], [2, 2])])))).toEqual([0, 3]);
    expect(vals(out(runOp('GatherND', [d, i64([1, 0], [2, 1])])))).toEqual([2, 3, 0, 1]);
    const d3 = fromValues('int32', [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
    expect(vals(out(runOp('GatherND', [d3, i64([1, 0], [2, 1])], { batch_dims: int(1) })))).toEqual([2, 3, 4, 5]);
    expect(() => runOp('GatherND', [d, i64([2, 0], [1, 2])])).toThrow(KernelError);
  });
  it('Compress with and without axis', () => {
    const cond = fromValues('bool', [3], [0, 1, 1]);
    expect(vals(out(runOp('Compress', [x, cond], { axis: int(0) })))).toEqual([3, 4, 5, 6]);
    expect(vals(out(runOp('Compress', [x, cond])))).toEqual([2, 3]);
    expect(out(runOp('Compress', [x, fromValues('bool', [1], [1])], { axis: int(-1) })).dims).toEqual([3, 1]);
  });
  it('OneHot with negative, out-of-range indices and an axis', () => {
    const r = out(runOp('OneHot', [i64([0, -1, 5]), scalar('int64', 3n), f32([2], [0, 1])]));
    expect(r.dims).toEqual([3, 3]);
    expect(vals(r)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0]);
    const s = out(runOp('OneHot', [i64([1, 0]), scalar('float32', 2.7), i64([2, 5])], { axis: int(0) }));
    expect(vals(s)).toEqual([2, 5, 5, 2]);
  });
  it('NonZero', () => {
    const r = out(runOp('NonZero', [f32([2, 2], [1, 0, 0, 3])]));
    expect(r.dims).toEqual([2, 2]);
    expect(vals(r)).toEqual([0, 1, 0, 1]);
    expect(out(runOp('NonZero', [f32([0], [])])).dims).toEqual([1, 0]);
  });
});

describe('Scatter family', () => {
  it('ScatterElements with each reduction and duplicate indices', () => {
    const d = f32([1, 5], [1, 2, 3, 4, 5]);
    const idx = i64([1, 1], [1, 2]), upd = f32([1, 2], [10, 20]);
    const run = (reduction: string) => vals(out(runOp('ScatterElements', [d, idx, upd], { axis: int(1), reduction: str(reduction) })));
    expect(run('none')).toEqual([1, 20, 3, 4, 5]);
    expect(run('add')).toEqual([1, 32, 3, 4, 5]);
    expect(run('mul')).toEqual([1, 400, 3, 4, 5]);
    expect(run('max')).toEqual([1, 20, 3, 4, 5]);
    expect(run('min')).toEqual([1, 2, 3, 4, 5]);
    expect(vals(d)).toEqual([1, 2, 3, 4, 5]); // the input is not modified
  });
  it('Scatter (deprecated) equals ScatterElements; negative indices; range checks', () => {
    const d = f32([3], [0, 0, 0]);
    expect(vals(out(runOp('Scatter', [d, i64([-1]), f32([1], [7])])))).toEqual([0, 0, 7]);
    expect(() => runOp('ScatterElements', [d, i64([3]), f32([1], [7])])).toThrow(KernelError);
  });
  it('ScatterND on slices and elements, with reduction and int64 wraparound', () => {
    const d = f32([2, 2], [1, 2, 3, 4]);
    expect(vals(out(runOp('ScatterND', [d, i64([1], [1, 1]), f32([1, 2], [9, 8])])))).toEqual([1, 2, 9, 8]);
    const big = i64([9223372036854775807n, 0n]);
    const r = out(runOp('ScatterND', [big, i64([0, 0], [2, 1]), i64([1n, 1n])], { reduction: str('add') }));
    expect(r.data).toEqual(new BigInt64Array([-9223372036854775807n, 0n]));
  });
  it('ScatterND mul on int32 wraps exactly', () => {
    const d = fromValues('int32', [1], [65537]);
    expect(vals(out(runOp('ScatterND', [d, i64([0], [1, 1]), fromValues('int32', [1], [65537])], { reduction: str('mul') })))).toEqual([131073]);
  });
  it('TensorScatter linear and circular', () => {
    const cache = f32([1, 4, 1], [0, 0, 0, 0]);
    const upd = f32([1, 2, 1], [1, 2]);
    expect(vals(out(runOp('TensorScatter', [cache, upd, i64([1])])))).toEqual([0, 1, 2, 0]);
    expect(vals(out(runOp('TensorScatter', [cache, upd, i64([3])], { mode: str('circular') })))).toEqual([2, 0, 0, 1]);
    expect(() => runOp('TensorScatter', [cache, upd, i64([3])])).toThrow(KernelError);
  });
});

describe('Sorting and selection', () => {
  it('TopK largest/smallest with ties by lower index', () => {
    const x = f32([5], [3, 1, 3, 2, 1]);
    let r = runOp('TopK', [x, i64([3])]);
    expect(vals(out(r, 0))).toEqual([3, 3, 2]);
    expect(vals(out(r, 1))).toEqual([0, 2, 3]);
    r = runOp('TopK', [x, i64([2])], { largest: int(0) });
    expect(vals(out(r, 1))).toEqual([1, 4]);
    expect(() => runOp('TopK', [x, i64([6])])).toThrow(ShapeError);
  });
  it('TopK on uint64 compares exactly', () => {
    const x = fromValues('uint64', [3], [18446744073709551615n, 18446744073709551614n, 1n]);
    expect(out(runOp('TopK', [x, i64([1])]), 0).data).toEqual(new BigUint64Array([18446744073709551615n]));
  });
  it('ArgMax/ArgMin with keepdims and select_last_index', () => {
    const x = f32([2, 3], [1, 3, 3, 2, 2, 0]);
    expect(vals(out(runOp('ArgMax', [x], { axis: int(1) })))).toEqual([1, 0]);
    expect(vals(out(runOp('ArgMax', [x], { axis: int(-1), select_last_index: int(1) })))).toEqual([2, 1]);
    const r = out(runOp('ArgMin', [x], { keepdims: int(0) }));
    expect(r.dims).toEqual([3]);
    expect(vals(r)).toEqual([0, 1, 1]);
  });
  it('Unique sorted and unsorted, flat', () => {
    const x = f32([6], [2, 1, 1, 3, 4, 3]);
    let r = runOp('Unique', [x], {}, 4);
    expect(vals(out(r, 0))).toEqual([1, 2, 3, 4]);
    expect(vals(out(r, 1))).toEqual([1, 0, 3, 4]);
    expect(vals(out(r, 2))).toEqual([1, 0, 0, 2, 3, 2]);
    expect(vals(out(r, 3))).toEqual([2, 1, 2, 1]);
    r = runOp('Unique', [x], { sorted: int(0) }, 4);
    expect(vals(out(r, 0))).toEqual([2, 1, 3, 4]);
    expect(vals(out(r, 2))).toEqual([0, 1, 1, 2, 3, 2]);
  });
  it('Unique along an axis', () => {
    const x = f32([3, 2], [1, 0, 0, 1, 1, 0]);
    const r = runOp('Unique', [x], { axis: int(0) }, 4);
    expect(vals(out(r, 0))).toEqual([0, 1, 1, 0]);
    expect(vals(out(r, 1))).toEqual([1, 0]);
    expect(vals(out(r, 2))).toEqual([1, 0, 1]);
    expect(vals(out(r, 3))).toEqual([1, 2]);
  });
});

describe('Scans', () => {
  const x = f32([4], [1, 2, 3, 4]);
  it('CumSum with exclusive and reverse', () => {
    expect(vals(out(runOp('CumSum', [x, scalar('int32', 0)])))).toEqual([1, 3, 6, 10]);
    expect(vals(out(runOp('CumSum', [x, scalar('int64', 0n)], { exclusive: int(1) })))).toEqual([0, 1, 3, 6]);
    expect(vals(out(runOp('CumSum', [x, scalar('int64', -1n)], { reverse: int(1) })))).toEqual([10, 9, 7, 4]);
    expect(vals(out(runOp('CumSum', [x, scalar('int64', 0n)], { reverse: int(1), exclusive: int(1) })))).toEqual([9, 7, 4, 0]);
  });
  it('CumSum over an axis of a 2-D int tensor, and float16 rounding', () => {
    const m = fromValues('int32', [2, 2], [1, 2, 3, 4]);
    expect(vals(out(runOp('CumSum', [m, scalar('int32', 1)])))).toEqual([1, 3, 3, 7]);
    const h = fromValues('float16', [2], [2048, 1]);
    expect(vals(out(runOp('CumSum', [h, scalar('int32', 0)])))).toEqual([2048, 2048]);
  });
  it('CumProd', () => {
    expect(vals(out(runOp('CumProd', [x, scalar('int64', 0n)])))).toEqual([1, 2, 6, 24]);
    expect(vals(out(runOp('CumProd', [x, scalar('int64', 0n)], { exclusive: int(1), reverse: int(1) })))).toEqual([24, 12, 4, 1]);
  });
  it('ReverseSequence along batch 0 and 1', () => {
    const m = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(vals(out(runOp('ReverseSequence', [m, i64([3, 2])], { batch_axis: int(0), time_axis: int(1) })))).toEqual([3, 2, 1, 5, 4, 6]);
    const t = f32([3, 2], [1, 2, 3, 4, 5, 6]);
    expect(vals(out(runOp('ReverseSequence', [t, i64([1, 3])])))).toEqual([1, 6, 3, 4, 5, 2]);
    expect(() => runOp('ReverseSequence', [t, i64([4, 1])])).toThrow(KernelError);
  });
});
