// The convolutional held-out proxies (models/held-out-cnns.ts: EfficientNet-B0, YOLOv8-n, ConvNeXt) at test sizes:
// the wasm build at -O3 agrees with onnxruntime-node on the exported model (the reference check is in
// bench-models.test.ts), and the exporter's written-out forms reach the kernels meant for them.

import { describe, expect, it } from 'vitest';
import { tensorError } from '../../compiler/compare.js';
import { compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { runOrt } from '../../compiler/ort.js';
import { randomInputs } from '../../compiler/random-inputs.js';
import type { Graph } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { HELD_OUT_CNNS_SMALL } from '../../models/bench-models.js';
import { createSessionSync } from '../../runtime/wasm/session.js';

/** What -O3 must make of each model's exported forms (counts of ops in the compiled graph). */
const expectFused: Record<string, (count: (op: string) => number) => void> = {
  // every x * Sigmoid(x) and the squeeze-excite gate's Sigmoid * x fused away; BatchNormalization folded
  efficientnet_b0: (count) => expect([count('BatchNormalization'), count('Sigmoid')]).toEqual([0, 0]),
  yolov8n: (count) => expect([count('BatchNormalization'), count('MaxPool') + count('onnxc.NhwcMaxPool')]).toEqual([0, 3]),
  convnext: (count) => expect([count('Erf'), count('LayerNormalization') > 0]).toEqual([0, true]),
};

describe('held-out CNN proxies', () => {
  for (const [name, build] of Object.entries(HELD_OUT_CNNS_SMALL)) {
    it(`${name}: wasm -O3 agrees with onnxruntime-node`, async () => {
      const model = build(), g: Graph = model.graph;
      const inputs = randomInputs(g, {}, 42);
      const { artifact, graph } = compileWasmGraph(g, { inputShapes: Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]!.dims])), embedLimit: Infinity }, { level: 3 });
      expectFused[name]!((op) => graph.nodes.filter((n) => n.op === op).length);
      const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
      const feeds = Object.fromEntries(g.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)]));
      const outs = s.runSync(feeds);
      const ort = await runOrt(exportModel(model), Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]!])));
      g.outputs.forEach((n, k) => {
        const e = tensorError({ dtype: outs[n]!.type, dims: outs[n]!.dims, data: outs[n]!.data } as Tensor, ort.values[k]!);
        // a degenerate model (all outputs near zero) would hide a wrong kernel
        expect(e.maxExpected).toBeGreaterThan(0.1);
        expect(e.maxAbs).toBeLessThanOrEqual(1e-5 * Math.max(1, e.maxExpected));
      });
    });
  }
});
