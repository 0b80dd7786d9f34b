// Real models through the wasm backend against their expected outputs (within 1e-4 of each output's max |value|),
// and the deployable size of mobilenet_v2 (model.wasm without weights, plus loader.js). Needs the shared data.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileWasm } from '../../backends/wasm/compile.js';
import { tensorError } from '../../compiler/compare.js';
import { toTensorValue } from '../../compiler/compile.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../../ir/tensor.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { LOADER_JS } from '../../runtime/wasm/loader-source.js';
import { missingReason, sharedModels } from '../helpers/shared.js';

const WANTED = ['mnist', 'squeezenet1_1', 'mobilenet_v2'];
const models = sharedModels().filter((m) => WANTED.includes(m.name));

describe.skipIf(models.length < WANTED.length)(`real models on the wasm backend (${models.length < WANTED.length ? missingReason('models') : 'shared data'})`, () => {
  for (const sm of models) {
    it(`${sm.name} matches its expected outputs`, () => {
      const model = loadModel(sm.model, {});
      const ds = sm.dataSets[0]!;
      const inputs = model.graph.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)) as Tensor);
      const a = compileWasm(model.graph, { source: sm.name, inputShapes: Object.fromEntries(model.graph.inputs.map((n, k) => [n, inputs[k]!.dims])), embedLimit: 0 });
      const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.weights });
      const outs = s.runSync(Object.fromEntries(model.graph.inputs.map((n, k) => [n, toTensorValue(inputs[k]!)])));
      model.graph.outputs.forEach((name, k) => {
        const expected = readValueFile(join(ds, `output_${k}.pb`)) as Tensor;
        const o = outs[name]!;
        const err = tensorError({ dtype: o.type, dims: o.dims, data: o.data } as Tensor, expected);
        expect(err.maxAbs).toBeLessThanOrEqual(1e-4 * err.maxExpected);
      });
      if (sm.name === 'mobilenet_v2') {
        expect(a.manifest.weights.file).toBe('weights.bin');
        expect(a.wasm.length + LOADER_JS.length).toBeLessThan(200 * 1024);
      }
      expect(a.manifest.arena.bytes).toBeGreaterThanOrEqual(a.manifest.arena.lowerBoundBytes);
    });
  }
});
