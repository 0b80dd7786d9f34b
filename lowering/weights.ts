// The weights layout: constants the kernels read at run time and the tensors they pre-pack, placed once, each at an
// aligned offset of one weights region, in the order they are asked for (so the layout is deterministic).

import { UnsupportedTypeError } from '../ir/errors.js';
import { numberToBf16Bits, numberToF16Bits } from '../ir/float16.js';
import type { Tensor } from '../ir/tensor.js';
import { alignUp } from './buffer-plan.js';

/** A tensor's bytes as stored: ONNX raw layout, little-endian; 16-bit floats as their bits. */
export function tensorBytes(t: Tensor): Uint8Array {
  const d = t.data;
  // 16-bit floats are held as Float32Array values in the IR and stored as their bits
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    const bits = Uint16Array.from(d as Float32Array, t.dtype === 'float16' ? numberToF16Bits : numberToBf16Bits);
    return new Uint8Array(bits.buffer);
  }
  if (Array.isArray(d)) throw new UnsupportedTypeError(`string tensors cannot be laid out as weights`);
  const v = d as ArrayBufferView;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

export class WeightsLayout {
  private readonly chunks: Uint8Array[] = [];
  private end = 0;
  private readonly byName = new Map<string, number>();
  /** Each placed tensor's offset and bytes (padding left out), in order: what a backend storing the region
   *  compressed (lowering/sparse-weights.ts) walks. */
  private readonly entries: { readonly offset: number; readonly bytes: Uint8Array }[] = [];

  constructor(private readonly align: number) {}

  /** Place bytes; returns their offset in the region. */
  place(bytes: Uint8Array): number {
    const at = this.end;
    this.chunks.push(bytes);
    this.entries.push({ offset: at, bytes });
    const padded = alignUp(bytes.length, this.align);
    if (padded > bytes.length) this.chunks.push(new Uint8Array(padded - bytes.length));
    this.end += padded;
    return at;
  }

  /** The offset of a named constant, placing it on first use. */
  constant(name: string, t: Tensor): number {
    let at = this.byName.get(name);
    if (at === undefined) { at = this.place(tensorBytes(t)); this.byName.set(name, at); }
    return at;
  }

  /** The offset of a named constant already placed, or undefined (a constant no kernel reads has none). */
  offsetOf(name: string): number | undefined {
    return this.byName.get(name);
  }

  get bytes(): number { return this.end; }

  /** The placed tensors, in offset order. */
  placed(): readonly { readonly offset: number; readonly bytes: Uint8Array }[] {
    return this.entries;
  }

  /** The region's bytes. */
  contents(): Uint8Array {
    const out = new Uint8Array(this.end);
    let at = 0;
    for (const c of this.chunks) { out.set(c, at); at += c.length; }
    return out;
  }
}
