// Lexical rules shared by the IR text printer and parser: how names, dims and numbers are spelled, and the
// content hash that stands in for elided weights. Both sides use these so print -> parse -> print is exact.

import { createHash } from 'node:crypto';
import type { DType } from '../dtype.js';
import { assertNever } from '../errors.js';
import { bf16Round, f16Round } from '../float16.js';
import type { Tensor, TensorData } from '../tensor.js';

/** Characters of a bare word; anything else in a name or symbol gets quoted. */
export const WORD_CHAR = /[A-Za-z0-9_.\/?+\-]/;
const BARE = /^[A-Za-z0-9_.\/?+\-]+$/;
/** Words with a meaning where a value name may stand: '_' is the omitted value, the others start statements. */
const RESERVED = new Set(['_', 'const', 'type']);
export const INT_WORD = /^-?\d+$/;
const FLOAT_WORD = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function quote(s: string): string {
  return JSON.stringify(s);
}

/** A value name: bare when it lexes as one word, '' (omitted) as `_`, anything else quoted. */
export function printName(name: string): string {
  if (name === '') return '_';
  return BARE.test(name) && !RESERVED.has(name) && !name.startsWith('->') ? name : quote(name);
}

/** A symbolic dim: bare unless it would read back as a number (or is not one word). */
export function printSymbol(sym: string): string {
  return BARE.test(sym) && !INT_WORD.test(sym) ? sym : quote(sym);
}

// ---- numbers -----------------------------------------------------------------------------------------

/** A float literal always shows a '.' or an exponent so it never reads back as an int. */
function floatText(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** The shortest decimal that reads back as `x` once rounded by `round` (x must be a value of that type). */
function shortest(x: number, round: (v: number) => number): string {
  if (!Number.isFinite(x) || x === 0) return floatText(x);
  for (let p = 1; p <= 17; p++) {
    const n = Number(x.toPrecision(p));
    if (round(n) === x) return floatText(n);
  }
  return floatText(x);
}

const identity = (v: number): number => v;

/** How a float element of `dtype` is printed. */
export function printFloat(x: number, dtype: 'float32' | 'float64' | 'float16' | 'bfloat16'): string {
  switch (dtype) {
    case 'float32': return shortest(x, Math.fround);
    case 'float16': return shortest(x, f16Round);
    case 'bfloat16': return shortest(x, bf16Round);
    case 'float64': return shortest(x, identity);
    default: return assertNever(dtype, 'float dtype');
  }
}

/** Rounds a parsed double to the float dtype's storage. */
export function roundFloat(x: number, dtype: 'float32' | 'float64' | 'float16' | 'bfloat16'): number {
  switch (dtype) {
    case 'float32': return Math.fround(x);
    case 'float16': return f16Round(x);
    case 'bfloat16': return bf16Round(x);
    case 'float64': return x;
    default: return assertNever(dtype, 'float dtype');
  }
}

/** ONNX float attributes are float32, so those print in their short float32 form. A double that is not a
 *  float32 (a pass may compute one) prints in the one shape the short form never takes: exponent form with 17
 *  significant digits (`1.0000000000000001e-1`). */
export function printAttrFloat(x: number): string {
  if (!Number.isFinite(x) || Math.fround(x) === x) return shortest(x, Math.fround);
  return x.toExponential(16);
}

const DOUBLE_WORD = /^-?\d\.\d{16}e[+-]\d+$/;

/** Inverse of printAttrFloat: the 17-digit exponent form is a double; anything else (hand-written `1e-5`
 *  included) is read as the float32 nearest to it, as ONNX stores it. */
export function readAttrFloat(text: string): number {
  const d = parseFloatWord(text);
  if (d === undefined) throw new Error(`'${text}' is not a number`);
  return DOUBLE_WORD.test(text) ? d : Math.fround(d);
}

/** A float literal (also accepting ints, nan and inf), or undefined when the word is not a number. */
export function parseFloatWord(w: string): number | undefined {
  if (w === 'nan') return NaN;
  if (w === 'inf' || w === '+inf') return Infinity;
  if (w === '-inf') return -Infinity;
  return FLOAT_WORD.test(w) ? Number(w) : undefined;
}

/** True when the word is written as a float (has a '.' or exponent, or is nan/inf), not an int. */
export function isFloatWord(w: string): boolean {
  return !INT_WORD.test(w) && parseFloatWord(w) !== undefined;
}

const INT_RANGES: Partial<Record<DType, readonly [bigint, bigint]>> = {
  int8: [-128n, 127n], uint8: [0n, 255n], int16: [-32768n, 32767n], uint16: [0n, 65535n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n], uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n], uint64: [0n, 2n ** 64n - 1n],
  int4: [-8n, 7n], uint4: [0n, 15n], int2: [-2n, 1n], uint2: [0n, 3n],
};

/** Store one tensor element read from text into `data` (a word, or a quoted string for string tensors).
 *  Returns 'range' for an integer out of the dtype's range, 'bad' for a literal of the wrong form. */
export function storeElement(dtype: DType, data: TensorData, i: number, lit: { word: string } | { quoted: string }): 'bad' | 'range' | undefined {
  if (dtype === 'string') {
    if (!('quoted' in lit)) return 'bad';
    (data as string[])[i] = lit.quoted;
    return undefined;
  }
  if (!('word' in lit)) return 'bad';
  const w = lit.word;
  if (dtype === 'bool') {
    if (w !== 'true' && w !== 'false') return 'bad';
    (data as Uint8Array)[i] = w === 'true' ? 1 : 0;
    return undefined;
  }
  if (dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16') {
    const x = parseFloatWord(w);
    if (x === undefined) return 'bad';
    (data as Float32Array | Float64Array)[i] = roundFloat(x, dtype);
    return undefined;
  }
  if (!INT_WORD.test(w)) return 'bad';
  const v = BigInt(w);
  const [lo, hi] = INT_RANGES[dtype]!;
  if (v < lo || v > hi) return 'range';
  if (dtype === 'int64' || dtype === 'uint64') (data as BigInt64Array | BigUint64Array)[i] = v;
  else (data as Int32Array)[i] = Number(v);
  return undefined;
}

// ---- content hash ------------------------------------------------------------------------------------

/** The content hash of a tensor (dtype, dims and element bits): 16 hex digits of SHA-256. */
export function tensorHash(t: Tensor): string {
  const h = createHash('sha256');
  h.update(`${t.dtype}[${t.dims.join(',')}]`);
  const d = t.data;
  if (Array.isArray(d)) h.update(JSON.stringify(d));
  else h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  return h.digest('hex').slice(0, 16);
}

