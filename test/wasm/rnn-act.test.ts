// Accuracy of the recurrent kernel's own sigmoid and tanh (backends/wasm/kernels/rnn-act.ts: one clamped
// exponential each), through an RNN node whose step is exactly f(x_t): W = 1, R = 0, no bias, hidden size 1.

import { describe, expect, it } from 'vitest';
import { fromValues } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { runWasm } from './helpers.js';

/** f(x) for each x through the SIMD RNN path (a NaN poisons later steps through h·0, so it goes last). */
function throughRnn(act: string, xs: readonly number[]): Float32Array {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [xs.length, 1, 1]);
  const [y] = b.node('RNN', [x, b.weight('w', fromValues('float32', [1, 1, 1], [1])), b.weight('r', fromValues('float32', [1, 1, 1], [0]))],
    { hidden_size: 1, activations: [act] }, 1);
  b.output(y!);
  return runWasm(b.build(), [{ dtype: 'float32', dims: [xs.length, 1, 1], data: Float32Array.from(xs) }])[0]!.data as Float32Array;
}

const span = (lo: number, hi: number, n: number): number[] => Array.from({ length: n }, (_, i) => Math.fround(lo + ((hi - lo) * i) / (n - 1)));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('recurrent activations (rnn-act.ts)', () => {
  const cases: [string, (x: number) => number][] = [['Tanh', Math.tanh], ['Sigmoid', sigmoid]];
  for (const [act, exact] of cases) {
    it(`${act} is within 2e-7 absolute on [-30, 30], tiny arguments included`, () => {
      const xs = [...span(-30, 30, 6001), ...span(-1e-3, 1e-3, 201), 1e-30, -1e-30, 0, -0];
      const got = throughRnn(act, xs);
      let worst = 0;
      xs.forEach((x, i) => { worst = Math.max(worst, Math.abs(got[i]! - exact(x))); });
      expect(worst).toBeLessThanOrEqual(2e-7);
    });
    it(`${act} at the ends of the float range and NaN`, () => {
      const xs = [Infinity, -Infinity, 1e30, -1e30, 88, -88, 100, -100, NaN];
      const got = Array.from(throughRnn(act, xs));
      xs.slice(0, -1).forEach((x, i) => expect(Math.abs(got[i]! - exact(x)), `${act}(${x})`).toBeLessThanOrEqual(1e-37 + 2e-7 * Math.abs(exact(x))));
      expect(got[xs.length - 1]).toBeNaN();
    });
  }
});
