// Int4-block storage of the weights region: a placed float32 tensor whose values, in consecutive blocks of 16..256,
// are each exactly float32(q * s) with q in [-8, 7] and one s per block (what constant-folding DequantizeLinear of an
// int4 weight leaves, e.g. an embedding table quantize-weights made int4) is stored as the q packed two per byte and
// the scales, and expanded back at load with the same float32 multiply. Taken only where every word round-trips
// bit for bit, so it is exact for whatever tensor it takes and needs no record of where the tensor came from.

import { packSubByte, unpackSubByte } from '../ir/packed.js';

/** Block sizes tried, in order (quantize-weights' choices). */
const BLOCKS = [32, 64, 128, 16, 256];
/** Smallest tensor worth it (bytes of float32). */
export const INT4_MIN_BYTES = 4096;

export interface Int4Form {
  readonly block: number;
  /** Packed q (element 2i in the low nibble of byte i), then the float32 scales, 4-byte aligned. */
  readonly bytes: Uint8Array;
  /** Byte offset of the scales in `bytes`. */
  readonly scalesAt: number;
  readonly elements: number;
}

const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number): number => { f32[0] = x; return u32[0]!; };
/** The float32 next to x (dir +1 or -1 in its bit pattern; x > 0). */
const stepF32 = (x: number, dir: number): number => { f32[0] = x; u32[0] = u32[0]! + dir; return f32[0]!; };

/** A scale s with every word of block [at, at + n) equal to float32(q * s), q integral in [-8, 7]; undefined if none. */
function blockScale(w: Uint32Array, x: Float32Array, at: number, n: number): number | undefined {
  let big = 0;
  for (let i = at; i < at + n; i++) if (Math.abs(x[i]!) > Math.abs(big)) big = x[i]!;
  if (big === 0) { for (let i = at; i < at + n; i++) if (w[i] !== 0) return undefined; return 0; }
  const fits = (s: number): boolean => {
    for (let i = at; i < at + n; i++) {
      // + 0: a -0 element must not pass as q = -0 (the expansion's integer q gives +0)
      const q = Math.round(x[i]! / s) + 0;
      if (q < -8 || q > 7 || bitsOf(Math.fround(q * s)) !== w[i]) return false;
    }
    return true;
  };
  // the largest |x| has the largest |q|: try each, and the float32 neighbours of big / q (one rounding each way)
  for (const q of big > 0 ? [7, 6, 5, 4, 3, 2, 1] : [-8, -7, -6, -5, -4, -3, -2, -1]) {
    const s = Math.fround(big / q);
    for (const c of [s, stepF32(s, 1), stepF32(s, -1)]) if (c > 0 && Number.isFinite(c) && fits(c)) return c;
  }
  return undefined;
}

/** The int4-block form of a float32 tensor's bytes, or undefined when it has none (or is too small to gain). */
export function int4Form(b: Uint8Array): Int4Form | undefined {
  if (b.length < INT4_MIN_BYTES || b.length % 4 !== 0) return undefined;
  const copy = b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  const x = new Float32Array(copy), w = new Uint32Array(copy), n = x.length;
  for (const block of BLOCKS) {
    if (n % block !== 0) continue;
    const scales = new Float32Array(n / block);
    let ok = true;
    for (let g = 0; g < scales.length && ok; g++) {
      const s = blockScale(w, x, g * block, block);
      if (s === undefined) ok = false; else scales[g] = s;
    }
    if (!ok) continue;
    const q = Int8Array.from(x, (v, i) => { const s = scales[Math.floor(i / block)]!; return s === 0 ? 0 : Math.round(v / s); });
    const scalesAt = Math.ceil(n / 2 / 4) * 4, bytes = new Uint8Array(scalesAt + scales.length * 4);
    bytes.set(packSubByte('int4', q));
    bytes.set(new Uint8Array(scales.buffer), scalesAt);
    return { block, bytes, scalesAt, elements: n };
  }
  return undefined;
}

/** The float32 bytes back (the oracle the wasm expansion is tested against). */
export function expandInt4(f: Int4Form): Uint8Array {
  const out = new Float32Array(f.elements);
  const scales = new Float32Array(f.bytes.buffer.slice(f.bytes.byteOffset + f.scalesAt, f.bytes.byteOffset + f.bytes.length));
  const q = unpackSubByte('int4', f.bytes, f.elements);
  for (let i = 0; i < f.elements; i++) out[i] = Math.fround(q[i]! * scales[Math.floor(i / f.block)]!);
  return new Uint8Array(out.buffer);
}
