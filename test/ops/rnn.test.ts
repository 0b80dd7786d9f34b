// RNN, GRU and LSTM against hand-computed single-unit cases (directions, sequence_lens, layout, activations,
// peepholes, input_forget, linear_before_reset, dtypes, inference with symbolic dims) and against onnxruntime.

import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../ir/errors.js';
import type { Attr } from '../../ir/graph.js';
import { attrFloat, attrFloats, attrInt, attrString } from '../../ir/graph.js';
import { fromValues } from '../../ir/tensor.js';
import type { Tensor } from '../../ir/tensor.js';
import type { InferContext } from '../../ops/schema.js';
import { getOp } from '../../ops/index.js';
import { opsetRewrite } from '../../compiler/onnx/opsets/index.js';
import { out, runOp } from '../helpers/run-op.js';
import { runGraph } from '../../backends/reference/interpreter.js';
import { importModel } from '../../compiler/onnx/import.js';
import { runOrt } from '../../compiler/ort.js';
import { attrF, attrI, graph as pgraph, model as pmodel, node as pnode, vi } from '../onnx/build.js';
import type { Obj } from '../onnx/build.js';

const f = (dims: number[], v: number[]): Tensor => fromValues('float32', dims, v);
const attrStrings = (v: string[]): Attr => ({ kind: 'strings', value: v });
const sig = (x: number): number => 1 / (1 + Math.exp(-x));
const near = (t: Tensor, want: number[]): void => {
  expect(t.data.length).toBe(want.length);
  want.forEach((w, i) => expect(Number(t.data[i])).toBeCloseTo(w, 5));
};

describe('RNN', () => {
  const W = f([1, 1, 1], [2]);
  const R = f([1, 1, 1], [0.5]);
  it('runs forward with default Tanh', () => {
    const r = runOp('RNN', [f([2, 1, 1], [1, 0]), W, R], { hidden_size: attrInt(1) }, 2);
    const h1 = Math.tanh(2);
    const h2 = Math.tanh(0.5 * h1);
    expect(out(r, 0).dims).toEqual([2, 1, 1, 1]);
    near(out(r, 0), [h1, h2]);
    near(out(r, 1), [h2]);
  });
  it('runs in reverse, writing Y at the original time index', () => {
    const r = runOp('RNN', [f([2, 1, 1], [1, 0]), W, R], { direction: attrString('reverse') }, 2);
    near(out(r, 0), [Math.tanh(2), 0]);
    near(out(r, 1), [Math.tanh(2)]);
  });
  it('runs both directions and stacks them on axis 1 of Y', () => {
    const W2 = f([2, 1, 1], [2, 2]);
    const R2 = f([2, 1, 1], [0.5, 0.5]);
    const r = runOp('RNN', [f([2, 1, 1], [1, 0]), W2, R2], { direction: attrString('bidirectional') }, 2);
    const h1 = Math.tanh(2);
    expect(out(r, 0).dims).toEqual([2, 2, 1, 1]);
    near(out(r, 0), [h1, h1, Math.tanh(0.5 * h1), 0]);
    near(out(r, 1), [Math.tanh(0.5 * h1), h1]);
  });
  it('stops short sequences at sequence_lens, zeroing the padded steps', () => {
    const lens = fromValues('int32', [2], [2, 1]);
    const r = runOp('RNN', [f([2, 2, 1], [1, 1, 0, 5]), W, R, undefined, lens], {}, 2);
    const h1 = Math.tanh(2);
    near(out(r, 0), [h1, h1, Math.tanh(0.5 * h1), 0]);
    near(out(r, 1), [Math.tanh(0.5 * h1), h1]);
  });
  it('reads and writes batch-major tensors with layout 1, with bias and initial_h', () => {
    const B = f([1, 2], [0.25, 0.25]);
    const h0 = f([2, 1, 1], [1, -1]);
    const r = runOp('RNN', [f([2, 1, 1], [1, 0]), W, R, B, undefined, h0], { layout: attrInt(1) }, 2);
    expect(out(r, 0).dims).toEqual([2, 1, 1, 1]);
    near(out(r, 0), [Math.tanh(2 + 0.5 + 0.5), Math.tanh(0 + 0.5 - 0.5)]);
    expect(out(r, 1).dims).toEqual([2, 1, 1]);
  });
  it('takes activation parameters in order', () => {
    const r = runOp('RNN', [f([1, 1, 1], [-1]), W, R], {
      activations: attrStrings(['LeakyRelu']), activation_alpha: attrFloats([0.1]),
    }, 2);
    near(out(r, 0), [-0.2]);
  });
  it('clips pre-activations', () => {
    const r = runOp('RNN', [f([1, 1, 1], [5]), W, R], { activations: attrStrings(['Relu']), clip: attrFloat(3) }, 2);
    near(out(r, 0), [3]);
  });
  it('computes float64 and rounds float16', () => {
    const d = runOp('RNN', [fromValues('float64', [1, 1, 1], [1]), fromValues('float64', [1, 1, 1], [2]), fromValues('float64', [1, 1, 1], [0])], {}, 1);
    expect(out(d).data[0]).toBe(Math.tanh(2));
    const h = runOp('RNN', [fromValues('float16', [1, 1, 1], [1]), fromValues('float16', [1, 1, 1], [2]), fromValues('float16', [1, 1, 1], [0])], {}, 1);
    expect(out(h).dtype).toBe('float16');
    expect(out(h).data[0]).toBe(0.9638671875); // tanh(2) = 0.964028 rounded to float16 (step 2^-11)
  });
  it('allows an empty batch', () => {
    const r = runOp('RNN', [f([3, 0, 1], []), W, R], {}, 2);
    expect(out(r, 0).dims).toEqual([3, 1, 0, 1]);
    expect(out(r, 1).dims).toEqual([1, 0, 1]);
  });
});

describe('GRU', () => {
  // x = 1, all weights 1, h0 = 0.5, only Rbh = 1
  const X = f([1, 1, 1], [1]);
  const W = f([1, 3, 1], [1, 1, 1]);
  const R = f([1, 3, 1], [1, 1, 1]);
  const B = f([1, 6], [0, 0, 0, 0, 0, 1]);
  const h0 = f([1, 1, 1], [0.5]);
  const z = sig(1.5);
  const rg = sig(1.5);
  it('applies the reset gate before the recurrence by default', () => {
    const r = runOp('GRU', [X, W, R, B, undefined, h0], { hidden_size: attrInt(1) }, 2);
    const hh = Math.tanh(1 + rg * 0.5 + 1);
    near(out(r, 0), [(1 - z) * hh + z * 0.5]);
  });
  it('applies it after the recurrence with linear_before_reset', () => {
    const r = runOp('GRU', [X, W, R, B, undefined, h0], { linear_before_reset: attrInt(1) }, 2);
    const hh = Math.tanh(1 + rg * (0.5 + 1));
    near(out(r, 1), [(1 - z) * hh + z * 0.5]);
  });
});

describe('LSTM', () => {
  const X = f([1, 1, 1], [1]);
  const W = f([1, 4, 1], [1, 1, 1, 1]);
  const R = f([1, 4, 1], [0, 0, 0, 0]);
  const c0 = f([1, 1, 1], [2]);
  it('computes gates i, o, f, c in ONNX order, with Y_c', () => {
    const r = runOp('LSTM', [X, W, R, undefined, undefined, undefined, c0], {}, 3);
    const C = sig(1) * 2 + sig(1) * Math.tanh(1);
    near(out(r, 2), [C]);
    near(out(r, 1), [sig(1) * Math.tanh(C)]);
  });
  it('uses peepholes (P stacked i, o, f) on the previous and new cell state', () => {
    const P = f([1, 3], [0.5, 0.25, -0.5]);
    const r = runOp('LSTM', [X, W, R, undefined, undefined, undefined, c0, P], {}, 3);
    const i = sig(1 + 0.5 * 2);
    const fg = sig(1 - 0.5 * 2);
    const C = fg * 2 + i * Math.tanh(1);
    near(out(r, 2), [C]);
    near(out(r, 0), [sig(1 + 0.25 * C) * Math.tanh(C)]);
  });
  it('couples the forget gate to the input gate with input_forget', () => {
    const r = runOp('LSTM', [X, W, R, undefined, undefined, undefined, c0], { input_forget: attrInt(1) }, 3);
    near(out(r, 2), [(1 - sig(1)) * 2 + sig(1) * Math.tanh(1)]);
  });
  it('rejects a wrong W shape at run time', () => {
    expect(() => runOp('LSTM', [X, f([1, 3, 1], [1, 1, 1]), R], {}, 1)).toThrow(/W|dim 1/);
  });
});

describe('recurrent inference', () => {
  const def = getOp('GRU')!;
  const ctx = (inputs: InferContext<never>['inputs'], attrs: Record<string, unknown> = {}): InferContext<never> => ({
    node: { name: 'g', op: 'GRU', inputs: [], outputs: ['y', 'yh'], attrs: {} },
    attrs: { direction: 'forward', layout: 0, ...attrs } as never,
    inputs, constant: () => undefined, shapeValue: () => undefined, numOutputs: 2,
    inferSubgraph: () => [], freshDim: (h) => `?${h}`,
  });
  it('keeps symbolic dims and derives hidden_size from R', () => {
    const types = def.infer(ctx([
      { kind: 'tensor', dtype: 'float32', shape: ['seq', 'batch', 4] },
      { kind: 'tensor', dtype: 'float32', shape: [2, 24, 4] },
      { kind: 'tensor', dtype: 'float32', shape: [2, 24, 8] },
    ], { direction: 'bidirectional' }) as never);
    expect(types).toEqual([
      { kind: 'tensor', dtype: 'float32', shape: ['seq', 2, 'batch', 8] },
      { kind: 'tensor', dtype: 'float32', shape: [2, 'batch', 8] },
    ]);
  });
  it('handles an X of unknown rank', () => {
    const types = def.infer(ctx([
      { kind: 'tensor', dtype: 'float32' },
      { kind: 'tensor', dtype: 'float32' },
      { kind: 'tensor', dtype: 'float32' },
    ], { hidden_size: 3, layout: 1 }) as never);
    expect(types[0]).toEqual({ kind: 'tensor', dtype: 'float32', shape: ['?batch', '?seq', 1, 3] });
  });
  it('names the broken rule', () => {
    const x = { kind: 'tensor', dtype: 'float32', shape: [1, 1, 4] } as const;
    const w = { kind: 'tensor', dtype: 'float32', shape: [1, 24, 4] } as const;
    const r = { kind: 'tensor', dtype: 'float32', shape: [1, 24, 8] } as const;
    expect(() => def.infer(ctx([x, w, r], { direction: 'sideways' }) as never)).toThrow(ShapeError);
    expect(() => def.infer(ctx([x, { ...w, shape: [1, 24, 5] }, r]) as never)).toThrow(/input_size/);
    expect(() => def.infer(ctx([{ ...x, dtype: 'int32' }, w, r]) as never)).toThrow(/element type/);
    expect(() => def.infer(ctx([x, w, r], { hidden_size: 3 }) as never)).toThrow(/hidden_size/);
  });
});

describe('recurrent legacy', () => {
  it('drops the opset 1 output_sequence attribute', () => {
    const n = opsetRewrite('LSTM')!({ name: 'l', op: 'LSTM', inputs: ['x', 'w', 'r'], outputs: ['y'], attrs: { output_sequence: attrInt(1), hidden_size: attrInt(2) } },
      { opset: 1, freshName: (h) => h, constant: () => 'c' });
    expect(Object.keys(n[0]!.attrs)).toEqual(['hidden_size']);
  });
});

// ---- differential checks against onnxruntime-node on random weights ----------------------------------


/** Deterministic values in [-1, 1). */
function rand(seed: number, n: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 31 - 1; });
}

interface Case { op: 'RNN' | 'GRU' | 'LSTM'; direction: string; lens?: number[]; initial?: boolean; peep?: boolean; attrs?: Obj[] }

async function compareWithOrt(c: Case): Promise<void> {
  const [seq, batch, inSize, hidden] = [4, 3, 5, 6];
  const G = c.op === 'RNN' ? 1 : c.op === 'GRU' ? 3 : 4;
  const nd = c.direction === 'bidirectional' ? 2 : 1;
  const feeds: Record<string, Tensor> = {
    X: f([seq, batch, inSize], rand(1, seq * batch * inSize)),
    W: f([nd, G * hidden, inSize], rand(2, nd * G * hidden * inSize)),
    R: f([nd, G * hidden, hidden], rand(3, nd * G * hidden * hidden)),
    B: f([nd, 2 * G * hidden], rand(4, nd * 2 * G * hidden)),
  };
  const names = ['X', 'W', 'R', 'B', '', ''];
  if (c.lens) { feeds['L'] = fromValues('int32', [batch], c.lens); names[4] = 'L'; }
  if (c.initial) {
    feeds['H0'] = f([nd, batch, hidden], rand(5, nd * batch * hidden));
    names[5] = 'H0';
    if (c.op === 'LSTM') { feeds['C0'] = f([nd, batch, hidden], rand(6, nd * batch * hidden)); names.push('C0'); }
  }
  if (c.peep) {
    while (names.length < 7) names.push('');
    feeds['P'] = f([nd, 3 * hidden], rand(7, nd * 3 * hidden));
    names.push('P');
  }
  const outs = c.op === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h'];
  const inputs = Object.entries(feeds).map(([n, t]) => vi(n, t.dtype === 'int32' ? 6 : 1, [...t.dims]));
  const bytes = pmodel(pgraph(
    [pnode(c.op, names, outs, [attrI('hidden_size', hidden), { name: 'direction', type: 3, s: Buffer.from(c.direction) }, ...(c.attrs ?? [])])],
    inputs, outs.map((o) => vi(o, 1))), { opset: 14 });
  const m = importModel(bytes);
  const ours = runGraph(m.graph, m.graph.inputs.map((n) => feeds[n]));
  const theirs = await runOrt(bytes, feeds);
  theirs.values.forEach((t, i) => {
    const a = ours[i] as Tensor;
    expect(a.dims).toEqual(t.dims);
    for (let k = 0; k < t.data.length; k++) expect(Number(a.data[k])).toBeCloseTo(Number(t.data[k]), 4);
  });
}

describe('recurrent ops agree with onnxruntime', () => {
  const cases: Case[] = [
    { op: 'RNN', direction: 'bidirectional', lens: [4, 2, 1], initial: true },
    { op: 'RNN', direction: 'reverse', attrs: [{ name: 'activations', type: 8, strings: [Buffer.from('Relu')] }] },
    { op: 'GRU', direction: 'bidirectional', lens: [3, 4, 1], initial: true, attrs: [attrI('linear_before_reset', 1)] },
    { op: 'GRU', direction: 'reverse', lens: [2, 4, 3] },
    { op: 'LSTM', direction: 'bidirectional', lens: [1, 4, 2], initial: true, peep: true },
    { op: 'LSTM', direction: 'forward', initial: true, attrs: [attrI('input_forget', 1), attrF('clip', 0.5)] },
  ];
  for (const c of cases) {
    it(`${c.op} ${c.direction}${c.lens ? ' with sequence_lens' : ''}${c.attrs ? ' with attributes' : ''}`, () => compareWithOrt(c));
  }
});
