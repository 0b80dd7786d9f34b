// Integer convolutions: ConvInteger (int32 accumulation) and QLinearConv (quantised in and out). The conv
// geometry (pads, auto_pad, strides, dilations, groups) is our own small N-D loop, independent of ops/conv.ts.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import { getNumber, makeTensor, sizeOf, stridesOf } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import type { AnyOpDef, AttrsOf } from './schema.js';
import { defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf } from './util.js';
import { INT8ISH, SCALE_TYPES, roundHalfEven, saturate } from './quant-util.js';
import { convAttrs } from './conv-window.js';

/** Largest output (elements) the reference conv will allocate. */
const MAX_OUTPUT = 1 << 28;

type ConvAttrs = AttrsOf<typeof convAttrs>;

/** Resolved geometry for `s` spatial dims. */
interface Geometry { kernel: number[]; strides: number[]; dilations: number[]; padBegin: number[]; out: number[] }

function spatialOut(inp: number, k: number, stride: number, dil: number, pb: number, pe: number): number {
  return Math.floor((inp + pb + pe - dil * (k - 1) - 1) / stride) + 1;
}

/** Output spatial dims (symbolic where the input dim is) and, for concrete inputs, the begin pads. */
export function convGeometry(a: ConvAttrs, inSpatial: readonly Dim[], wSpatial: readonly Dim[], fresh: () => Dim): { out: Dim[]; padBegin: number[] } {
  const s = inSpatial.length;
  const kernel = a.kernel_shape ?? wSpatial;
  if (kernel.length !== s) throw new ShapeError(`kernel_shape has ${kernel.length} dims; the input has ${s} spatial dims`);
  const strides = a.strides ?? new Array<number>(s).fill(1);
  const dil = a.dilations ?? new Array<number>(s).fill(1);
  if (strides.length !== s || dil.length !== s) throw new ShapeError(`strides and dilations must have ${s} values`);
  if (strides.some((v) => v < 1) || dil.some((v) => v < 1)) throw new ShapeError('strides and dilations must be >= 1');
  const pads = a.pads ?? new Array<number>(2 * s).fill(0);
  if (pads.length !== 2 * s) throw new ShapeError(`pads must have ${2 * s} values, got ${pads.length}`);
  if (pads.some((p) => p < 0)) throw new ShapeError('pads must be >= 0');
  const out: Dim[] = [], padBegin: number[] = [];
  for (let i = 0; i < s; i++) {
    const d = inSpatial[i]!, k = kernel[i]!;
    if (typeof k !== 'number') { out.push(fresh()); padBegin.push(0); continue; }
    const ek = dil[i]! * (k - 1) + 1;
    switch (a.auto_pad) {
      case 'NOTSET': case '':
        padBegin.push(pads[i]!);
        out.push(typeof d === 'number' ? spatialOut(d, k, strides[i]!, dil[i]!, pads[i]!, pads[i + s]!) : fresh());
        break;
      case 'VALID':
        padBegin.push(0);
        out.push(typeof d === 'number' ? spatialOut(d, k, strides[i]!, dil[i]!, 0, 0) : fresh());
        break;
      case 'SAME_UPPER': case 'SAME_LOWER': {
        if (typeof d !== 'number') { out.push(fresh()); padBegin.push(0); break; }
        const o = Math.ceil(d / strides[i]!);
        const total = Math.max(0, (o - 1) * strides[i]! + ek - d);
        padBegin.push(a.auto_pad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2));
        out.push(o);
        break;
      }
      default: throw new ShapeError(`auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '${a.auto_pad}'`);
    }
  }
  for (const o of out) if (typeof o === 'number' && o < 0) throw new ShapeError('the kernel is larger than the padded input');
  return { out, padBegin };
}

/** Output shape [N, M, ...spatial] of a conv over x [N, C, ...] with w [M, C/group, ...]. */
function convShape(a: ConvAttrs, x: readonly Dim[] | undefined, w: readonly Dim[] | undefined, fresh: () => Dim): Dim[] | undefined {
  if (x === undefined || w === undefined) return undefined;
  if (x.length < 3) throw new ShapeError(`conv input must have rank >= 3, got ${x.length}`);
  if (w.length !== x.length) throw new ShapeError(`weight rank ${w.length} must equal input rank ${x.length}`);
  const c = x[1]!, cw = w[1]!, m = w[0]!;
  if (a.group < 1) throw new ShapeError(`group must be >= 1, got ${a.group}`);
  if (typeof c === 'number' && typeof cw === 'number' && c !== cw * a.group) {
    throw new ShapeError(`input channels ${c} must equal weight channels ${cw} x group ${a.group}`);
  }
  if (typeof m === 'number' && m % a.group !== 0) throw new ShapeError(`output channels ${m} must be divisible by group ${a.group}`);
  return [x[0]!, m, ...convGeometry(a, x.slice(2), w.slice(2), fresh).out];
}

/** Integer conv with zero points; `emit(outIndex, acc, outChannel)` per output element. */
function intConv(a: ConvAttrs, x: Tensor, w: Tensor, xZero: number, wZero: (m: number) => number,
  emit: (o: number, acc: number, m: number) => void): number[] {
  const dims = convShape(a, x.dims, w.dims, () => { throw new KernelError('conv output size unknown'); }) as number[];
  // huge pads in a hostile model must not turn into a huge allocation
  if (sizeOf(dims) > MAX_OUTPUT) throw new KernelError(`conv output [${dims.join(',')}] is too large`);
  const { padBegin } = convGeometry(a, x.dims.slice(2), w.dims.slice(2), () => 0);
  const s = x.dims.length - 2;
  const kernel = w.dims.slice(2);
  const strides = a.strides ?? new Array<number>(s).fill(1);
  const dil = a.dilations ?? new Array<number>(s).fill(1);
  const [N, C] = x.dims as [number, number];
  const M = w.dims[0]!, cg = w.dims[1]!, mg = M / a.group;
  const inSp = x.dims.slice(2), outSp = dims.slice(2);
  const inStr = stridesOf(inSp), kStr = stridesOf(kernel), outStr = stridesOf(outSp);
  const nOut = sizeOf(outSp), nK = sizeOf(kernel), inSize = sizeOf(inSp);
  const pos = new Array<number>(s);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = Math.floor(m / mg), zw = wZero(m);
      for (let o = 0; o < nOut; o++) {
        let acc = 0;
        for (let ci = 0; ci < cg; ci++) {
          const c = g * cg + ci;
          for (let kk = 0; kk < nK; kk++) {
            let off = 0, inside = true;
            for (let d = 0; d < s; d++) {
              const od = Math.floor(o / outStr[d]!) % outSp[d]!;
              const kd = Math.floor(kk / kStr[d]!) % kernel[d]!;
              pos[d] = od * strides[d]! - padBegin[d]! + kd * dil[d]!;
              if (pos[d]! < 0 || pos[d]! >= inSp[d]!) { inside = false; break; }
              off += pos[d]! * inStr[d]!;
            }
            // padding holds the zero point, i.e. contributes zero after subtraction
            if (!inside) continue;
            const xv = getNumber(x, (n * C + c) * inSize + off) - xZero;
            acc += xv * (getNumber(w, (m * cg + ci) * nK + kk) - zw);
          }
        }
        emit((n * M + m) * nOut + o, acc, m);
      }
    }
  }
  return dims;
}

function scalarOf(t: Tensor | undefined, what: string): number {
  if (t === undefined) return 0;
  if (sizeOf(t.dims) !== 1) throw new KernelError(`${what} must be a scalar (per-tensor)`);
  return getNumber(t, 0);
}

/** Per-output-channel lookup: a scalar or M values. */
function perChannel(t: Tensor | undefined, M: number, what: string): (m: number) => number {
  if (t === undefined) return () => 0;
  const n = sizeOf(t.dims);
  if (n === 1) { const v = getNumber(t, 0); return () => v; }
  if (n !== M) throw new KernelError(`${what} has ${n} elements; expected 1 or ${M} (output channels)`);
  return (m) => getNumber(t, m);
}

const ConvInteger = defineOp({
  op: 'ConvInteger',
  attrs: convAttrs,
  inputs: [2, 4],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0), w = inType(ctx, 1);
    expectDType(x, INT8ISH, 'x');
    expectDType(w, INT8ISH, 'w');
    const zx = optInType(ctx, 2), zw = optInType(ctx, 3);
    if (zx && zx.dtype !== x.dtype) throw new ShapeError('x_zero_point must have the type of x');
    if (zw && zw.dtype !== w.dtype) throw new ShapeError('w_zero_point must have the type of w');
    return [tensorOf('int32', convShape(ctx.attrs, x.shape, w.shape, () => ctx.freshDim('conv')))];
  },
  run(ctx) {
    const x = input(ctx, 0), w = input(ctx, 1);
    const zx = scalarOf(optInput(ctx, 2), 'x_zero_point');
    const zw = perChannel(optInput(ctx, 3), w.dims[0]!, 'w_zero_point');
    const vals: number[] = [];
    const dims = intConv(ctx.attrs, x, w, zx, zw, (o, acc) => { vals[o] = acc; });
    return [makeTensor('int32', dims, Int32Array.from(vals))];
  },
});

const QLinearConv = defineOp({
  op: 'QLinearConv',
  attrs: convAttrs,
  inputs: [8, 9],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0), w = inType(ctx, 3), yz = inType(ctx, 7), bias = optInType(ctx, 8);
    expectDType(x, INT8ISH, 'x');
    expectDType(w, INT8ISH, 'w');
    expectDType(yz, INT8ISH, 'y_zero_point');
    for (const i of [1, 4, 6]) expectDType(inType(ctx, i), SCALE_TYPES, `input ${i} (scale)`);
    if (inType(ctx, 2).dtype !== x.dtype) throw new ShapeError('x_zero_point must have the type of x');
    if (inType(ctx, 5).dtype !== w.dtype) throw new ShapeError('w_zero_point must have the type of w');
    if (bias) expectDType(bias, ['int32'], 'B');
    return [tensorOf(yz.dtype, convShape(ctx.attrs, x.shape, w.shape, () => ctx.freshDim('conv')))];
  },
  run(ctx) {
    const x = input(ctx, 0), w = input(ctx, 3), bias = optInput(ctx, 8);
    const M = w.dims[0]!;
    const sx = scalarOf(input(ctx, 1), 'x_scale'), zx = scalarOf(input(ctx, 2), 'x_zero_point');
    const sw = perChannel(input(ctx, 4), M, 'w_scale'), zw = perChannel(input(ctx, 5), M, 'w_zero_point');
    const sy = scalarOf(input(ctx, 6), 'y_scale'), yzT = input(ctx, 7), zy = scalarOf(yzT, 'y_zero_point');
    const b = perChannel(bias, M, 'B');
    if (bias && sizeOf(bias.dims) !== M) throw new KernelError(`B must have ${M} elements, got ${sizeOf(bias.dims)}`);
    const out = yzT.dtype;
    const vals: number[] = [];
    const dims = intConv(ctx.attrs, x, w, zx, zw, (o, acc, m) => {
      const real = Math.fround((acc + b(m)) * Math.fround(sx * sw(m) / sy));
      vals[o] = saturate(roundHalfEven(real) + zy, out);
    });
    const y = makeTensor(out, dims);
    (y.data as Int8Array | Uint8Array).set(vals);
    return [y];
  },
});

export const quantConvOps: AnyOpDef[] = [ConvInteger, QLinearConv];
