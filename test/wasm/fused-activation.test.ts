// The fused LeakyRelu epilogue (fused-activation.ts: one multiply and a pmax / pmin for alpha > 0) gives the bits
// of the unfused LeakyRelu kernel's formula (elementwise-ops.ts: compare and bitselect) on every kind of float:
// zeros of both signs, subnormals, products that underflow to a zero or overflow to infinity, infinities, NaN
// (NaN-ness only: wasm leaves a NaN's payload to the engine). alpha 0 and negative alphas keep the formula.

import binaryen from '../../backends/wasm/binaryen.js';
import { describe, expect, it } from 'vitest';
import { Fn } from '../../backends/wasm/fn.js';
import { activationV } from '../../backends/wasm/kernels/fused-activation.js';
import { vectorFormula } from '../../backends/wasm/kernels/elementwise-ops.js';
import { prng } from '../../ir/random.js';
import { applyLanewise } from './helpers.js';
import { fromValues } from '../../ir/tensor.js';
import type { TensorRef } from '../../backends/wasm/kernels/types.js';

/** A formula reading its argument through a thunk (possibly more than once) as a function of one expression. */
const once = (f: (fn: Fn, x: () => binaryen.ExpressionRef) => binaryen.ExpressionRef) => (fn: Fn, v: binaryen.ExpressionRef): binaryen.ExpressionRef => {
  const t = fn.v128();
  return fn.m.block(null, [fn.set(t, v), f(fn, () => fn.get(t))], binaryen.v128);
};

/** The epilogue and the table formula over `xs` (a multiple of 4 floats): [epilogue out, formula out]. */
function run(alpha: number, xs: Float32Array): [Float32Array, Float32Array] {
  const epi = activationV('LeakyRelu', [alpha])!;
  const formula = vectorFormula('LeakyRelu', { attrs: { alpha }, inputs: [undefined] })!;
  return [applyLanewise((fn, v) => epi(fn, v), xs), applyLanewise(once((fn, x) => formula(fn, [x])), xs)];
}

describe('fused LeakyRelu epilogue', () => {
  const r = prng(5);
  const edges = [0, -0, 1, -1, 1e-45, -1e-45, 1e-40, -1e-40, 1.2e-38, -1.2e-38, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, -NaN];
  const random = Array.from({ length: 1024 }, () => (r() < 0.5 ? -1 : 1) * Math.pow(2, r() * 300 - 150) * r());
  const xs = Float32Array.from([...edges, ...random]);
  const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (const alpha of [0.01, 0.25, 0.1, 1 - 2 ** -24, 1, 1 + 2 ** -23, 1.5, 3, 1e30, 1e-30, 0, -0.5]) {
    it(`alpha ${alpha}: the bits of the LeakyRelu kernel's formula`, () => {
      const a = Math.fround(alpha);
      const [got, want] = run(a, xs);
      const g = bits(got), w = bits(want);
      for (let k = 0; k < xs.length; k++) {
        if (Number.isNaN(want[k]!) ? !Number.isNaN(got[k]!) : g[k] !== w[k]) expect.fail(`x = ${xs[k]}: ${got[k]} vs ${want[k]}`);
      }
      // the formula is the reference's x < 0 ? alpha * x : x (a sanity check that the comparison compares something)
      for (let k = 0; k < xs.length; k++) {
        const x = xs[k]!, e = Math.fround(x < 0 ? a * x : x);
        if (!Number.isNaN(e)) expect(Object.is(want[k], e) || (x === 0 && want[k] === 0), `x = ${x}`).toBe(true);
      }
    });
  }
});

/** `formula` and `reference` over `xs`: [formula out, reference out]. */
const runPair = (formula: (fn: Fn, x: () => binaryen.ExpressionRef) => binaryen.ExpressionRef, reference: (fn: Fn, x: () => binaryen.ExpressionRef) => binaryen.ExpressionRef, xs: Float32Array): [Float32Array, Float32Array] =>
  [applyLanewise(once(formula), xs), applyLanewise(once(reference), xs)];

// Relu and Clip with constant bounds (the table's formulas, hence every fused Relu/Clip epilogue) take pmax/pmin,
// one maxps/minps each, where f32x4.max/min are long sequences in V8: the bits of f32x4.max/min, NaN-ness for NaN,
// zeros of both signs and bounds of both signs included (a -0 or NaN bound keeps max/min).
describe('Relu and constant-bound Clip formulas: the bits of f32x4.max / min', () => {
  const r = prng(9);
  const edges = [0, -0, 1, -1, 6, -6, 0.5, -0.5, 1e-45, -1e-45, 1.2e-38, -1.2e-38, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, -NaN];
  const xs = Float32Array.from([...edges, ...Array.from({ length: 1022 }, () => (r() - 0.5) * 20)]);
  const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
  const expectSame = (got: Float32Array, want: Float32Array): void => {
    const g = bits(got), w = bits(want);
    for (let k = 0; k < xs.length; k++) {
      if (Number.isNaN(want[k]!) ? !Number.isNaN(got[k]!) : g[k] !== w[k]) expect.fail(`x = ${xs[k]}: ${got[k]} vs ${want[k]}`);
    }
  };
  const splat = (fn: Fn, v: number): binaryen.ExpressionRef => fn.m.f32x4.splat(fn.m.f32.const(v));
  it('Relu', () => {
    const relu = vectorFormula('Relu', { attrs: {}, inputs: [undefined] })!;
    const [got, want] = runPair((fn, x) => relu(fn, [x]), (fn, x) => fn.m.f32x4.max(x(), splat(fn, 0)), xs);
    expectSame(got, want);
    expect(Object.is(got[1], 0) && got[0] === 0, 'Relu(-0) is +0').toBe(true);
  });
  const bound = (v: number): TensorRef => ({ name: 'b', dtype: 'float32', dims: [], size: 1, ptr: { base: 0 }, constant: fromValues('float32', [], [v]) });
  for (const [lo, hi] of [[0, 6], [-1, 1], [0.5, 2], [-0, 6], [0, 0], [-1, -0], [-1, 0], [NaN, 1], [0, NaN], [2, 1], [-Infinity, Infinity]] as [number, number][]) {
    it(`Clip(${Object.is(lo, -0) ? '-0' : lo}, ${Object.is(hi, -0) ? '-0' : hi})`, () => {
      const clip = vectorFormula('Clip', { attrs: {}, inputs: [undefined, bound(lo), bound(hi)] })!;
      const [got, want] = runPair((fn, x) => clip(fn, [x]), (fn, x) => fn.m.f32x4.min(fn.m.f32x4.max(x(), splat(fn, lo)), splat(fn, hi)), xs);
      expectSame(got, want);
    });
  }
});
