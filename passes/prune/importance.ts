// Channel importance: how much each channel of a space matters, by the norm of the producers' filters (l1, l2) or,
// activation-aware, by what the channel contributes to its consumers: rms of the activation on the calibration set
// times the norm of the consumer's weights that read it (a channel that is large but read with tiny weights, or
// read with large weights but nearly always zero, matters little).

import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import type { CalibrationStats } from '../quant/calibration.js';
import { denseForm, type ChannelGraph, type Space } from './groups.js';

export const CRITERIA = ['l1', 'l2', 'activation', 'reconstruction'] as const;
export type Criterion = (typeof CRITERIA)[number];

/** Norm (p = 1 or 2) of each slice of `t` along `axis`. */
export function sliceNorms(t: Tensor, axis: number, p: 1 | 2): Float64Array {
  const d = t.data as Float32Array, n = t.dims[axis]!;
  const inner = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1), outer = d.length / (n * inner);
  const out = new Float64Array(n);
  for (let o = 0, i = 0; o < outer; o++) {
    for (let c = 0; c < n; c++) {
      let s = 0;
      for (let e = i + inner; i < e; i++) s += p === 1 ? Math.abs(d[i]!) : d[i]! * d[i]!;
      out[c]! += s;
    }
  }
  if (p === 2) for (let c = 0; c < n; c++) out[c] = Math.sqrt(out[c]!);
  return out;
}

/** Adds `v / mean(v)` into `acc` (so layers of different scales weigh alike in a tied group). */
function addNormalised(acc: Float64Array, v: ArrayLike<number>, off = 0): void {
  let m = 0;
  for (let i = 0; i < acc.length; i++) m += v[off + i]!;
  m /= acc.length;
  for (let i = 0; i < acc.length; i++) acc[i]! += m > 0 ? v[off + i]! / m : 0;
}

/** Importance of every channel of `space` (higher: keep). */
export function channelScores(g: Graph, cg: ChannelGraph, space: Space, criterion: Criterion, stats?: CalibrationStats): Float64Array {
  const acc = new Float64Array(space.size);
  if (criterion === 'activation' && stats) {
    let used = 0;
    for (const n of cg.consumers) {
      const l = cg.layouts.get(n.inputs[0]!)!;
      let off = 0;
      for (const s of l.segments) {
        if (s.space === space.id) used += activationScore(g, n, stats, off, l.inner ?? 1, acc) ? 1 : 0;
        off += s.size;
      }
    }
    if (used > 0) return acc;
  }
  for (const p of space.producers) {
    const f = denseForm(g, p)!;
    addNormalised(acc, sliceNorms(f.weight, f.outAxis, criterion === 'l2' ? 2 : 1));
  }
  return acc;
}

/** rms(activation) x ||consumer column|| for the channels at [off, off + acc.length) of consumer `n`'s input
 *  (channels counted in blocks of `inner` columns). */
function activationScore(g: Graph, n: Node, stats: CalibrationStats, off: number, inner: number, acc: Float64Array): boolean {
  const v = n.inputs[0]!, l = stats.values.get(v)?.channels;
  const f = denseForm(g, n)!;
  const total = f.weight.dims[f.inAxis]!;
  if (!l || l.sumSq.length !== total || l.count === 0) return false;
  const cols = sliceNorms(f.weight, f.inAxis, 2);
  // a flattened input holds each channel as a block of `inner` columns: the channel scores their sum
  const s = new Float64Array(total / inner);
  for (let c = 0; c < total; c++) s[Math.floor(c / inner)]! += Math.sqrt(l.sumSq[c]! / l.count) * cols[c]!;
  addNormalised(acc, s, off);
  return true;
}

/** The `keep` highest-scoring channel indices, ascending. */
export function topChannels(scores: Float64Array, keep: number): number[] {
  const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.slice(0, keep).sort((a, b) => a - b);
}

/** Channels kept when pruning `ratio` of `size` (at least one; a multiple of `multiple` when that still prunes). */
export function keepCount(size: number, ratio: number, multiple = 1): number {
  let k = Math.max(1, Math.round(size * (1 - ratio)));
  if (multiple > 1 && k > multiple) k = Math.round(k / multiple) * multiple;
  return Math.min(size, k);
}

/** Share of the squared importance a selection throws away (0: nothing lost): the local cost the drift budget ranks. */
export function lostShare(scores: Float64Array, kept: readonly number[]): number {
  let all = 0, keptSum = 0;
  for (const s of scores) all += s * s;
  for (const i of kept) keptSum += scores[i]! ** 2;
  return all > 0 ? 1 - keptSum / all : 0;
}
