// Pad's reflect/edge/wrap modes (kernels/pad-modes.ts) and Dropout with its mask and training mode
// (kernels/dropout.ts) against the reference interpreter, at awkward sizes, Binaryen's optimiser on and off.

import { describe, expect, it } from 'vitest';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor, runWasm, worstError } from './helpers.js';
import { runGraph } from '../../backends/reference/interpreter.js';

const i64 = (dims: number[], v: number[]): Tensor => fromValues('int64', dims, v.map(BigInt));

describe('Pad modes match the reference', () => {
  const shapes: [number[], number[], number[] | undefined][] = [
    // input dims, pads, axes
    [[5], [3, 4], undefined],                        // pads beyond one reflection period on a short axis
    [[1, 7], [0, 2, 0, 3], undefined],               // a length-1 axis (reflect maps everything to 0)
    [[2, 3, 4], [1, -1, 2, 0, 1, -1], undefined],     // negative pads crop
    [[3, 5, 2], [2, 4], [-2]],                         // axes input, negative axis
  ];
  for (const mode of ['reflect', 'edge', 'wrap']) {
    for (const [dims, pads, axes] of shapes) {
      it(`${mode} ${JSON.stringify(dims)} pads ${JSON.stringify(pads)}${axes ? ` axes ${JSON.stringify(axes)}` : ''}`, () => {
        const b = new GraphBuilder();
        const x = b.input('x', 'float32', dims);
        const ins = [x, b.weight('p', i64([pads.length], pads)), ...(axes ? ['', b.weight('a', i64([axes.length], axes))] : [])];
        b.output(b.op('Pad', ins, { mode }));
        for (const optimize of [false, true]) expect(worstError(b.build(), [randTensor(dims, 3)], optimize), `optimize=${optimize}`).toBe(0);
      });
    }
  }

  it('edge on int64 and float16 moves bits exactly', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'int64', [2, 3]);
    const h = b.op('Cast', [b.op('Cast', [x], { to: 1 })], { to: 10 });
    b.output(b.op('Pad', [x, b.weight('p', i64([4], [1, 2, 0, 1]))], { mode: 'edge' }));
    b.output(b.op('Cast', [b.op('Pad', [h, b.weight('q', i64([4], [0, 1, 2, 2]))], { mode: 'wrap' })], { to: 1 }));
    const inputs = [i64([2, 3], [1, -2, 3, 2 ** 40, 5, -6])];
    const ours = runWasm(b.build(), inputs), ref = runGraph(b.build(), inputs) as Tensor[];
    ours.forEach((t, k) => { expect(t.dims).toEqual(ref[k]!.dims); expect(Array.from(t.data as ArrayLike<unknown>)).toEqual(Array.from(ref[k]!.data as ArrayLike<unknown>)); });
  });
});

describe('Dropout matches the reference', () => {
  const build = (n: number[], training: boolean | 'input', ratio: number) => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', n);
    const t = training === 'input' ? b.input('t', 'bool', []) : b.weight('t', fromValues('bool', [], [training ? 1 : 0]));
    const [y, mask] = b.node('Dropout', [x, b.weight('r', fromValues('float32', [], [ratio])), t], { seed: 7 }, 2);
    b.output(y!);
    b.output(b.op('Cast', [mask!], { to: 1 }));
    return b.build();
  };
  for (const n of [[1], [3, 5], [1023]]) {
    it(`inference and constant training mode [${n}]: output and mask bit for bit`, () => {
      for (const [training, ratio] of [[false, 0.5], [true, 0.3], [true, 0]] as const) {
        for (const optimize of [false, true]) expect(worstError(build(n, training, ratio), [randTensor(n, 5)], optimize), `${training} ${ratio} optimize=${optimize}`).toBe(0);
      }
    });
  }
  it('a run-time training_mode decides when the module runs', () => {
    const g = build([17], 'input', 0.4), x = randTensor([17], 9);
    for (const on of [0, 1]) expect(worstError(g, [x, fromValues('bool', [], [on])]), `training=${on}`).toBe(0);
    const dropped = runWasm(g, [x, fromValues('bool', [], [1])])[1]!.data as Float32Array;
    expect(Array.from(dropped).some((v) => v === 0)).toBe(true);
  });
});
