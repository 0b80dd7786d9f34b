// Sequence and optional ops on hand-built values: positions (negative, out of range), splitting and
// concatenating along axes, element types other than float32, and empty sequences/optionals.

import { describe, expect, it } from 'vitest';
import { KernelError, ShapeError } from '../../ir/errors.js';
import { attrInt } from '../../ir/graph.js';
import type { Attr } from '../../ir/graph.js';
import { fromValues, scalar } from '../../ir/tensor.js';
import type { Tensor } from '../../ir/tensor.js';
import type { RuntimeValue, SequenceValue } from '../../ir/value.js';
import { out, runOp } from '../helpers/run-op.js';

const f = (dims: number[], v: number[]): Tensor => fromValues('float32', dims, v);
const seq = (items: Tensor[]): SequenceValue => ({ kind: 'sequence', elemType: { kind: 'tensor', dtype: items[0]?.dtype ?? 'float32' }, items });
const asSeq = (v: RuntimeValue | undefined): SequenceValue => {
  if (v === undefined || !('kind' in v) || v.kind !== 'sequence') throw new Error('not a sequence');
  return v;
};
const pos = (p: number): Tensor => scalar('int64', BigInt(p));
const vals = (t: RuntimeValue): number[] => Array.from((t as Tensor).data as ArrayLike<number>, Number);

describe('building and editing sequences', () => {
  const a = f([1], [1]);
  const b = f([2], [2, 3]);
  const c = f([1], [4]);
  it('SequenceEmpty makes an empty sequence of the dtype attribute', () => {
    const r = runOp('SequenceEmpty', [], { dtype: attrInt(7) });
    expect(r.types[0]).toEqual({ kind: 'sequence', elem: { kind: 'tensor', dtype: 'int64' } });
    expect(asSeq(r.outputs[0]).items).toEqual([]);
  });
  it('SequenceConstruct merges differing element shapes into symbols', () => {
    const r = runOp('SequenceConstruct', [a, b, c]);
    expect(r.types[0]).toEqual({ kind: 'sequence', elem: { kind: 'tensor', dtype: 'float32', shape: ['?d'] } });
    expect(asSeq(r.outputs[0]).items.length).toBe(3);
    expect(() => runOp('SequenceConstruct', [a, fromValues('int32', [1], [1])])).toThrow(ShapeError);
  });
  it('SequenceAt takes negative positions and rejects out-of-range ones', () => {
    expect(vals(runOp('SequenceAt', [seq([a, b, c]), pos(-2)]).outputs[0]!)).toEqual([2, 3]);
    expect(vals(runOp('SequenceAt', [seq([a, b, c]), fromValues('int32', [], [2])]).outputs[0]!)).toEqual([4]);
    expect(() => runOp('SequenceAt', [seq([a, b, c]), pos(3)])).toThrow(KernelError);
    expect(() => runOp('SequenceAt', [seq([a, b, c]), pos(-4)])).toThrow(KernelError);
  });
  it('SequenceInsert appends by default and inserts at (negative) positions', () => {
    const end = asSeq(runOp('SequenceInsert', [seq([a, b]), c]).outputs[0]);
    expect(end.items.map(vals)).toEqual([[1], [2, 3], [4]]);
    const front = asSeq(runOp('SequenceInsert', [seq([a, b]), c, pos(-2)]).outputs[0]);
    expect(front.items.map(vals)).toEqual([[4], [1], [2, 3]]);
    const last = asSeq(runOp('SequenceInsert', [seq([a, b]), c, pos(2)]).outputs[0]);
    expect(last.items.map(vals)).toEqual([[1], [2, 3], [4]]);
    expect(() => runOp('SequenceInsert', [seq([a, b]), c, pos(3)])).toThrow(KernelError);
    expect(() => runOp('SequenceInsert', [seq([a]), fromValues('int64', [1], [1n])])).toThrow(/element type/);
  });
  it('SequenceErase removes the last element by default', () => {
    expect(asSeq(runOp('SequenceErase', [seq([a, b, c])]).outputs[0]).items.map(vals)).toEqual([[1], [2, 3]]);
    expect(asSeq(runOp('SequenceErase', [seq([a, b, c]), pos(0)]).outputs[0]).items.map(vals)).toEqual([[2, 3], [4]]);
    expect(() => runOp('SequenceErase', [seq([])])).toThrow(KernelError);
  });
  it('SequenceLength counts as an int64 scalar', () => {
    const r = runOp('SequenceLength', [seq([a, b])]);
    expect(out(r).dtype).toBe('int64');
    expect(out(r).data[0]).toBe(2n);
  });
  it('does not alter the input sequence', () => {
    const s = seq([a, b]);
    runOp('SequenceInsert', [s, c]);
    runOp('SequenceErase', [s]);
    expect(s.items.length).toBe(2);
  });
});

describe('SplitToSequence', () => {
  const x = f([2, 3], [1, 2, 3, 4, 5, 6]);
  it('splits into size-1 slices without split, dropping the axis with keepdims 0', () => {
    const keep = runOp('SplitToSequence', [x], { axis: attrInt(1) });
    expect(asSeq(keep.outputs[0]).items.map((t) => (t as Tensor).dims)).toEqual([[2, 1], [2, 1], [2, 1]]);
    const drop = runOp('SplitToSequence', [x], { axis: attrInt(-1), keepdims: attrInt(0) });
    expect(drop.types[0]).toEqual({ kind: 'sequence', elem: { kind: 'tensor', dtype: 'float32', shape: [2] } });
    expect(asSeq(drop.outputs[0]).items.map(vals)).toEqual([[1, 4], [2, 5], [3, 6]]);
  });
  it('splits into equal chunks by a scalar, the last one shorter', () => {
    const r = runOp('SplitToSequence', [x, scalar('int64', 2n)], { axis: attrInt(1) });
    expect(asSeq(r.outputs[0]).items.map(vals)).toEqual([[1, 2, 4, 5], [3, 6]]);
    expect(() => runOp('SplitToSequence', [x, scalar('int64', 0n)])).toThrow(KernelError);
  });
  it('splits by 1-D lengths (zero allowed) that must sum to the axis', () => {
    const r = runOp('SplitToSequence', [x, fromValues('int32', [3], [0, 1, 2])], { axis: attrInt(1) });
    expect(asSeq(r.outputs[0]).items.map((t) => (t as Tensor).dims)).toEqual([[2, 0], [2, 1], [2, 2]]);
    expect(() => runOp('SplitToSequence', [x, fromValues('int32', [2], [1, 1])], { axis: attrInt(1) })).toThrow(/sum/);
  });
  it('splits strings', () => {
    const s = fromValues('string', [3], ['a', 'b', 'c']);
    const r = runOp('SplitToSequence', [s, fromValues('int64', [2], [2n, 1n])]);
    expect(asSeq(r.outputs[0]).items.map((t) => (t as Tensor).data)).toEqual([['a', 'b'], ['c']]);
  });
});

describe('ConcatFromSequence', () => {
  const a = f([1, 2], [1, 2]);
  const b = f([2, 2], [3, 4, 5, 6]);
  it('concatenates along an existing axis', () => {
    const r = runOp('ConcatFromSequence', [seq([a, b])], { axis: attrInt(0) });
    expect(out(r).dims).toEqual([3, 2]);
    expect(vals(out(r))).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it('stacks along a new axis, which may be one past the last', () => {
    const r = runOp('ConcatFromSequence', [seq([a, a])], { axis: attrInt(-1), new_axis: attrInt(1) });
    expect(out(r).dims).toEqual([1, 2, 2]);
    expect(vals(out(r))).toEqual([1, 1, 2, 2]);
  });
  it('keeps int64 exact', () => {
    const big = fromValues('int64', [1], [2n ** 62n]);
    const r = runOp('ConcatFromSequence', [seq([big, big])], { axis: attrInt(0) });
    expect(Array.from(out(r).data as BigInt64Array)).toEqual([2n ** 62n, 2n ** 62n]);
  });
  it('rejects an empty sequence and mismatched dims', () => {
    expect(() => runOp('ConcatFromSequence', [seq([])], { axis: attrInt(0) })).toThrow(KernelError);
    expect(() => runOp('ConcatFromSequence', [seq([a, b])], { axis: attrInt(1) })).toThrow(KernelError);
    expect(() => runOp('ConcatFromSequence', [seq([a])], { axis: attrInt(2) })).toThrow(ShapeError);
  });
});

describe('optionals', () => {
  const t = f([2], [1, 2]);
  const typeAttr: Attr = { kind: 'type', value: { kind: 'tensor', dtype: 'int32', shape: [] } };
  it('Optional wraps a value or makes an empty optional of the type attribute', () => {
    const full = runOp('Optional', [t]).outputs[0]!;
    expect(full).toMatchObject({ kind: 'optional', value: t });
    const empty = runOp('Optional', [], { type: typeAttr });
    expect(empty.types[0]).toEqual({ kind: 'optional', elem: { kind: 'tensor', dtype: 'int32', shape: [] } });
    expect(empty.outputs[0]).toMatchObject({ kind: 'optional', value: undefined });
    expect(() => runOp('Optional', [])).toThrow(ShapeError);
  });
  it('OptionalHasElement: omitted input and empty optionals are false, plain values true', () => {
    const has = (v: RuntimeValue | undefined): unknown => out(runOp('OptionalHasElement', v === undefined ? [] : [v])).data[0];
    expect(has(undefined)).toBe(0);
    expect(has({ kind: 'optional', elemType: { kind: 'tensor', dtype: 'float32' }, value: undefined })).toBe(0);
    expect(has({ kind: 'optional', elemType: { kind: 'tensor', dtype: 'float32' }, value: t })).toBe(1);
    expect(has(t)).toBe(1);
    expect(has(seq([]))).toBe(1);
  });
  it('OptionalGetElement unwraps, passes plain values through, and fails on empty', () => {
    const r = runOp('OptionalGetElement', [{ kind: 'optional', elemType: { kind: 'tensor', dtype: 'float32', shape: [2] }, value: t }]);
    expect(r.types[0]).toEqual({ kind: 'tensor', dtype: 'float32', shape: [2] });
    expect(r.outputs[0]).toBe(t);
    expect(runOp('OptionalGetElement', [t]).outputs[0]).toBe(t);
    expect(() => runOp('OptionalGetElement', [{ kind: 'optional', elemType: { kind: 'tensor', dtype: 'float32' }, value: undefined }])).toThrow(KernelError);
  });
});
