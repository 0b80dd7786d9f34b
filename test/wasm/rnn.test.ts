// RNN/GRU/LSTM kernels (kernels/rnn.ts) against the reference interpreter at awkward sizes (directions, layouts,
// short sequences, initial states, peepholes, clip, non-default activations), Binaryen's optimiser on and off;
// and the shared bigru_tagger model against its expected output on the wasm backend.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileWasm } from '../../backends/wasm/compile.js';
import { tensorError } from '../../compiler/compare.js';
import { toTensorValue } from '../../compiler/compile.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { missingReason, sharedModels } from '../helpers/shared.js';
import { randTensor, worstError } from './helpers.js';

type Cell = 'RNN' | 'GRU' | 'LSTM';
const GATES: Record<Cell, number> = { RNN: 1, GRU: 3, LSTM: 4 };

interface Opts { seq: number; batch: number; K: number; H: number; dir: string; layout?: number; lens?: number[]; init?: boolean; bias?: boolean; peep?: boolean; attrs?: Record<string, unknown> }

function build(cell: Cell, o: Opts) {
  const nd = o.dir === 'bidirectional' ? 2 : 1, G = GATES[cell], layout = o.layout ?? 0;
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', layout === 0 ? [o.seq, o.batch, o.K] : [o.batch, o.seq, o.K]);
  const state = layout === 0 ? [nd, o.batch, o.H] : [o.batch, nd, o.H];
  const ins = [
    x, b.weight('w', randTensor([nd, G * o.H, o.K], 3)), b.weight('r', randTensor([nd, G * o.H, o.H], 4)),
    o.bias ? b.weight('b', randTensor([nd, 2 * G * o.H], 5)) : '',
    o.lens ? b.weight('l', fromValues('int32', [o.batch], o.lens)) : '',
    o.init ? b.weight('h0', randTensor(state, 6)) : '',
    ...(cell === 'LSTM' ? [o.init ? b.weight('c0', randTensor(state, 7)) : '', o.peep ? b.weight('p', randTensor([nd, 3 * o.H], 8)) : ''] : []),
  ];
  const outs = b.node(cell, ins, { hidden_size: o.H, direction: o.dir, layout, ...o.attrs }, cell === 'LSTM' ? 3 : 2);
  for (const y of outs) b.output(y!);
  return { g: b.build(), inputs: [randTensor(layout === 0 ? [o.seq, o.batch, o.K] : [o.batch, o.seq, o.K], 9)] };
}

const cases: [Cell, Opts][] = [
  ['RNN', { seq: 3, batch: 2, K: 5, H: 3, dir: 'forward' }],
  ['RNN', { seq: 4, batch: 3, K: 2, H: 5, dir: 'bidirectional', bias: true, init: true, lens: [4, 1, 0], attrs: { activations: ['Relu', 'Affine'], activation_alpha: [0.5], activation_beta: [0.1] } }],
  ['GRU', { seq: 5, batch: 1, K: 7, H: 4, dir: 'reverse', bias: true, init: true }],
  ['GRU', { seq: 3, batch: 2, K: 3, H: 5, dir: 'bidirectional', layout: 1, bias: true, lens: [2, 3], attrs: { linear_before_reset: 1, clip: 0.7 } }],
  ['LSTM', { seq: 4, batch: 2, K: 3, H: 5, dir: 'forward', bias: true, init: true, peep: true }],
  ['LSTM', { seq: 3, batch: 3, K: 4, H: 2, dir: 'bidirectional', layout: 1, lens: [3, 0, 2], init: true, attrs: { input_forget: 1, activations: ['HardSigmoid', 'Softsign', 'LeakyRelu'], activation_alpha: [0.3, 0.2], activation_beta: [0.4] } }],
  ['LSTM', { seq: 2, batch: 1, K: 1, H: 1, dir: 'reverse', attrs: { activations: ['Sigmoid', 'ScaledTanh', 'Elu'], activation_alpha: [0.9, 1.1], activation_beta: [0.8] } }],
];

describe('recurrent kernels match the reference', () => {
  for (const [cell, o] of cases) {
    it(`${cell} ${o.dir} seq ${o.seq} batch ${o.batch} in ${o.K} hidden ${o.H}${o.layout ? ' layout 1' : ''}${o.lens ? ` lens ${o.lens}` : ''}`, () => {
      const { g, inputs } = build(cell, o);
      for (const optimize of [false, true]) expect(worstError(g, inputs, optimize), `optimize=${optimize}`).toBeLessThanOrEqual(1e-6);
    });
  }
});

const models = sharedModels().filter((m) => m.name === 'bigru_tagger');
describe.skipIf(models.length === 0)(`bigru_tagger on wasm (${models.length ? 'shared data' : missingReason('models')})`, () => {
  it('matches its expected output within 1e-4 of max |value|', () => {
    const sm = models[0]!, model = loadModel(sm.model, {}), ds = sm.dataSets[0]!;
    const inputs = model.graph.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)) as Tensor);
    for (const optimize of [false, true]) {
      const a = compileWasm(model.graph, { source: sm.name, optimize, inputShapes: Object.fromEntries(model.graph.inputs.map((n, k) => [n, inputs[k]!.dims])) });
      const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.weights });
      const outs = s.runSync(Object.fromEntries(model.graph.inputs.map((n, k) => [n, toTensorValue(inputs[k]!)])));
      model.graph.outputs.forEach((name, k) => {
        const o = outs[name]!, err = tensorError({ dtype: o.type, dims: o.dims, data: o.data } as Tensor, readValueFile(join(ds, `output_${k}.pb`)) as Tensor);
        expect(err.maxAbs, `optimize=${optimize}`).toBeLessThanOrEqual(1e-4 * err.maxExpected);
      });
    }
  });
});
