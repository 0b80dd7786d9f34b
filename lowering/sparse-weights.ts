// Sparse storage of the weights region: a placed tensor whose 4-byte words are mostly zero (a pruned layer, dense
// or pre-packed) is stored as a bitmask of its non-zero words followed by those words, and expanded back at load.
// Words, not floats, so it is exact for any 4-byte element type and needs no dtype; at 50% sparsity (unstructured
// or 2:4) a float32 tensor takes 1/32 + 1/2 of its bytes (a 2:4 index format would take the same: 2 bits per kept
// weight), and is kept dense when compression would save less than a quarter.

/** Smallest tensor worth compressing (a smaller one saves less than its bookkeeping). */
export const SPARSE_MIN_BYTES = 1024;
/** Compress when stored/dense is at most this. */
export const SPARSE_MAX_RATIO = 0.75;

/** Bytes of the compressed form of `words` words with `nonzero` of them non-zero. */
export const sparseBytes = (words: number, nonzero: number): number => Math.ceil(words / 32) * 4 + nonzero * 4;

/** Non-zero 4-byte words of `b` (its length a multiple of 4). */
export function nonzeroWords(b: Uint8Array): number {
  const w = new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  let n = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) n++;
  return n;
}

/** Whether `b` is stored compressed. */
export function worthCompressing(b: Uint8Array): boolean {
  if (b.length < SPARSE_MIN_BYTES || b.length % 4 !== 0) return false;
  return sparseBytes(b.length / 4, nonzeroWords(b)) <= SPARSE_MAX_RATIO * b.length;
}

/** The compressed form: ceil(n/32) little-endian u32 masks (bit j of mask g: word 32g+j is non-zero), then the
 *  non-zero words in order. */
export function compressWords(b: Uint8Array): Uint8Array {
  const words = new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  const n = words.length, groups = Math.ceil(n / 32);
  let nz = 0;
  for (let i = 0; i < n; i++) if (words[i] !== 0) nz++;
  const out = new Uint32Array(groups + nz);
  let v = groups;
  for (let i = 0; i < n; i++) {
    if (words[i] === 0) continue;
    out[i >>> 5]! |= 1 << (i & 31);
    out[v++] = words[i]!;
  }
  return new Uint8Array(out.buffer);
}

/** The dense bytes back (the oracle the wasm expansion is tested against). */
export function expandWords(c: Uint8Array, bytes: number): Uint8Array {
  const src = new Uint32Array(c.buffer.slice(c.byteOffset, c.byteOffset + c.length));
  const n = bytes / 4, groups = Math.ceil(n / 32), out = new Uint32Array(n);
  let v = groups;
  for (let i = 0; i < n; i++) if (src[i >>> 5]! & (1 << (i & 31))) out[i] = src[v++]!;
  return new Uint8Array(out.buffer);
}
