// Figures for `--mode weights-int4` (issue 9): bert-tiny and gpt2_tiny quantised at each block size, the ONNX file
// and the wasm artifact's weights against fp32's, and top-1/argmax agreement of the int4 artifact with the fp32
// artifact over every output row, on seeded inputs other than the calibration ones.
//   npx tsx scripts/quant-int4-figures.ts [--blocks 32,64,128] [--samples N] [--mode weights-int8] [--exclude OP,...] [model ...]   (models: bert, gpt2)

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compareSets, quantizeModel } from '../compiler/calibrate-quantize.js';
import type { Sample } from '../compiler/calibrate-data.js';
import { compileWasmGraph, toTensorValue } from '../compiler/compile.js';
import { importModel, loadModel } from '../compiler/onnx/import.js';
import { exportModel } from '../compiler/onnx/export.js';
import type { Model } from '../ir/graph.js';
import { makeTensor, type Tensor } from '../ir/tensor.js';
import type { RuntimeValue } from '../ir/value.js';
import { createSessionSync } from '../runtime/wasm/session.js';

const SHARED = resolve(process.env.ONNXC_SHARED ?? join(import.meta.dirname, '..', '..', 'shared'));
const args = process.argv.slice(2);
const opt = (k: string, d: string): string => { const i = args.indexOf(k); return i >= 0 ? args[i + 1]! : d; };
const blocks = opt('--blocks', '32,64,128').split(',').map(Number);
const nSamples = Number(opt('--samples', '16'));
const mode = opt('--mode', 'weights-int4') as 'weights-int4' | 'weights-int8';
const exclude = opt('--exclude', '').split(',').filter(Boolean);
const names = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));

/** Seeded LCG integers in [0, n). */
function ints(seed: number, count: number, n: number): BigInt64Array {
  const out = new BigInt64Array(count);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < count; i++) { s = (s * 1664525 + 1013904223) >>> 0; out[i] = BigInt(Math.floor((s / 2 ** 32) * n)); }
  return out;
}

const MODELS: Record<string, { path: string; dims: Record<string, number>; sample: (seed: number) => Tensor[] }> = {
  bert: {
    path: 'models/generated-bert-tiny/bert_tiny_random_opset18.onnx', dims: { batch: 1, seq: 16 },
    sample: (seed) => [makeTensor('int64', [1, 16], ints(seed, 16, 1000)), makeTensor('int64', [1, 16], new BigInt64Array(16).fill(1n)),
      makeTensor('int64', [1, 16], ints(seed + 7919, 16, 2))],
  },
  gpt2: { path: 'models/gpt2_tiny/model.onnx', dims: {}, sample: (seed) => [makeTensor('int64', [1, 64], ints(seed, 64, 8192))] },
};

function artifactOf(model: Model, dims: Record<string, number>) {
  const { artifact } = compileWasmGraph(model.graph, { source: model.info.source, dims, embedLimit: 0 }, { level: 3 });
  const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest, weights: artifact.weights });
  const run = (x: Sample): RuntimeValue[] => {
    const outs = s.runSync(Object.fromEntries(model.graph.inputs.map((n, i) => [n, toTensorValue(x[i] as Tensor)])));
    return model.graph.outputs.map((n) => ({ dtype: outs[n]!.type, dims: outs[n]!.dims, data: outs[n]!.data }) as Tensor);
  };
  return { weights: artifact.weights.length, run, stored: artifact.manifest.sparseWeights?.length ?? 0 };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(3)} MB`;
for (const name of names.length ? names : Object.keys(MODELS)) {
  const spec = MODELS[name]!;
  const path = join(SHARED, spec.path);
  const model = loadModel(path, { dims: spec.dims });
  const onnxBefore = readFileSync(path).length;
  const calib = Array.from({ length: nSamples }, (_, i) => spec.sample(i + 1));
  const evalSet = Array.from({ length: nSamples }, (_, i) => spec.sample(1000 + i));
  const fp = artifactOf(model, spec.dims);
  const want = evalSet.map(fp.run);
  console.log(`${name}: fp32 ONNX ${mb(onnxBefore)} (re-exported ${mb(exportModel(model).length)}), artifact weights ${mb(fp.weights)}`);
  for (const bs of blocks) {
    const r = quantizeModel(model, calib, { mode, blockSize: bs, exclude });
    // the ONNX file as written, read back: what a user ships and compiles
    const q = importModel(r.bytes, { dims: spec.dims, source: `${name}-int4-b${bs}.onnx` });
    const a = artifactOf(q, spec.dims);
    const rep = compareSets(model.graph, want, evalSet.map(a.run));
    const agree = Object.entries(rep.top1).map(([o, v]) => `${o} ${(100 * v).toFixed(2)}%`).join(', ');
    const drift = Object.entries(rep.drift).map(([o, v]) => `${o} ${v.toExponential(2)}`).join(', ');
    console.log(`  block ${bs}: ONNX ${mb(r.bytes.length)} (${(onnxBefore / r.bytes.length).toFixed(2)}x), artifact weights ${mb(a.weights)} (${(fp.weights / a.weights).toFixed(2)}x; ${a.stored} tensors stored as int4 blocks), `
      + `agreement on ${nSamples} eval inputs: ${agree}; drift ${drift}`);
  }
}
