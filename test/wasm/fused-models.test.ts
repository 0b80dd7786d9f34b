// Real models through `onnxc compile`'s path (the -O3 pipeline with the wasm op set, then lowering) against their
// expected outputs, within 1e-4 of each output's max |value|; and mobilenet_v2's code size. Needs the shared data.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tensorError } from '../../compiler/compare.js';
import { fromTensorValue, toTensorValue } from '../../compiler/compile.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import { compileWasmGraph as compileOptimized } from '../../compiler/compile.js';
import type { Tensor } from '../../ir/tensor.js';
import { LOADER_JS } from '../../runtime/wasm/loader-source.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { missingReason, sharedModels } from '../helpers/shared.js';

const WANTED = ['mnist', 'squeezenet1_1', 'mobilenet_v2', 'gpt2_tiny'];
const models = sharedModels().filter((m) => WANTED.includes(m.name));

describe.skipIf(models.length < WANTED.length)(`real models compiled at -O3 (${models.length < WANTED.length ? missingReason('models') : 'shared data'})`, () => {
  for (const sm of models) {
    it(`${sm.name} matches its expected outputs`, () => {
      const model = loadModel(sm.model, {});
      const ds = sm.dataSets[0]!;
      const inputs = model.graph.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)) as Tensor);
      const shapes = Object.fromEntries(model.graph.inputs.map((n, k) => [n, inputs[k]!.dims]));
      const { artifact: a, graph } = compileOptimized(model.graph, { source: sm.name, inputShapes: shapes, embedLimit: 0 }, { level: 3 });
      // the pipeline did run: no plain Conv survives in the conv nets
      if (sm.name !== 'gpt2_tiny') expect(graph.nodes.some((n) => n.op === 'Conv')).toBe(false);
      const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.weights });
      const outs = s.runSync(Object.fromEntries(model.graph.inputs.map((n, k) => [n, toTensorValue(inputs[k]!)])));
      model.graph.outputs.forEach((name, k) => {
        const expected = readValueFile(join(ds, `output_${k}.pb`)) as Tensor;
        const err = tensorError(fromTensorValue(outs[name]!), expected);
        expect(err.maxAbs).toBeLessThanOrEqual(1e-4 * err.maxExpected);
      });
      if (sm.name === 'mobilenet_v2') expect(a.wasm.length + LOADER_JS.length).toBeLessThan(200 * 1024);
    });
  }
});
