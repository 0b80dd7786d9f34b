// Lexical rules shared by the IR text printer and parser: how names, dims and numbers are spelled, and the
// content hash that stands in for elided weights. Both sides use these so print -> parse -> print is exact.

import { createHash } from 'node:crypto';
import type { DType } from '../dtype.js';
import { bf16Round, f16Round } from '../float16.js';
import type { Tensor } from '../tensor.js';

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
  }
}

/** Rounds a parsed double to the float dtype's storage. */
export function roundFloat(x: number, dtype: 'float32' | 'float64' | 'float16' | 'bfloat16'): number {
  switch (dtype) {
    case 'float32': return Math.fround(x);
    case 'float16': return f16Round(x);
    case 'bfloat16': return bf16Round(x);
    case 'float64': return x;
  }
}

/** ONNX float attributes are float32, so those print in their short float32 form (at most 9 significant
 *  digits); a double that is not a float32 (a pass may compute one) prints with 17 digits. */
export function printAttrFloat(x: number): string {
  if (!Number.isFinite(x) || Math.fround(x) === x) return shortest(x, Math.fround);
  return x.toPrecision(17);
}

/** Inverse of printAttrFloat: up to 9 significant digits is a float32 (so hand-written `1e-5` is the float32
 *  nearest 1e-5, as ONNX stores it); more digits is a double. */
export function readAttrFloat(text: string): number {
  const d = parseFloatWord(text);
  if (d === undefined) throw new Error(`'${text}' is not a number`);
  const mantissa = text.replace(/[eE].*$/, '').replace(/[^0-9]/g, '').replace(/^0+/, '');
  return mantissa.length > 9 ? d : Math.fround(d);
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

export const FLOAT_DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16'];
