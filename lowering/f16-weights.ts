// Float16 storage of the weights region: a placed tensor whose every 4-byte word is a finite float32 that float16
// holds exactly (what upcasting a float16 model's weights leaves, packed or not) is stored as the float16 bits, half
// the bytes, and widened back at load (kernels/f16-init.ts). Taken only where every word round-trips bit for bit, so
// it is exact for whatever tensor it takes (int8 or int32 data almost never does) and needs no record of its dtype.

import { f16BitsToNumber, numberToF16Bits } from '../ir/float16.js';

/** Smallest tensor worth it (bytes of float32): each one stored in half costs an f16_expand call in the init
 *  function and a manifest entry, and saves half its bytes. Measured on bert-tiny weights-int4 (7 vectors of 128
 *  float16-exact values: per-channel scales, LayerNorm's ones and zeros) going from 1024 to 256: weights.bin -1792 B,
 *  model.wasm +155 B, manifest.json +569 B, about 100 B of overhead per entry; at 512 each entry saves at least ~150 B
 *  of the whole artifact. mobilenet_v2_fp16 at 512 against 1024: 13 more entries (biases of 144-192 channels),
 *  weights.bin -4416 B, artifact (weights.bin, model.wasm, manifest.json) 7083800 -> 7080600 B. (At 1024, down from
 *  4096, its biases and small layers took it: artifact 7.166 -> 7.137 MB.) */
export const F16_MIN_BYTES = 512;

/** The float16 bits of `b`'s words when every word is a finite float32 that float16 holds exactly and not every
 *  word is +0; else undefined. */
export function f16Form(b: Uint8Array): Uint16Array | undefined {
  if (b.length < F16_MIN_BYTES || b.length % 4 !== 0) return undefined;
  const words = new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  // all zeros: left to the sparse form, or to the copy of the dense bytes around it (the CSC placeholders csc_build
  // fills at load are such, and would otherwise be widened from halves only to be written over)
  if (words.every((w) => w === 0)) return undefined;
  const x = new Float32Array(words.buffer), out = new Uint16Array(words.length);
  const back = new Float32Array(1), backBits = new Uint32Array(back.buffer);
  for (let i = 0; i < words.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) return undefined;
    const h = numberToF16Bits(v);
    // infinities from overflow are refused above; the expansion handles finite values only
    if ((h & 0x7c00) === 0x7c00) return undefined;
    back[0] = f16BitsToNumber(h);
    if (backBits[0] !== words[i]) return undefined;
    out[i] = h;
  }
  return out;
}

/** The float32 words back (the oracle the wasm expansion is tested against). */
export function expandF16(h: Uint16Array): Uint8Array {
  return new Uint8Array(Float32Array.from(h, f16BitsToNumber).buffer);
}
