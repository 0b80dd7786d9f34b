// Clipping ranges from calibration statistics, one per calibration method: minmax (the observed range),
// percentile (a high percentile of |x|, outliers clipped) and entropy (the threshold whose 8-bit quantised
// histogram is closest to the observed one in KL divergence, as TensorRT's calibrator does).

import type { Histogram, ValueStats } from './calibration.js';

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy'];

export interface Range { readonly min: number; readonly max: number }

/** Percentile of |x| the `percentile` method keeps (onnxruntime's default). */
export const DEFAULT_PERCENTILE = 99.999;

/** The range to quantise a value to; always contains 0 (so zero is exact, as ONNX quantisation requires).
 *  `levels`: the quantised magnitudes the entropy method models over [0, t] (128 for int8 symmetric; 256 where a
 *  uint8 activation covers a value that is never negative, a ReLU's output). */
export function clipRange(s: ValueStats, method: CalibrationMethod, percentile = DEFAULT_PERCENTILE, levels = LEVELS): Range {
  let lo = Math.min(s.min, 0), hi = Math.max(s.max, 0);
  if (method !== 'minmax') {
    const t = method === 'percentile' ? absPercentile(s.histogram, percentile) : entropyThreshold(s.histogram, levels);
    lo = Math.max(lo, -t);
    hi = Math.min(hi, t);
  }
  return { min: lo, max: hi };
}

/** The histogram folded onto |x|: B/2 bins over [0, range]. */
function folded(h: Histogram): Float64Array {
  const B = h.bins.length, half = B / 2, out = new Float64Array(half);
  for (let i = 0; i < B; i++) out[i >= half ? i - half : half - 1 - i]! += h.bins[i]!;
  return out;
}

/** Smallest t with at least `p` percent of |x| at or below it (the upper edge of the bin that reaches it). */
export function absPercentile(h: Histogram, p: number): number {
  const f = folded(h), total = f.reduce((a, b) => a + b, 0), width = h.range / f.length;
  let acc = 0;
  for (let i = 0; i < f.length; i++) {
    acc += f[i]!;
    if (acc >= (total * p) / 100) return (i + 1) * width;
  }
  return h.range;
}

/** Quantised levels the entropy method models by default (int8 symmetric: 128 magnitudes). */
const LEVELS = 128;

/** The |x| threshold minimising KL(P || Q): P the histogram clipped at the threshold (outliers added to its last
 *  bin), Q the same quantised to LEVELS levels and expanded back over P's non-empty bins. */
export function entropyThreshold(h: Histogram, levels = LEVELS): number {
  const f = folded(h), n = f.length, width = h.range / n;
  if (f.every((v) => v === 0)) return h.range;
  let best = n, bestKl = Infinity;
  const suffix = new Float64Array(n + 1);
  for (let j = n - 1; j >= 0; j--) suffix[j] = suffix[j + 1]! + f[j]!;
  for (let i = Math.min(levels, n); i <= n; i++) {
    const p = Float64Array.from(f.subarray(0, i));
    p[i - 1]! += suffix[i]!;
    const kl = klAfterQuantising(p, f.subarray(0, i), levels);
    if (kl < bestKl) { bestKl = kl; best = i; }
  }
  return best * width;
}

/** KL divergence between p (normalised) and q: `src` merged into `levels` groups, each group's mass spread evenly
 *  over its non-empty bins. */
function klAfterQuantising(p: Float64Array, src: Float64Array, levels: number): number {
  const i = p.length, per = i / levels, q = new Float64Array(i);
  for (let l = 0; l < levels; l++) {
    const a = Math.floor(l * per), b = l === levels - 1 ? i : Math.floor((l + 1) * per);
    let mass = 0, nonzero = 0;
    for (let j = a; j < b; j++) { mass += src[j]!; if (src[j]! !== 0) nonzero++; }
    if (nonzero) for (let j = a; j < b; j++) if (src[j]! !== 0) q[j] = mass / nonzero;
  }
  let ps = 0, qs = 0;
  for (let j = 0; j < i; j++) { ps += p[j]!; qs += q[j]!; }
  if (ps === 0 || qs === 0) return Infinity;
  let kl = 0;
  for (let j = 0; j < i; j++) {
    const pj = p[j]! / ps;
    if (pj === 0) continue;
    const qj = q[j]! / qs;
    // a bin P has and Q lacks: a large finite penalty rather than infinity, so candidates stay comparable
    kl += qj === 0 ? pj * 20 : pj * Math.log(pj / qj);
  }
  return kl;
}
