// Activation ops: pointwise nonlinearities as data (number function per op), plus PRelu (slope broadcast to X)
// and SwiGLU (two same-shape inputs).

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { attr, defineOp, type AnyOpDef } from './schema.js';
import { broadcastShapes, input } from './util.js';
import { FLOATS, mapBinary, NUMERIC, SIGNED_INTS, tensorType, typedInput, type Elem } from './elementwise-kernel.js';
import { erf, floatOp, unaryOp } from './elementwise-unary.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
/** log(1 + e^x) without overflow for large x. */
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

const relu = unaryOp({
  op: 'Relu', types: [...FLOATS, ...SIGNED_INTS],
  kernels: () => ({ num: (x) => (x < 0 ? 0 : x), big: (x) => (x < 0n ? 0n : x) }),
});

const leakyRelu = unaryOp({
  op: 'LeakyRelu', types: FLOATS, attrs: { alpha: attr.float(0.01) },
  kernels: (_d, a) => ({ num: (x) => (x < 0 ? a.alpha * x : x) }),
});

const elu = unaryOp({
  op: 'Elu', types: FLOATS, attrs: { alpha: attr.float(1.0) },
  kernels: (_d, a) => ({ num: (x) => (x < 0 ? a.alpha * Math.expm1(x) : x) }),
});

const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;
const selu = unaryOp({
  op: 'Selu', types: FLOATS, attrs: { alpha: attr.float(SELU_ALPHA), gamma: attr.float(SELU_GAMMA) },
  kernels: (_d, a) => ({ num: (x) => (x > 0 ? a.gamma * x : a.gamma * (a.alpha * Math.exp(x) - a.alpha)) }),
});

const celu = unaryOp({
  op: 'Celu', types: FLOATS, attrs: { alpha: attr.float(1.0) },
  check: (_d, a) => { if (a.alpha === 0) throw new ShapeError('Celu alpha must not be 0'); },
  kernels: (_d, a) => ({ num: (x) => Math.max(0, x) + Math.min(0, a.alpha * Math.expm1(x / a.alpha)) }),
});

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const gelu = unaryOp({
  op: 'Gelu', types: FLOATS, attrs: { approximate: attr.string('none') },
  check: (_d, a) => {
    if (a.approximate !== 'none' && a.approximate !== 'tanh') throw new ShapeError(`Gelu approximate must be 'none' or 'tanh', got '${a.approximate}'`);
  },
  kernels: (_d, a) => ({
    num: a.approximate === 'tanh'
      ? (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
      : (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  }),
});

const hardSigmoid = unaryOp({
  op: 'HardSigmoid', types: FLOATS, attrs: { alpha: attr.float(0.2), beta: attr.float(0.5) },
  kernels: (_d, a) => ({ num: (x) => Math.max(0, Math.min(1, a.alpha * x + a.beta)) }),
});

const thresholdedRelu = unaryOp({
  op: 'ThresholdedRelu', types: FLOATS, attrs: { alpha: attr.float(1.0) },
  kernels: (_d, a) => ({ num: (x) => (x > a.alpha ? x : 0) }),
});

const shrink = unaryOp({
  op: 'Shrink', types: NUMERIC, attrs: { bias: attr.float(0.0), lambd: attr.float(0.5) },
  kernels: (_d, a) => {
    const f = (x: number): number => (x < -a.lambd ? x + a.bias : x > a.lambd ? x - a.bias : 0);
    return { num: f, big: (x) => BigInt(Math.trunc(f(Number(x)))) };
  },
});

const swish = unaryOp({
  op: 'Swish', types: FLOATS, attrs: { alpha: attr.float(1.0) },
  kernels: (_d, a) => ({ num: (x) => x * sigmoid(a.alpha * x) }),
});

// ---- two-input activations ------------------------------------------------------------------------------------

const PRELU_TYPES: readonly DType[] = [...FLOATS, 'int32', 'int64', 'uint32', 'uint64'];

const prelu = defineOp({
  op: 'PRelu', attrs: {}, inputs: [2, 2], outputs: [1, 1],
  traits: { elementwise: true },
  infer(ctx) {
    const x = typedInput(ctx, 0, PRELU_TYPES, 'X');
    const slope = typedInput(ctx, 1, PRELU_TYPES, 'slope');
    if (slope.dtype !== x.dtype) throw new ShapeError(`PRelu slope has type ${slope.dtype}; expected X's ${x.dtype}`);
    if (x.shape !== undefined && slope.shape !== undefined) {
      // unidirectional: slope must broadcast to X without changing X's shape
      const b = broadcastShapes(x.shape, slope.shape);
      if (b.length !== x.shape.length || b.some((d, i) => typeof d === 'number' && typeof x.shape![i] === 'number' && d !== x.shape![i])) {
        throw new ShapeError(`PRelu slope [${slope.shape.join(',')}] does not broadcast to X [${x.shape.join(',')}]`);
      }
    }
    return [tensorType(x.dtype, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const slope = input(ctx, 1);
    return [mapBinary(x, slope, x.dtype, (v: Elem, s: Elem) => ((v as number) < 0 ? (typeof v === 'bigint' ? v * (s as bigint) : (v as number) * (s as number)) : v))];
  },
});

const swiglu = defineOp({
  op: 'SwiGLU', attrs: { alpha: attr.float(1.0) }, inputs: [2, 2], outputs: [1, 1],
  infer(ctx) {
    const a = typedInput(ctx, 0, FLOATS, 'A');
    const b = typedInput(ctx, 1, FLOATS, 'B');
    if (a.dtype !== b.dtype) throw new ShapeError(`SwiGLU A and B must share one element type; got ${a.dtype} and ${b.dtype}`);
    if (a.shape !== undefined && b.shape !== undefined) {
      const same = a.shape.length === b.shape.length
        && a.shape.every((d, i) => typeof d !== 'number' || typeof b.shape![i] !== 'number' || d === b.shape![i]);
      if (!same) throw new ShapeError(`SwiGLU A [${a.shape.join(',')}] and B [${b.shape.join(',')}] must have one shape (no broadcasting)`);
    }
    return [tensorType(a.dtype, a.shape ?? b.shape)];
  },
  run(ctx) {
    const a = input(ctx, 0);
    const b = input(ctx, 1);
    if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) {
      throw new KernelError(`SwiGLU A [${a.dims.join(',')}] and B [${b.dims.join(',')}] must have one shape`);
    }
    const alpha = ctx.attrs.alpha;
    return [mapBinary(a, b, a.dtype, (x, y) => (x as number) * sigmoid(alpha * (x as number)) * (y as number))];
  },
});

export const activationOps: AnyOpDef[] = [
  relu, leakyRelu, elu, selu, celu, gelu, hardSigmoid, thresholdedRelu, shrink, swish,
  floatOp('Sigmoid', sigmoid),
  floatOp('HardSwish', (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5))),
  floatOp('Mish', (x) => x * Math.tanh(softplus(x))),
  floatOp('Softplus', softplus),
  floatOp('Softsign', (x) => x / (1 + Math.abs(x))),
  prelu as unknown as AnyOpDef, swiglu as unknown as AnyOpDef,
];
