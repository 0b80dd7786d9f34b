// A/B timing of compiled artifact folders of one model (say, before and after a kernel change) against
// onnxruntime-web (wasm SIMD, 1 thread), interleaved in one process so machine load hits every engine alike.
// usage: npx tsx bench/ab-artifacts.ts MODEL DIR... [--iterations N]   (MODEL as npm run bench takes it)
//        npx tsx bench/ab-artifacts.ts MODEL --compile DIR   (compile MODEL at its data set's shapes into DIR first;
//        run from another checkout, this builds the "before" folder)

import { parseArgs } from 'node:util';
import { compileArtifact } from './engines/onnxc-compile.js';
import { loadArtifact } from './engines/onnxc-artifact.js';
import { ortWeb } from './engines/ort-web.js';
import type { PreparedEngine } from './engines/types.js';
import { readInputs, resolveModel } from './models.js';
import { latencyStats } from './stats.js';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { iterations: { type: 'string' }, compile: { type: 'string' } } });
  const [name, ...dirs] = positionals;
  const model = name ? resolveModel(name) : undefined;
  if (!model || (dirs.length === 0 && !values.compile)) throw new Error('usage: ab-artifacts.ts MODEL DIR... [--iterations N] [--compile DIR]');
  const inputs = readInputs(model);
  if (values.compile) {
    const r = compileArtifact(model.path, values.compile, Object.fromEntries(Object.entries(inputs.feeds).map(([n, t]) => [n, t.dims])));
    console.log(`compiled ${model.name} into ${values.compile}: ${r.ok ? `${r.compileMs!.toFixed(0)} ms` : r.error}`);
    if (dirs.length === 0) return;
  }
  const engines: [string, PreparedEngine][] = [['ort-web-wasm', await ortWeb.prepare(model, inputs, '')]];
  for (const d of dirs) engines.push([d, await loadArtifact(d)]);
  const times = engines.map(() => [] as number[]);
  const iterations = Number(values.iterations ?? 15);
  for (let it = -2; it < iterations; it++) {
    for (const [k, [, e]] of engines.entries()) {
      const t0 = performance.now();
      await e.run(inputs.feeds);
      if (it >= 0) times[k]!.push(performance.now() - t0);
    }
  }
  const ort = latencyStats(times[0]!).medianMs;
  for (const [k, [label]] of engines.entries()) {
    const s = latencyStats(times[k]!);
    console.log(`${label.padEnd(40)} median ${s.medianMs.toFixed(1)} ms  min ${Math.min(...times[k]!).toFixed(1)} ms  ratio ${(s.medianMs / ort).toFixed(3)}`);
  }
  for (const [, e] of engines) await e.dispose();
}

await main();
