// Quantisation ops against hand-computed values: rounding half to even, saturation, per-axis and blocked
// scales, zero points, integer matmul/conv and the requantising QLinear ops.

import { describe, expect, it } from 'vitest';
import { ShapeError, UnsupportedTypeError } from '../../ir/errors.js';
import { fromValues, scalar } from '../../ir/tensor.js';
import { attrInt, attrInts } from '../../ir/graph.js';
import { out, runOp } from '../helpers/run-op.js';
import { roundHalfEven } from '../../ops/quant-util.js';

const f32 = (dims: number[], v: number[]) => fromValues('float32', dims, v);
const u8 = (dims: number[], v: number[]) => fromValues('uint8', dims, v);
const i8 = (dims: number[], v: number[]) => fromValues('int8', dims, v);

describe('roundHalfEven', () => {
  it('rounds exact halves to the even neighbour, others to nearest', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3, -3]);
  });
});

describe('QuantizeLinear', () => {
  it('per-tensor uint8 with saturation and half-to-even', () => {
    const r = runOp('QuantizeLinear', [f32([6], [0, 2, 3, 1000, -254, -1000]), scalar('float32', 2), scalar('uint8', 128)]);
    // 0/2=0 -> 128; 1 -> 129; 1.5 -> 2 -> 130; 500 -> 255 (sat); -127 -> 1; -500 -> 0 (sat)
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([128, 129, 130, 255, 1, 0]);
    expect(out(r).dtype).toBe('uint8');
  });
  it('defaults to uint8 without a zero point and honours output_dtype', () => {
    expect(out(runOp('QuantizeLinear', [f32([2], [2.5, -3]), scalar('float32', 1)])).dtype).toBe('uint8');
    const r = runOp('QuantizeLinear', [f32([3], [2.5, -3.5, 70000]), scalar('float32', 1)], { output_dtype: attrInt(5) });
    expect(out(r).dtype).toBe('int16');
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([2, -4, 32767]);
  });
  it('per-axis with a negative axis', () => {
    const x = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    const r = runOp('QuantizeLinear', [x, f32([3], [1, 2, 4]), i8([3], [0, 1, -1])], { axis: attrInt(-1) });
    // columns use scales 1, 2, 4 and zero points 0, 1, -1; 2.5 -> 2 and 1.5 -> 2 (half to even)
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([1, 2, 0, 4, 3, 1]);
  });
  it('blocked along axis 1 with a ragged last block', () => {
    const x = f32([1, 5], [2, 4, 6, 8, 10]);
    const r = runOp('QuantizeLinear', [x, f32([1, 3], [2, 4, 5]), i8([1, 3], [0, 0, 0])], { axis: attrInt(1), block_size: attrInt(2) });
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([1, 2, 2, 2, 2]);
  });
  it('rejects float8/int4 output types as unsupported and a mismatched per-axis scale', () => {
    expect(() => runOp('QuantizeLinear', [f32([1], [1]), scalar('float32', 1)], { output_dtype: attrInt(17) })).toThrow(UnsupportedTypeError);
    expect(() => runOp('QuantizeLinear', [f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([2], [1, 1])], { axis: attrInt(1) })).toThrow(ShapeError);
  });
  it('float16 input and scale, empty input', () => {
    const r = runOp('QuantizeLinear', [fromValues('float16', [2], [3, 5]), scalar('float16', 2), scalar('int8', 0)]);
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([2, 2]);
    expect(out(runOp('QuantizeLinear', [f32([0], []), scalar('float32', 1)])).dims).toEqual([0]);
  });
});

describe('DequantizeLinear', () => {
  it('per-tensor and per-axis', () => {
    expect(Array.from(out(runOp('DequantizeLinear', [u8([3], [0, 128, 255]), scalar('float32', 2), scalar('uint8', 128)])).data as ArrayLike<unknown>))
      .toEqual([-256, 0, 254]);
    const r = runOp('DequantizeLinear', [i8([2, 2], [1, 2, 3, 4]), f32([2], [1, 10]), i8([2], [0, 1])], { axis: attrInt(0) });
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([1, 2, 20, 30]);
  });
  it('int32 input without zero point, float16 scale rounds to float16', () => {
    expect(Array.from(out(runOp('DequantizeLinear', [fromValues('int32', [2], [-7, 100000]), scalar('float32', 0.5)])).data as ArrayLike<unknown>)).toEqual([-3.5, 50000]);
    const r = runOp('DequantizeLinear', [fromValues('int16', [1], [3001]), scalar('float16', 1)]);
    expect(out(r).dtype).toBe('float16');
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([3000]);
  });
  it('blocked', () => {
    const r = runOp('DequantizeLinear', [u8([2, 2], [1, 2, 3, 4]), f32([1, 2], [2, 3])], { axis: attrInt(0), block_size: attrInt(2) });
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([2, 6, 6, 12]);
  });
});

describe('DynamicQuantizeLinear', () => {
  it('includes 0 in the range and rounds the zero point', () => {
    const r = runOp('DynamicQuantizeLinear', [f32([4], [1, 2, 3, 5.1])]);
    const scale = Math.fround(Math.fround(5.1) / 255);
    expect(out(r, 1).data[0]).toBeCloseTo(scale, 7);
    expect(out(r, 2).data[0]).toBe(0);
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([50, 100, 150, 255]);
  });
  it('an all-zero input gives scale 1 (as onnxruntime) and zeros, not NaN', () => {
    const r = runOp('DynamicQuantizeLinear', [f32([2], [0, 0])]);
    expect(out(r, 1).data[0]).toBe(1);
    expect(out(r, 2).data[0]).toBe(0);
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([0, 0]);
  });
});

describe('MatMulInteger', () => {
  it('subtracts per-row and per-column zero points', () => {
    const a = u8([2, 2], [1, 2, 3, 4]), b = u8([2, 2], [5, 6, 7, 8]);
    const r = runOp('MatMulInteger', [a, b, u8([2], [1, 0]), u8([2], [0, 2])]);
    // A' = [[0,1],[3,4]], B' = [[5,4],[7,6]]
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([7, 6, 43, 36]);
    expect(out(r).dtype).toBe('int32');
  });
  it('batched with broadcasting and a 1-D right operand', () => {
    const a = i8([2, 1, 2], [1, 2, -1, -2]);
    expect(out(runOp('MatMulInteger', [a, i8([2], [3, 4])])).dims).toEqual([2, 1]);
    expect(Array.from(out(runOp('MatMulInteger', [a, i8([2], [3, 4])])).data as ArrayLike<unknown>)).toEqual([11, -11]);
  });
  it('rejects mismatched inner dims', () => {
    expect(() => runOp('MatMulInteger', [u8([1, 2], [1, 2]), u8([3, 1], [1, 2, 3])])).toThrow(ShapeError);
  });
});

describe('QLinearMatMul', () => {
  it('requantises the integer product', () => {
    const r = runOp('QLinearMatMul', [
      u8([1, 2], [2, 4]), scalar('float32', 0.5), scalar('uint8', 0),
      u8([2, 1], [3, 1]), scalar('float32', 1), scalar('uint8', 1),
      scalar('float32', 2), scalar('uint8', 10),
    ]);
    // (2*2 + 4*0) * 0.5 / 2 = 1 -> 11
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([11]);
  });
});

describe('ConvInteger', () => {
  it('pads with the zero point and uses per-channel weight zero points', () => {
    const x = u8([1, 1, 2, 2], [2, 3, 4, 5]);
    const w = u8([2, 1, 1, 1], [1, 3]);
    const r = runOp('ConvInteger', [x, w, scalar('uint8', 1), u8([2], [0, 1])], { pads: attrInts([1, 0, 0, 0]) });
    expect(out(r).dims).toEqual([1, 2, 3, 2]);
    // channel 0: (x-1)*1 with a zero row on top; channel 1: (x-1)*2
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([0, 0, 1, 2, 3, 4, 0, 0, 2, 4, 6, 8]);
  });
  it('infers symbolic spatial dims and SAME_UPPER padding', () => {
    const r = runOp('ConvInteger', [u8([1, 1, 3, 3], new Array(9).fill(1)), u8([1, 1, 2, 2], [1, 1, 1, 1])], { auto_pad: { kind: 'string', value: 'SAME_UPPER' } });
    expect(out(r).dims).toEqual([1, 1, 3, 3]);
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([4, 4, 2, 4, 4, 2, 2, 2, 1]);
  });
});

describe('QLinearConv', () => {
  it('adds the int32 bias before requantising', () => {
    const r = runOp('QLinearConv', [
      u8([1, 1, 1, 2], [10, 20]), scalar('float32', 0.5), scalar('uint8', 0),
      i8([1, 1, 1, 1], [2]), f32([1], [1]), i8([1], [0]),
      scalar('float32', 1), scalar('int8', -5), fromValues('int32', [1], [3]),
    ]);
    // (10*2+3)*0.5 = 11.5 -> 12 - 5 = 7; (20*2+3)*0.5 = 21.5 -> 22 - 5 = 17
    expect(Array.from(out(r).data as ArrayLike<unknown>)).toEqual([7, 17]);
    expect(out(r).dtype).toBe('int8');
  });
});
