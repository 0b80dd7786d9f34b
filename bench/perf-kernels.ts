// Per-kernel profile of the wasm backend: compile a model at -O<level> with every kernel exported, feed the data
// set's real inputs (so index-valued inputs stay in bounds), run once, then time each kernel function alone.
// usage: tsx bench/perf-kernels.ts MODEL_DIR [-O0|-O3] [--top N] [--reps N]

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../compiler/onnx/import.js';
import { readValueFile } from '../compiler/onnx/tensor-proto.js';
import { compileWasmGraph as compileOptimized } from '../compiler/compile.js';
import type { Tensor } from '../ir/tensor.js';
import type { OptLevel } from '../passes/pipelines.js';

const args = process.argv.slice(2);
const dir = args[0]!;
const level = Number((args.find((a) => a.startsWith('-O')) ?? '-O3').slice(2)) as OptLevel;
const flag = (n: string, d: number): number => { const i = args.indexOf(n); return i < 0 ? d : Number(args[i + 1]); };
const top = flag('--top', 15), reps = flag('--reps', 20);

const onnx = readdirSync(dir).find((f) => f.endsWith('.onnx'))!;
const model = loadModel(join(dir, onnx));
const feeds = new Map<string, Tensor>();
model.graph.inputs.filter((n) => !model.graph.initializers.has(n)).forEach((n, i) => {
  feeds.set(n, readValueFile(join(dir, 'test_data_set_0', `input_${i}.pb`)) as Tensor);
});
const inputShapes = Object.fromEntries([...feeds].map(([n, t]) => [n, t.dims]));
const t0 = performance.now();
const { artifact } = compileOptimized(model.graph, { inputShapes, exportKernels: !process.env.NOEXP, embedLimit: 0, source: onnx }, { level });
const compileMs = performance.now() - t0;
// the WebAssembly JS API is not in the project's lib settings (see runtime/wasm/session.ts)
const WA = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array): Promise<{ instance: { exports: Record<string, unknown> } }> } }).WebAssembly;
const { instance } = await WA.instantiate(artifact.wasm);
const ex = instance.exports;
const mem = new Uint8Array((ex.memory as { buffer: ArrayBuffer }).buffer);
mem.set(artifact.weights, artifact.manifest.weights.offset);
// the arena reuses input buffers once they are dead, so the inputs go in again before every run
const feed = (): void => {
  for (const io of artifact.manifest.inputs) {
    const t = feeds.get(io.name);
    if (!t || io.bytes === 0) continue;
    const v = t.data as unknown as ArrayBufferView;
    mem.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), io.offset);
  }
};
const run = ex.run as () => void;
for (let i = 0; i < 10; i++) { feed(); run(); }
const whole: number[] = [];
for (let i = 0; i < reps; i++) { feed(); const s = performance.now(); run(); whole.push(performance.now() - s); }
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
// the box is shared: the fastest run is the one least disturbed by other processes, the median shows the noise
const best = (xs: number[]): number => Math.min(...xs);
// kernels are timed in graph order inside a full run, so each sees the state it would see in run()
const fns = artifact.kernels.map((k) => ex[k.fn] as () => void);
const times: number[][] = artifact.kernels.map(() => []);
for (let i = 0; i < reps; i++) {
  feed();
  fns.forEach((f, j) => { const s = performance.now(); f(); times[j]!.push(performance.now() - s); });
}
const rows = artifact.kernels.map((k, j) => ({ ...k, ms: med(times[j]!), best: best(times[j]!) }));
const total = rows.reduce((s, r) => s + r.ms, 0);
const byOp = new Map<string, { ms: number; best: number; n: number }>();
for (const r of rows) { const e = byOp.get(r.op) ?? { ms: 0, best: 0, n: 0 }; e.ms += r.ms; e.best += r.best; e.n++; byOp.set(r.op, e); }
console.log(`${onnx} -O${level}: run ${med(whole).toFixed(2)} ms (median of ${reps}; fastest ${best(whole).toFixed(2)}), sum of kernels ${total.toFixed(2)} ms (fastest ${rows.reduce((s, r) => s + r.best, 0).toFixed(2)}), ${rows.length} kernels, wasm ${artifact.wasm.length} B code (weights apart), compile ${compileMs.toFixed(0)} ms`);
console.log('by op (median, fastest):');
for (const [op, e] of [...byOp].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${op.padEnd(28)} ${e.ms.toFixed(2).padStart(8)} ms ${e.best.toFixed(2).padStart(8)} ms  x${e.n}`);
console.log(`top ${top} kernels:`);
for (const r of [...rows].sort((a, b) => b.ms - a.ms).slice(0, top)) console.log(`  ${r.fn.padEnd(36)} ${r.ms.toFixed(3).padStart(8)} ms ${r.best.toFixed(3).padStart(8)} ms  ${r.node}`);
