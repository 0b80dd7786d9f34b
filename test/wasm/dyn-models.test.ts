// The bar for dynamic dims on real models: bert-tiny (`--dim batch=1 --dim seq=1..128`) and minilm_l6_dyn
// (`--dim sequence=1..128`) compiled once match the dataset's expected outputs at its shape, onnxruntime-node at
// sequence 1, 7, 64 and 128, and the static compile at those sizes.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileDynamic } from '../../backends/wasm/dims-compile.js';
import { compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import { tensorError } from '../../compiler/compare.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import { runOrt } from '../../compiler/ort.js';
import { randomInputs } from '../../compiler/random-inputs.js';
import type { Tensor } from '../../ir/tensor.js';
import { createSessionSync, type WasmSession } from '../../runtime/wasm/session.js';
import { missingReason, modelTolerance, sharedModels } from '../helpers/shared.js';

const CASES = [
  { name: 'generated-bert-tiny', sym: 'seq', staticTol: 1e-5 },
  // quantised: a float rounding difference can move a DynamicQuantizeLinear step, so dynamic and static agree to
  // the model's own tolerance scale rather than bit for bit
  { name: 'minilm_l6_dyn', sym: 'sequence', staticTol: 1e-3 },
];

const worst = (a: readonly Tensor[], b: readonly Tensor[]): number => Math.max(...a.map((x, k) => {
  expect(x.dims).toEqual(b[k]!.dims);
  const e = tensorError(x, b[k]!);
  return e.maxExpected > 0 ? e.maxAbs / e.maxExpected : e.maxAbs;
}));

for (const c of CASES) {
  const m = sharedModels().find((x) => x.name === c.name);
  describe.skipIf(!m)(`${c.name} with ${c.sym} given at run time (${m ? 'one artifact' : missingReason('models', c.name)})`, () => {
    it('matches the expected outputs, onnxruntime and the static compile at sequence 1, 7, 64, 128', async () => {
      const model = loadModel(m!.model);
      const g = model.graph;
      const { artifact } = compileDynamic(g, { source: m!.model, dims: { batch: 1 }, embedLimit: Infinity }, [{ name: c.sym, min: 1, max: 128 }], { level: 3 });
      expect(artifact.manifest.dims).toEqual([{ name: c.sym, min: 1, max: 128, global: `dim0_${c.sym}` }]);
      const session = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
      const run = (s: WasmSession, inputs: readonly Tensor[]): Tensor[] => {
        const outs = s.runSync(Object.fromEntries(g.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)])));
        return g.outputs.map((n) => ({ dtype: outs[n]!.type, dims: [...outs[n]!.dims], data: outs[n]!.data }) as Tensor);
      };
      const tol = modelTolerance(c.name);
      for (const ds of m!.dataSets) {
        const inputs = g.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)) as Tensor);
        const expected = readdirSync(ds).filter((f) => /^output_\d+\.pb$/.test(f)).sort().map((f) => readValueFile(join(ds, f)) as Tensor);
        expect(worst(run(session, inputs), expected)).toBeLessThanOrEqual(tol);
      }
      for (const seq of [1, 7, 64, 128]) {
        const inputs = randomInputs(g, { batch: 1, [c.sym]: seq }, seq);
        const ort = await runOrt(m!.model, Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]!])));
        const ours = run(session, inputs);
        expect(ours[0]!.dims).toEqual([1, seq, ours[0]!.dims[2]]);
        expect(worst(ours, ort.values), `${c.name} at ${c.sym}=${seq} against onnxruntime`).toBeLessThanOrEqual(tol);
        const shapes = Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]!.dims]));
        const fixed = compileWasmGraph(g, { source: m!.model, inputShapes: shapes, embedLimit: Infinity }).artifact;
        expect(worst(ours, run(createSessionSync(fixed), inputs)), `${c.name} at ${c.sym}=${seq} against the static compile`).toBeLessThanOrEqual(c.staticTol);
      }
    }, 900_000);
  });
}
