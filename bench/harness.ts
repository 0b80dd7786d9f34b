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
  /** Untimed iterations first: at least `warmup`, and more (up to 10x) until `warmupMs` have passed. */
  readonly warmup: number;
  readonly warmupMs: number;
  /** Stop iterating a model once this much time went into its timed runs (at least 3 runs are kept). */
  readonly budgetMs: number;
  /** Measure memory in a child process per engine (slower). */
  readonly memory: boolean;
  readonly engines: readonly Engine[];
  readonly log: (line: string) => void;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  iterations: 20, warmup: 3, warmupMs: 2000, budgetMs: 60_000, memory: true, engines: ENGINES, log: () => {},
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
  /** Median latency onnxc-wasm / ort-web-wasm (below 1: onnxc is faster). */
  readonly onnxcOverOrtWeb?: number;
  /** Median latency onnxc-webgpu / ort-node-webgpu, on the same adapter. */
  readonly webgpuOverOrtWebGpu?: number;
}

interface Live { engine: Engine; prepared?: PreparedEngine; error?: string; samples: number[]; last?: Tensor[] }

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
      const l: Live = { engine, samples: [] };
      opts.log(`  ${model.name}: preparing ${engine.name}`);
      try {
        l.prepared = await engine.prepare(model, inputs, join(work, engine.name));
      } catch (e) {
        l.error = message(e);
        opts.log(`  ${model.name}: ${engine.name} failed: ${l.error}`);
      }
      live.push(l);
    }
    // interleaved: one run of each engine per iteration
    const iteration = async (timed: boolean): Promise<void> => {
      for (const l of live) {
        if (!l.prepared || l.error) continue;
        try {
          const t0 = performance.now();
          const outs = await l.prepared.run(inputs.feeds);
          const dt = performance.now() - t0;
          if (timed) l.samples.push(dt);
          l.last = outs;
        } catch (e) {
          l.error = `run failed: ${message(e)}`;
        }
      }
    };
    // warm-up by count and by time: V8 starts wasm on its baseline compiler and tiers up hot functions later
    const w0 = performance.now();
    for (let it = 0; it < opts.warmup || (performance.now() - w0 < opts.warmupMs && it < 10 * opts.warmup); it++) await iteration(false);
    const started = performance.now();
    for (let it = 0; it < opts.iterations; it++) {
      await iteration(true);
      if (it >= 2 && performance.now() - started > opts.budgetMs) {
        opts.log(`  ${model.name}: time budget reached after ${it + 1} timed iterations`);
        break;
      }
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
      model: model.name, path: model.path, inputs: inputInfo, engines,
      ...(a !== undefined && b ? { onnxcOverOrtWeb: a / b } : {}), ...(ga !== undefined && gb ? { webgpuOverOrtWebGpu: ga / gb } : {}),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
