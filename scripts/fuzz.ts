// `npm run fuzz`: the mutation fuzzer. N seeded cases (default 10,000) built from the shared models and ONNX node
// cases go through import, inference, -O2 passes and (every Kth) the wasm compile, in a worker thread; each must
// end in success or a typed one-line OnnxcError within the per-case time budget and memory budget. Findings are
// printed with their seed and kept in test/fuzz/regressions/ (replayed by `npm test`); exit 1 when there are any.
//
// Then the differential phase: G random well-typed graphs (default 200) must agree on reference, wasm and wasm-O3.
//
//   npx tsx scripts/fuzz.ts [--cases N] [--from K0] [--seed S] [--case K] [--budget-ms MS] [--compile-every K]
//                           [--differential G] [--no-save]

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadCorpus, makeCase } from '../test/fuzz/corpus.js';
import { SHARED } from '../test/helpers/shared.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REGRESSIONS = join(repo, 'test', 'fuzz', 'regressions');
/** Limits while fuzzing: lower than the defaults so a case that hits one costs little memory; a case that
 *  allocates past them anyway is a limit overrun. */
const FUZZ_LIMITS = { maxElements: 2 ** 24, maxTensorBytes: 2 ** 27, maxLoopIterations: 10_000 };
const RSS_BUDGET_MB = 3072;

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const runSeed = Number(arg('seed', '20261203'));
const only = arg('case');
const cases = Number(arg('cases', '10000'));
const budgetMs = Number(arg('budget-ms', '10000'));
const compileEvery = Number(arg('compile-every', '25'));
const save = !process.argv.includes('--no-save');
const graphs = Number(arg('differential', '200'));

interface Result { index: number; outcome: string; stage: string; message?: string; ms: number; model: string; steps: string[]; compiled: boolean; rssMb: number; mutateMs: number }
interface Finding { index: number; model: string; steps: readonly string[]; stage: string; what: string; ms: number }

function startWorker(): Worker {
  // worker threads do not inherit tsx's loader: a one-line bootstrap registers it, then imports the worker
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(new URL('./fuzz-worker.ts', import.meta.url).href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), {
    workerData: { shared: SHARED, runSeed, compileEvery, limits: FUZZ_LIMITS },
    resourceLimits: { maxOldGenerationSizeMb: 2048 },
  });
}

/** Run case `index` on `w`, or report a hang/crash (the worker is then dead: the caller starts another). */
function runOne(w: Worker, index: number): Promise<Result | { index: number; dead: string }> {
  return new Promise((done) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: Result | { index: number; dead: string }): void => {
      clearTimeout(timer); w.off('message', onMessage); w.off('error', onError); w.off('exit', onExit); done(r);
    };
    const onMessage = (m: Result & { started?: boolean }): void => {
      if (m.started) { timer = setTimeout(() => { void w.terminate(); finish({ index, dead: `hang: no result after ${budgetMs * 3} ms` }); }, budgetMs * 3); return; }
      finish(m);
    };
    const onError = (e: Error): void => finish({ index, dead: `worker crashed: ${e.message.split('\n')[0]}` });
    const onExit = (code: number): void => finish({ index, dead: `worker exited with code ${code}` });
    w.on('message', onMessage); w.on('error', onError); w.on('exit', onExit);
    w.postMessage(index);
  });
}

function keep(f: Finding): void {
  const corpus = loadCorpus(SHARED);
  const spec = makeCase(corpus, runSeed, f.index, compileEvery);
  mkdirSync(REGRESSIONS, { recursive: true });
  const base = join(REGRESSIONS, `seed${runSeed}-case${f.index}`);
  // small mutants are kept as bytes (replayed without the shared data); big ones as their recipe only
  if (spec.mutant.bytes.length <= 256 << 10) writeFileSync(`${base}.onnx`, spec.mutant.bytes);
  writeFileSync(`${base}.json`, `${JSON.stringify({ runSeed, index: f.index, compileEvery, model: f.model, steps: f.steps, compile: spec.compile, stage: f.stage, found: f.what }, null, 1)}\n`);
}

async function main(): Promise<void> {
  const corpus = loadCorpus(SHARED);
  if (corpus.node.length === 0 && corpus.models.length === 0) {
    console.log(`fuzz: no seed models under ${SHARED} (set ONNXC_SHARED): nothing to do`);
    return;
  }
  const from = Number(arg('from', '0'));
  const indices = only !== undefined ? [Number(only)] : Array.from({ length: cases }, (_, i) => from + i);
  console.log(`fuzz: seed ${runSeed}, ${indices.length} cases from ${corpus.node.length} node cases and ${corpus.models.length} models, compile every ${compileEvery}, budget ${budgetMs} ms/case`);
  const t0 = performance.now();
  const outcomes = new Map<string, number>();
  const findings: Finding[] = [];
  const times: number[] = [];
  const slow: Result[] = [];
  let compiled = 0;
  let mutateMs = 0;
  let maxRss = 0;
  let w = startWorker();
  for (const index of indices) {
    const r = await runOne(w, index);
    if ('dead' in r) {
      const spec = makeCase(corpus, runSeed, index, compileEvery);
      findings.push({ index, model: spec.model, steps: spec.mutant.steps, stage: '?', what: r.dead, ms: NaN });
      await w.terminate();
      w = startWorker();
      continue;
    }
    times.push(r.ms);
    maxRss = Math.max(maxRss, r.rssMb);
    if (r.compiled) compiled++;
    mutateMs += r.mutateMs;
    slow.push(r);
    if (slow.length > 20) { slow.sort((a, b) => b.ms - a.ms); slow.length = 5; }
    const what = r.outcome === 'BUG' ? r.message! : r.ms > budgetMs ? `took ${r.ms.toFixed(0)} ms, over the ${budgetMs} ms budget`
      : r.rssMb > RSS_BUDGET_MB ? `RSS ${r.rssMb.toFixed(0)} MB after the case, over ${RSS_BUDGET_MB} MB` : undefined;
    outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
    if (what) findings.push({ index, model: r.model, steps: r.steps, stage: r.stage, what, ms: r.ms });
    if (index % 1000 === 999) console.log(`  ${index + 1} cases, ${((performance.now() - t0) / 1000).toFixed(0)} s, ${findings.length} findings`);
  }
  const secs = (performance.now() - t0) / 1000;
  let diffLine = 'differential: skipped';
  if (graphs > 0 && only === undefined) {
    const d = await new Promise<{ failure?: string; ms: number } | { dead: string }>((done) => {
      const timer = setTimeout(() => { void w.terminate(); done({ dead: `no answer after ${graphs * 5} s` }); }, graphs * 5000);
      w.once('message', (m: { failure?: string; ms: number }) => { clearTimeout(timer); done(m); });
      w.once('error', (e: Error) => { clearTimeout(timer); done({ dead: e.message.split('\n')[0]! }); });
      w.postMessage({ differential: graphs });
    });
    const failure = 'dead' in d ? d.dead : d.failure;
    diffLine = `differential: ${graphs} random graphs on reference, wasm, wasm-O3 ${failure ? 'DISAGREE' : 'agree'}${'ms' in d ? ` (${(d.ms / 1000).toFixed(1)} s)` : ''}`;
    if (failure) findings.push({ index: -1, model: 'differential', steps: [], stage: 'differential', what: failure, ms: NaN });
  }
  await w.terminate();
  times.sort((a, b) => a - b);
  const p99 = times[Math.floor(times.length * 0.99)] ?? 0;
  const caseSecs = times.reduce((a, b) => a + b, 0) / 1000;
  console.log(`fuzz: ${indices.length} cases (${compiled} also compiled to wasm) in ${secs.toFixed(1)} s (cases ${caseSecs.toFixed(1)} s, mutation ${(mutateMs / 1000).toFixed(1)} s); p99 ${p99.toFixed(0)} ms; max RSS ${maxRss.toFixed(0)} MB`);
  slow.sort((a, b) => b.ms - a.ms);
  for (const s of slow.slice(0, 5)) console.log(`  slow: case ${s.index} (${s.model}, ${s.steps.join(' + ')}) ${s.ms.toFixed(0)} ms at ${s.stage}`);
  console.log(`  outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  ${diffLine}`);
  for (const f of findings) {
    if (f.index < 0) { console.log(`FINDING ${f.what}`); continue; }
    console.log(`FINDING case ${f.index} (rerun: npx tsx scripts/fuzz.ts --seed ${runSeed} --case ${f.index}): ${f.model} [${f.steps.join(' + ')}] at ${f.stage}: ${f.what}`);
    if (save) keep(f);
  }
  console.log(findings.length ? `fuzz: ${findings.length} findings${save ? ` (kept in ${REGRESSIONS})` : ''}` : 'fuzz: no findings');
  process.exitCode = findings.length ? 1 : 0;
}

await main();
