// The buffer plan: every run-time tensor (and kernel scratch) gets an offset in one arena, reusing memory of buffers
// whose lifetimes do not overlap. Greedy by size: largest first, each at the lowest aligned offset that does not
// collide with an already placed buffer alive at the same time. Alignment and limits are the backend's (wasm: 16
// bytes; WebGPU: 256 bytes and the adapter's max binding size); a buffer or arena past a limit is refused with a
// LimitError naming the value and the limit.

import { LimitError } from '../ir/errors.js';

/** One buffer to place: alive from step `first` to step `last` inclusive. */
export interface BufferReq {
  readonly id: string;
  readonly bytes: number;
  readonly first: number;
  readonly last: number;
  /** The node that defines it (for messages). */
  readonly node?: string;
}

export interface BufferLimits {
  /** Every offset and size is a multiple of this (a power of two). */
  readonly align: number;
  /** Largest single buffer (WebGPU: maxStorageBufferBindingSize). */
  readonly maxBufferBytes?: number;
  /** Largest arena (wasm: what 32-bit linear memory can hold besides the weights). */
  readonly maxArenaBytes?: number;
}

export interface ArenaPlan {
  /** Byte offset of each buffer, relative to the arena start. */
  readonly offsets: ReadonlyMap<string, number>;
  /** Arena size in bytes (the peak of the plan). */
  readonly arenaBytes: number;
  /** Max over steps of the bytes alive at once: no plan can be smaller. */
  readonly lowerBoundBytes: number;
  /** Sum of all buffer sizes (what no reuse would need). */
  readonly totalBytes: number;
}

export const alignUp = (n: number, align: number): number => Math.ceil(n / align) * align;

export function planArena(reqs: readonly BufferReq[], limits: BufferLimits, source?: string): ArenaPlan {
  const size = (r: BufferReq): number => alignUp(Math.max(r.bytes, 1), limits.align);
  if (limits.maxBufferBytes !== undefined) {
    for (const r of reqs) {
      if (r.bytes > limits.maxBufferBytes) {
        throw new LimitError(`value '${r.id}' needs ${r.bytes} bytes, more than the backend's largest buffer (maxBufferBytes ${limits.maxBufferBytes})`,
          { model: source, node: r.node, limit: 'maxBufferBytes', value: r.bytes });
      }
    }
  }
  const order = [...reqs].sort((a, b) => b.bytes - a.bytes || a.first - b.first || (a.id < b.id ? -1 : 1));
  const placed: { off: number; end: number; first: number; last: number }[] = [];
  const offsets = new Map<string, number>();
  let arena = 0;
  for (const r of order) {
    const n = size(r);
    const clashes = placed.filter((p) => p.first <= r.last && r.first <= p.last).sort((a, b) => a.off - b.off);
    let off = 0;
    for (const p of clashes) {
      if (off + n <= p.off) break;
      off = Math.max(off, p.end);
    }
    placed.push({ off, end: off + n, first: r.first, last: r.last });
    offsets.set(r.id, off);
    arena = Math.max(arena, off + n);
  }
  if (limits.maxArenaBytes !== undefined && arena > limits.maxArenaBytes) {
    throw new LimitError(`the buffer plan needs ${arena} bytes, more than the backend can address (maxArenaBytes ${limits.maxArenaBytes})`,
      { model: source, limit: 'maxArenaBytes', value: arena });
  }
  const steps = new Set<number>();
  for (const r of reqs) steps.add(r.first);
  let lower = 0;
  for (const s of steps) {
    let live = 0;
    for (const r of reqs) if (r.first <= s && s <= r.last) live += size(r);
    lower = Math.max(lower, live);
  }
  return { offsets, arenaBytes: arena, lowerBoundBytes: lower, totalBytes: reqs.reduce((a, r) => a + size(r), 0) };
}
