// Accuracy of the vector transcendental approximations (backends/wasm/math.ts), measured in float32 ulps
// against Math.* in float64 over wide ranges, through compiled single-op graphs, and the functions on their own
// (one f32x4 loop per module) over dense sweeps.

import { describe, expect, it } from 'vitest';
import { erfV, expNegV, expV, sigmoidV } from '../../backends/wasm/math.js';
import { GraphBuilder } from '../../models/builder.js';
import { applyLanewise, runWasm } from './helpers.js';

/** ulp distance of float32 a from the exact value e (rounded to float32), 0 for equal specials. */
function ulps(a: number, e: number): number {
  const ef = Math.fround(e);
  if (Number.isNaN(ef)) return Number.isNaN(a) ? 0 : Infinity;
  if (a === ef) return 0;
  if (!Number.isFinite(ef) || !Number.isFinite(a)) return Infinity;
  const ulp = Math.max(Math.abs(ef) * 2 ** -23, 2 ** -149);
  return Math.abs(a - e) / ulp;
}

function run(op: string, xs: number[], attrs: Record<string, string> = {}): Float32Array {
  const b = new GraphBuilder();
  b.output(b.op(op, [b.input('x', 'float32', [xs.length])], attrs));
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
    ['Sigmoid', (x) => 1 / (1 + Math.exp(-x)), span(-30, 30, 4001), 2],
    ['Erf', erf, span(-5, 5, 4001), 2],
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

  // math.ts geluTanhV: x / (1 + 2^t), its declared error. The exact value in float64 through the same identity
  // (0.5 x (1 + tanh u) = x / (1 + e^-2u)), which unlike the tanh form keeps its digits for negative x.
  it('Gelu (tanh form) is within 1.2e-7 |x| everywhere and 1e-6 relative for x > -3', () => {
    const exact = (x: number): number => x / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    const mags = Array.from({ length: 400 }, (_, i) => Math.fround(10 ** (-30 + (68.5 * i) / 399)));
    const xs = [...span(-12, 12, 24001), ...span(-0.01, 0.01, 2001), ...mags, ...mags.map((x) => -x), 3.4e38, -3.4e38];
    const got = run('Gelu', xs, { approximate: 'tanh' });
    let worstAbs = 0, worstRel = 0, atAbs = 0, atRel = 0;
    xs.forEach((x, i) => {
      const e = exact(x), d = Math.abs(got[i]! - e);
      if (x !== 0 && d / Math.abs(x) > worstAbs) { worstAbs = d / Math.abs(x); atAbs = x; }
      if (x > -3 && e !== 0 && d / Math.abs(e) > worstRel) { worstRel = d / Math.abs(e); atRel = x; }
    });
    expect(worstAbs, `worst |error|/|x| at x=${atAbs}`).toBeLessThanOrEqual(1.2e-7);
    expect(worstRel, `worst relative error at x=${atRel}`).toBeLessThanOrEqual(1e-6);
  });

  it('Gelu (tanh form) special values: the tanh form\'s answers', () => {
    const sp = run('Gelu', [Infinity, -Infinity, NaN, 0, -0, -1e30, 1e30, -200], { approximate: 'tanh' });
    expect(Array.from(sp.slice(0, 4))).toEqual([Infinity, NaN, NaN, 0]);
    expect(Object.is(sp[4], -0)).toBe(true);
    expect(Math.abs(sp[5]!)).toBe(0);
    expect(sp[6]).toBe(Math.fround(1e30));
    expect(Math.abs(sp[7]!)).toBe(0);
  });

  // math.ts expNegV (Softmax, LogSoftmax, Attention): masked scores (-inf, -3.4e38, far below the max) weigh
  // exactly 0 or within 1.2e-38 of their weight, the rest within a few ulps of the weights of the float32
  // differences x - max (which round as they do in any float32 softmax); a row of NaN stays NaN.
  it('Softmax with causal-mask values: masked weights 0, the others within 4 ulps', () => {
    const L = 64, rows = 8, xs: number[] = [];
    for (let r = 0; r < rows; r++) for (let j = 0; j < L; j++) {
      xs.push(j > r * 8 ? [-Infinity, -3.4e38, -1000, -100, -88, -87.5][(r + j) % 6]! : Math.fround(Math.sin(r * 7 + j) * 40 - (j % 3) * 30));
    }
    const b = new GraphBuilder();
    b.output(b.op('Softmax', [b.input('x', 'float32', [rows, L])], { axis: -1 }));
    const got = runWasm(b.build(), [{ dtype: 'float32', dims: [rows, L], data: Float32Array.from(xs) }])[0]!.data as Float32Array;
    let worst = 0;
    for (let r = 0; r < rows; r++) {
      const row = xs.slice(r * L, (r + 1) * L), mx = Math.max(...row), e = row.map((x) => Math.exp(Math.fround(x - mx))), sum = e.reduce((a, c) => a + c);
      e.forEach((ej, j) => {
        const want = ej / sum, have = got[r * L + j]!;
        if (want < 2 ** -126) expect(Math.abs(have - want)).toBeLessThanOrEqual(1.2e-38);
        else worst = Math.max(worst, ulps(have, want));
        if (row[j] === -Infinity) expect(have).toBe(0);
      });
    }
    expect(worst).toBeLessThanOrEqual(4);
    const nan = b.build();
    expect(Array.from(runWasm(nan, [{ dtype: 'float32', dims: [rows, L], data: new Float32Array(rows * L).fill(NaN) }])[0]!.data as Float32Array).every(Number.isNaN)).toBe(true);
  });

  // math.ts erfV: two rational pieces split at 1.1, 1 from 3.92; its declared error is 1.06e-7 absolute (found over
  // every float32 in [2^-30, 4) offline); here a dense sweep, both sides of the split and of the saturation point,
  // and tiny magnitudes down to subnormals, against the float64 series/continued-fraction reference.
  it('Erf is within 1.1e-7 absolute and 1.5 ulps over a dense sweep, odd to the bit', () => {
    // the n float32 neighbours either side of c
    const around = (c: number, n: number): number[] => {
      const f = new Float32Array([c]), u = new Uint32Array(f.buffer), bits = u[0]!;
      return Array.from({ length: 2 * n + 1 }, (_, k) => { u[0] = bits - n + k; return f[0]!; });
    };
    const mags = Array.from({ length: 600 }, (_, i) => Math.fround(10 ** (-45 + (46 * i) / 599)));
    const pos = [...span(0, 4.5, 60001), ...around(1.1, 200), ...around(3.92, 200), ...mags, 2 ** -149, 2 ** -126, 1e-30];
    const xs = [...pos, ...pos.map((x) => -x)];
    const got = run('Erf', xs);
    let worstAbs = 0, worstUlps = 0, atAbs = 0, atUlps = 0;
    xs.forEach((x, i) => {
      const e = erf(x), d = Math.abs(got[i]! - e), u = ulps(got[i]!, e);
      if (d > worstAbs) { worstAbs = d; atAbs = x; }
      if (u > worstUlps) { worstUlps = u; atUlps = x; }
    });
    expect(worstAbs, `worst |error| at x=${atAbs}`).toBeLessThanOrEqual(1.1e-7);
    expect(worstUlps, `worst ulps at x=${atUlps}`).toBeLessThanOrEqual(1.5);
    // odd symmetry exactly (the sign is copied), and never past 1
    for (let i = 0; i < pos.length; i++) {
      expect(Object.is(got[pos.length + i], -got[i]!), `x=${pos[i]}`).toBe(true);
      expect(Math.abs(got[i]!)).toBeLessThanOrEqual(1);
    }
  });

  it('Erf special values: +-0 keep their sign, +-1 from 3.92 and at +-inf, NaN stays NaN', () => {
    const e = run('Erf', [0, -0, Infinity, -Infinity, NaN, 3.92, -3.92, 4, 1e30, -3.4e38, 2 ** -149, -(2 ** -149)]);
    expect(Object.is(e[0], 0)).toBe(true);
    expect(Object.is(e[1], -0)).toBe(true);
    expect(Array.from(e.slice(2, 4))).toEqual([1, -1]);
    expect(Number.isNaN(e[4])).toBe(true);
    expect(Array.from(e.slice(5, 10))).toEqual([1, -1, 1, 1, -1]);
    // erf(x) ~ 1.128 x: the smallest subnormal stays itself (rounded), with its sign
    expect(e[10]).toBe(2 ** -149);
    expect(e[11]).toBe(-(2 ** -149));
  });

  // Gelu (erf form, the op fuse-gelu makes of PyTorch's nn.GELU chain): 0.5 x (1 + erf(x / sqrt 2)) from erfV
  it('Gelu (erf form) is within 1.2e-7 |x| of the exact value', () => {
    const exactGelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
    const xs = [...span(-8, 8, 16001), ...span(-0.01, 0.01, 201), 30, -30, 1e-20, -1e-20];
    const got = run('Gelu', xs);
    let worst = 0, at = 0;
    xs.forEach((x, i) => { if (x === 0) return; const d = Math.abs(got[i]! - exactGelu(x)) / Math.abs(x); if (d > worst) { worst = d; at = x; } });
    expect(worst, `worst |error|/|x| at x=${at}`).toBeLessThanOrEqual(1.2e-7);
    const sp = run('Gelu', [Infinity, NaN, 0, -0]);
    expect(sp[0]).toBe(Infinity);
    expect(Number.isNaN(sp[1])).toBe(true);
    expect(Object.is(sp[2], 0)).toBe(true);
  });

  it('Erf and Tanh saturate and keep odd symmetry', () => {
    const e = run('Erf', [10, -10, 0, -0]);
    expect(Array.from(e)).toEqual([1, -1, 0, -0]);
    const t = run('Tanh', [50, -50, 1e-6]);
    expect(t[0]).toBe(1); expect(t[1]).toBe(-1); expect(t[2]).toBeCloseTo(1e-6, 12);
  });

  // The functions themselves over 2^18 evenly spaced points plus edges, one module each (expNegV has no op of its
  // own). Their polynomials go by Estrin's scheme; the maxima measured over 2^22 points of the same ranges
  // (expV 0.699 ulps, expNegV 0.694 with the degree-4 P; 0.691 and 0.687 with Cephes' degree-5 one; erfV 9.905e-8
  // absolute over 2^20 points) leave these bounds a little room.
  const sweep = (lo: number, hi: number, n: number): number[] => span(lo, hi, n);
  const edgesOf = (lo: number, hi: number): number[] => [0, -0, 1e-30, -1e-30, 2 ** -149, -(2 ** -149), 1e-7, -1e-7].filter((x) => x >= lo && x <= hi).concat([lo, hi]);
  const direct: [string, typeof expV, number, number, (x: number) => number, 'ulps' | 'abs', number][] = [
    ['expV', expV, -87, 88, Math.exp, 'ulps', 0.75],
    ['expNegV', expNegV, -87, 0, Math.exp, 'ulps', 0.75],
    ['erfV', erfV, -4.5, 4.5, erf, 'abs', 1.0e-7],
    // e^-|x| / (1 + e^-|x|) for x < 0: 1.49 ulps over 2^22 points of [-87, 87] (the 1 / (1 + e^-x) it replaced: 1.23)
    ['sigmoidV', sigmoidV, -87, 87, (x) => 1 / (1 + Math.exp(-x)), 'ulps', 1.6],
  ];
  for (const [name, f, lo, hi, exact, kind, bound] of direct) {
    it(`${name} on its own: within ${bound} ${kind === 'ulps' ? 'ulps' : 'absolute'} over 2^18 points of [${lo}, ${hi}]`, () => {
      const xs = [...sweep(lo, hi, 1 << 18), ...edgesOf(lo, hi)];
      const got = applyVec(f, xs);
      let worst = 0, at = 0;
      xs.forEach((x, i) => {
        const e = exact(x), d = kind === 'ulps' ? ulps(got[i]!, e) : Math.abs(got[i]! - e);
        if (d > worst) { worst = d; at = x; }
      });
      expect(worst, `worst at x=${at}`).toBeLessThanOrEqual(bound);
      expect(worst, 'the sweep measured something').toBeGreaterThan(0);
    });
  }

  it('expV and expNegV special values on their own', () => {
    expect(Array.from(applyVec(expV, [Infinity, -Infinity, NaN, 100, -110, 0]))).toEqual([Infinity, 0, NaN, Infinity, 0, 1]);
    // expNegV: below -87 flushed to 0 (the -inf and -3.4e38 of masks included), NaN stays NaN
    expect(Array.from(applyVec(expNegV, [-Infinity, -3.4e38, -87.5, NaN, 0, -0]))).toEqual([0, 0, 0, NaN, 1, 1]);
    // sigmoidV: 0 below -87 (e^-|x| flushed), 1 above 87, 0.5 at +-0 and tiny magnitudes, NaN stays NaN
    expect(Array.from(applyVec(sigmoidV, [-Infinity, -3.4e38, -87.5, NaN, 0, -0, Infinity, 3.4e38, 88, 100, 1e-30, -(2 ** -149)])))
      .toEqual([0, 0, 0, NaN, 0.5, 0.5, 1, 1, 1, 1, 0.5, 0.5]);
    expect(applyVec(sigmoidV, [-87])[0]).toBe(Math.fround(1 / (1 + Math.exp(87))));
  });
});

/** f applied lane-wise to xs (padded to a multiple of 4). */
function applyVec(f: Parameters<typeof applyLanewise>[0], xs: readonly number[]): Float32Array {
  const padded = new Float32Array(Math.ceil(xs.length / 4) * 4);
  padded.set(xs);
  return applyLanewise(f, padded).slice(0, xs.length);
}
