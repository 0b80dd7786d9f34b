// The fuzzer's worker thread: builds case k from (run seed, k) and runs it in process, reporting each outcome.
// It lives in a worker so the driver can stop a case that hangs (terminate) and cap its heap (resourceLimits).

import { parentPort, workerData } from 'node:worker_threads';
import { setLimits, type Limits } from '../ir/limits.js';
import { externalDataDir, loadCorpus, makeCase, runCase } from '../test/fuzz/cases.js';

interface Init { shared: string; runSeed: number; compileEvery: number; limits: Partial<Limits> }
const init = workerData as Init;
setLimits(init.limits);
const corpus = loadCorpus(init.shared);
const baseDir = externalDataDir();

parentPort!.on('message', (index: number) => {
  const spec = makeCase(corpus, init.runSeed, index, init.compileEvery);
  parentPort!.postMessage({ index, started: true });
  const out = runCase(spec.mutant.bytes, { baseDir, compile: spec.compile, run: spec.run });
  const rssMb = process.memoryUsage().rss / 2 ** 20;
  parentPort!.postMessage({ index, ...out, model: spec.model, steps: spec.mutant.steps, compiled: spec.compile, rssMb });
});
