// A whole benchmark run: every model through the harness, then the GEMM microbenchmark in its own process,
// gathered into one BenchReport.

import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTsChild } from './child.js';
import { GEMM_NODE_FLAGS, type GemmReport } from './gemm.js';
import { benchModel, DEFAULT_OPTIONS, type BenchOptions, type ModelResult } from './harness.js';
import type { BenchModel } from './models.js';
import type { BenchReport } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface SuiteOptions extends BenchOptions {
  /** Run the GEMM microbenchmark; a RegExp string selects shapes by label. */
  readonly gemm: boolean | string;
}

export const NOTES = [
  'latency: wall time of one session.run() including copying inputs in and outputs out, in this one Node process',
  'compile: onnxc import + compile + write of the artifact (in this process, after Binaryen is loaded; in a child process with --isolate-compile)',
  'code: model.wasm compiled with every weight moved to weights.bin; loader: loader.js written beside it',
  'linear mem: the onnxc module\'s fixed memory (arena + weights); it never grows',
  'memory: per engine, run in the gaps between the timed passes, a child process (--expose-gc) loads the model after a GC and runs it twice; retained = RSS after (GC) minus RSS before loading (GC), sampled peak = largest RSS seen after the load and after each run minus RSS before; small models sit within GC noise (a few MiB); both include the engine\'s own wasm/native runtime start-up where that happens at first load',
  'agreement: the last run\'s outputs against ort-node-cpu\'s, max |a - b| over all outputs',
  'passes: JSON has each engine\'s runs per pass (passSamplesMs) and, under paired, the median of per-iteration ratios (the two runs of one iteration back to back) beside the figures\' ratios',
  'relaxed/strict: onnxc-wasm-relaxed is the same model compiled with --simd relaxed (f32x4.relaxed_madd in the GEMM/conv cores; Node 20 runs it behind --experimental-wasm-relaxed-simd, set by the engine); no memory probe of its own (the strict build\'s buffers)',
];

export async function runSuite(models: readonly BenchModel[], opts: SuiteOptions): Promise<BenchReport> {
  const results: ModelResult[] = [];
  for (const m of models) {
    opts.log(`${m.name}`);
    results.push(await benchModel(m, opts));
  }
  let gemm: GemmReport | undefined, gemmError: string | undefined;
  if (opts.gemm !== false) {
    opts.log('gemm microbenchmark');
    const r = runTsChild<GemmReport>(join(here, 'gemm-child.ts'), typeof opts.gemm === 'string' ? [opts.gemm] : [], 600_000, GEMM_NODE_FLAGS);
    gemm = r.value;
    gemmError = r.error;
  }
  const c = cpus();
  return {
    machine: { cpu: c[0]?.model.trim() ?? 'unknown', cores: c.length, node: process.version, platform: `${process.platform}-${process.arch}`, loadAvg: loadavg() },
    settings: { iterations: opts.iterations, warmup: opts.warmup, warmupMs: opts.warmupMs, ...(opts.warmupMaxMs !== undefined ? { warmupMaxMs: opts.warmupMaxMs } : {}), budgetMs: opts.budgetMs, memory: opts.memory, passes: opts.passes, passGapMs: opts.passGapMs },
    engines: opts.engines.map((e) => ({ name: e.name, summary: e.summary })),
    models: results,
    ...(gemm ? { gemm } : {}),
    ...(gemmError ? { gemmError } : {}),
    notes: [...NOTES, ...(opts.gemm !== false ? [`gemm: run in a child process with ${GEMM_NODE_FLAGS.join(' ')} so V8 runs optimised code from the first call`] : [])],
  };
}

export { DEFAULT_OPTIONS };
