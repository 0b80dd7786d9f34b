// Activation ops against hand-computed values, including attributes, integer Relu/PRelu, float16 rounding and
// the shape rules of PRelu (unidirectional broadcast) and SwiGLU (no broadcast).

import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../ir/errors.js';
import { attrFloat, attrString, type Attr } from '../../ir/graph.js';
import type { DType } from '../../ir/dtype.js';
import { f16Round } from '../../ir/float16.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { out, runOp } from '../helpers/run-op.js';

const t = (dtype: DType, dims: number[], v: ArrayLike<number | bigint>): Tensor => fromValues(dtype, dims, v);
const f64 = (v: number[]) => t('float64', [v.length], v);
const vals = (x: Tensor): number[] => Array.from(x.data as ArrayLike<number>);
const run1 = (op: string, inputs: Tensor[], attrs: Record<string, Attr> = {}): Tensor => out(runOp(op, inputs, attrs));

function close(got: number[], want: number[], digits = 12): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, digits));
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));

describe('pointwise activations', () => {
  const x = [-2, -0.5, 0, 0.5, 2];
  it('Relu on floats and signed integers', () => {
    expect(vals(run1('Relu', [f64(x)]))).toEqual([0, 0, 0, 0.5, 2]);
    expect(Array.from(run1('Relu', [t('int64', [2], [-3n, 3n])]).data as BigInt64Array)).toEqual([0n, 3n]);
    expect(() => runOp('Relu', [t('uint8', [1], [1])])).toThrow(ShapeError);
  });
  it('LeakyRelu, Elu, Selu, Celu, ThresholdedRelu with attributes', () => {
    close(vals(run1('LeakyRelu', [f64(x)], { alpha: attrFloat(0.1) })), [-0.2, -0.05, 0, 0.5, 2]);
    close(vals(run1('Elu', [f64(x)])), [Math.exp(-2) - 1, Math.exp(-0.5) - 1, 0, 0.5, 2]);
    const [a, g] = [1.67326319217681884765625, 1.05070102214813232421875];
    close(vals(run1('Selu', [f64(x)])), x.map((v) => (v > 0 ? g * v : g * a * (Math.exp(v) - 1))));
    close(vals(run1('Celu', [f64(x)], { alpha: attrFloat(2) })), x.map((v) => Math.max(0, v) + Math.min(0, 2 * (Math.exp(v / 2) - 1))));
    expect(vals(run1('ThresholdedRelu', [f64(x)], { alpha: attrFloat(0.5) }))).toEqual([0, 0, 0, 0, 2]);
  });
  it('Sigmoid, HardSigmoid, HardSwish, Softplus, Softsign, Mish, Swish', () => {
    close(vals(run1('Sigmoid', [f64(x)])), x.map(sig));
    close(vals(run1('HardSigmoid', [f64(x)])), [0.1, 0.4, 0.5, 0.6, 0.9]);
    close(vals(run1('HardSwish', [f64([-4, -1, 0, 1, 4])])), [0, -1 / 3, 0, 2 / 3, 4]);
    close(vals(run1('Softplus', [f64([...x, 800, -800])])), [...x.map((v) => Math.log(1 + Math.exp(v))), 800, 0]);
    close(vals(run1('Softsign', [f64(x)])), x.map((v) => v / (1 + Math.abs(v))));
    close(vals(run1('Mish', [f64(x)])), x.map((v) => v * Math.tanh(Math.log(1 + Math.exp(v)))));
    close(vals(run1('Swish', [f64(x)], { alpha: attrFloat(2) })), x.map((v) => v * sig(2 * v)));
  });
  it('Gelu exact and tanh-approximated', () => {
    close(vals(run1('Gelu', [f64([-1, 0, 1])])), [-0.15865525393145707, 0, 0.8413447460685429]);
    const tanhGelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    close(vals(run1('Gelu', [f64(x)], { approximate: attrString('tanh') })), x.map(tanhGelu));
    expect(() => runOp('Gelu', [f64(x)], { approximate: attrString('fast') })).toThrow(ShapeError);
  });
  it('Shrink on floats and integers', () => {
    expect(vals(run1('Shrink', [f64([-2, -0.3, 0.3, 2])], { lambd: attrFloat(1), bias: attrFloat(0.5) }))).toEqual([-1.5, 0, 0, 1.5]);
    expect(vals(run1('Shrink', [t('int8', [3], [-5, 0, 5])], { lambd: attrFloat(1), bias: attrFloat(1) }))).toEqual([-4, 0, 4]);
  });
  it('rounds float16 outputs to float16', () => {
    const r = run1('Sigmoid', [t('float16', [1], [0.3])]);
    expect(r.dtype).toBe('float16');
    expect(vals(r)).toEqual([f16Round(sig(f16Round(0.3)))]);
  });
});

describe('PRelu', () => {
  it('broadcasts the slope to X (unidirectionally)', () => {
    const r = run1('PRelu', [t('float32', [2, 2], [-1, 1, -2, 2]), t('float32', [2], [0.5, 3])]);
    expect(vals(r)).toEqual([-0.5, 1, -1, 2]);
    expect(Array.from(run1('PRelu', [t('int64', [2], [-4n, 4n]), t('int64', [], [2n])]).data as BigInt64Array)).toEqual([-8n, 4n]);
  });
  it('rejects a slope that would grow X', () => {
    expect(() => runOp('PRelu', [t('float32', [2], [1, 1]), t('float32', [3, 2], [1, 1, 1, 1, 1, 1])])).toThrow(ShapeError);
  });
});

describe('SwiGLU', () => {
  it('is Swish(A) * B with alpha', () => {
    const a = [-1, 0.5, 2];
    const b = [2, 3, -1];
    close(vals(run1('SwiGLU', [f64(a), f64(b)], { alpha: attrFloat(1.5) })), a.map((v, i) => v * sig(1.5 * v) * b[i]!));
  });
  it('does not broadcast', () => {
    expect(() => runOp('SwiGLU', [f64([1, 2]), t('float64', [1], [1])])).toThrow(ShapeError);
  });
});
