// Accuracy of the recurrent kernel's own sigmoid and tanh (backends/wasm/kernels/rnn-act.ts: one rational function
// each): through an RNN node whose step is exactly f(x_t) (W = 1, R = 0, no bias, hidden size 1), and on their own
// over float32 bit patterns spread across every binade. A sweep of all 2^32 patterns (the same module, stride 1)
// gave tanh 3.93e-7 at x = 4.0895 and sigmoid 2.26e-7 at x = 8.179; these bounds leave a little room over that.

import { describe, expect, it } from 'vitest';
import { sigmoidFast, tanhFast } from '../../backends/wasm/kernels/rnn-act.js';
import { fromValues } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { applyLanewise, runWasm } from './helpers.js';

const BOUND = { Tanh: 4e-7, Sigmoid: 2.5e-7 } as const;

/** f(x) for each x through the SIMD RNN path (a NaN poisons later steps through h·0, so it goes last). */
function throughRnn(act: string, xs: readonly number[]): Float32Array {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [xs.length, 1, 1]);
  const [y] = b.node('RNN', [x, b.weight('w', fromValues('float32', [1, 1, 1], [1])), b.weight('r', fromValues('float32', [1, 1, 1], [0]))],
    { hidden_size: 1, activations: [act] }, 1);
  b.output(y!);
  return runWasm(b.build(), [{ dtype: 'float32', dims: [xs.length, 1, 1], data: Float32Array.from(xs) }])[0]!.data as Float32Array;
}

/** f on f32x4 applied to the float32s with the given bits (a multiple of 4 of them), in one module of its own. */
function direct(f: Parameters<typeof applyLanewise>[0], xBits: Uint32Array): { xs: Float32Array; ys: Float32Array } {
  const xs = new Float32Array(xBits.buffer, xBits.byteOffset, xBits.length);
  return { xs, ys: applyLanewise(f, xs) };
}

const span = (lo: number, hi: number, n: number): number[] => Array.from({ length: n }, (_, i) => Math.fround(lo + ((hi - lo) * i) / (n - 1)));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('recurrent activations (rnn-act.ts)', () => {
  const cases: ['Tanh' | 'Sigmoid', (x: number) => number, typeof tanhFast][] = [['Tanh', Math.tanh, tanhFast], ['Sigmoid', sigmoid, sigmoidFast]];
  for (const [act, exact, fast] of cases) {
    it(`${act} is within ${BOUND[act]} absolute on [-30, 30], tiny arguments included`, () => {
      const xs = [...span(-30, 30, 6001), ...span(-1e-3, 1e-3, 201), 1e-30, -1e-30, 0, -0];
      const got = throughRnn(act, xs);
      let worst = 0;
      xs.forEach((x, i) => { worst = Math.max(worst, Math.abs(got[i]! - exact(x))); });
      expect(worst).toBeLessThanOrEqual(BOUND[act]);
    });
    it(`${act} at the ends of the float range and NaN`, () => {
      const xs = [Infinity, -Infinity, 1e30, -1e30, 88, -88, 100, -100, NaN];
      const got = Array.from(throughRnn(act, xs));
      xs.slice(0, -1).forEach((x, i) => expect(Math.abs(got[i]! - exact(x)), `${act}(${x})`).toBeLessThanOrEqual(BOUND[act]));
      expect(got[xs.length - 1]).toBeNaN();
    });
    it(`${act} over 2^20 float32 bit patterns (every binade, both signs): within ${BOUND[act]}, NaN kept`, () => {
      // an odd stride, so mantissas vary within each binade
      const { xs, ys } = direct(fast, Uint32Array.from({ length: 2 ** 20 }, (_, k) => (k * 4099) >>> 0));
      let worst = 0, nanLost = 0;
      for (let k = 0; k < xs.length; k++) {
        const x = xs[k]!, y = ys[k]!;
        if (Number.isNaN(x)) { if (!Number.isNaN(y)) nanLost++; continue; }
        worst = Math.max(worst, Math.abs(y - exact(x)));
      }
      expect(nanLost).toBe(0);
      expect(worst).toBeLessThanOrEqual(BOUND[act]);
    });
  }
  it('tanh keeps tiny arguments and the sign of zero exactly (P(0) = Q(0) = 1)', () => {
    const xs = Float32Array.from([1e-30, -1e-30, 1e-10, -3e-8, 0, -0, 1e-20, -1e-40]);
    const { ys } = direct(tanhFast, new Uint32Array(xs.buffer));
    xs.forEach((x, i) => expect(Object.is(ys[i], x), `tanh(${x}) = ${ys[i]}`).toBe(true));
  });
});
