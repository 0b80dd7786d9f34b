// The benchmark models of models/bench-models.ts (conv autoencoder, 2-layer LSTM forecaster, ViT and DBNet-style
// detector at test sizes): they export, and the wasm build at -O3 (ConvTranspose on the GEMM core, channels-last;
// LSTM on SIMD; the erf GELU fused; the FPN's Resize channels-last) matches the reference.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { tensorError } from '../../compiler/compare.js';
import { compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { randomInputs } from '../../compiler/random-inputs.js';
import type { Tensor } from '../../ir/tensor.js';
import { BENCH_MODELS_SMALL } from '../../models/bench-models.js';
import { createSessionSync } from '../../runtime/wasm/session.js';

describe('bench models', () => {
  for (const [name, build] of Object.entries(BENCH_MODELS_SMALL)) {
    it(`${name}: exports, and wasm -O3 matches the reference`, () => {
      const model = build(), g = model.graph;
      expect(exportModel(model).length).toBeGreaterThan(1000);
      const inputs = randomInputs(g, {}, 42);
      const { artifact, graph } = compileWasmGraph(g, { inputShapes: Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]!.dims])), embedLimit: Infinity }, { level: 3 });
      if (name === 'conv_autoencoder') expect(graph.nodes.filter((n) => n.op === 'onnxc.NhwcConvTranspose').length).toBe(2);
      if (name === 'vit_tiny') expect(graph.nodes.filter((n) => n.op === 'Erf')).toEqual([]);
      if (name === 'dbnet_head') expect(graph.nodes.filter((n) => n.op === 'Resize').length).toBe(6);
      const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
      const outs = s.runSync(Object.fromEntries(g.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)])));
      const ref = runGraph(g, inputs) as Tensor[];
      g.outputs.forEach((n, k) => {
        const e = tensorError({ dtype: outs[n]!.type, dims: outs[n]!.dims, data: outs[n]!.data } as Tensor, ref[k]!);
        expect(e.maxAbs).toBeLessThanOrEqual(1e-5 * Math.max(1, e.maxExpected));
      });
    });
  }
});
