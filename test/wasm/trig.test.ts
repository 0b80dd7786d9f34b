// Inverse trigonometric/hyperbolic kernels (kernels/trig.ts): float32 ulp error against Math.* in float64 over
// wide ranges, special values, and agreement with the reference interpreter with the optimiser on and off.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor, runWasm, worstError } from './helpers.js';

/** ulp distance of float32 a from the exact value e (rounded to float32), 0 for equal specials. */
function ulps(a: number, e: number): number {
  const ef = Math.fround(e);
  if (Number.isNaN(ef)) return Number.isNaN(a) ? 0 : Infinity;
  if (a === ef) return 0;
  if (!Number.isFinite(ef) || !Number.isFinite(a)) return Infinity;
  return Math.abs(a - e) / Math.max(Math.abs(ef) * 2 ** -23, 2 ** -149);
}

function run(op: string, xs: number[], optimize = true): Float32Array {
  const b = new GraphBuilder();
  b.output(b.op(op, [b.input('x', 'float32', [xs.length])]));
  return runWasm(b.build(), [{ dtype: 'float32', dims: [xs.length], data: Float32Array.from(xs) }], optimize)[0]!.data as Float32Array;
}

const span = (lo: number, hi: number, n: number): number[] => Array.from({ length: n }, (_, i) => Math.fround(lo + ((hi - lo) * i) / (n - 1)));
const tiny = [1e-30, -1e-30, 1e-8, -1e-8, 1e-4, -1e-4, 1e-45, 0.5, -0.5];

describe('wasm inverse trig kernels', () => {
  const cases: [string, (x: number) => number, number[]][] = [
    ['Asin', Math.asin, [...span(-1, 1, 4001), ...tiny, Math.fround(1 - 2 ** -24), Math.fround(-1 + 2 ** -24)]],
    ['Acos', Math.acos, [...span(-1, 1, 4001), ...tiny, Math.fround(1 - 2 ** -24), Math.fround(-1 + 2 ** -24)]],
    ['Atan', Math.atan, [...span(-50, 50, 4001), ...tiny, 1e20, -1e20, 3e38]],
    ['Asinh', Math.asinh, [...span(-50, 50, 4001), ...tiny, 1e20, -1e20, 3e38]],
    ['Acosh', Math.acosh, [...span(1, 50, 4001), Math.fround(1 + 2 ** -23), 1e20, 3e38]],
    ['Atanh', Math.atanh, [...span(-0.999, 0.999, 4001), ...tiny, Math.fround(1 - 2 ** -24)]],
  ];
  for (const [op, exact, xs] of cases) {
    it(`${op} is within 1 ulp on [${Math.min(...xs)}, ${Math.max(...xs)}]`, () => {
      const got = run(op, xs);
      let worst = 0, at = 0;
      xs.forEach((x, i) => { const u = ulps(got[i]!, exact(Math.fround(x))); if (u > worst) { worst = u; at = x; } });
      expect(worst, `worst at x=${at}`).toBeLessThanOrEqual(1);
    });
  }

  it('special values follow Math.*', () => {
    const specials = [0, -0, 1, -1, 2, -2, Infinity, -Infinity, NaN];
    for (const [op, f] of [['Asin', Math.asin], ['Acos', Math.acos], ['Atan', Math.atan], ['Asinh', Math.asinh], ['Acosh', Math.acosh], ['Atanh', Math.atanh]] as const) {
      expect(Array.from(run(op, specials)), op).toEqual(specials.map((x) => Math.fround(f(x))));
    }
  });

  for (const n of [1, 3, 5, 1023]) {
    it(`all six at [${n}] match the reference, optimiser on and off`, () => {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', [n]);
      const t = b.op('Mul', [b.op('Tanh', [x]), b.op('Constant', [], { value_float: 0.9 })]);
      b.output(b.op('Sum', [b.op('Asin', [t]), b.op('Acos', [t]), b.op('Atan', [x]), b.op('Asinh', [x]), b.op('Acosh', [b.op('Add', [b.op('Abs', [x]), b.op('Constant', [], { value_float: 1 })])]), b.op('Atanh', [t])]));
      const inputs = [randTensor([n], 7)];
      for (const optimize of [false, true]) expect(worstError(b.build(), inputs, optimize), `optimize=${optimize}`).toBeLessThanOrEqual(1e-6);
    });
  }
});
