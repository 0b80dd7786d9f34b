// Summary statistics of latency samples: median and percentiles by linear interpolation between order statistics.

export interface LatencyStats {
  readonly runs: number;
  readonly medianMs: number;
  readonly p10Ms: number;
  readonly p90Ms: number;
  readonly minMs: number;
  readonly meanMs: number;
}

/** The q-quantile (0..1) of sorted samples. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function latencyStats(samples: readonly number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  return {
    runs: s.length, medianMs: quantile(s, 0.5), p10Ms: quantile(s, 0.1), p90Ms: quantile(s, 0.9),
    minMs: s[0] ?? NaN, meanMs: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length),
  };
}
