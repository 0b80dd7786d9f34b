// Linear quantisation: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear (per-tensor, per-axis, blocked).
// The integer-arithmetic ops (MatMulInteger, ConvInteger, QLinear*) live in quant-matmul.ts and quant-conv.ts.

import { ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { dtypeFromOnnx } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { allocate, getNumber, makeTensor, roundToDType } from '../ir/tensor.js';
import type { AnyOpDef } from './schema.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf } from './util.js';
import {
  QUANT_INT_TYPES, SCALE_TYPES, checkZeroPointShape, quantLayout, roundHalfEven, roundToFloat, saturate, scaleIndexer, zeroAt,
} from './quant-util.js';
import { quantMatmulOps } from './quant-matmul.js';
import { quantConvOps } from './quant-conv.js';

/** The quantised output type: the zero point's type, else output_dtype, else uint8. */
function quantOutputType(zp: DType | undefined, outputDtype: number): DType {
  const fromAttr = outputDtype !== 0 ? dtypeFromOnnx(outputDtype) : undefined;
  if (zp !== undefined && fromAttr !== undefined && zp !== fromAttr) {
    throw new ShapeError(`output_dtype ${fromAttr} disagrees with the zero point's type ${zp}`);
  }
  const t = zp ?? fromAttr ?? 'uint8';
  if (!QUANT_INT_TYPES.includes(t)) throw new ShapeError(`quantised type must be one of ${QUANT_INT_TYPES.join(', ')}, got ${t}`);
  return t;
}

/** Quantise one value: saturate(round_half_even(x / scale) + zp). `prec` is the type the division happens in. */
export function quantizeValue(x: number, scale: number, zp: number, out: DType, prec: DType): number {
  return saturate(roundHalfEven(roundToFloat(x / scale, prec)) + zp, out);
}

const QuantizeLinear = defineOp({
  op: 'QuantizeLinear',
  attrs: { axis: attr.int(1), block_size: attr.int(0), output_dtype: attr.int(0), precision: attr.int(0), saturate: attr.int(1) },
  inputs: [2, 3],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0), scale = inType(ctx, 1), zp = optInType(ctx, 2);
    expectDType(x, ['float32', 'float16', 'bfloat16', 'int32'], 'x');
    expectDType(scale, [...SCALE_TYPES, 'int32'], 'y_scale');
    if (ctx.attrs.precision !== 0) expectDType(tensorOf(dtypeFromOnnx(ctx.attrs.precision)), SCALE_TYPES, 'precision');
    quantLayout(x, scale, ctx.attrs.axis, ctx.attrs.block_size, 'y_scale');
    checkZeroPointShape(scale, zp, 'y_zero_point');
    return [tensorOf(quantOutputType(zp?.dtype, ctx.attrs.output_dtype), x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0), scale = input(ctx, 1), zp = optInput(ctx, 2);
    const out = quantOutputType(zp?.dtype, ctx.attrs.output_dtype);
    const prec: DType = ctx.attrs.precision !== 0 ? dtypeFromOnnx(ctx.attrs.precision)
      : scale.dtype === 'int32' ? 'float32' : scale.dtype;
    const at = scaleIndexer(x, scale, ctx.attrs.axis, ctx.attrs.block_size);
    const y = allocate(out, x.data.length) as Exclude<Tensor['data'], BigInt64Array | BigUint64Array | string[]>;
    for (let i = 0; i < y.length; i++) {
      const j = at(i);
      y[i] = quantizeValue(getNumber(x, i), getNumber(scale, j), zeroAt(zp, j), out, prec);
    }
    return [makeTensor(out, x.dims, y)];
  },
});

const DequantizeLinear = defineOp({
  op: 'DequantizeLinear',
  attrs: { axis: attr.int(1), block_size: attr.int(0), output_dtype: attr.int(0) },
  inputs: [2, 3],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0), scale = inType(ctx, 1), zp = optInType(ctx, 2);
    expectDType(x, QUANT_INT_TYPES, 'x');
    expectDType(scale, SCALE_TYPES, 'x_scale');
    if (zp !== undefined && zp.dtype !== x.dtype) throw new ShapeError(`x_zero_point type ${zp.dtype} must match x type ${x.dtype}`);
    quantLayout(x, scale, ctx.attrs.axis, ctx.attrs.block_size, 'x_scale');
    checkZeroPointShape(scale, zp, 'x_zero_point');
    return [tensorOf(dequantOutputType(scale.dtype, ctx.attrs.output_dtype), x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0), scale = input(ctx, 1), zp = optInput(ctx, 2);
    const out = dequantOutputType(scale.dtype, ctx.attrs.output_dtype);
    const at = scaleIndexer(x, scale, ctx.attrs.axis, ctx.attrs.block_size);
    const y = makeTensor(out, x.dims);
    const d = y.data as Float32Array;
    for (let i = 0; i < d.length; i++) {
      const j = at(i);
      // (x - zp) is formed in float32 first, as the reference and ORT do
      d[i] = roundToFloat(Math.fround(getNumber(x, i) - zeroAt(zp, j)) * getNumber(scale, j), scale.dtype);
    }
    return [roundToDType(y)];
  },
});

function dequantOutputType(scale: DType, outputDtype: number): DType {
  if (outputDtype === 0) return scale;
  const t = dtypeFromOnnx(outputDtype);
  if (!SCALE_TYPES.includes(t)) throw new ShapeError(`output_dtype must be one of ${SCALE_TYPES.join(', ')}, got ${t}`);
  return t;
}

const DynamicQuantizeLinear = defineOp({
  op: 'DynamicQuantizeLinear',
  attrs: {},
  inputs: [1, 1],
  outputs: [3, 3],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectDType(x, ['float32'], 'x');
    return [tensorOf('uint8', x.shape), tensorOf('float32', []), tensorOf('uint8', [])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const xd = x.data as Float32Array;
    // the range always includes 0 so that 0 is exactly representable
    let lo = 0, hi = 0;
    for (const v of xd) { if (v < lo) lo = v; if (v > hi) hi = v; }
    // an all-zero (or empty) input would give scale 0 and a NaN zero point; like onnxruntime, use scale 1 instead
    const scale = hi === lo ? 1 : Math.fround(Math.fround(hi - lo) / 255);
    const zp = saturate(roundHalfEven(Math.fround(0 - Math.fround(lo / scale))), 'uint8');
    const y = new Uint8Array(xd.length);
    for (let i = 0; i < xd.length; i++) y[i] = quantizeValue(xd[i]!, scale, zp, 'uint8', 'float32');
    return [
      makeTensor('uint8', x.dims, y),
      makeTensor('float32', [], Float32Array.of(scale)),
      makeTensor('uint8', [], Uint8Array.of(zp)),
    ];
  },
});

export const quantOps: AnyOpDef[] = [QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, ...quantMatmulOps, ...quantConvOps];
