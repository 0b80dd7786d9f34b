// Summary statistics of latency samples: median and percentiles by linear interpolation between order statistics,
// and the model bench's runs taken in passes (the figure: the fastest run of all passes).

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
 *  spells included), each pass's median, and the figure, the fastest run (`minMs`). Interference only ever adds
 *  time to a run, so the fastest run is the one least disturbed; on this 2-vCPU VM under other processes' load
 *  (load 7-12) and simulated spells it was the one statistic that repeated (gpt2_tiny onnxc / ort-web 0.57-0.59
 *  over six runs where the fastest pass's median read 0.43-0.55 and one median over all runs 0.26-0.39; see
 *  BenchOptions.passes). */
export interface PassedLatency extends LatencyStats {
  /** The fastest run: the engine's figure (ratios are of figures). */
  readonly figureMs: number;
  readonly passMediansMs: readonly number[];
  /** Some pass held a steady speed near the figure: its median within CLEAN_PASS of the fastest run. False: every
   *  pass met interference, and the figure is a lone run. */
  readonly clean: boolean;
  /** Each pass's runs, ms, in run order (a run's index is its iteration within the pass, the same for every engine). */
  readonly passSamplesMs: readonly (readonly number[])[];
}

/** A pass is clean when its median is within this factor of the engine's fastest run (quiet runs: 1.02-1.03). */
export const CLEAN_PASS = 1.1;

export function passStats(passes: readonly (readonly number[])[]): PassedLatency {
  const done = passes.filter((p) => p.length > 0);
  const medians = done.map((p) => quantile([...p].sort((a, b) => a - b), 0.5));
  const fastest = done.length ? Math.min(...done.flat()) : NaN;
  return {
    ...latencyStats(done.flat()), figureMs: fastest, clean: medians.some((m) => m <= CLEAN_PASS * fastest),
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
