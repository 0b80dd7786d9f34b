// Every real model in shared/models matches its expected (onnxruntime) outputs, through the reference backend and
// through the wasm backends (as imported, and after the -O3 pipeline `onnxc compile` uses): fp32 within 1e-4 of
// each output's max |value|; quantized models within 1e-2 (minilm 2e-2, see test/helpers/shared.ts); fp16 1e-3.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getBackend } from '../../compiler/compile.js';
import { tensorError } from '../../compiler/compare.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import { isTensor } from '../../ir/value.js';
import { missingReason, modelTolerance, sharedModels } from '../helpers/shared.js';

const models = sharedModels();
for (const backend of ['reference', 'wasm', 'wasm-O3']) {
  describe.skipIf(models.length === 0)(`shared real models (${models.length === 0 ? missingReason('models') : `${backend} backend`})`, () => {
    for (const m of models) {
      it(`${m.name} matches onnxruntime's outputs`, () => {
        const model = loadModel(m.model);
        const prepared = getBackend(backend).prepare(model);
        for (const ds of m.dataSets) {
          const files = readdirSync(ds);
          const inputs = model.graph.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)));
          const outs = prepared.run(inputs);
          const expected = files.filter((f) => /^output_\d+\.pb$/.test(f)).sort().map((f) => readValueFile(join(ds, f)));
          expect(expected.length).toBeGreaterThan(0);
          expected.forEach((e, k) => {
            const a = outs[k]!;
            if (!isTensor(a) || !isTensor(e)) throw new Error('expected tensor outputs');
            expect(a.dims).toEqual(e.dims);
            const err = tensorError(a, e);
            const tol = modelTolerance(m.name) * err.maxExpected;
            expect(err.maxAbs, `${m.name} output ${k} max abs error (output max |value| ${err.maxExpected})`).toBeLessThanOrEqual(tol);
          });
        }
      }, 300_000);
    }
  });
}
