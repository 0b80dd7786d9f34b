// Summary statistics of latency samples: median and percentiles by linear interpolation between order statistics,
// and the model bench's figure over passes (each pass's median; the figure is the fastest of them).

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

/** Timed runs taken in passes: the raw statistics over every run (`medianMs`, p10/p90: the whole spread, slow
 *  spells included), each pass's median, and the figure, the fastest pass's median. */
export interface PassedLatency extends LatencyStats {
  /** The median of the fastest pass: the engine's figure (ratios are of figures). */
  readonly figureMs: number;
  readonly passMediansMs: readonly number[];
  /** Each pass's runs, ms, in run order (a run's index is its iteration within the pass, the same for every engine). */
  readonly passSamplesMs: readonly (readonly number[])[];
}

export function passStats(passes: readonly (readonly number[])[]): PassedLatency {
  const done = passes.filter((p) => p.length > 0);
  const medians = done.map((p) => quantile([...p].sort((a, b) => a - b), 0.5));
  return {
    ...latencyStats(done.flat()), figureMs: medians.length ? Math.min(...medians) : NaN,
    passMediansMs: medians.map(round3), passSamplesMs: done.map((p) => p.map(round3)),
  };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** The median of per-iteration ratios a[i] / b[i] over the runs both engines made in the same iteration of the same
 *  pass (undefined when none). */
export function pairedRatio(a: PassedLatency, b: PassedLatency): number | undefined {
  const r: number[] = [];
  a.passSamplesMs.forEach((p, k) => {
    const q = b.passSamplesMs[k];
    if (!q) return;
    for (let i = 0; i < Math.min(p.length, q.length); i++) if (q[i]! > 0) r.push(p[i]! / q[i]!);
  });
  return r.length ? quantile(r.sort((x, y) => x - y), 0.5) : undefined;
}
