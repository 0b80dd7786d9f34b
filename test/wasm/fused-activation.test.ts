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

interface Instance { readonly exports: Readonly<Record<string, unknown>> }
const WA = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => Instance; Module: new (b: Uint8Array) => object } }).WebAssembly;

/** The epilogue and the table formula over `xs` (a multiple of 4 floats): [epilogue out, formula out]. */
function run(alpha: number, xs: Float32Array): [Float32Array, Float32Array] {
  const m = new binaryen.Module();
  try {
    m.setFeatures(binaryen.Features.SIMD128);
    const n = xs.length, bytes = n * 4, pages = Math.ceil((3 * bytes) / 65536) + 1;
    m.setMemory(pages, pages, 'memory');
    const fn = new Fn(m), i = fn.i32();
    const epi = activationV('LeakyRelu', [alpha])!;
    const formula = vectorFormula('LeakyRelu', { attrs: { alpha }, inputs: [undefined] })!;
    const load = (): binaryen.ExpressionRef => m.v128.load(0, 4, fn.get(i));
    const body = fn.loop(i, 0, bytes, () => [
      m.v128.store(bytes, 4, fn.get(i), epi(fn, load())),
      m.v128.store(2 * bytes, 4, fn.get(i), formula(fn, [load])),
    ], 16);
    m.addFunction('f', binaryen.none, binaryen.none, fn.vars, body);
    m.addFunctionExport('f', 'f');
    if (!m.validate()) throw new Error('module failed validation');
    m.optimize();
    const inst = new WA.Instance(new WA.Module(m.emitBinary()), {});
    const mem = new Float32Array((inst.exports['memory'] as { buffer: ArrayBuffer }).buffer);
    mem.set(xs, 0);
    (inst.exports['f'] as () => void)();
    return [mem.slice(n, 2 * n), mem.slice(2 * n, 3 * n)];
  } finally {
    m.dispose();
  }
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
