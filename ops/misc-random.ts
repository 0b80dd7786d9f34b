// Random-number ops (RandomNormal, RandomUniform, their *Like forms, Multinomial, Bernoulli). Values cannot match
// another runtime bit for bit; what is exact is the dtype, the shape and the distribution. A given seed makes the
// output reproducible; without one each run draws a fresh seed.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { dtypeFromOnnx, isNumeric } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { allocate, getNumber, makeTensor, setElement, sizeOf } from '../ir/tensor.js';
import { mulberry32 } from '../ir/random.js';
import type { AnyOpDef } from './schema.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, tensorOf } from './util.js';

const FLOATS: readonly DType[] = ['float32', 'float16', 'float64', 'bfloat16'];
/** Refuse to materialise more than this many random values (a hostile shape attribute). */
const MAX_ELEMENTS = 1 << 28;

/** A small seeded generator (mulberry32 pairs -> 53-bit doubles in [0, 1)). */
export function rng(seed: number | undefined): () => number {
  const next32 = mulberry32(seed === undefined ? (Math.random() * 2 ** 32) >>> 0 : hashSeed(seed));
  return () => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
}

function hashSeed(seed: number): number {
  const f = new Float64Array([seed]);
  const u = new Uint32Array(f.buffer);
  return (Math.imul(u[0]! ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(u[1]!, 0xc2b2ae35)) >>> 0;
}

/** A standard normal draw (Box-Muller). */
function normal(u: () => number): number {
  let a = u();
  while (a === 0) a = u();
  return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * u());
}

function checkShape(shape: readonly number[]): void {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(`shape must have non-negative dims, got [${shape.join(',')}]`);
  if (sizeOf(shape) > MAX_ELEMENTS) throw new ShapeError(`shape [${shape.join(',')}] asks for more than ${MAX_ELEMENTS} random values`);
}

function floatOut(code: number | undefined, fallback: DType | undefined): DType {
  const t = code !== undefined ? dtypeFromOnnx(code) : fallback;
  if (t === undefined || !FLOATS.includes(t)) throw new ShapeError(`dtype must be a float type, got ${t ?? 'none'}`);
  return t;
}

/** Fill a tensor of `dtype`/`dims` with draws (rounded to the dtype as stores do). */
function fill(dtype: DType, dims: readonly number[], draw: () => number): Tensor {
  checkShape(dims);
  const n = sizeOf(dims);
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) setElement(dtype, data, i, draw());
  return makeTensor(dtype, dims, data);
}

const RandomNormal = defineOp({
  op: 'RandomNormal',
  attrs: { dtype: attr.int(1), mean: attr.float(0), scale: attr.float(1), seed: attr.float(), shape: attr.ints.required() },
  inputs: [0, 0],
  outputs: [1, 1],
  infer(ctx) { checkShape(ctx.attrs.shape); return [tensorOf(floatOut(ctx.attrs.dtype, undefined), ctx.attrs.shape)]; },
  run(ctx) {
    const a = ctx.attrs, u = rng(a.seed);
    return [fill(floatOut(a.dtype, undefined), a.shape, () => a.mean + a.scale * normal(u))];
  },
});

const RandomUniform = defineOp({
  op: 'RandomUniform',
  attrs: { dtype: attr.int(1), high: attr.float(1), low: attr.float(0), seed: attr.float(), shape: attr.ints.required() },
  inputs: [0, 0],
  outputs: [1, 1],
  infer(ctx) { checkShape(ctx.attrs.shape); return [tensorOf(floatOut(ctx.attrs.dtype, undefined), ctx.attrs.shape)]; },
  run(ctx) {
    const a = ctx.attrs, u = rng(a.seed);
    return [fill(floatOut(a.dtype, undefined), a.shape, () => a.low + (a.high - a.low) * u())];
  },
});

const RandomNormalLike = defineOp({
  op: 'RandomNormalLike',
  attrs: { dtype: attr.int(), mean: attr.float(0), scale: attr.float(1), seed: attr.float() },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) { const x = inType(ctx, 0); return [tensorOf(floatOut(ctx.attrs.dtype, x.dtype), x.shape)]; },
  run(ctx) {
    const a = ctx.attrs, x = input(ctx, 0), u = rng(a.seed);
    return [fill(floatOut(a.dtype, x.dtype), x.dims, () => a.mean + a.scale * normal(u))];
  },
});

const RandomUniformLike = defineOp({
  op: 'RandomUniformLike',
  attrs: { dtype: attr.int(), high: attr.float(1), low: attr.float(0), seed: attr.float() },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) { const x = inType(ctx, 0); return [tensorOf(floatOut(ctx.attrs.dtype, x.dtype), x.shape)]; },
  run(ctx) {
    const a = ctx.attrs, x = input(ctx, 0), u = rng(a.seed);
    return [fill(floatOut(a.dtype, x.dtype), x.dims, () => a.low + (a.high - a.low) * u())];
  },
});

function intOut(code: number): DType {
  const t = dtypeFromOnnx(code);
  if (t !== 'int32' && t !== 'int64') throw new ShapeError(`dtype must be int32 or int64, got ${t}`);
  return t;
}

const Multinomial = defineOp({
  op: 'Multinomial',
  attrs: { dtype: attr.int(6), sample_size: attr.int(1), seed: attr.float() },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectDType(x, FLOATS, 'input');
    if (x.shape && x.shape.length !== 2) throw new ShapeError(`input must be [batch, classes], got rank ${x.shape.length}`);
    if (ctx.attrs.sample_size < 1 || ctx.attrs.sample_size > MAX_ELEMENTS) throw new ShapeError(`sample_size must be in 1..${MAX_ELEMENTS}`);
    return [tensorOf(intOut(ctx.attrs.dtype), x.shape ? [x.shape[0]!, ctx.attrs.sample_size] : undefined)];
  },
  run(ctx) {
    const x = input(ctx, 0), a = ctx.attrs, u = rng(a.seed);
    if (x.dims.length !== 2) throw new KernelError('input must be [batch, classes]');
    const [B, C] = x.dims as [number, number];
    const dims = [B, a.sample_size];
    checkShape(dims);
    const out = makeTensor(intOut(a.dtype), dims);
    // input rows are unnormalised log-probabilities: sample from softmax(row) by inverse CDF
    const cdf = new Float64Array(C);
    for (let b = 0; b < B; b++) {
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, getNumber(x, b * C + c));
      let acc = 0;
      for (let c = 0; c < C; c++) { acc += Math.exp(getNumber(x, b * C + c) - max); cdf[c] = acc; }
      for (let s = 0; s < a.sample_size; s++) {
        const r = u() * acc;
        let c = 0;
        while (c < C - 1 && cdf[c]! <= r) c++;
        setElement(out.dtype, out.data, b * a.sample_size + s, c);
      }
    }
    return [out];
  },
});

const Bernoulli = defineOp({
  op: 'Bernoulli',
  attrs: { dtype: attr.int(), seed: attr.float() },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectDType(x, FLOATS, 'input');
    const t = ctx.attrs.dtype !== undefined ? dtypeFromOnnx(ctx.attrs.dtype) : x.dtype;
    if (!isNumeric(t) && t !== 'bool') throw new ShapeError(`dtype must be numeric or bool, got ${t}`);
    return [tensorOf(t, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0), a = ctx.attrs, u = rng(a.seed);
    const t = a.dtype !== undefined ? dtypeFromOnnx(a.dtype) : x.dtype;
    const out = makeTensor(t, x.dims);
    for (let i = 0; i < x.data.length; i++) {
      const p = getNumber(x, i);
      if (!(p >= 0 && p <= 1)) throw new KernelError(`Bernoulli probability ${p} is outside [0, 1]`);
      setElement(t, out.data, i, t === 'int64' || t === 'uint64' ? BigInt(u() < p ? 1 : 0) : u() < p ? 1 : 0);
    }
    return [out];
  },
});

/** Random ops: never merged, folded or evaluated at compile time (their traits say so). */
export const randomOps: AnyOpDef[] = [RandomNormal, RandomUniform, RandomNormalLike, RandomUniformLike, Multinomial, Bernoulli]
  .map((d) => ({ ...d, traits: { deterministic: false } }));
