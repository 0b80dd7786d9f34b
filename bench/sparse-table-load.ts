// Load cost of a pruned embedding table: the model with only its Gather tables pruned (by magnitude per row, at S;
// MatMul/Gemm weights left dense) is stored with the tables in the bitmask form and expanded by the weights' init
// (kernels/sparse-init.ts sparse_expand) on the first run; against the same model dense. Interleaved fresh sessions.
//
//   npx tsx bench/sparse-table-load.ts MODEL [S=0.35] [ROUNDS=10]
//
// Per variant: weights.bin, the least first run of ROUNDS fresh sessions (the weights' init, then one run), the least
// steady run, and the least time to create a session (compiling the module, copying weights.bin).

import { setFlagsFromString } from 'node:v8';
import { loadModel } from '../api/index.js';
import { compileWasmGraph, toTensorValue } from '../compiler/compile.js';
import { makeTensor } from '../ir/tensor.js';
import { pruneWeights } from '../passes/prune/weights.js';
import { createSessionSync } from '../runtime/wasm/session.js';
setFlagsFromString('--no-liftoff'); setFlagsFromString('--no-wasm-lazy-compilation');

const [path, sArg, roundsArg] = process.argv.slice(2);
const S = Number(sArg ?? 0.35), rounds = Number(roundsArg ?? 10);
const model = loadModel(path!);
const g = model.graph;
const pruned = pruneWeights(g, { sparsity: 0, reconstruct: false, embeddings: true, embeddingSparsity: S, exclude: ['MatMul', 'Gemm', 'Conv'] });
// inputs: token ids 1 (masks 1), symbolic dims batch 1 and 16 otherwise
const shapes: Record<string, number[]> = {}, feeds: Record<string, ReturnType<typeof toTensorValue>> = {};
for (const name of g.inputs) {
  const t = g.types.get(name)!;
  if (t.kind !== 'tensor' || !t.shape) throw new Error(`input ${name}: not a tensor`);
  const dims = t.shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : 16));
  shapes[name] = dims;
  const x = makeTensor(t.dtype, dims);
  if (t.dtype === 'int64') (x.data as BigInt64Array).fill(1n);
  feeds[name] = toTensorValue(x);
}
const built = [['dense', g], [`tables ${S} (${pruned.layers.map((l) => l.weight).join(', ')})`, pruned.graph]] as const;
const arts = built.map(([name, graph]) => ({ name, a: compileWasmGraph(graph, { source: path, inputShapes: shapes }).artifact, first: Infinity, steady: Infinity, create: Infinity }));
for (let r = 0; r < rounds; r++) {
  for (const v of arts) {
    let t0 = performance.now();
    const s = createSessionSync({ wasm: v.a.wasm, manifest: v.a.manifest, weights: v.a.weights });
    v.create = Math.min(v.create, performance.now() - t0);
    t0 = performance.now(); s.runSync(feeds); v.first = Math.min(v.first, performance.now() - t0);
    for (let j = 0; j < 3; j++) { t0 = performance.now(); s.runSync(feeds); v.steady = Math.min(v.steady, performance.now() - t0); }
  }
}
for (const v of arts) {
  console.log(`${v.name}: weights.bin ${v.a.weights.length} B, create ${v.create.toFixed(1)} ms, first run ${v.first.toFixed(2)} ms, steady ${v.steady.toFixed(2)} ms, first - steady ${(v.first - v.steady).toFixed(2)} ms`);
}
