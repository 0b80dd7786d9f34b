// What `onnxc quantize --mode fp16` writes, compiled to wasm, keeps 2-byte weights in weights.bin (float16
// initializers stored as their bits, lowering/f16-weights.ts) and stays close to the float32 model: the bundled CNN
// and, from shared/models, gpt2_tiny (a transformer: Gather embeddings, Gemm/MatMul layers, LayerNorm kept float32)
// and mobilenet_v2. Measured: weights.bin 0.50x of float32's (gpt2_tiny 0.500, mobilenet_v2 0.500), output drift
// 1.0e-3 and 4.7e-4 of the output's range.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import type { Model } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { buildExamples } from '../../models/build-examples.js';
import { defaultContext } from '../../passes/pass.js';
import { convertFloat16Pass } from '../../passes/quant/convert-float16.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { missingReason, sharedPath } from '../helpers/shared.js';
import { randTensor } from '../wasm/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'onnxc-fp16-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The model as `onnxc quantize --mode fp16` leaves it: the pass, then written as ONNX and read back. */
function fp16Model(model: Model, name: string): Model {
  const g = convertFloat16Pass.run(model.graph, defaultContext({ source: name }));
  const path = join(dir, `${name}.fp16.onnx`);
  writeFileSync(path, exportModel({ ...model, graph: g }));
  return loadModel(path);
}

function compileRun(model: Model, feeds: Record<string, Tensor>): { weights: number; outs: ArrayLike<number>[] } {
  const inputShapes = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.dims]));
  const { artifact } = compileWasmGraph(model.graph, { inputShapes, embedLimit: 0 }, { level: 3 });
  const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest, weights: artifact.weights });
  const out = s.runSync(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toTensorValue(t)])));
  return { weights: artifact.weights.byteLength, outs: model.graph.outputs.map((o) => out[o]!.data as ArrayLike<number>) };
}

/** Largest |a - b| over the largest |b|. */
function drift(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0, mag = 0;
  for (let i = 0; i < b.length; i++) { err = Math.max(err, Math.abs(Number(a[i]) - Number(b[i]))); mag = Math.max(mag, Math.abs(Number(b[i]))); }
  return err / (mag || 1);
}

/** `ratio`: the most weights.bin may be against float32's (tensors under F16_MIN_BYTES stay 4 bytes a value). */
function expectHalf(model: Model, name: string, feeds: Record<string, Tensor>, ratio: number, maxDrift: number): void {
  const f32 = compileRun(model, feeds), f16 = compileRun(fp16Model(model, name), feeds);
  expect(f16.weights).toBeLessThanOrEqual(ratio * f32.weights);
  f16.outs.forEach((o, i) => expect(drift(o, f32.outs[i]!)).toBeLessThanOrEqual(maxDrift));
}

describe('--mode fp16 models compiled to wasm', () => {
  it('the bundled CNN (small layers: tensors under 256 values stay 4 bytes), outputs within 1e-2 of float32', () => {
    const model = loadModel(buildExamples(dir)[0]!);
    const x = model.graph.inputs[0]!;
    expectHalf(model, 'cnn', { [x]: randTensor([1, 3, 32, 32], 4) }, 0.7, 1e-2);
  });

  for (const name of ['gpt2_tiny', 'mobilenet_v2']) {
    const at = sharedPath('models', name);
    it.skipIf(!at)(`${name}: weights.bin half of float32's, outputs within 1e-2 of float32${at ? '' : ` (${missingReason('models', name)})`}`, () => {
      const model = loadModel(join(at!, 'model.onnx'));
      const feeds: Record<string, Tensor> = {};
      model.graph.inputs.filter((n) => !model.graph.initializers.has(n)).forEach((n, i) => { feeds[n] = readValueFile(join(at!, 'test_data_set_0', `input_${i}.pb`)) as Tensor; });
      expectHalf(model, name, feeds, 0.505, 1e-2);
    }, 300_000);
  }
});
