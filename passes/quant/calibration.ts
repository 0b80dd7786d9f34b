// Calibration statistics: what running a model on representative inputs tells the compression passes about each
// value (range, histogram, per-channel ranges and energy). Collected by compiler/calibrate.ts, handed to passes
// through PassContext.calibration; the accumulators live here so they stay pure and testable without a backend.

import type { Tensor } from '../../ir/tensor.js';

/** Bins of every value's histogram. 2048 like onnxruntime's entropy calibrator; a power of two so growing the
 *  range by powers of two merges bins exactly. */
export const HISTOGRAM_BINS = 2048;

/** Histogram of a value over the symmetric range [-range, range], bins of equal width. */
export interface Histogram {
  readonly range: number;
  readonly bins: Float64Array;
}

/** Per-channel statistics along `axis` (1 for what feeds a Conv, else the last axis). */
export interface ChannelStats {
  readonly axis: number;
  readonly min: Float32Array;
  readonly max: Float32Array;
  /** Sum of squares per channel over every sample (activation energy: Wanda/pruning importance uses its sqrt). */
  readonly sumSq: Float64Array;
  /** Elements per channel seen in all. */
  readonly count: number;
}

/** The second moment X^T X of a value's rows along its last axis (opt-in: CalibrateOptions.secondMoment), what
 *  pruning's reconstruction needs (the Hessian of a linear layer's least-squares error). */
export interface SecondMoment {
  /** Length of the last axis (C); `gram` is C x C, row-major, summed over every row of every sample. */
  readonly size: number;
  readonly gram: Float64Array;
  /** Rows (vectors of length C) seen in all. */
  readonly rows: number;
}

export interface ValueStats {
  readonly min: number;
  readonly max: number;
  /** Elements seen over every sample. */
  readonly count: number;
  readonly histogram: Histogram;
  readonly channels?: ChannelStats;
  readonly secondMoment?: SecondMoment;
}

/** Statistics of a model's float values over a calibration set, by value name (the names of the graph that was
 *  calibrated: passes look their own values up and treat a missing one as "not calibrated"). */
export interface CalibrationStats {
  /** Samples the model ran on. */
  readonly samples: number;
  /** Backend that computed the values ('wasm', or 'reference' when wasm could not run the model). */
  readonly backend: string;
  readonly values: ReadonlyMap<string, ValueStats>;
}

/** Accumulates one value's statistics sample by sample. */
export class ValueAccumulator {
  private min = Infinity;
  private max = -Infinity;
  private count = 0;
  private range = 0;
  private bins = new Float64Array(HISTOGRAM_BINS);
  private ch?: { axis: number; min: Float32Array; max: Float32Array; sumSq: Float64Array; count: number };
  private gram?: { size: number; gram: Float64Array; rows: number };

  /** `secondMoment`: also accumulate X^T X along the last axis (C^2 doubles: only for the values that need it). */
  constructor(private readonly channelAxis?: number, private readonly secondMoment = false) {}

  add(t: Tensor): void {
    const d = t.data as Float32Array;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < d.length; i++) { const v = d[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
    if (d.length === 0 || !Number.isFinite(lo) || !Number.isFinite(hi)) return;
    this.min = Math.min(this.min, lo);
    this.max = Math.max(this.max, hi);
    this.count += d.length;
    this.grow(Math.max(-lo, hi));
    const w = HISTOGRAM_BINS / (2 * this.range), bins = this.bins, last = HISTOGRAM_BINS - 1;
    const r = this.range;
    for (let i = 0; i < d.length; i++) {
      // (x + r) * w >= 0 up to rounding, so truncation is floor; the clamp catches x = r and rounding below 0
      const b = ((d[i]! + r) * w) | 0;
      bins[b > last ? last : b < 0 ? 0 : b]! += 1;
    }
    if (this.channelAxis !== undefined && t.dims.length > this.channelAxis) this.addChannels(t, this.channelAxis);
    if (this.secondMoment && t.dims.length >= 1) this.addGram(d, t.dims[t.dims.length - 1]!);
  }

  private addGram(d: Float32Array, C: number): void {
    if (C === 0) return;
    if (!this.gram) this.gram = { size: C, gram: new Float64Array(C * C), rows: 0 };
    const g = this.gram;
    if (g.size !== C) return;
    const rows = d.length / C, G = g.gram;
    // upper triangle per row, mirrored once at the end of the sample (half the multiply-adds)
    for (let r = 0; r < rows; r++) {
      const o = r * C;
      for (let i = 0; i < C; i++) {
        const xi = d[o + i]!;
        if (xi === 0) continue;
        const gi = i * C;
        for (let j = i; j < C; j++) G[gi + j]! += xi * d[o + j]!;
      }
    }
    for (let i = 0; i < C; i++) for (let j = i + 1; j < C; j++) G[j * C + i] = G[i * C + j]!;
    g.rows += rows;
  }

  /** Widen the histogram range by powers of two until it covers `absMax`, merging pairs of bins. */
  private grow(absMax: number): void {
    // the first sample sets the range (a tiny one when it is all zeros: later samples double it, ~100 times at most)
    if (this.range === 0) { this.range = absMax > 0 ? absMax : 1e-30; return; }
    while (this.range < absMax) {
      // doubling the range: old bin i lands in new bin floor((B/2 + i) / 2); exact because B/2 is even
      const next = new Float64Array(HISTOGRAM_BINS);
      for (let i = 0; i < HISTOGRAM_BINS; i++) next[(HISTOGRAM_BINS / 2 + i) >> 1]! += this.bins[i]!;
      this.bins = next;
      this.range *= 2;
    }
  }

  private addChannels(t: Tensor, axis: number): void {
    const d = t.data as Float32Array, C = t.dims[axis]!;
    const inner = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    if (!this.ch) this.ch = { axis, min: new Float32Array(C).fill(Infinity), max: new Float32Array(C).fill(-Infinity), sumSq: new Float64Array(C), count: 0 };
    const ch = this.ch;
    if (ch.min.length !== C) return;
    const outer = d.length / (C * inner);
    for (let o = 0, i = 0; o < outer; o++) {
      for (let c = 0; c < C; c++) {
        let lo = ch.min[c]!, hi = ch.max[c]!, sq = 0;
        for (let e = i + inner; i < e; i++) { const v = d[i]!; if (v < lo) lo = v; if (v > hi) hi = v; sq += v * v; }
        ch.min[c] = lo; ch.max[c] = hi; ch.sumSq[c]! += sq;
      }
    }
    ch.count += d.length / C;
  }

  result(): ValueStats | undefined {
    if (this.count === 0) return undefined;
    return {
      min: this.min, max: this.max, count: this.count,
      histogram: { range: this.range, bins: this.bins },
      ...(this.ch ? { channels: { ...this.ch } } : {}),
      ...(this.gram ? { secondMoment: { ...this.gram } } : {}),
    };
  }
}
