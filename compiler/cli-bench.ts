// `onnxc bench MODEL`: compile to wasm as `onnxc compile` does and time runs through the shipped runtime
// (median, p90, min), with artifact sizes. The repository's `npm run bench` adds onnxruntime-web/node peers.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTensor } from '../ir/value.js';
import { createSession } from '../runtime/wasm/session.js';
import type { TensorValue } from '../runtime/wasm/session.js';
import { parseDims, parseNumber, parseSeed } from './cli-args.js';
import { load, modelInputs, type InputOpts } from './cli-model.js';
import { progress } from './cli-progress.js';
import { compileToDir, toTensorValue } from './compile.js';
import { UsageError } from '../ir/errors.js';

const pct = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

export async function benchCommand(path: string, opts: InputOpts & { runs: string; warmup: string; json?: boolean }): Promise<void> {
  parseSeed(opts.seed);
  const runs = parseNumber('--runs', opts.runs, { integer: true, min: 1, max: 1e6 });
  const warmup = parseNumber('--warmup', opts.warmup, { integer: true, min: 0, max: 1e6 });
  const model = load(path, opts);
  const inputs = modelInputs(model, opts);
  const feeds: Record<string, TensorValue> = {};
  const inputShapes: Record<string, readonly number[]> = {};
  model.graph.inputs.forEach((name, i) => {
    const v = inputs[i];
    if (!isTensor(v)) throw new UsageError(`input '${name}' is not a tensor; the wasm target takes tensors only`);
    feeds[name] = toTensorValue(v);
    inputShapes[name] = v.dims;
  });
  const bar = progress('bench');
  const dir = mkdtempSync(join(tmpdir(), 'onnxc-bench-'));
  try {
    bar.update('compiling');
    const t0 = performance.now();
    const r = compileToDir(model, 'wasm', dir, { dims: parseDims(opts.dim), inputShapes, embedLimit: Infinity });
    const compileMs = performance.now() - t0;
    const session = await createSession({ wasm: r.artifact.wasm, manifest: r.artifact.manifest });
    const times: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      bar.update(i < warmup ? `warm-up ${i + 1}/${warmup}` : `run ${i - warmup + 1}/${runs}`);
      const s = performance.now();
      await session.run(feeds);
      if (i >= warmup) times.push(performance.now() - s);
    }
    bar.done();
    times.sort((a, b) => a - b);
    const result = {
      model: path, runs, compileMs, medianMs: pct(times, 0.5), p90Ms: pct(times, 0.9), minMs: times[0]!,
      wasmBytes: r.artifact.wasm.length, weightsBytes: r.artifact.manifest.weights.bytes, arenaBytes: r.artifact.manifest.arena.bytes,
    };
    if (opts.json) { console.log(JSON.stringify(result, null, 1)); return; }
    console.log(`model      ${path}`);
    console.log(`compile    ${compileMs.toFixed(0)} ms`);
    console.log(`latency    median ${result.medianMs.toFixed(3)} ms  p90 ${result.p90Ms.toFixed(3)} ms  min ${result.minMs.toFixed(3)} ms  (${runs} runs after ${warmup} warm-up)`);
    console.log(`sizes      model.wasm ${(result.wasmBytes / 1024).toFixed(1)} KiB  weights ${(result.weightsBytes / 1024).toFixed(1)} KiB  arena ${(result.arenaBytes / 1024).toFixed(1)} KiB`);
  } finally {
    bar.done();
    rmSync(dir, { recursive: true, force: true });
  }
}
