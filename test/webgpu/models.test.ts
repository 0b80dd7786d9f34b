// Real models end to end on WebGPU (Dawn; lavapipe in CI): compiled through the lowering core at -O3 (the
// pipeline `onnxc compile` runs, with the webgpu backend's capabilities), run by runtime/webgpu, and compared with
// the data set's expected outputs (onnxruntime's) within 1e-4 of each output's max |value|.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { webgpuBackend } from '../../backends/webgpu/backend.js';
import { tensorError } from '../../compiler/compare.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../../ir/tensor.js';
import { compileFor } from '../../lowering/compile-for.js';
import { createSession } from '../../runtime/webgpu/session.js';
import { missingReason, sharedModels } from '../helpers/shared.js';
import { gpu, REQUIRE_WEBGPU, scoped, skipReason } from './helpers.js';

/** The models the webgpu backend runs today (the others need kernels it does not have yet: see its README). */
const RUNS = ['mnist', 'squeezenet1_1', 'mobilenet_v2'];
const models = sharedModels().filter((m) => RUNS.includes(m.name));
const run = (gpu !== undefined || REQUIRE_WEBGPU) && models.length > 0;
const why = models.length === 0 ? missingReason('models') : skipReason;

describe.skipIf(!run)(`webgpu real models${run ? '' : ` (skipped: ${why})`}`, () => {
  for (const m of models) {
    it(`${m.name} matches onnxruntime's outputs`, async () => {
      const model = loadModel(m.model);
      const ds = m.dataSets[0]!;
      const inputs = model.graph.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)) as Tensor);
      const inputShapes = Object.fromEntries(model.graph.inputs.map((n, i) => [n, inputs[i]!.dims]));
      const { artifact } = compileFor(webgpuBackend, model.graph, { inputShapes, source: m.name }, { level: 3 });
      const expected = readdirSync(ds).filter((f) => /^output_\d+\.pb$/.test(f)).sort().map((f) => readValueFile(join(ds, f)) as Tensor);
      await scoped(async (device) => {
        const s = await createSession(artifact, { device });
        const outs = await s.run(Object.fromEntries(model.graph.inputs.map((n, i) => [n, { type: inputs[i]!.dtype, dims: inputs[i]!.dims, data: inputs[i]!.data }])));
        s.release();
        expected.forEach((e, k) => {
          const o = outs[model.graph.outputs[k]!]!;
          expect(o.dims).toEqual(e.dims);
          const err = tensorError({ dtype: o.type, dims: o.dims, data: o.data } as Tensor, e);
          expect(err.maxAbs, `${m.name} output ${k} (max |value| ${err.maxExpected})`).toBeLessThanOrEqual(1e-4 * err.maxExpected);
        });
      });
    }, 600_000);
  }
});
