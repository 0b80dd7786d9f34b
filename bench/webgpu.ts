// onnxc's WebGPU backend against onnxruntime-node's WebGPU execution provider on the same adapter (lavapipe
// without a GPU), interleaved run by run after warm-up, median latency per model; outputs checked against the
// data set's expected outputs. The quick form of `npm run bench -- --engines onnxc-webgpu,ort-node-webgpu`:
//   npx tsx bench/webgpu.ts [--runs N] [-O0..-O3] [--forms auto|gpu|cpu[,...]] [MODEL...]
// (default: mnist squeezenet1_1 mobilenet_v2 gpt2_tiny, the forms the adapter gets). `--forms gpu,cpu` runs a session
// of each kernel form (runtime/webgpu/forms.ts) in the same loop: an A/B of the forms on this adapter.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dawnDevice } from '../backends/webgpu/dawn.js';
import { compileWebGpuModel } from '../backends/webgpu/compile.js';
import { tensorError } from '../compiler/compare.js';
import { loadModel } from '../compiler/onnx/import.js';
import { readValueFile } from '../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../ir/tensor.js';
import type { FormsChoice } from '../runtime/webgpu/forms.js';
import { createSession } from '../runtime/webgpu/session.js';
import { SHARED } from '../test/helpers/shared.js';
import { latencyStats } from './stats.js';

interface OrtLike {
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => unknown;
  InferenceSession: { create(model: Uint8Array, o: Record<string, unknown>): Promise<{ run(f: Record<string, unknown>): Promise<Record<string, { data: unknown }>>; outputNames: readonly string[]; release(): Promise<void> }> };
}

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs'), formsAt = args.indexOf('--forms');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 10;
const formsList = (formsAt >= 0 ? args[formsAt + 1]! : 'auto').split(',') as FormsChoice[];
const level = Number(args.find((a) => /^-O[0-3]$/.test(a))?.slice(2) ?? 3) as 0 | 1 | 2 | 3;
const names = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '--runs' && args[i - 1] !== '--forms');
const models = names.length ? names : ['mnist', 'squeezenet1_1', 'mobilenet_v2', 'gpt2_tiny'];

const gpu = await dawnDevice();
if (typeof gpu === 'string') { console.error(`bench/webgpu: ${gpu}`); process.exit(1); }
const ort = (await import('onnxruntime-node')) as unknown as OrtLike;

console.log(`onnxc webgpu (-O${level}) vs onnxruntime-node WebGPU EP, ${runs} interleaved runs after 2 warm-ups, median ms`);
for (const name of models) {
  const dir = join(SHARED, 'models', name);
  const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.onnx'))!);
  const ds = join(dir, readdirSync(dir).find((f) => f.startsWith('test_data_set'))!);
  const model = loadModel(file);
  const inputs = model.graph.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)) as Tensor);
  const expected = readdirSync(ds).filter((f) => /^output_\d+\.pb$/.test(f)).sort().map((f) => readValueFile(join(ds, f)) as Tensor);

  let t = performance.now();
  const { artifact } = compileWebGpuModel(model.graph, { inputShapes: Object.fromEntries(model.graph.inputs.map((n, i) => [n, inputs[i]!.dims])), source: name }, { level });
  const compileMs = performance.now() - t;
  t = performance.now();
  const sessions = [];
  for (const forms of formsList) sessions.push(await createSession(artifact, { device: gpu.device, forms }));
  const loadMs = (performance.now() - t) / sessions.length;
  const feeds = Object.fromEntries(model.graph.inputs.map((n, i) => [n, { type: inputs[i]!.dtype, dims: inputs[i]!.dims, data: inputs[i]!.data }]));
  const theirs = await ort.InferenceSession.create(readFileSync(file), { executionProviders: ['webgpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const ortFeeds = Object.fromEntries(model.graph.inputs.map((n, i) => [n, new ort.Tensor(inputs[i]!.dtype, inputs[i]!.data, inputs[i]!.dims)]));

  // the round-trip floor on this device: an empty submit plus one 4-byte mapAsync (what any run costs before the
  // GPU does work), timed in the same loop, so onnxc minus floor estimates the GPU time of the dispatches
  const probe = gpu.device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const floorRun = async (): Promise<void> => {
    const enc = gpu.device.createCommandEncoder();
    gpu.device.queue.submit([enc.finish()]);
    await probe.mapAsync(GPUMapMode.READ);
    probe.unmap();
  };
  const a: number[][] = sessions.map(() => []), b: number[] = [], f: number[] = [];
  const outs: Awaited<ReturnType<(typeof sessions)[0]['run']>>[] = [];
  const first: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    for (const [j, ours] of sessions.entries()) {
      t = performance.now(); outs[j] = await ours.run(feeds); const x = performance.now() - t;
      if (i === 0) first[j] = x;
      if (i >= 2) a[j]!.push(x);
    }
    t = performance.now(); await theirs.run(ortFeeds); const y = performance.now() - t;
    t = performance.now(); await floorRun(); const z = performance.now() - t;
    if (i >= 2) { b.push(y); f.push(z); }
  }
  const sb = latencyStats(b), sf = latencyStats(f);
  for (const [j, ours] of sessions.entries()) {
    const worst = Math.max(...expected.map((e, k) => {
      const o = outs[j]![model.graph.outputs[k]!]!;
      const err = tensorError({ dtype: o.type, dims: o.dims, data: o.data } as Tensor, e);
      return err.maxAbs / Math.max(err.maxExpected, 1e-30);
    }));
    const sa = latencyStats(a[j]!);
    console.log(`${name.padEnd(16)} onnxc ${sa.medianMs.toFixed(1).padStart(8)}  ort-webgpu ${sb.medianMs.toFixed(1).padStart(8)}  ratio ${(sa.medianMs / sb.medianMs).toFixed(2)}x`
      + `  | ${ours.forms} forms, compile ${compileMs.toFixed(0)} ms, session ${loadMs.toFixed(0)} ms, first run ${first[j]!.toFixed(0)} ms, ${artifact.manifest.dispatches.length} dispatches, max error ${worst.toExponential(1)} of max|v|, submit+map floor ${sf.medianMs.toFixed(2)} ms`);
    ours.release();
  }
  probe.destroy();
  await theirs.release();
}
process.exit(0);
