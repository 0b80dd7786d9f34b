// The bench models of every family the seeds hold, on WebGPU as `onnxc compile --target webgpu` compiles them
// (-O3, backends/webgpu/compile.ts), against the reference interpreter: the ones models/bench-models.ts builds
// (conv autoencoder: Conv + ConvTranspose; 2-layer LSTM forecaster) and held-out variants of the recurrent and
// decoder families (bidirectional GRU with linear_before_reset, RNN, LSTM with peepholes, grouped ConvTranspose
// with output_padding, Resize), each required to compile with no node refused and to match within 1e-4 of the
// output's max |value|.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { tryCompileWebGpuModel } from '../../backends/webgpu/compile.js';
import { randomInputs } from '../../compiler/random-inputs.js';
import type { Model } from '../../ir/graph.js';
import { prng } from '../../ir/random.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder, seededWeights } from '../../models/builder.js';
import { BENCH_MODELS } from '../../models/bench-models.js';
import { createSession } from '../../runtime/webgpu/session.js';
import { gpu, REQUIRE_WEBGPU, scoped, skipReason } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;

/** Held-out recurrent and decoder variants (shapes a tagger, a forecaster and a generator use). */
function heldOut(): Record<string, () => Model> {
  const w = (dims: number[], seed: number) => seededWeights(dims, prng(seed), 0.3);
  return {
    bigru_linear_before_reset: () => {
      const b = new GraphBuilder('bigru');
      const x = b.input('x', 'float32', [12, 2, 10]);
      const [y] = b.node('GRU', [x, b.weight('w', w([2, 48, 10], 1)), b.weight('r', w([2, 48, 16], 2)), b.weight('b', w([2, 96], 3))],
        { hidden_size: 16, direction: 'bidirectional', linear_before_reset: 1 }, 2);
      b.output(b.op('Tanh', [y!]));
      return b.model({ source: 'bigru_linear_before_reset' });
    },
    rnn_relu_reverse: () => {
      const b = new GraphBuilder('rnn');
      const x = b.input('x', 'float32', [9, 3, 6]);
      const [, yh] = b.node('RNN', [x, b.weight('w', w([1, 8, 6], 4)), b.weight('r', w([1, 8, 8], 5)), b.weight('b', w([1, 16], 6))],
        { hidden_size: 8, direction: 'reverse', activations: ['Relu'] }, 2);
      b.output(yh!);
      return b.model({ source: 'rnn_relu_reverse' });
    },
    lstm_peepholes_initial_state: () => {
      const b = new GraphBuilder('lstm');
      const x = b.input('x', 'float32', [7, 2, 5]);
      const h0 = b.input('h0', 'float32', [1, 2, 12]), c0 = b.input('c0', 'float32', [1, 2, 12]);
      const [y, yh, yc] = b.node('LSTM', [x, b.weight('w', w([1, 48, 5], 7)), b.weight('r', w([1, 48, 12], 8)), b.weight('b', w([1, 96], 9)), '', h0, c0, b.weight('p', w([1, 36], 10))],
        { hidden_size: 12 }, 3);
      b.output(y!, yh!, yc!);
      return b.model({ source: 'lstm_peepholes_initial_state' });
    },
    decoder_grouped_convtranspose_resize: () => {
      const b = new GraphBuilder('decoder');
      const x = b.input('z', 'float32', [1, 8, 5, 5]);
      let h = b.op('ConvTranspose', [x, b.weight('w1', w([8, 4, 3, 3], 11)), b.weight('b1', w([8], 12))],
        { group: 2, strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1], kernel_shape: [3, 3] });
      h = b.op('Relu', [h]);
      h = b.op('Resize', [h, '', b.weight('scales', fromValues('float32', [4], [1, 1, 2, 2]))], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
      h = b.op('Resize', [h, '', b.weight('scales2', fromValues('float32', [4], [1, 1, 0.5, 0.5]))], { mode: 'nearest', nearest_mode: 'floor', coordinate_transformation_mode: 'asymmetric' });
      b.output(b.op('Sigmoid', [b.op('Conv', [h, b.weight('w2', w([1, 8, 3, 3], 13))], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] })]));
      return b.model({ source: 'decoder_grouped_convtranspose_resize' });
    },
  };
}

describe.skipIf(!run)(`webgpu bench-model families${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  for (const [name, build] of Object.entries({ ...BENCH_MODELS, ...heldOut() })) {
    it(`${name} compiles with no refusal and matches the reference`, async () => {
      const model = build();
      const inputs = randomInputs(model.graph, {}, 42);
      const inputShapes = Object.fromEntries(model.graph.inputs.map((n, i) => [n, inputs[i]!.dims]));
      const r = tryCompileWebGpuModel(model.graph, { inputShapes, source: name }, { level: 3 });
      expect(r.ok ? [] : r.unsupported.map((u) => `${u.op}: ${u.detail}`), `${name}: refused nodes`).toEqual([]);
      if (!r.ok) return;
      const ref = runGraph(model.graph, inputs) as Tensor[];
      await scoped(async (device) => {
        const s = await createSession(r.artifact, { device });
        const outs = await s.run(Object.fromEntries(model.graph.inputs.map((n, i) => [n, { type: inputs[i]!.dtype, dims: inputs[i]!.dims, data: inputs[i]!.data }])));
        s.release();
        ref.forEach((e, k) => {
          const o = outs[model.graph.outputs[k]!]!;
          expect(o.dims).toEqual(e.dims);
          const got = o.data as Float32Array, want = e.data as Float32Array;
          let err = 0, top = 0;
          for (let i = 0; i < want.length; i++) { err = Math.max(err, Math.abs(got[i]! - want[i]!)); top = Math.max(top, Math.abs(want[i]!)); }
          expect(err, `${name} output ${k}: max abs error against max |value| ${top}`).toBeLessThanOrEqual(1e-4 * Math.max(top, 1e-6));
        });
      });
    }, 600_000);
  }
});
