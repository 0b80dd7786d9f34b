// Symmetric integer quantisation of a constant weight: per channel along one axis, or in blocks of `blockSize`
// along another (onnxruntime MatMulNBits' layout), each group's scale chosen to minimise the squared error
// (the absmax scale shrunk by up to 30%: clipping a few outliers often lowers the error of all the rest).

import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { f16Scale } from './f16-store.js';

export interface WeightQuantSpec {
  /** 8, 4 or 2: the integer range is [-2^(bits-1), 2^(bits-1) - 1]; the scale maps |w|max to 2^(bits-1) - 1. */
  readonly bits: WeightBits;
  /** The output-channel axis: one scale per index along it. */
  readonly channelAxis: number;
  /** 0: one scale per channel; else blocks of this many elements along `blockAxis`. */
  readonly blockSize: number;
  readonly blockAxis: number;
  /** Round each scale to float16 where that keeps it normal (passes/quant/f16-store.ts stores them in 2 bytes). */
  readonly f16Scales?: boolean;
  /** Also try a negative scale per group: the group's largest-magnitude weight then takes qmin (-8 at 4 bits: one more
   *  level on the side that reaches furthest than the symmetric range's ±qmax). DequantizeLinear multiplies by any
   *  scale; opt-in, for weights only dequantised by multiplication (not integer-GEMM requantisation). */
  readonly signedScales?: boolean;
}

export type WeightBits = 8 | 4 | 2;

/** The integer range of a weight width. */
export const qRange = (bits: WeightBits): { qmin: number; qmax: number } => ({ qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1 });

/** The integer dtype of a weight width. */
export const qDType = (bits: WeightBits): 'int8' | 'int4' | 'int2' => (bits === 8 ? 'int8' : bits === 4 ? 'int4' : 'int2');

export interface QuantizedWeight {
  /** int8, int4 or int2 (a byte each in the IR; packed two or four per byte in ONNX and by the backends). */
  readonly q: Tensor<'int8' | 'int4' | 'int2'>;
  /** float32, DequantizeLinear's layout: [C] per channel (axis = channelAxis), or the weight's dims with
   *  blockAxis divided by blockSize (axis = blockAxis, block_size). */
  readonly scale: Tensor<'float32'>;
  /** DequantizeLinear's axis attribute. */
  readonly axis: number;
  readonly blockSize: number;
}

/** Scale candidates tried per group, as fractions of the absmax scale. */
const SHRINK = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7];
const SHRINK2 = [1, 0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3];

export function quantizeWeight(w: Tensor, spec: WeightQuantSpec): QuantizedWeight {
  const data = w.data as Float32Array, dims = w.dims;
  const { qmin, qmax } = qRange(spec.bits);
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const blocked = spec.blockSize > 0;
  const axis = blocked ? spec.blockAxis : spec.channelAxis;
  const scaleDims = blocked ? dims.map((d, i) => (i === axis ? Math.ceil(d / spec.blockSize) : d)) : [dims[axis]!];
  const nScales = scaleDims.reduce((a, b) => a * b, 1);
  // group of element i: its scale index
  const groupOf = (i: number): number => {
    if (!blocked) return Math.floor(i / strides[axis]!) % dims[axis]!;
    let g = 0, mul = 1;
    for (let a = dims.length - 1; a >= 0; a--) {
      const c = Math.floor(i / strides[a]!) % dims[a]!;
      g += (a === axis ? Math.floor(c / spec.blockSize) : c) * mul;
      mul *= scaleDims[a]!;
    }
    return g;
  };
  const members: number[][] = Array.from({ length: nScales }, () => []);
  for (let i = 0; i < data.length; i++) members[groupOf(i)]!.push(i);
  const q = new Int8Array(data.length), scale = new Float32Array(nScales);
  members.forEach((idx, g) => {
    const best = groupScale(idx.map((i) => data[i]!), spec.bits, spec.f16Scales ?? false, spec.signedScales ?? false);
    scale[g] = best;
    for (const i of idx) q[i] = Math.min(qmax, Math.max(qmin, Math.round(data[i]! / best)));
  });
  return { q: makeTensor(qDType(spec.bits), dims, q), scale: makeTensor('float32', scaleDims, scale), axis, blockSize: spec.blockSize };
}

/** The scale of one group: the absmax scale shrunk by the SHRINK fraction with the least squared error (1 for an
 *  all-zero group), rounded to float16 when `f16` (where that keeps it normal). */
export function groupScale(vals: ArrayLike<number>, bits: WeightBits, f16: boolean, signed = false): number {
  const { qmin, qmax } = qRange(bits);
  let absMax = 0, dom = 0;
  for (let i = 0; i < vals.length; i++) if (Math.abs(vals[i]!) > absMax) { absMax = Math.abs(vals[i]!); dom = vals[i]!; }
  if (absMax === 0) return 1;
  const round = (x: number): number => (f16 ? f16Scale(Math.fround(x)) : Math.fround(x));
  let best = round(absMax / qmax), bestErr = Infinity;
  // candidates: the absmax scale shrunk; with `signed`, also the scale that maps the dominant weight to qmin
  // 2 bits: the least-error grid of a bell-shaped group clips far more (4 levels)
  const shrink = bits === 2 ? SHRINK2 : SHRINK;
  const cands = shrink.map((f) => (absMax * f) / qmax);
  if (signed) for (const f of shrink) cands.push((-Math.sign(dom) * absMax * f) / -qmin);
  for (const c of cands) {
    const s = round(c);
    let err = 0;
    for (let i = 0; i < vals.length; i++) {
      const v = Math.min(qmax, Math.max(qmin, Math.round(vals[i]! / s)));
      err += (v * s - vals[i]!) ** 2;
    }
    if (err < bestErr) { bestErr = err; best = s; }
  }
  return best;
}

/** Max |w - dequantised w| over max |w|: the relative error a layer's weights took. */
export function weightError(w: Tensor, qw: QuantizedWeight): number {
  const d = w.data as Float32Array, q = qw.q.data;
  let err = 0, mag = 0;
  const dims = w.dims, strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const sd = qw.scale.dims, blocked = qw.blockSize > 0;
  for (let i = 0; i < d.length; i++) {
    let g: number;
    if (!blocked) g = Math.floor(i / strides[qw.axis]!) % dims[qw.axis]!;
    else {
      g = 0;
      let mul = 1;
      for (let a = dims.length - 1; a >= 0; a--) {
        const c = Math.floor(i / strides[a]!) % dims[a]!;
        g += (a === qw.axis ? Math.floor(c / qw.blockSize) : c) * mul;
        mul *= sd[a]!;
      }
    }
    err = Math.max(err, Math.abs(q[i]! * qw.scale.data[g]! - d[i]!));
    mag = Math.max(mag, Math.abs(d[i]!));
  }
  return mag === 0 ? 0 : err / mag;
}
