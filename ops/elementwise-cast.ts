// Cast, CastLike and BitCast. Cast follows ONNX's rules (string parsing and printing, float->int truncation) and,
// where ONNX leaves a result undefined (NaN or out-of-range float->int), what onnxruntime gives on x86.

import { KernelError, OnnxImportError, ShapeError, assertNever } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { byteSize, dtypeFromOnnx, isBigInt, isFloat, isSubByte, onnxCode, subByteBits } from '../ir/dtype.js';
import { bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits } from '../ir/float16.js';
import type { Tensor, TensorData } from '../ir/tensor.js';
import { allocate, wrapBits } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { attr, defineOp, type AnyOpDef } from './schema.js';
import { input } from './util.js';
import { ALL_TYPES, mapUnary, tensorType, typedInput, type Elem } from './elementwise-kernel.js';
import { roundHalfEven } from './elementwise-unary.js';

// ---- float formats -----------------------------------------------------------------------------------------

/** Round a double straight to a binary float format (no detour through float32, so no double rounding). */
function roundToFormat(x: number, mantBits: number, minExp: number, maxFinite: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const ax = Math.abs(x);
  let e = Math.floor(Math.log2(ax));
  if (2 ** e > ax) e--;
  else if (2 ** (e + 1) <= ax) e++;
  const q = 2 ** (Math.max(e, minExp) - mantBits);
  const r = roundHalfEven(ax / q) * q;
  return Math.sign(x) * (r > maxFinite ? Infinity : r);
}
export const toF16 = (x: number): number => roundToFormat(x, 10, -14, 65504);
export const toBF16 = (x: number): number => roundToFormat(x, 7, -126, 3.3895313892515355e38);

/** A bigint rounded once, to nearest even, to a float with `mantBits` stored bits (Number(v) first would round
 *  twice for |v| > 2^53). */
export function bigToFloat(v: bigint, mantBits: number): number {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const bits = a.toString(2).length;
  if (bits <= 53) return Number(v);
  const shift = BigInt(bits - (mantBits + 1));
  let q = a >> shift;
  const rem = a & ((1n << shift) - 1n);
  const half = 1n << (shift - 1n);
  if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
  const r = Number(q) * 2 ** Number(shift);
  return neg ? -r : r;
}

// ---- strings -----------------------------------------------------------------------------------------------

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A numeric string as ONNX reads it: plain or scientific, and INF/+INF/-INF/NaN in any case. */
export function parseNumber(s: string): number {
  const t = s.trim();
  const l = t.toLowerCase();
  if (l === 'inf' || l === '+inf' || l === 'infinity' || l === '+infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  if (l === 'nan' || l === '+nan' || l === '-nan') return NaN;
  if (!NUMBER_RE.test(t)) throw new KernelError(`cannot cast string '${s}' to a number`);
  return Number(t);
}

/** Shortest decimal that reads back as the same value of `dtype` (what numpy prints). */
export function formatNumber(x: number, dtype: DType): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'INF';
  if (x === -Infinity) return '-INF';
  const same = dtype === 'float32' ? (y: number) => Math.fround(y) === x
    : dtype === 'float16' ? (y: number) => toF16(y) === x
      : dtype === 'bfloat16' ? (y: number) => toBF16(y) === x : undefined;
  if (same) {
    for (let p = 1; p < 17; p++) {
      const s = Number(x.toPrecision(p));
      if (same(s)) return String(s);
    }
  }
  return String(x);
}

// ---- element conversion ------------------------------------------------------------------------------------

const TWO63 = 2 ** 63;
const INT64_MIN = -(2n ** 63n);

/** float -> integer as x86 onnxruntime does it: truncate; NaN and out-of-range give the "integer indefinite"
 *  value of the 32- or 64-bit conversion instruction, narrower types keep its low bits. */
function floatToInt(x: number, to: DType): number | bigint {
  switch (to) {
    case 'int64': return Number.isNaN(x) || x >= TWO63 || x < -TWO63 ? INT64_MIN : BigInt(Math.trunc(x));
    case 'uint64':
      if (Number.isNaN(x) || x >= 2 * TWO63 || x < -TWO63) return 2n ** 63n;
      return BigInt.asUintN(64, BigInt(Math.trunc(x)));
    case 'uint32': return Number.isNaN(x) || x >= TWO63 || x < -TWO63 ? 0 : Number(BigInt.asUintN(32, BigInt(Math.trunc(x))));
    default: // int32 and narrower: the 32-bit conversion, then the typed array keeps the low bits
      return Number.isNaN(x) || x >= 2 ** 31 || x < -(2 ** 31) ? -(2 ** 31) : Math.trunc(x);
  }
}

function fromString(s: string, to: DType): Elem | boolean {
  if (to === 'string') return s;
  if (to === 'bool') {
    const l = s.trim().toLowerCase();
    if (l === 'true') return true;
    if (l === 'false') return false;
    return parseNumber(s) !== 0;
  }
  if (isBigInt(to) && /^\s*[+-]?\d+\s*$/.test(s)) return BigInt(s.trim());
  const x = parseNumber(s);
  return isFloat(to) ? x : floatToInt(x, to);
}

/** The converter for one (from, to) pair, chosen once per run. */
export function converter(from: DType, to: DType): (v: Elem) => Elem | boolean {
  if (from === 'string') return (v) => fromString(v as string, to);
  if (to === 'string') {
    if (from === 'bool') return (v) => (v ? 'True' : 'False');
    if (isFloat(from)) return (v) => formatNumber(v as number, from);
    return (v) => String(v);
  }
  if (to === 'bool') return isBigInt(from) ? (v) => v !== 0n : (v) => v !== 0; // NaN is true (x != 0)
  if (isFloat(to)) {
    const round = to === 'float16' ? toF16 : to === 'bfloat16' ? toBF16 : (x: number) => x;
    if (isBigInt(from)) {
      const mant = to === 'float32' ? 23 : to === 'bfloat16' ? 7 : 52;
      return (v) => round(bigToFloat(v as bigint, mant));
    }
    return (v) => round(v as number);
  }
  if (isBigInt(to)) {
    if (isBigInt(from)) return (v) => v; // the output array wraps to 64 bits
    if (isFloat(from)) return (v) => floatToInt(v as number, to);
    return (v) => BigInt(v as number);
  }
  if (isBigInt(from)) {
    const bits = byteSize(to) * 8;
    return to.startsWith('u') ? (v) => Number(BigInt.asUintN(bits, v as bigint)) : (v) => Number(BigInt.asIntN(bits, v as bigint));
  }
  if (isFloat(from)) return (v) => floatToInt(v as number, to);
  return (v) => v; // integer/bool -> narrower or wider integer: the typed array wraps
}

export function castTensor(x: Tensor, to: DType): Tensor {
  if (x.dtype === to) return mapUnary(x, to, (v) => v);
  const conv = converter(x.dtype, to);
  if (!isSubByte(to)) return mapUnary(x, to, conv);
  // to int4/uint4/int2/uint2: convert as to a wider integer, then wrap to the type's bits (what ONNX's Cast does;
  // the byte-wide storage would otherwise keep 8 bits)
  const bits = subByteBits(to), signed = !to.startsWith('u');
  return mapUnary(x, to, (v) => { const y = conv(v); return wrapBits(typeof y === 'number' ? y : Number(y), bits, signed); });
}

// ---- the ops -------------------------------------------------------------------------------------------------

function targetType(code: number): DType {
  return dtypeFromOnnx(code);
}

const castAttrs = { saturate: attr.int(1), round_mode: attr.string('up') };
/** What Cast/CastLike take and make: every type, the 4- and 2-bit integers included (opset 21/25). */
const CAST_TYPES: readonly DType[] = [...ALL_TYPES, 'int4', 'uint4', 'int2', 'uint2'];

const cast = defineOp({
  op: 'Cast', attrs: { to: attr.int.required(), ...castAttrs }, inputs: [1, 1], outputs: [1, 1],
  traits: { elementwise: true },
  infer(ctx) {
    const x = typedInput(ctx, 0, CAST_TYPES, 'input');
    return [tensorType(targetType(ctx.attrs.to), x.shape)];
  },
  run(ctx) {
    return [castTensor(input(ctx, 0), targetType(ctx.attrs.to))];
  },
});

const castLike = defineOp({
  op: 'CastLike', attrs: castAttrs, inputs: [2, 2], outputs: [1, 1],
  infer(ctx) {
    const x = typedInput(ctx, 0, CAST_TYPES, 'input');
    const like = typedInput(ctx, 1, CAST_TYPES, 'target_type');
    return [tensorType(like.dtype, x.shape)];
  },
  run(ctx) {
    return [castTensor(input(ctx, 0), input(ctx, 1).dtype)];
  },
});

// ---- BitCast ---------------------------------------------------------------------------------------------------

/** The little-endian bytes of a tensor's elements (float16/bfloat16 re-encoded from their float32 storage). */
function bytesOf(x: Tensor): Uint8Array {
  const d = x.data;
  if (x.dtype === 'float16' || x.dtype === 'bfloat16') {
    const enc = x.dtype === 'float16' ? numberToF16Bits : numberToBf16Bits;
    const bits = new Uint16Array(d.length);
    for (let i = 0; i < bits.length; i++) bits[i] = enc((d as Float32Array)[i]!);
    return new Uint8Array(bits.buffer);
  }
  const v = d as Exclude<TensorData, string[]>;
  return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}

function fromBytes(bytes: Uint8Array, to: DType, n: number): TensorData {
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  switch (to) {
    case 'float16': case 'bfloat16': {
      const bits = new Uint16Array(buf);
      const dec = to === 'float16' ? f16BitsToNumber : bf16BitsToNumber;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dec(bits[i]!);
      return out;
    }
    case 'bool': return Uint8Array.from(new Uint8Array(buf), (b) => (b !== 0 ? 1 : 0));
    case 'float32': return new Float32Array(buf);
    case 'float64': return new Float64Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'int16': return new Int16Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int64': return new BigInt64Array(buf);
    case 'uint8': return new Uint8Array(buf);
    case 'uint16': return new Uint16Array(buf);
    case 'uint32': return new Uint32Array(buf);
    case 'uint64': return new BigUint64Array(buf);
    case 'string': throw new KernelError('BitCast cannot produce strings');
    case 'int4': case 'uint4': case 'int2': case 'uint2': throw new KernelError(`BitCast does not take ${to}`);
    default: return assertNever(to, 'dtype');
  }
}

const NON_STRING = ALL_TYPES.filter((t) => t !== 'string');

const bitCast = defineOp({
  op: 'BitCast', attrs: { to: attr.int.required() }, inputs: [1, 1], outputs: [1, 1],
  infer(ctx) {
    const x = typedInput(ctx, 0, NON_STRING, 'input');
    const to = targetType(ctx.attrs.to);
    if (to === 'string') throw new ShapeError('BitCast cannot target string');
    if (byteSize(to) !== byteSize(x.dtype)) {
      throw new ShapeError(`BitCast needs types of one bit width; ${x.dtype} is ${byteSize(x.dtype) * 8} bits, ${to} is ${byteSize(to) * 8}`);
    }
    return [tensorType(to, x.shape as readonly Dim[] | undefined)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const to = targetType(ctx.attrs.to);
    if (x.dtype === 'string' || to === 'string' || byteSize(to) !== byteSize(x.dtype)) {
      throw new KernelError(`BitCast from ${x.dtype} to ${to} is not a same-width reinterpretation`);
    }
    const n = x.data.length;
    const data = n === 0 ? allocate(to, 0) : fromBytes(bytesOf(x), to, n);
    return [{ dtype: to, dims: [...x.dims], data } as Tensor];
  },
});

export const castOps: AnyOpDef[] = [cast, castLike, bitCast] as unknown as AnyOpDef[];
