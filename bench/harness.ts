// The benchmark harness: for each model, prepare every engine, then run them interleaved (A, B, C, A, B, C …)
// so machine noise hits all alike; time each run, compare outputs with onnxruntime-node, and optionally
// measure memory in a child process per engine.

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
import { latencyStats, type LatencyStats } from './stats.js';

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
   *  hence each engine alone. Under load the background compile can lag past any floor; an engine whose timed runs
   *  still step down (`timedStepDown`) gets its timed runs done again, once. */
  readonly warmup: number;
  readonly warmupMs: number;
  readonly warmupMaxMs?: number;
  /** Stop iterating a model once this much time went into its timed runs (at least 3 runs are kept). */
  readonly budgetMs: number;
  /** Measure memory in a child process per engine (slower). */
  readonly memory: boolean;
  readonly engines: readonly Engine[];
  readonly log: (line: string) => void;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  iterations: 20, warmup: 30, warmupMs: 1000, warmupMaxMs: 4000, budgetMs: 60_000, memory: true, engines: ENGINES, log: () => {},
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
  readonly latency?: LatencyStats;
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
  readonly warmup?: { readonly runs: number; readonly ms: number; readonly settled: boolean; readonly retimed?: boolean; readonly perEngine?: Readonly<Record<string, number>> };
  /** Each engine's warm-up times, ms, in run order (with ONNXC_BENCH_WARMUP_TRACE=1 only). */
  readonly warmupTrace?: Readonly<Record<string, readonly number[]>>;
  /** Median latency onnxc-wasm / ort-web-wasm (below 1: onnxc is faster). */
  readonly onnxcOverOrtWeb?: number;
  /** Median latency onnxc-webgpu / ort-node-webgpu, on the same adapter. */
  readonly webgpuOverOrtWebGpu?: number;
}

interface Live { engine: Engine; prepared?: PreparedEngine; error?: string; samples: number[]; warm: number[]; last?: Tensor[] }

const median = (xs: readonly number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };

/** Whether timed samples step down: the median of the first third over 1.2x the median of the last third. */
export function timedStepDown(t: readonly number[]): boolean {
  if (t.length < 6) return false;
  const third = Math.floor(t.length / 3);
  return median(t.slice(0, third)) > 1.2 * median(t.slice(-third));
}

/** Whether warm-up times `t` have settled: the last `w` runs set no new low (their fastest is within 3% of the
 *  fastest before them). A tier-up is a step down that shows in the minimum; the minimum is the run least hit by
 *  other processes, so it stays put under load where a median of a few runs wanders. */
export function warmupSettled(t: readonly number[], w: number): boolean {
  if (w < 3) return true;
  if (t.length < 2 * w) return false;
  return Math.min(...t.slice(-w)) >= 0.97 * Math.min(...t.slice(0, -w));
}

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
        (timed ? l.samples : l.warm).push(dt);
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
    const timedRuns = async (): Promise<void> => {
      const started = performance.now();
      for (let it = 0; it < opts.iterations; it++) {
        await iteration(true);
        if (it >= 2 && performance.now() - started > opts.budgetMs) {
          opts.log(`  ${model.name}: time budget reached after ${it + 1} timed iterations`);
          break;
        }
      }
    };
    await timedRuns();
    // a tier-up that landed during the timed runs (V8's background compile lags under load): time them again, once
    const stepped = live.filter((l) => l.error === undefined && timedStepDown(l.samples)).map((l) => l.engine.name);
    let retimed = false;
    if (stepped.length) {
      opts.log(`  ${model.name}: ${stepped.join(', ')} got faster during the timed runs; timing again`);
      for (const l of live) l.samples = [];
      await timedRuns();
      retimed = true;
    }
    for (const l of live) await l.prepared?.dispose().catch(() => {});
    const ref = live.find((l) => l.engine.name === REFERENCE && !l.error)?.last;
    const engines: EngineResult[] = live.map((l) => {
      if (l.error || !l.prepared) return { engine: l.engine.name, ok: false, error: l.error ?? 'not prepared', ...(l.prepared ? { info: l.prepared.info } : {}) };
      const cmp = ref && l.last && l.engine.name !== REFERENCE ? maxAbs(l.last, ref) : undefined;
      return {
        engine: l.engine.name, ok: true, info: l.prepared.info, latency: latencyStats(l.samples),
        ...(cmp ? { maxAbsError: cmp.err, maxAbsOutput: cmp.scale } : {}),
      };
    });
    if (opts.memory && model.dataSet) {
      for (let k = 0; k < engines.length; k++) {
        const e = engines[k]!;
        // (a WebGPU engine's memory is mostly the adapter's, not this process's RSS)
        if (!e.ok || e.engine.endsWith('webgpu')) continue;
        opts.log(`  ${model.name}: memory of ${e.engine}`);
        const m = probeMemory(e.engine, model, inputs, join(work, e.engine), 2);
        engines[k] = { ...e, ...(m.memory ? { memory: m.memory } : { memoryError: m.error }) };
      }
    }
    const med = (n: EngineName): number | undefined => engines.find((e) => e.engine === n && e.ok)?.latency?.medianMs;
    const a = med('onnxc-wasm'), b = med('ort-web-wasm'), ga = med('onnxc-webgpu'), gb = med('ort-node-webgpu');
    return {
      model: model.name, path: model.path, inputs: inputInfo, engines, warmup: { runs, ms: warmMs, settled, perEngine, ...(retimed ? { retimed } : {}) },
      ...(process.env.ONNXC_BENCH_WARMUP_TRACE ? { warmupTrace: Object.fromEntries(live.map((l) => [l.engine.name, l.warm.map((x) => +x.toFixed(3))])) } : {}),
      ...(a !== undefined && b ? { onnxcOverOrtWeb: a / b } : {}), ...(ga !== undefined && gb ? { webgpuOverOrtWebGpu: ga / gb } : {}),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
