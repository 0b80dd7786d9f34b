// Per-kernel profile of the wasm backend: compile a model at -O<level> with every kernel exported, feed the data
// set's real inputs (so index-valued inputs stay in bounds), then time runs and each kernel alone
// (compiler/kernel-profile.ts, which `onnxc bench --profile` prints too).
// usage: tsx bench/perf-kernels.ts MODEL_DIR [-O0|-O3] [--top N] [--reps N]

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../compiler/onnx/import.js';
import { readValueFile } from '../compiler/onnx/tensor-proto.js';
import { compileWasmGraph as compileOptimized, toTensorValue } from '../compiler/compile.js';
import { formatProfile, profileKernels } from '../compiler/kernel-profile.js';
import type { Tensor } from '../ir/tensor.js';
import type { OptLevel } from '../passes/pipelines.js';
import type { TensorValue } from '../runtime/wasm/types.js';

const args = process.argv.slice(2);
const dir = args[0]!;
const level = Number((args.find((a) => a.startsWith('-O')) ?? '-O3').slice(2)) as OptLevel;
const flag = (n: string, d: number): number => { const i = args.indexOf(n); return i < 0 ? d : Number(args[i + 1]); };
const top = flag('--top', 15), reps = flag('--reps', 20);

const onnx = readdirSync(dir).find((f) => f.endsWith('.onnx'))!;
const model = loadModel(join(dir, onnx));
const feeds: Record<string, TensorValue> = {}, inputShapes: Record<string, readonly number[]> = {};
model.graph.inputs.filter((n) => !model.graph.initializers.has(n)).forEach((n, i) => {
  const t = readValueFile(join(dir, 'test_data_set_0', `input_${i}.pb`)) as Tensor;
  feeds[n] = toTensorValue(t);
  inputShapes[n] = t.dims;
});
const t0 = performance.now();
const { artifact } = compileOptimized(model.graph, { inputShapes, exportKernels: !process.env.NOEXP, embedLimit: 0, source: onnx }, { level });
const compileMs = performance.now() - t0;
console.log(`${onnx} -O${level}: wasm ${artifact.wasm.length} B code (weights apart), compile ${compileMs.toFixed(0)} ms`);
for (const line of formatProfile(await profileKernels(artifact, feeds, reps, 10), top)) console.log(line);
