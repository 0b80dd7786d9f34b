// `onnxc bench MODEL`: compile to wasm as `onnxc compile` does and time runs through the shipped runtime
// (median, p90, min), with artifact sizes; `--ort` times onnxruntime-node (an optional peer) on the same inputs,
// `--html FILE` draws the bars, `--profile` adds the time per op and the slowest kernels (kernel-profile.ts). The
// repository's `npm run bench` adds onnxruntime-web and memory figures.

import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
import type { Tensor } from '../ir/tensor.js';
import { outputFile } from './cli-args.js';
import { benchHtml, type BenchRow } from './report-html.js';
import { formatProfile, profileKernels } from './kernel-profile.js';

const pct = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** Median and p90 of onnxruntime-node (one thread, all graph optimisations) on the same inputs. */
async function timeOrt(path: string, names: readonly string[], inputs: readonly Tensor[], runs: number, warmup: number): Promise<{ medianMs: number; p90Ms: number }> {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch {
    throw new UsageError('onnxruntime-node is not installed: install onnxruntime-node to use bench --ort');
  }
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const feeds = Object.fromEntries(names.map((n, i) => [n, new ort.Tensor(inputs[i]!.dtype as never, inputs[i]!.data as never, [...inputs[i]!.dims])]));
  const times: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const s = performance.now();
    await session.run(feeds);
    if (i >= warmup) times.push(performance.now() - s);
  }
  await session.release();
  times.sort((a, b) => a - b);
  return { medianMs: pct(times, 0.5), p90Ms: pct(times, 0.9) };
}

export async function benchCommand(path: string, opts: InputOpts & { runs: string; warmup: string; json?: boolean; ort?: boolean; html?: string; profile?: boolean }): Promise<void> {
  parseSeed(opts.seed);
  if (opts.html !== undefined) outputFile('--html', opts.html);
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
    const r = compileToDir(model, 'wasm', dir, { dims: parseDims(opts.dim), inputShapes, embedLimit: Infinity, exportKernels: opts.profile === true });
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
    const peer = opts.ort ? await timeOrt(path, model.graph.inputs, inputs as Tensor[], runs, warmup) : undefined;
    const profile = opts.profile ? await profileKernels(r.artifact, feeds, Math.min(runs, 50)) : undefined;
    const result = {
      model: path, runs, compileMs, medianMs: pct(times, 0.5), p90Ms: pct(times, 0.9), minMs: times[0]!,
      wasmBytes: r.artifact.wasm.length, weightsBytes: r.artifact.manifest.weights.bytes, arenaBytes: r.artifact.manifest.arena.bytes,
      ...(peer ? { onnxruntimeNode: peer } : {}),
      ...(profile ? { profile } : {}),
    };
    if (opts.html !== undefined) {
      const rows: BenchRow[] = [{ engine: 'onnxc wasm', medianMs: result.medianMs, p90Ms: result.p90Ms, bytes: result.wasmBytes + (r.artifact.manifest.weights.file ? result.weightsBytes : 0) }];
      if (peer) rows.push({ engine: 'onnxruntime-node (1 thread)', ...peer, bytes: statSync(path).size });
      writeFileSync(opts.html, benchHtml(path, rows));
    }
    if (opts.json) { console.log(JSON.stringify(result, null, 1)); return; }
    console.log(`model      ${path}`);
    console.log(`compile    ${compileMs.toFixed(0)} ms`);
    console.log(`latency    median ${result.medianMs.toFixed(3)} ms  p90 ${result.p90Ms.toFixed(3)} ms  min ${result.minMs.toFixed(3)} ms  (${runs} runs after ${warmup} warm-up)`);
    if (peer) console.log(`onnxruntime-node  median ${peer.medianMs.toFixed(3)} ms  p90 ${peer.p90Ms.toFixed(3)} ms  (1 thread)`);
    console.log(`sizes      model.wasm ${(result.wasmBytes / 1024).toFixed(1)} KiB  weights ${(result.weightsBytes / 1024).toFixed(1)} KiB  arena ${(result.arenaBytes / 1024).toFixed(1)} KiB`);
    if (profile) for (const line of formatProfile(profile)) console.log(line);
  } finally {
    bar.done();
    rmSync(dir, { recursive: true, force: true });
  }
}
