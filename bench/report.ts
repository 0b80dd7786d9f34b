// The benchmark's report: one machine-readable object (`--json`) and its text rendering, a few small tables.

import type { EngineName } from './engines/types.js';
import type { GemmReport } from './gemm.js';
import type { EngineResult, ModelResult } from './harness.js';
import { quantile } from './stats.js';

export interface BenchReport {
  readonly machine: { readonly cpu: string; readonly cores: number; readonly node: string; readonly platform: string; readonly loadAvg: readonly number[] };
  readonly settings: {
    readonly iterations: number; readonly warmup: number; readonly warmupMs: number; readonly warmupMaxMs?: number; readonly budgetMs: number; readonly memory: boolean;
    /** Timed passes per model (absent in reports from before passes: one pass). */
    readonly passes?: number; readonly passGapMs?: number;
  };
  readonly engines: readonly { readonly name: EngineName; readonly summary: string }[];
  readonly models: readonly ModelResult[];
  readonly gemm?: GemmReport;
  readonly gemmError?: string;
  /** What the figures mean (how memory and sizes are measured). */
  readonly notes: readonly string[];
}

const ms = (x: number | undefined): string => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const kib = (b: number | undefined): string => (b === undefined ? '-' : b >= 10 * 1024 * 1024 ? `${(b / 1048576).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const sci = (x: number | undefined): string => (x === undefined ? '-' : x === Infinity ? 'shape mismatch' : x === 0 ? '0' : x.toExponential(2));

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const w = head.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, k) => (k === 0 ? c.padEnd(w[k]!) : c.padStart(w[k]!))).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
}

const engineOf = (m: ModelResult, n: EngineName): EngineResult | undefined => m.engines.find((e) => e.engine === n);
/** An engine's figure: its fastest pass's median (a report from before passes: the median). */
const figure = (e: EngineResult): number | undefined => e.latency?.figureMs ?? e.latency?.medianMs;

export function formatReport(r: BenchReport): string {
  const names = r.engines.map((e) => e.name);
  const out: string[] = [];
  const s = r.settings;
  out.push(`onnxc benchmark: ${r.machine.cpu} x${r.machine.cores}, node ${r.machine.node}, load average ${r.machine.loadAvg.map((x) => x.toFixed(2)).join(' ')}`);
  const passes = s.passes ?? 1;
  out.push(`${s.iterations} timed runs per engine${passes > 1 ? ` in ${passes} passes of ${Math.ceil(s.iterations / passes)}` : ''} (fewer past ${s.budgetMs / 1000} s), after >= ${s.warmup} warm-up runs and ${s.warmupMs / 1000} s, on until every engine stops getting faster${s.warmupMaxMs !== undefined ? ` (at most ${s.warmupMaxMs / 1000} s)` : ''}; engines interleaved per iteration`);
  if (passes > 1) out.push(`Passes: every engine runs in every pass; the passes are spread out (the memory probes run between them, else a pause of ${(s.passGapMs ?? 0) / 1000} s), each after the first opens with an untimed run of each engine under 200 ms a run; an engine's figure is its fastest run (interference only adds time), so a slow spell from outside the VM (1.5-2x for a second or more) must cover every pass to move it; the median and p10..p90 are over all runs, spells included; a pass is added for every engine (twice at most, within the time budget) while a CPU engine has no clean pass (none with its median within 1.1x of its fastest run)`);
  for (const e of r.engines) out.push(`  ${e.name}: ${e.summary}`);
  out.push('', `Latency, ms: ${passes > 1 ? 'figure (fastest run)' : 'median'} [p10 .. p90 of all runs]; warm-up = untimed runs (fewest of any engine, each warmed alone) / time of the whole warm-up, (cap) when not settled, (+N) passes added; ratio = onnxc-wasm / ort-web-wasm, 2t ratio = onnxc-wasm-2t / ort-web-wasm-2t, 2t speedup = onnxc-wasm / onnxc-wasm-2t, gpu ratio = onnxc-webgpu / ort-node-webgpu (below 1: onnxc faster), relaxed/strict = onnxc-wasm-relaxed / onnxc-wasm (below 1: relaxed faster); ratios are of figures; * = no clean pass (no pass's median within 1.1x of the fastest run: the figure is a lone run, not a steady speed), on the figure and its ratios`);
  const med = (m: ModelResult, n: EngineName): number | undefined => { const e = engineOf(m, n); return e?.ok ? figure(e) : undefined; };
  const unclean = (m: ModelResult, n: EngineName): boolean => engineOf(m, n)?.latency?.clean === false;
  const ratio = (m: ModelResult, x: EngineName, y: EngineName): string => {
    const a = med(m, x), b = med(m, y);
    return a !== undefined && b ? `${(a / b).toFixed(2)}x${unclean(m, x) || unclean(m, y) ? '*' : ''}` : '-';
  };
  const warm = (m: ModelResult): string => (m.warmup ? `${m.warmup.runs} / ${(m.warmup.ms / 1000).toFixed(1)} s${m.warmup.settled ? '' : ' (cap)'}${m.passes?.extra ? ` (+${m.passes.extra})` : ''}` : '-');
  out.push(...table(['model', 'warm-up', ...names, 'ratio', '2t ratio', '2t speedup', 'gpu ratio', 'relaxed/strict'], r.models.map((m) => [
    m.model,
    warm(m),
    ...names.map((n) => {
      const e = engineOf(m, n);
      if (!e) return '-';
      if (!e.ok || !e.latency) return 'failed';
      return `${ms(figure(e))}${e.latency.clean === false ? '*' : ''} [${ms(e.latency.p10Ms)} .. ${ms(e.latency.p90Ms)}]`;
    }),
    ratio(m, 'onnxc-wasm', 'ort-web-wasm'),
    ratio(m, 'onnxc-wasm-2t', 'ort-web-wasm-2t'),
    ratio(m, 'onnxc-wasm', 'onnxc-wasm-2t'),
    ratio(m, 'onnxc-webgpu', 'ort-node-webgpu'),
    ratio(m, 'onnxc-wasm-relaxed', 'onnxc-wasm'),
  ])));
  if (passes > 1) {
    out.push('', 'Passes: each engine\'s median of all runs | pass medians min/median/max, ms (a wide spread: a slow spell)');
    out.push(...table(['model', ...names], r.models.map((m) => [m.model, ...names.map((n) => {
      const p = engineOf(m, n)?.latency?.passMediansMs;
      if (!p?.length) return '-';
      const s = [...p].sort((a, b) => a - b);
      return `${ms(engineOf(m, n)?.latency?.medianMs)} | ${ms(s[0])}/${ms(quantile(s, 0.5))}/${ms(s[s.length - 1])}`;
    })])));
  }
  out.push('', 'onnxc artifact: compile time, code (model.wasm, weights moved out), loader.js, weights, linear memory');
  out.push(...table(['model', 'compile', 'code', 'loader', 'weights', 'linear mem'], r.models.flatMap((m) => {
    const e = engineOf(m, 'onnxc-wasm');
    if (!e?.ok || !e.info) return [];
    const i = e.info;
    return [[m.model, i.compileMs === undefined ? '-' : `${ms(i.compileMs)} ms`, kib(i.codeBytes), kib(i.loaderBytes), kib(i.weightBytes), kib(i.linearMemoryBytes)]];
  })));
  if (r.settings.memory) {
    out.push('', 'Memory: RSS growth of a child process loading the model and running it twice: retained / sampled peak');
    out.push(...table(['model', ...names], r.models.map((m) => [m.model, ...names.map((n) => {
      const e = engineOf(m, n);
      if (!e?.ok) return '-';
      if (!e.memory) return e.memoryError ? 'probe failed' : '-';
      return `${kib(e.memory.retainedBytes)} / ${kib(e.memory.peakBytes)}`;
    })])));
  }
  const others = names.filter((n) => n !== 'ort-node-cpu');
  out.push('', 'Agreement with ort-node-cpu: max abs error (largest |output| in brackets)');
  out.push(...table(['model', ...others], r.models.map((m) => [m.model, ...others.map((n) => {
    const e = engineOf(m, n);
    return e?.ok && e.maxAbsError !== undefined ? `${sci(e.maxAbsError)} (${sci(e.maxAbsOutput)})` : '-';
  })])));
  const failures = r.models.flatMap((m) => [
    ...(m.error ? [`${m.model}: ${m.error}`] : []),
    ...m.engines.filter((e) => !e.ok).map((e) => `${m.model} / ${e.engine}: ${e.error ?? 'failed'}`),
    ...m.engines.filter((e) => e.memoryError).map((e) => `${m.model} / ${e.engine} memory probe: ${e.memoryError}`),
  ]);
  if (failures.length) out.push('', 'Not run:', ...failures.map((f) => `  ${f}`));
  if (r.gemm) {
    const g0 = r.gemm, f1 = (x: number): string => x.toFixed(1);
    // the spread of a figure's passes (each pass's fastest batch): min/median/max, GFLOP/s
    const spread = (s?: { min: number; median: number; max: number }): string => (s ? `${f1(s.min)}/${f1(s.median)}/${f1(s.max)}` : '-');
    const relaxedPeak = g0.relaxedPeakGflops ? `, relaxed-SIMD madd ${g0.relaxedPeakGflops.toFixed(1)} (passes ${spread(g0.relaxedPeakSpread)})` : '';
    const load = g0.load ? `, load ${g0.load.map((x) => x.toFixed(1)).join(' -> ')}` : '';
    out.push('', `GEMM kernel (onnxc wasm gemm core${load}), GFLOP/s; peak ${g0.peakGflops.toFixed(1)} (passes min/med/max ${spread(g0.peakSpread)})${relaxedPeak} (${g0.peakMethod})`);
    const pct = (x?: number): string => (x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
    out.push(...table(['shape', 'M', 'N', 'K', 'tile', 'ms', 'GFLOP/s', 'passes min/med/max', '% peak', 'relaxed GFLOP/s', 'relaxed passes', 'relaxed % peak', 'bw ceiling', '% ceiling'], g0.rows.map((g) => [
      g.label, String(g.M), String(g.N), String(g.K), g.plan ?? '-', ms(g.medianMs), g.gflops.toFixed(2), spread(g.spread), pct(g.ofPeak),
      g.relaxedGflops?.toFixed(2) ?? '-', spread(g.relaxedSpread), pct(g.relaxedOfPeak), g.ceilingGflops?.toFixed(1) ?? '-', pct(g.ofCeiling),
    ])));
  } else if (r.gemmError) {
    out.push('', `GEMM microbenchmark failed: ${r.gemmError}`);
  }
  if (r.notes.length) out.push('', 'Notes:', ...r.notes.map((n) => `  ${n}`));
  return `${out.join('\n')}\n`;
}
