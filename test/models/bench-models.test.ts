// The benchmark models of models/bench-models.ts (conv autoencoder, 2-layer LSTM forecaster, ViT, DBNet-style
// detector and SVTR recogniser at test sizes): they export, import back and verify, and the wasm build at -O3
// (ConvTranspose on the GEMM core, channels-last; LSTM on SIMD; the erf GELU fused; the FPN's Resize channels-last;
// SVTR's written-out LayerNorm and masked attention fused) matches the reference.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { tensorError } from '../../compiler/compare.js';
import { compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { importModel } from '../../compiler/onnx/import.js';
import { randomInputs } from '../../compiler/random-inputs.js';
import type { Tensor } from '../../ir/tensor.js';
import { verifyModel } from '../../ir/verify.js';
import { BENCH_MODELS_SMALL } from '../../models/bench-models.js';
import { createSessionSync } from '../../runtime/wasm/session.js';

describe('bench models', () => {
  for (const [name, build] of Object.entries(BENCH_MODELS_SMALL)) {
    it(`${name}: exports, imports back, and wasm -O3 matches the reference`, () => {
      const model = build(), g = model.graph;
      const bytes = exportModel(model);
      expect(bytes.length).toBeGreaterThan(1000);
      const back = importModel(bytes);
      verifyModel(back);
      expect(back.graph.nodes.map((n) => n.op)).toEqual(g.nodes.map((n) => n.op));
      const inputs = randomInputs(g, {}, 42);
      const { artifact, graph } = compileWasmGraph(g, { inputShapes: Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]!.dims])), embedLimit: Infinity }, { level: 3 });
      if (name === 'conv_autoencoder') expect(graph.nodes.filter((n) => n.op === 'onnxc.NhwcFusedConvTranspose').length).toBe(2);
      if (name === 'vit_tiny') expect(graph.nodes.filter((n) => n.op === 'Erf')).toEqual([]);
      if (name === 'dbnet_head') expect(graph.nodes.filter((n) => n.op === 'Resize').length).toBe(6);
      if (name === 'svtr_tiny') {
        // 4 blocks (2 with the window mask), 2 norms each + 2 merging norms + the last; GELU fused into the MLPs
        const count = (op: string): number => graph.nodes.filter((n) => n.op === op).length;
        expect([count('Attention'), count('LayerNormalization'), count('Erf'), count('ReduceMean')]).toEqual([4, 11, 0, 0]);
        expect(graph.nodes.filter((n) => n.op === 'Attention' && n.inputs.length === 4).length).toBe(2);
      }
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
