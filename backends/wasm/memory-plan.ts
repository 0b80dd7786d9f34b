// The arena plan: every run-time tensor (and kernel scratch) gets an offset in one arena, reusing memory of
// tensors whose lifetimes do not overlap. Greedy by size: largest first, each at the lowest offset that does
// not collide with an already placed buffer alive at the same time.

/** One buffer to place: alive from step `first` to step `last` inclusive. */
export interface BufferReq {
  readonly id: string;
  readonly bytes: number;
  readonly first: number;
  readonly last: number;
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

export const ALIGN = 16;
const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

export function planArena(reqs: readonly BufferReq[]): ArenaPlan {
  const order = [...reqs].sort((a, b) => b.bytes - a.bytes || a.first - b.first || (a.id < b.id ? -1 : 1));
  const placed: { off: number; end: number; first: number; last: number }[] = [];
  const offsets = new Map<string, number>();
  let arena = 0;
  for (const r of order) {
    const size = align(Math.max(r.bytes, 1));
    const clashes = placed.filter((p) => p.first <= r.last && r.first <= p.last).sort((a, b) => a.off - b.off);
    let off = 0;
    for (const p of clashes) {
      if (off + size <= p.off) break;
      off = Math.max(off, p.end);
    }
    placed.push({ off, end: off + size, first: r.first, last: r.last });
    offsets.set(r.id, off);
    arena = Math.max(arena, off + size);
  }
  const steps = new Set<number>();
  for (const r of reqs) steps.add(r.first);
  let lower = 0;
  for (const s of steps) {
    let live = 0;
    for (const r of reqs) if (r.first <= s && s <= r.last) live += align(Math.max(r.bytes, 1));
    lower = Math.max(lower, live);
  }
  return { offsets, arenaBytes: arena, lowerBoundBytes: lower, totalBytes: reqs.reduce((a, r) => a + align(Math.max(r.bytes, 1)), 0) };
}
