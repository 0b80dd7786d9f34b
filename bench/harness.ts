// The benchmark harness: for each model, prepare every engine, warm each up alone, then run them interleaved
// (A, B, C, A, B, C …) in passes spread out in time, so machine noise hits all alike; time each run, compare outputs
// with onnxruntime-node, and optionally measure memory in a child process per engine (between the passes).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensorError } from '../compiler/compare.js';
import type { Tensor } from '../ir/tensor.js';
import { runTsChild } from './child.js';
import { ENGINES } from './engines/index.js';
import type { Engine, EngineInfo, EngineName, PreparedEngine } from './engines/types.js';
import type { MemoryProbe } from './memory-probe.js';
import { readInputs, type BenchModel, type ModelInputs } from './models.js';
import { pairedRatio, passStats, quantile, type PassedLatency } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));
export const REFERENCE: EngineName = 'ort-node-cpu';

export interface BenchOptions {
  readonly iterations: number;
  /** Untimed runs first, per model and engine (each engine alone, one after the other): at least `warmup` runs
   *  and at least `warmupMs`, then on until the engine has settled (see `warmupSettled`), ending at `warmupMaxMs`
   *  whatever the state. A slow model (under `warmup` runs in 2 `warmupMs`) settles over shorter windows instead.
   *  V8 starts wasm on Liftoff and compiles a function with TurboFan in the background once it has run enough, so
   *  a count alone (fast models reach it in milliseconds, before the background compile ends) or a time alone (a
   *  cap on runs) left the tier an engine timed at to chance: an engine whose module was already hot from the
   *  previous model (onnxruntime-web's one module) was timed tiered up, the other not, and ratios depended on the
   *  order of the models; interleaved, a fast engine beside a slow one (WebGPU) got only the slow one's few runs,
   *  hence each engine alone. Under load the background compile can lag past any floor; a tier-up during the timed
   *  runs leaves the later passes faster, and the figure is the fastest pass (see `passes`). */
  readonly warmup: number;
  readonly warmupMs: number;
  readonly warmupMaxMs?: number;
  /** Stop iterating a model once this much time went into its timed runs (a pass stops past its share; each pass
   *  keeps at least one run). */
  readonly budgetMs: number;
  /** The timed iterations (all engines, interleaved, in a fixed order) in this many passes, spread out in time: the
   *  memory probes run in the gaps between them (an idle `passGapMs` where there are none), each pass after the first
   *  starts with an untimed run of each engine (of those under 200 ms a run), and each engine's figure is its fastest
   *  run (the GEMM microbenchmark's rule: each pass's fastest batch, the best pass); while a CPU engine has no clean
   *  pass (stats.ts CLEAN_PASS), every engine gets another pass. Why: the VM (2 vCPUs) has slow spells of a second or more
   *  from outside it (everything 1.5-2x slower; see bench/gemm.ts), longer than a fast model's whole timed phase; one
   *  median over back-to-back runs read gpt2_tiny 0.67x in a full run and 0.58-0.61x alone right after. Every engine
   *  gets the same passes, so a spell inside one pass hits them all there, and a clear window sets every figure.
   *  Measured with a process burning both cores 1 s every 2-4 s on top of other processes' load (7-12), six runs of
   *  gpt2_tiny with all engines: onnxc / ort-web by fastest run 0.572-0.587, by the fastest pass's median 0.425-0.549,
   *  by one median over all runs 0.263-0.393, by the median of per-iteration paired ratios 0.42-0.51; alone and
   *  quiet 0.58-0.61. The raw median and p10-p90 over all runs still show the spells. */
  readonly passes: number;
  readonly passGapMs: number;
  /** Measure memory in a child process per engine (slower). */
  readonly memory: boolean;
  readonly engines: readonly Engine[];
  readonly log: (line: string) => void;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  iterations: 20, warmup: 30, warmupMs: 1000, warmupMaxMs: 4000, budgetMs: 60_000, passes: 4, passGapMs: 1000, memory: true, engines: ENGINES, log: () => {},
};

export interface MemoryFigures {
  /** RSS after load + runs minus RSS before load (child process, after a GC): what the loaded model keeps. */
  readonly retainedBytes: number;
  /** Largest RSS sampled after the load and after each run, minus RSS before load. */
  readonly peakBytes: number;
}

export interface EngineResult {
  readonly engine: EngineName;
  readonly ok: boolean;
  /** Why the engine could not run this model (compile failure, unsupported op, run error). */
  readonly error?: string;
  readonly info?: EngineInfo;
  readonly latency?: PassedLatency;
  readonly memory?: MemoryFigures;
  readonly memoryError?: string;
  /** Max abs difference from onnxruntime-node's outputs, over all outputs (absent for the reference itself). */
  readonly maxAbsError?: number;
  /** Largest |output| of the reference, for scale. */
  readonly maxAbsOutput?: number;
}

export interface ModelResult {
  readonly model: string;
  readonly path: string;
  readonly error?: string;
  readonly inputs: readonly { name: string; dtype: string; dims: readonly number[] }[];
  readonly engines: readonly EngineResult[];
  /** Untimed runs before timing (the fewest of any engine; each engine's in `perEngine`), and how long the whole
   *  warm-up took; `settled`: every engine had stopped getting
   *  faster (false: `warmupMaxMs` ended the warm-up first). */
  readonly warmup?: { readonly runs: number; readonly ms: number; readonly settled: boolean; readonly perEngine?: Readonly<Record<string, number>> };
  /** Timed passes run, and how many of them were extra (a CPU engine had no clean pass). */
  readonly passes?: { readonly count: number; readonly extra: number };
  /** Each engine's warm-up times, ms, in run order (with ONNXC_BENCH_WARMUP_TRACE=1 only). */
  readonly warmupTrace?: Readonly<Record<string, readonly number[]>>;
  /** Figure (fastest run) onnxc-wasm / ort-web-wasm (below 1: onnxc is faster). */
  readonly onnxcOverOrtWeb?: number;
  /** Figure onnxc-webgpu / ort-node-webgpu, on the same adapter. */
  readonly webgpuOverOrtWebGpu?: number;
  /** Figure onnxc-wasm-relaxed / onnxc-wasm: the relaxed-SIMD build against the strict one. */
  readonly relaxedOverStrict?: number;
  /** The same ratios as the median of per-iteration ratios (each iteration's two runs back to back), for comparison. */
  readonly paired?: { readonly onnxcOverOrtWeb?: number; readonly relaxedOverStrict?: number };
}

interface Live { engine: Engine; prepared?: PreparedEngine; error?: string; samples: number[][]; warm: number[]; last?: Tensor[] }

/** Engines without a memory probe: WebGPU (its memory is mostly the adapter's, not this process's RSS) and the
 *  relaxed build (the strict build's memory: same buffers, other instructions). */
const NO_MEMORY_PROBE = /webgpu|relaxed/;
const MAX_EXTRA_PASSES = 2;
const REWARM_UNDER_MS = 200;

/** Whether warm-up times `t` have settled: the last `w` runs set no new low (their fastest is within 3% of the
 *  fastest before them). A tier-up is a step down that shows in the minimum; the minimum is the run least hit by
 *  other processes, so it stays put under load where a median of a few runs wanders. */
export function warmupSettled(t: readonly number[], w: number): boolean {
  if (w < 3) return true;
  if (t.length < 2 * w) return false;
  return Math.min(...t.slice(-w)) >= 0.97 * Math.min(...t.slice(0, -w));
}

/** `o` without its undefined fields (exactOptionalPropertyTypes). */
const defined = <T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);

function maxAbs(outs: readonly Tensor[], ref: readonly Tensor[]): { err: number; scale: number } {
  let err = 0, scale = 0;
  ref.forEach((r, k) => {
    const o = outs[k];
    if (!o || o.dims.join() !== r.dims.join()) { err = Infinity; return; }
    const e = tensorError(o, r);
    err = Math.max(err, e.maxAbs);
    scale = Math.max(scale, e.maxExpected);
  });
  return { err, scale };
}

function probeMemory(engine: EngineName, model: BenchModel, inputs: ModelInputs, artifact: string, runs: number): { memory?: MemoryFigures; error?: string } {
  const args = [engine, model.path, model.dataSet!, artifact, String(runs), JSON.stringify(inputs.names)];
  const r = runTsChild<MemoryProbe>(join(here, 'memory-probe.ts'), args, 600_000, ['--expose-gc']);
  const p = r.value;
  if (!p?.ok) return { error: p?.error ?? r.error ?? 'memory probe failed' };
  const before = p.rssBeforeBytes!;
  return { memory: { retainedBytes: p.rssAfterBytes! - before, peakBytes: p.rssSampledPeakBytes! - before } };
}

export async function benchModel(model: BenchModel, opts: BenchOptions = DEFAULT_OPTIONS): Promise<ModelResult> {
  let inputs: ModelInputs;
  try {
    inputs = readInputs(model);
  } catch (e) {
    return { model: model.name, path: model.path, error: `cannot read inputs: ${message(e)}`, inputs: [], engines: [] };
  }
  const inputInfo = inputs.names.map((n) => ({ name: n, dtype: inputs.feeds[n]!.dtype, dims: inputs.feeds[n]!.dims }));
  const work = mkdtempSync(join(tmpdir(), `onnxc-bench-${model.name}-`));
  try {
    const live: Live[] = [];
    for (const engine of opts.engines) {
      const l: Live = { engine, samples: [], warm: [] };
      opts.log(`  ${model.name}: preparing ${engine.name}`);
      try {
        l.prepared = await engine.prepare(model, inputs, join(work, engine.name));
      } catch (e) {
        l.error = message(e);
        opts.log(`  ${model.name}: ${engine.name} failed: ${l.error}`);
      }
      live.push(l);
    }
    const runOne = async (l: Live, timed: boolean): Promise<void> => {
      if (!l.prepared || l.error) return;
      try {
        const t0 = performance.now();
        const outs = await l.prepared.run(inputs.feeds);
        const dt = performance.now() - t0;
        if (timed) l.samples[l.samples.length - 1]!.push(dt);
        else l.warm.push(dt);
        l.last = outs;
      } catch (e) {
        l.error = `run failed: ${message(e)}`;
      }
    };
    // interleaved: one run of each engine per iteration
    const iteration = async (timed: boolean): Promise<void> => {
      for (const l of live) await runOne(l, timed);
    };
    // warm-up per engine, one engine after the other, by count, by time and until settled (see BenchOptions.warmup):
    // a fast engine is not held to the run count of a slow one beside it
    const w0 = performance.now(), maxMs = Math.max(opts.warmupMs, opts.warmupMaxMs ?? opts.warmupMs);
    const window = Math.floor(opts.warmup / 3);
    const perEngine: Record<string, number> = {};
    let settled = true;
    for (const l of live) {
      if (!l.prepared || l.error) continue;
      const e0 = performance.now();
      let n = 0, ok = false;
      for (;;) {
        const elapsed = performance.now() - e0;
        // a slow engine (a few runs per warmupMs) tiers up within its first runs: from 2 warmupMs on, its count floor
        // is waived and it settles over windows of a third of its runs (at least 3)
        const slow = elapsed >= 2 * opts.warmupMs && n < opts.warmup;
        const w = slow && window >= 3 ? Math.max(3, Math.min(window, Math.floor(n / 3))) : window;
        ok = warmupSettled(l.warm, w);
        if (l.error) break;
        if ((n >= opts.warmup || slow) && elapsed >= opts.warmupMs && ok) break;
        if (n >= Math.min(opts.warmup, 2) && elapsed >= maxMs) break;
        await runOne(l, false);
        n++;
      }
      perEngine[l.engine.name] = n;
      if (!ok && l.error === undefined) {
        settled = false;
        opts.log(`  ${model.name}: ${l.engine.name} warm-up ended by time after ${n} runs, not settled`);
      }
    }
    const counts = Object.values(perEngine), runs = counts.length ? Math.min(...counts) : 0;
    const warmMs = performance.now() - w0;
    // the timed runs in passes (see BenchOptions.passes), the memory probes (child processes) in the gaps between them
    const probes = opts.memory && model.dataSet ? live.filter((l) => l.prepared && !l.error && !NO_MEMORY_PROBE.test(l.engine.name)) : [];
    const memory = new Map<EngineName, { memory?: MemoryFigures; error?: string }>();
    const passes = Math.max(1, Math.min(opts.passes, opts.iterations)), perPass = Math.ceil(opts.iterations / passes);
    const probe = (l: Live): void => {
      opts.log(`  ${model.name}: memory of ${l.engine.name}`);
      memory.set(l.engine.name, probeMemory(l.engine.name, model, inputs, join(work, l.engine.name), 2));
    };
    const lastPassMedian = (l: Live): number => {
      const s = l.samples.filter((p) => p.length).pop();
      return s ? quantile([...s].sort((a, b) => a - b), 0.5) : 0;
    };
    const timedPass = async (warm: boolean): Promise<void> => {
      // after a gap (a child process's memory traffic), an untimed run brings an engine's data back in cache; not worth
      // it where a run takes long (a cold start is a small part of it, and svtr_tiny's WebGPU runs take seconds)
      if (warm) for (const l of live) if (lastPassMedian(l) < REWARM_UNDER_MS) await runOne(l, false);
      for (const l of live) l.samples.push([]);
      const started = performance.now();
      for (let it = 0; it < perPass; it++) {
        await iteration(true);
        if (performance.now() - started > opts.budgetMs / passes) {
          opts.log(`  ${model.name}: pass time budget reached after ${it + 1} timed iterations`);
          break;
        }
      }
    };
    const timed0 = performance.now();
    for (let p = 0; p < passes; p++) {
      if (p > 0) {
        const gap = probes.slice(Math.floor(((p - 1) * probes.length) / (passes - 1)), Math.floor((p * probes.length) / (passes - 1)));
        gap.forEach(probe);
        if (!gap.length && opts.passGapMs > 0) await new Promise((r) => setTimeout(r, opts.passGapMs));
      }
      await timedPass(p > 0);
    }
    // no clean pass yet (every pass's median over 1.1x the engine's fastest run: each pass met a slow spell, or a
    // late tier-up): another pass for every engine, twice at most and within the time budget. WebGPU on a CPU
    // adapter (lavapipe's threads on the same 2 cores) is that noisy by itself and does not ask for one.
    let extraPasses = 0;
    const unclean = (l: Live): boolean => l.samples.some((s) => s.length) && !passStats(l.samples).clean;
    while (extraPasses < MAX_EXTRA_PASSES && performance.now() - timed0 < opts.budgetMs) {
      const hit = live.filter((l) => l.error === undefined && l.prepared && !l.engine.name.endsWith('webgpu') && unclean(l)).map((l) => l.engine.name);
      if (!hit.length) break;
      opts.log(`  ${model.name}: no clean pass for ${hit.join(', ')}; one more pass`);
      extraPasses++;
      await timedPass(true);
    }
    probes.filter((l) => !memory.has(l.engine.name)).forEach(probe); // one pass: no gaps
    for (const l of live) await l.prepared?.dispose().catch(() => {});
    const ref = live.find((l) => l.engine.name === REFERENCE && !l.error)?.last;
    const engines: EngineResult[] = live.map((l) => {
      if (l.error || !l.prepared) return { engine: l.engine.name, ok: false, error: l.error ?? 'not prepared', ...(l.prepared ? { info: l.prepared.info } : {}) };
      const cmp = ref && l.last && l.engine.name !== REFERENCE ? maxAbs(l.last, ref) : undefined;
      const m = memory.get(l.engine.name);
      return {
        engine: l.engine.name, ok: true, info: l.prepared.info, latency: passStats(l.samples),
        ...(cmp ? { maxAbsError: cmp.err, maxAbsOutput: cmp.scale } : {}),
        ...(m ? (m.memory ? { memory: m.memory } : { memoryError: m.error ?? 'memory probe failed' }) : {}),
      };
    });
    const lat = (n: EngineName): PassedLatency | undefined => engines.find((e) => e.engine === n && e.ok)?.latency;
    const over = (x: EngineName, y: EngineName): number | undefined => {
      const a = lat(x)?.figureMs, b = lat(y)?.figureMs;
      return a !== undefined && b ? a / b : undefined;
    };
    const pair = (x: EngineName, y: EngineName): number | undefined => {
      const a = lat(x), b = lat(y);
      return a && b ? pairedRatio(a, b) : undefined;
    };
    const ratios = {
      onnxcOverOrtWeb: over('onnxc-wasm', 'ort-web-wasm'), webgpuOverOrtWebGpu: over('onnxc-webgpu', 'ort-node-webgpu'),
      relaxedOverStrict: over('onnxc-wasm-relaxed', 'onnxc-wasm'),
    };
    const paired = defined({ onnxcOverOrtWeb: pair('onnxc-wasm', 'ort-web-wasm'), relaxedOverStrict: pair('onnxc-wasm-relaxed', 'onnxc-wasm') });
    return {
      model: model.name, path: model.path, inputs: inputInfo, engines, warmup: { runs, ms: warmMs, settled, perEngine },
      passes: { count: passes + extraPasses, extra: extraPasses },
      ...(process.env.ONNXC_BENCH_WARMUP_TRACE ? { warmupTrace: Object.fromEntries(live.map((l) => [l.engine.name, l.warm.map((x) => +x.toFixed(3))])) } : {}),
      ...defined(ratios), ...(Object.keys(paired).length ? { paired } : {}),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
