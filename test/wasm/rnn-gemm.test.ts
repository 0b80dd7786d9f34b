// The float32 SIMD path of RNN/GRU/LSTM (kernels/rnn-gemm.ts) against the reference interpreter at awkward sizes:
// hidden sizes around the 4-lane padding and the 16-column panels, 1-step and empty sequences, batch 0,
// run-time initial states and sequence lengths, every activation, clip, both GRU forms, peepholes, coupled
// gates, both layouts and directions; Binaryen's optimiser on and off. rnn.test.ts holds the first cases.

import { describe, expect, it } from 'vitest';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor, worstError } from './helpers.js';

type Cell = 'RNN' | 'GRU' | 'LSTM';
const GATES: Record<Cell, number> = { RNN: 1, GRU: 3, LSTM: 4 };

interface Opts {
  seq: number; batch: number; K: number; H: number; dir: string; layout?: number; lens?: number[]; bias?: boolean; peep?: boolean;
  /** Initial states as constants ('const') or graph inputs ('input'). */
  init?: 'const' | 'input'; lensInput?: boolean; attrs?: Record<string, unknown>; only?: number[];
  /** Weight scale (1/sqrt(fan-in) as trained nets have: random [-2, 2) weights on 64 units make a chaotic
   *  recurrence, where float32 rounding grows far past any tolerance). */
  scale?: number;
}

const scaled = (t: Tensor<'float32'>, k: number): Tensor<'float32'> => (k === 1 ? t : { ...t, data: t.data.map((v) => v * k) });

function build(cell: Cell, o: Opts): { g: ReturnType<GraphBuilder['build']>; inputs: Tensor[] } {
  const nd = o.dir === 'bidirectional' ? 2 : 1, G = GATES[cell], layout = o.layout ?? 0;
  const b = new GraphBuilder();
  const xDims = layout === 0 ? [o.seq, o.batch, o.K] : [o.batch, o.seq, o.K];
  const inputs: Tensor[] = [randTensor(xDims, 9)];
  const x = b.input('x', 'float32', xDims);
  const state = layout === 0 ? [nd, o.batch, o.H] : [o.batch, nd, o.H];
  const lensT = o.lens ? fromValues('int32', [o.batch], o.lens) : undefined;
  const lens = !lensT ? '' : o.lensInput ? b.input('l', 'int32', [o.batch]) : b.weight('l', lensT);
  if (lensT && o.lensInput) inputs.push(lensT);
  const st = (name: string, seed: number): string => {
    if (!o.init) return '';
    if (o.init === 'const') return b.weight(name, randTensor(state, seed));
    inputs.push(randTensor(state, seed));
    return b.input(name, 'float32', state);
  };
  const h0 = st('h0', 6), c0 = cell === 'LSTM' ? st('c0', 7) : '';
  const ins = [
    x, b.weight('w', scaled(randTensor([nd, G * o.H, o.K], 3), o.scale ?? 1)), b.weight('r', scaled(randTensor([nd, G * o.H, o.H], 4), o.scale ?? 1)),
    o.bias ? b.weight('b', randTensor([nd, 2 * G * o.H], 5)) : '', lens, h0,
    ...(cell === 'LSTM' ? [c0, o.peep ? b.weight('p', randTensor([nd, 3 * o.H], 8)) : ''] : []),
  ];
  while (ins[ins.length - 1] === '') ins.pop();
  const outs = b.node(cell, ins, { hidden_size: o.H, direction: o.dir, layout, ...o.attrs }, cell === 'LSTM' ? 3 : 2);
  (o.only ?? outs.map((_, i) => i)).forEach((i) => b.output(outs[i]!));
  return { g: b.build(), inputs };
}

const cases: [Cell, Opts][] = [
  // hidden sizes: below a vector, one vector, vector + tail, across a 16-column panel
  ...[1, 3, 4, 5, 17].map((H): [Cell, Opts] => ['GRU', { seq: 3, batch: 1, K: 6, H, dir: 'bidirectional', bias: true, init: 'const', attrs: { linear_before_reset: 1 } }]),
  ...[1, 4, 7].map((H): [Cell, Opts] => ['LSTM', { seq: 4, batch: 2, K: 3, H, dir: 'forward', bias: true, peep: true, init: 'input' }]),
  ['RNN', { seq: 1, batch: 1, K: 1, H: 5, dir: 'reverse', bias: true }],
  ['RNN', { seq: 5, batch: 2, K: 4, H: 9, dir: 'bidirectional', layout: 1, lens: [5, 2], lensInput: true, attrs: { activations: ['Softplus', 'ThresholdedRelu'], activation_alpha: [0.3] } }],
  // GRU without linear_before_reset (r⊙h before the third product), clip, run-time lengths including 0
  ['GRU', { seq: 4, batch: 3, K: 5, H: 6, dir: 'bidirectional', bias: true, lens: [4, 0, 1], lensInput: true, init: 'input', attrs: { clip: 0.5 } }],
  ['GRU', { seq: 3, batch: 2, K: 2, H: 3, dir: 'forward', layout: 1, attrs: { activations: ['HardSigmoid', 'Elu'], activation_alpha: [0.25, 0.7], activation_beta: [0.45] } }],
  ['GRU', { seq: 3, batch: 2, K: 3, H: 6, dir: 'reverse', init: 'input', attrs: { linear_before_reset: 1 } }],
  // LSTM: coupled gates, clip, layout 1, non-default activations, without bias
  ['LSTM', { seq: 5, batch: 2, K: 4, H: 5, dir: 'bidirectional', layout: 1, init: 'const', peep: true, attrs: { input_forget: 1, clip: 1.5 } }],
  ['LSTM', { seq: 3, batch: 1, K: 2, H: 8, dir: 'reverse', bias: true, attrs: { activations: ['Sigmoid', 'Softsign', 'Affine'], activation_alpha: [0.8], activation_beta: [0.1] } }],
  ['LSTM', { seq: 2, batch: 2, K: 3, H: 4, dir: 'forward', attrs: { activations: ['LeakyRelu', 'ScaledTanh', 'Relu'], activation_alpha: [0.1, 0.9], activation_beta: [1.1] } }],
  // only some outputs used; an empty batch and an empty sequence
  ['LSTM', { seq: 3, batch: 2, K: 3, H: 5, dir: 'bidirectional', bias: true, only: [1, 2] }],
  ['GRU', { seq: 2, batch: 0, K: 3, H: 4, dir: 'forward', bias: true }],
  ['RNN', { seq: 0, batch: 2, K: 3, H: 4, dir: 'bidirectional', init: 'const', only: [1] }],
  // a bigru_tagger-sized layer
  ['GRU', { seq: 24, batch: 1, K: 64, H: 64, dir: 'bidirectional', bias: true, init: 'const', scale: 0.125, attrs: { linear_before_reset: 1 } }],
  ['LSTM', { seq: 16, batch: 2, K: 8, H: 48, dir: 'forward', bias: true, init: 'const', scale: 0.15 }],
];

describe('recurrent kernels (SIMD path) match the reference', () => {
  for (const [cell, o] of cases) {
    const name = `${cell} ${o.dir} seq ${o.seq} batch ${o.batch} in ${o.K} hidden ${o.H}${o.layout ? ' layout 1' : ''}${o.lens ? ` lens ${o.lens}` : ''}${o.init ? ` init ${o.init}` : ''} ${JSON.stringify(o.attrs ?? {})}`;
    it(name, () => {
      const { g, inputs } = build(cell, o);
      for (const optimize of [false, true]) expect(worstError(g, inputs, optimize), `optimize=${optimize}`).toBeLessThanOrEqual(2e-6);
    });
  }
  it('a run-time weight takes the scalar path', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [3, 1, 2]), w = b.input('w', 'float32', [1, 12, 2]);
    const [y] = b.node('LSTM', [x, w, b.weight('r', randTensor([1, 12, 3], 4))], { hidden_size: 3 }, 1);
    b.output(y!);
    expect(worstError(b.build(), [randTensor([3, 1, 2], 1), randTensor([1, 12, 2], 2)])).toBeLessThanOrEqual(1e-6);
  });
});
