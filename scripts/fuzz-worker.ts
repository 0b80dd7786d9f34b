// The fuzzer's worker thread: builds case k from (run seed, k) and runs it in process, reporting each outcome.
// It lives in a worker so the driver can stop a case that hangs (terminate) and cap its heap (resourceLimits).

import { parentPort, workerData } from 'node:worker_threads';
import { setLimits, type Limits } from '../ir/limits.js';
import { runCase, type CompileFn } from '../test/fuzz/cases.js';
import { externalDataDir, loadCorpus, makeCase } from '../test/fuzz/corpus.js';

interface Init { shared: string; runSeed: number; compileEvery: number; limits: Partial<Limits> }
const init = workerData as Init;
setLimits(init.limits);
const corpus = loadCorpus(init.shared);
const baseDir = externalDataDir();
// Binaryen is loaded once per worker, and only when cases compile (it is the slowest import by far)
const compile: CompileFn | undefined = init.compileEvery > 0 ? (await import('../compiler/compile.js')).compileWasmGraph : undefined;

parentPort!.on('message', (msg: number | { differential: number }) => {
  if (typeof msg === 'object') {
    // the differential phase: random well-typed graphs on reference, wasm and wasm-O3
    void (async () => {
      const { wasmBackend, wasmO3Backend } = await import('../compiler/compile.js');
      const { disagreement } = await import('../test/fuzz/differential.js');
      const t0 = performance.now();
      const failure = disagreement([wasmBackend, wasmO3Backend], msg.differential, init.runSeed);
      parentPort!.postMessage({ differential: msg.differential, failure, ms: performance.now() - t0 });
    })();
    return;
  }
  const index = msg;
  const t0 = performance.now();
  const spec = makeCase(corpus, init.runSeed, index, init.compileEvery);
  const mutateMs = performance.now() - t0;
  parentPort!.postMessage({ index, started: true });
  const out = runCase(spec.mutant.bytes, { baseDir, compile: spec.compile ? compile : undefined, run: spec.run });
  const rssMb = process.memoryUsage().rss / 2 ** 20;
  parentPort!.postMessage({ index, ...out, model: spec.model, steps: spec.mutant.steps, compiled: spec.compile, rssMb, mutateMs });
});
