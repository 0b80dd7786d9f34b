// Accuracy of the vector transcendental approximations (backends/wasm/math.ts), measured in float32 ulps
// against Math.* in float64 over wide ranges, through compiled single-op graphs.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/builder.js';
import { runWasm } from './helpers.js';

/** ulp distance of float32 a from the exact value e (rounded to float32), 0 for equal specials. */
function ulps(a: number, e: number): number {
  const ef = Math.fround(e);
  if (Number.isNaN(ef)) return Number.isNaN(a) ? 0 : Infinity;
  if (a === ef) return 0;
  if (!Number.isFinite(ef) || !Number.isFinite(a)) return Infinity;
  const ulp = Math.max(Math.abs(ef) * 2 ** -23, 2 ** -149);
  return Math.abs(a - e) / ulp;
}

function run(op: string, xs: number[]): Float32Array {
  const b = new GraphBuilder();
  b.output(b.op(op, [b.input('x', 'float32', [xs.length])]));
  const out = runWasm(b.build(), [{ dtype: 'float32', dims: [xs.length], data: Float32Array.from(xs) }]);
  return out[0]!.data as Float32Array;
}

const span = (lo: number, hi: number, n: number): number[] => Array.from({ length: n }, (_, i) => Math.fround(lo + ((hi - lo) * i) / (n - 1)));
const erf = (x: number): number => {
  // high-precision reference: series for |x| < 3, continued fraction tail above
  const a = Math.abs(x);
  if (a < 3) { let s = 0, t = a; for (let n = 0; n < 200; n++) { s += t / (2 * n + 1); t *= -a * a / (n + 1); } return Math.sign(x) * s * 2 / Math.sqrt(Math.PI); }
  let f = 0; for (let n = 60; n >= 1; n--) f = n / 2 / (a + f);
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f));
};

describe('wasm math approximations', () => {
  const cases: [string, (x: number) => number, number[], number][] = [
    // op, exact function, inputs, max ulps allowed
    ['Exp', Math.exp, [...span(-87, 88, 4001), -0, 0, 1e-30, -1e-30], 2],
    ['Log', Math.log, [...span(1e-3, 1e4, 4001), ...span(1e-37, 1e-30, 101), 1, 2, Math.fround(Math.E)], 2],
    ['Tanh', Math.tanh, span(-10, 10, 4001), 4],
    ['Sigmoid', (x) => 1 / (1 + Math.exp(-x)), span(-30, 30, 4001), 4],
    ['Erf', erf, span(-5, 5, 4001), 8],
  ];
  for (const [op, exact, xs, maxUlps] of cases) {
    it(`${op} is within ${maxUlps} ulps on [${Math.min(...xs)}, ${Math.max(...xs)}]`, () => {
      const got = run(op, xs);
      let worst = 0, at = 0;
      xs.forEach((x, i) => { const u = ulps(got[i]!, exact(x)); if (u > worst) { worst = u; at = x; } });
      expect(worst, `worst at x=${at}`).toBeLessThanOrEqual(maxUlps);
    });
  }

  it('Exp and Log handle special values', () => {
    expect(Array.from(run('Exp', [Infinity, -Infinity, NaN, 100, -110]))).toEqual([Infinity, 0, NaN, Infinity, 0]);
    expect(Array.from(run('Log', [0, -1, Infinity, NaN, 1]))).toEqual([-Infinity, NaN, Infinity, NaN, 0]);
  });

  it('Erf and Tanh saturate and keep odd symmetry', () => {
    const e = run('Erf', [10, -10, 0, -0]);
    expect(Array.from(e)).toEqual([1, -1, 0, -0]);
    const t = run('Tanh', [50, -50, 1e-6]);
    expect(t[0]).toBe(1); expect(t[1]).toBe(-1); expect(t[2]).toBeCloseTo(1e-6, 12);
  });
});
