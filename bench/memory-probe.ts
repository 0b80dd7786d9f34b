// Child process that measures one engine's memory on one model: resident set size (RSS) before the model is
// loaded, after a forced GC, against the process's peak RSS (getrusage maxrss) after loading it and running
// it. The difference covers everything the engine allocates (wasm linear memory, native heap, JS objects).
//
// usage: node --expose-gc memory-probe.ts ENGINE MODEL DATA_SET ARTIFACT_DIR RUNS

import { engineByName } from './engines/index.js';
import { loadArtifact } from './engines/onnxc-wasm.js';
import type { PreparedEngine } from './engines/types.js';
import { readInputs } from './models.js';

export interface MemoryProbe {
  readonly ok: boolean;
  readonly error?: string;
  /** RSS just before the model is loaded (engine code and inputs already in memory). */
  readonly rssBeforeBytes?: number;
  /** Process peak RSS after load and runs. */
  readonly peakRssBytes?: number;
  /** Process peak RSS before the load: when it equals peakRssBytes, the load's own peak was not higher. */
  readonly peakBeforeBytes?: number;
}

const maxRss = (): number => process.resourceUsage().maxRSS * 1024;
const gc = (globalThis as { gc?: () => void }).gc;

async function main(): Promise<MemoryProbe> {
  const [engineName, path, dataSet, artifact, runs] = process.argv.slice(2);
  const engine = engineByName(engineName ?? '');
  if (!engine || !path || !dataSet || !artifact || !runs) throw new Error('usage: memory-probe.ts ENGINE MODEL DATA_SET ARTIFACT_DIR RUNS');
  const model = { name: path, path, dataSet };
  const inputs = readInputs(model);
  // load the engine's package before the baseline, so its code is not counted as the model's memory
  if (engine.name === 'ort-web-wasm') await import('onnxruntime-web');
  if (engine.name === 'ort-node-cpu') await import('onnxruntime-node');
  gc?.();
  const rssBeforeBytes = process.memoryUsage().rss, peakBeforeBytes = maxRss();
  // onnxc: load the artifact the parent compiled (compiling is not part of running a deployed model)
  const p: PreparedEngine = engine.name === 'onnxc-wasm' ? await loadArtifact(artifact) : await engine.prepare(model, inputs, artifact);
  for (let i = 0; i < Number(runs); i++) await p.run(inputs.feeds);
  const peakRssBytes = maxRss();
  await p.dispose();
  return { ok: true, rssBeforeBytes, peakRssBytes, peakBeforeBytes };
}

main().then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e: unknown) => process.stdout.write(`${JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) })}\n`),
);
