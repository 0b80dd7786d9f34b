// Figures for prune-weights (issue 10): a model pruned at 50% and 2:4, with and without the SparseGPT re-fit, on
// seeded calibration inputs; per variant the drift and argmax agreement with the dense model on held-out seeded
// inputs, the artifact's weights.bin against the dense one, which layers the compiler stored sparse, and latency.
//
//   npx tsx bench/prune-weights.ts MODEL [--samples N] [--eval N] [--seq N] [--embeddings | --emb-sparsity S [--global] | --emb-fp16]
//                                  [--emb-score reads|magnitude] [--exclude NODE,..] [--zipf] [--runs N] [--modes 50,2:4,90] [--threads 1,2]
// --emb-sparsity S prunes S of the embedding tables' weights (unstructured, also in 2:4 mode); --global then raises the
// layers' sparsity so that the overall sparsity is the mode's. --emb-fp16 rounds the tables to float16 values
// instead (stored at half the bytes by the compiler). --emb-score: how the tables are ranked (default: by row reads
// on the calibration samples, weights-gather.ts). --zipf: token ids Zipf-distributed (as text), in calibration and
// held-out samples alike; uniform otherwise. After each variant, compile's sparse-weights report: per layer
// the kernel (N:M, CSC or dense) and the measured ratio that chose it (backends/wasm/kernels/sparse-cost.ts).

import { writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { calibrate } from '../compiler/calibrate.js';
import type { Sample } from '../compiler/calibrate-data.js';
import { compareSets, runner } from '../compiler/calibrate-quantize.js';
import { compileWasmGraph } from '../compiler/compile.js';
import { loadModel } from '../api/index.js';
import { prng } from '../ir/random.js';
import type { Graph, Model } from '../ir/graph.js';
import { makeTensor, type Tensor } from '../ir/tensor.js';
import { isTensor, type RuntimeValue } from '../ir/value.js';
import { pruneWeights, pruneWeightsInputs, type PruneWeightsOptions } from '../passes/prune/weights.js';
import type { CalibrationData } from '../passes/pass.js';
import { createSessionSync } from '../runtime/wasm/session.js';
import { createSession } from '../runtime/wasm/index.js';
import { toTensorValue } from '../compiler/compile.js';
import { describeSparse } from '../backends/wasm/kernels/sparse-init.js';

const args = process.argv.slice(2);
const flag = (f: string): boolean => args.includes(f);
const opt = (f: string, d: string): string => { const i = args.indexOf(f); return i >= 0 ? args[i + 1]! : d; };
const path = args[0]!;
const nCal = Number(opt('--samples', '32')), nEval = Number(opt('--eval', '32')), seq = Number(opt('--seq', '16'));
const runs = Number(opt('--runs', '20')), zipf = flag('--zipf');
// straight to V8's optimising tier (as bench/sparse-kernels.ts): no timed run is in the baseline tier; every function
// compiled when the module is, so that a session's first run is the weights' expansion plus one run, no compiling
setFlagsFromString('--no-liftoff');
setFlagsFromString('--no-wasm-lazy-compilation');

/** Seeded samples: token ids uniform over the vocabulary (the largest Gather table's rows), masks 1, token types 0/1,
 *  floats in [-1, 1); symbolic dims: batch 1, everything else `seq`. */
function samples(g: Graph, n: number, seed: number): Sample[] {
  let vocab = 2;
  for (const node of g.nodes) { const t = node.op === 'Gather' ? g.initializers.get(node.inputs[0]!) : undefined; if (t && t.dims.length === 2) vocab = Math.max(vocab, t.dims[0]!); }
  const rand = prng(seed);
  // --zipf: token ids drawn with P(id) ~ 1 / (id + 1), as word frequencies in text are (uniform otherwise)
  const cdf = new Float64Array(vocab);
  for (let v = 0, s = 0; v < vocab; v++) { s += 1 / (v + 1); cdf[v] = s; }
  const token = (r: number): number => {
    if (!zipf) return Math.floor(r * vocab);
    const x = r * cdf[vocab - 1]!;
    let lo = 0, hi = vocab - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid]! < x) lo = mid + 1; else hi = mid; }
    return lo;
  };
  return Array.from({ length: n }, () => g.inputs.map((name) => {
    const t = g.types.get(name)!;
    if (t.kind !== 'tensor' || !t.shape) throw new Error(`input ${name}: not a tensor`);
    const dims = t.shape.map((d, i) => (typeof d === 'number' ? d : i === 0 && /batch/.test(d) ? 1 : seq));
    const x = makeTensor(t.dtype, dims);
    for (let i = 0; i < x.data.length; i++) {
      const r = rand();
      if (t.dtype === 'int64') (x.data as BigInt64Array)[i] = BigInt(/mask/.test(name) ? 1 : /type/.test(name) ? Math.floor(r * 2) : token(r));
      else (x.data as Float32Array)[i] = r * 2 - 1;
    }
    return x as Tensor;
  }));
}

/** Per output: sqrt(sum |q - f|^2 / sum |f|^2) over every held-out sample (relative L2 error). */
function relL2(g: Graph, want: readonly RuntimeValue[][], got: readonly RuntimeValue[][]): string {
  return g.outputs.map((name, k) => {
    let e = 0, n = 0;
    want.forEach((outs, s) => {
      const a = outs[k], b = got[s]![k];
      if (!isTensor(a) || !isTensor(b) || a.dtype !== 'float32') return;
      const x = a.data as Float32Array, y = b.data as Float32Array;
      for (let i = 0; i < x.length; i++) { e += (x[i]! - y[i]!) ** 2; n += x[i]! ** 2; }
    });
    return `${name} ${Math.sqrt(e / (n || 1)).toExponential(2)}`;
  }).join(', ');
}

function median(xs: number[]): number { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; }

/** Timed sessions: every variant (and thread count) is run once per round, round after round, so that load from
 *  other processes on this shared machine falls on all of them alike; min and median per variant. `first` (one
 *  thread): the least of 5 fresh sessions' first runs, which expand the compressed weights (sparse-init.ts), in ms. */
const timed: { run: () => unknown; ts: number[]; first?: number }[] = [];
/** --threads 1,2: each variant compiled for each count (createSession's worker pool above 1). */
const threadList = opt('--threads', '1').split(',').map(Number);

async function compileAndTime(model: Model, sample: Sample): Promise<{ weights: number; sparse: string; ts: number[][]; firsts: (typeof timed)[number][]; report: string }> {
  const shapes = Object.fromEntries(model.graph.inputs.map((n, i) => [n, (sample[i] as Tensor).dims]));
  const feeds = Object.fromEntries(model.graph.inputs.map((n, i) => [n, toTensorValue(sample[i] as Tensor)]));
  let first: { weights: number; sparse: string; report: string } | undefined;
  const all: number[][] = [], entries: (typeof timed)[number][] = [];
  for (const threads of threadList) {
    const { artifact } = compileWasmGraph(model.graph, { source: model.info.source, inputShapes: shapes, ...(threads > 1 ? { threads } : {}) });
    const parts = { wasm: artifact.wasm, manifest: artifact.manifest, weights: artifact.weights };
    const ts: number[] = [];
    const entry: (typeof timed)[number] = threads > 1
      ? await (async () => { const s = await createSession(parts); return { run: () => s.run(feeds), ts }; })()
      : (() => { const s = createSessionSync(parts); return { run: () => s.runSync(feeds), ts }; })();
    await entry.run();
    if (threads === 1) {
      // fresh sessions: a first run is the weights' expansion (sparse-init.ts) plus one run; the least of 5
      for (let i = 0; i < 5; i++) {
        const again = createSessionSync(parts);
        const t0 = performance.now();
        again.runSync(feeds);
        entry.first = Math.min(entry.first ?? Infinity, performance.now() - t0);
      }
    }
    timed.push(entry);
    entries.push(entry);
    all.push(ts);
    if (!first) {
      const sp = (artifact.manifest as { sparseWeights?: readonly (readonly [string, number, number, string])[] }).sparseWeights ?? [];
      const kinds = new Map<string, number>();
      for (const e of sp) kinds.set(e[3], (kinds.get(e[3]) ?? 0) + 1);
      first = { weights: artifact.weights.length, sparse: [...kinds].map(([k, n]) => `${n} ${k}`).join(', ') || 'none', report: describeSparse(sp) ?? 'none' };
    }
  }
  return { ...first!, ts: all, firsts: entries };
}

const model = loadModel(path);
const g = model.graph;
const cal = samples(g, nCal, 1), held = samples(g, nEval, 1000);
const embS = opt('--emb-sparsity', '');
const embScore = opt('--emb-score', ''), exclude = opt('--exclude', '');
const base: Omit<PruneWeightsOptions, 'sparsity' | 'reconstruct'> = {
  embeddings: flag('--embeddings') || embS !== '', ...(embS ? { embeddingSparsity: Number(embS) } : {}), ...(flag('--emb-fp16') ? { embeddingFp16: true } : {}),
  ...(embScore ? { embeddingScore: embScore as 'reads' | 'magnitude' } : {}), ...(exclude ? { exclude: exclude.split(',') } : {}),
};
// --global: the layers' sparsity chosen so that all the pruned weights (tables at --emb-sparsity, layers) are the
// mode's sparsity overall; the params of the Gather tables and of the MatMul/Gemm weights, from the graph
const tableParams = g.nodes.filter((n) => n.op === 'Gather' && (g.initializers.get(n.inputs[0]!)?.dims.length ?? 0) === 2).reduce((s, n) => s + g.initializers.get(n.inputs[0]!)!.data.length, 0);
const layerParams = g.nodes.filter((n) => (n.op === 'MatMul' || n.op === 'Gemm') && (g.initializers.get(n.inputs[1]!)?.dims.length ?? 0) === 2).reduce((s, n) => s + g.initializers.get(n.inputs[1]!)!.data.length, 0);
const layerSparsity = (overall: number): number => (flag('--global') && embS ? Math.min(0.95, (overall * (tableParams + layerParams) - Number(embS) * tableParams) / layerParams) : overall);
const gram = new Set([...pruneWeightsInputs(g, { ...base, sparsity: 0.5, reconstruct: true })]);
const t0 = performance.now();
const stats = calibrate(model, cal, { secondMoment: gram }).stats;
console.log(`${path}: calibrated on ${nCal} seeded samples (seq ${seq}) in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${stats.backend}`);
const run = runner(model);
const want = held.map((s) => run(s));
// the calibration samples and a runner, for what the pass reads from runs (a table's row reads: weights-gather.ts)
const runners = new WeakMap<Graph, (s: Sample) => RuntimeValue[]>();
const data: CalibrationData = {
  samples: cal,
  run: (graph, inputs) => { let r = runners.get(graph); if (!r) runners.set(graph, (r = runner({ ...model, graph }))); return r(inputs); },
};
const dense = await compileAndTime(model, held[0]!);
const latHead = threadList.map((t) => `latency ${t} thread${t > 1 ? 's' : ''} min / median of ${runs}${t === 1 ? ' (a fresh session\'s first run, least of 5)' : ''}`).join(' | ');
const rows: string[] = [`| variant | pruned layers | weights.bin | vs dense | drift (max over outputs) | relative L2 error | argmax agreement | sparse storage | ${latHead} |`, `|---|---|---|---|---|---|---|---|${threadList.map(() => '---|').join('')}`];
const lat: { ts: number[][]; firsts: (typeof timed)[number][] }[] = [dense];
rows.push(`| dense | 0 | ${dense.weights} | 1.00 | 0 | 0 | 1 | ${dense.sparse} | LAT0 |`);
const modes = opt('--modes', '50,2:4').split(',');
for (const mode of modes) {
  for (const reconstruct of [false, true]) {
    const o: PruneWeightsOptions = { ...base, sparsity: mode.includes(':') ? 0.5 : layerSparsity(Number(mode) / 100), reconstruct, ...(mode.includes(':') ? { pattern: mode as '2:4' | '4:8' } : {}) };
    const t1 = performance.now();
    const r = pruneWeights(g, o, stats, path, data);
    const pruneS = (performance.now() - t1) / 1000;
    const pruned: Model = { ...model, graph: r.graph };
    const runP = runner(pruned);
    const got = held.map((s) => runP(s));
    const rep = compareSets(g, want, got);
    const art = await compileAndTime(pruned, held[0]!);
    const drift = Math.max(...Object.values(rep.drift)), top1 = Object.entries(rep.top1).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`).join(', ');
    const methods = [...new Set(r.layers.map((l) => l.method))].join('/');
    lat.push(art);
    rows.push(`| ${mode}${mode.includes(':') ? '' : '%'}${embS ? ` (tables ${embS}, layers ${mode.includes(':') ? mode : o.sparsity.toFixed(3)})` : ''} ${reconstruct ? 're-fit' : 'wanda'} (${methods}, ${pruneS.toFixed(1)} s) | ${r.layers.length} | ${art.weights} | ${(art.weights / dense.weights).toFixed(3)} | ${drift.toExponential(2)} | ${relL2(g, want, got)} | ${top1} | ${art.sparse} | LAT${lat.length - 1} |`);
    console.log(rows.at(-1));
    // compile's per-layer report: which layers run on a sparse kernel, which N:M layers stayed dense, and why
    console.log(`  sparse weights ${art.report}`);
  }
}
for (const t of timed) for (let i = 0; i < 3; i++) await t.run();
for (let r = 0; r < runs; r++) for (const t of timed) { const t0 = performance.now(); await t.run(); t.ts.push(performance.now() - t0); }
const out = rows.join('\n').replace(/LAT(\d+)/g, (_, k: string) => lat[Number(k)]!.ts.map((ts, i) => { const f = lat[Number(k)]!.firsts[i]!.first; return `${Math.min(...ts).toFixed(2)} / ${median(ts).toFixed(2)} ms${f === undefined ? '' : ` (${f.toFixed(1)})`}`; }).join(' | '));
console.log(out);
if (opt('--json', '')) writeFileSync(opt('--json', ''), out);
