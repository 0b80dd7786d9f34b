// Every real model in shared/models matches its expected (onnxruntime) outputs through the reference backend:
// fp32 within 1e-4 of each output's max |value|; quantized models within 1e-2; the fp16 model within 1e-3.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { tensorError } from '../../compiler/compare.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import { isTensor } from '../../ir/value.js';
import { missingReason, sharedModels } from '../helpers/shared.js';

// minilm_l6_dyn: onnxruntime's x86 MatMulInteger (uint8 x int8 weights) saturates pairwise products at int16
// (255*127 + 255*127 gives 65534 in onnxruntime 1.30 here, 129540 exactly, see test/models/ort-quirks.test.ts),
// and the quantised layers amplify it: the exact result differs from the expected outputs by 1.42e-2 of the
// pooler output's max |value| (measured), so this model is held to 2e-2 rather than 1e-2.
const TOLERANCE: Record<string, number> = { mobilenet_v2_qdq: 1e-2, minilm_l6_dyn: 2e-2, mobilenet_v2_fp16: 1e-3 };

const models = sharedModels();
describe.skipIf(models.length === 0)(`shared real models (${models.length === 0 ? missingReason('models') : 'reference backend'})`, () => {
  for (const m of models) {
    it(`${m.name} matches onnxruntime's outputs`, () => {
      const model = loadModel(m.model);
      for (const ds of m.dataSets) {
        const files = readdirSync(ds);
        const inputs = model.graph.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)));
        const outs = runGraph(model.graph, inputs);
        const expected = files.filter((f) => /^output_\d+\.pb$/.test(f)).sort().map((f) => readValueFile(join(ds, f)));
        expect(expected.length).toBeGreaterThan(0);
        expected.forEach((e, k) => {
          const a = outs[k]!;
          if (!isTensor(a) || !isTensor(e)) throw new Error('expected tensor outputs');
          expect(a.dims).toEqual(e.dims);
          const err = tensorError(a, e);
          const tol = (TOLERANCE[m.name] ?? 1e-4) * err.maxExpected;
          expect(err.maxAbs, `${m.name} output ${k} max abs error (output max |value| ${err.maxExpected})`).toBeLessThanOrEqual(tol);
        });
      }
    }, 300_000);
  }
});
