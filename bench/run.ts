// `npm run bench [-- MODEL… | --json]`: onnxc wasm (strict and relaxed SIMD) against onnxruntime-web (wasm) and onnxruntime-node (CPU) on
// the shared real models and the built bench models (models/bench-models.ts), plus the GEMM kernel microbenchmark.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { engineByName, ENGINES } from './engines/index.js';
import { onnxcWasmEngine } from './engines/onnxc-wasm.js';
import type { Engine } from './engines/types.js';
import { BUILT_MODELS, defaultModels, resolveModel, sharedModels, sharedRoot, type BenchModel } from './models.js';
import { formatReport } from './report.js';
import { DEFAULT_OPTIONS, runSuite } from './suite.js';

const USAGE = `usage: npm run bench -- [MODEL...] [--json] [--iterations N] [--warmup N] [--warmup-max SECONDS] [--budget SECONDS]
                          [--engines a,b,c] [--no-memory] [--no-gemm] [--gemm-only] [--gemm-filter RE]
                          [--passes N] [--pass-gap SECONDS] [--isolate-compile] [--profile]
--passes N: the timed runs in N passes (default ${DEFAULT_OPTIONS.passes}; the iterations rounded up to whole passes), the memory probes
           between them (else a --pass-gap pause, default ${DEFAULT_OPTIONS.passGapMs / 1000} s); each engine's figure is its fastest run
           (bench/harness.ts BenchOptions.passes: slow spells from outside the VM); --passes 1: one pass (figure still the fastest run)
--warmup N: at least N untimed runs per model and engine, each engine alone (default ${DEFAULT_OPTIONS.warmup}), and ${DEFAULT_OPTIONS.warmupMs / 1000} s, then on until it gets no
           faster (no new fastest run in N/3 runs: V8's background tier-up done), at most --warmup-max seconds (default ${(DEFAULT_OPTIONS.warmupMaxMs ?? 0) / 1000})
--profile: after the report, each model's per-kernel profile (bench/perf-kernels.ts: time per op and top kernels)
--isolate-compile: compile each model in a child process (survives a Binaryen abort; ~10 s slower per model)
--json: machine-readable report on stdout (use 'npm run -s bench -- --json' to keep npm's banner out of it)
MODEL: a folder name under $ONNXC_SHARED/models, one of ${BUILT_MODELS.join(', ')} (models/bench-models.ts),
       a model folder, or an .onnx file (default: every shared model, then every built model)`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: 'boolean' }, iterations: { type: 'string' }, warmup: { type: 'string' }, 'warmup-max': { type: 'string' }, budget: { type: 'string' },
      engines: { type: 'string' }, 'no-memory': { type: 'boolean' }, 'no-gemm': { type: 'boolean' }, 'gemm-only': { type: 'boolean' },
      'gemm-filter': { type: 'string' }, passes: { type: 'string' }, 'pass-gap': { type: 'string' }, 'isolate-compile': { type: 'boolean' }, profile: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(USAGE); return 0; }
  const num = (v: string | undefined, d: number): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`expected a number, got '${v}'\n${USAGE}`);
    return n;
  };
  const engines: Engine[] = (values.engines ? values.engines.split(',').map((n) => {
    const e = engineByName(n.trim());
    if (!e) throw new Error(`unknown engine '${n}' (available: ${ENGINES.map((x) => x.name).join(', ')})`);
    return e;
  }) : [...ENGINES]).map((e) => (e.name === 'onnxc-wasm' && values['isolate-compile'] ? onnxcWasmEngine({ isolated: true }) : e));
  let models: BenchModel[] = [];
  if (!values['gemm-only']) {
    if (positionals.length) {
      models = positionals.map((p) => {
        const m = resolveModel(p);
        if (!m) throw new Error(`no model '${p}' (not under ${sharedRoot()}/models, not a folder with an .onnx file, not a file)`);
        return m;
      });
    } else {
      if (sharedModels().length === 0) console.log(`no shared models at ${sharedRoot()}/models (set ONNXC_SHARED to the shared folder): only the built models`);
      models = defaultModels();
    }
  }
  const log = values.json ? (l: string): void => { process.stderr.write(`${l}\n`); } : (l: string): void => { console.log(l); };
  const report = await runSuite(models, {
    ...DEFAULT_OPTIONS,
    iterations: num(values.iterations, DEFAULT_OPTIONS.iterations), warmup: num(values.warmup, DEFAULT_OPTIONS.warmup),
    warmupMaxMs: num(values['warmup-max'], (DEFAULT_OPTIONS.warmupMaxMs ?? 0) / 1000) * 1000,
    budgetMs: num(values.budget, DEFAULT_OPTIONS.budgetMs / 1000) * 1000,
    passes: Math.max(1, Math.round(num(values.passes, DEFAULT_OPTIONS.passes))), passGapMs: num(values['pass-gap'], DEFAULT_OPTIONS.passGapMs / 1000) * 1000, memory: !values['no-memory'], engines, log,
    gemm: values['no-gemm'] ? false : values['gemm-filter'] ?? true,
  });
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
  else process.stdout.write(`\n${formatReport(report)}`);
  if (values.profile) profile(models, log);
  return 0;
}

/** Each model's per-kernel profile, in a child process (bench/perf-kernels.ts prints it). */
function profile(models: readonly BenchModel[], log: (l: string) => void): void {
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const script = join(dirname(fileURLToPath(import.meta.url)), 'perf-kernels.ts');
  for (const m of models) {
    if (!m.dataSet) { log(`${m.name}: no test data set to profile with`); continue; }
    log(`\nper-kernel profile: ${m.name}`);
    const r = spawnSync(process.execPath, ['--import', loader, script, dirname(m.path)], { encoding: 'utf8', maxBuffer: 16 << 20 });
    log((r.stdout || r.stderr || `exit status ${r.status}`).trimEnd());
  }
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 2;
});
