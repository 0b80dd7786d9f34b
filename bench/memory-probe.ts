// Child process that measures one engine's memory on one model: resident set size (RSS) before the model is
// loaded and after loading and running it (each after a forced GC), and the largest RSS sampled after the load
// and after each run. The growth covers all the engine allocates (wasm linear memory, native heap, JS objects).
// (getrusage's peak is no use here: importing the benchmark's own code through tsx sets a higher one first.)
//
// usage: node --expose-gc memory-probe.ts ENGINE MODEL DATA_SET ARTIFACT_DIR RUNS INPUT_NAMES_JSON

import type { PreparedEngine } from './engines/types.js';
import { readFeeds, type BenchModel, type ModelInputs } from './models.js';

export interface MemoryProbe {
  readonly ok: boolean;
  readonly error?: string;
  /** RSS just before the model is loaded (engine code and inputs already in memory). */
  readonly rssBeforeBytes?: number;
  /** RSS after load and runs, after a GC. */
  readonly rssAfterBytes?: number;
  /** Largest RSS sampled right after the load and after each run (no GC in between). */
  readonly rssSampledPeakBytes?: number;
}

const rss = (): number => process.memoryUsage().rss;
const gc = (globalThis as { gc?: () => void }).gc;

/** The engine's package, imported before the baseline so its code is not counted as the model's memory;
 *  then its loader. Imports are by engine so no probe loads Binaryen (the compiler is not needed here). */
async function engineLoader(name: string): Promise<(model: BenchModel, inputs: ModelInputs, artifact: string) => Promise<PreparedEngine>> {
  switch (name) {
    case 'onnxc-wasm':
    case 'onnxc-wasm-2t': {
      const { loadArtifact } = await import('./engines/onnxc-artifact.js');
      // the artifact the parent compiled: compiling is not part of running a deployed model
      return (_m, _i, artifact) => loadArtifact(artifact);
    }
    case 'ort-web-wasm': {
      await import('onnxruntime-web');
      const { ortWeb } = await import('./engines/ort-web.js');
      return (m, i, a) => ortWeb.prepare(m, i, a);
    }
    case 'ort-web-wasm-2t': {
      const { ortWeb2t } = await import('./engines/ort-web-threads.js');
      return (m, i, a) => ortWeb2t.prepare(m, i, a);
    }
    case 'ort-node-cpu': {
      await import('onnxruntime-node');
      const { ortNode } = await import('./engines/ort-node.js');
      return (m, i, a) => ortNode.prepare(m, i, a);
    }
    default:
      throw new Error(`unknown engine '${name}'`);
  }
}

async function main(): Promise<MemoryProbe> {
  const [engineName, path, dataSet, artifact, runs, names] = process.argv.slice(2);
  if (!engineName || !path || !dataSet || !artifact || !runs || !names) throw new Error('usage: memory-probe.ts ENGINE MODEL DATA_SET ARTIFACT_DIR RUNS INPUT_NAMES_JSON');
  const model = { name: path, path, dataSet };
  const inputNames = JSON.parse(names) as string[];
  const inputs = { names: inputNames, feeds: readFeeds(dataSet, inputNames), outputNames: [] };
  const load = await engineLoader(engineName);
  gc?.();
  const rssBeforeBytes = rss();
  const p = await load(model, inputs, artifact);
  let rssSampledPeakBytes = rss();
  for (let i = 0; i < Number(runs); i++) {
    await p.run(inputs.feeds);
    rssSampledPeakBytes = Math.max(rssSampledPeakBytes, rss());
  }
  gc?.();
  const rssAfterBytes = rss();
  await p.dispose();
  return { ok: true, rssBeforeBytes, rssAfterBytes, rssSampledPeakBytes };
}

main().then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e: unknown) => process.stdout.write(`${JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) })}\n`),
);
