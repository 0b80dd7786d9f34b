// Float16 storage of the weights region (lowering/f16-weights.ts, kernels/f16-init.ts): float32 tensors that float16
// holds exactly (a float16 model's upcast weights) are stored as 2-byte bits and widened once at load, bit for bit;
// anything else (a general float32 weight, int8 data, an infinity) stays as it is.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { toTensorValue } from '../../compiler/compile.js';
import { f16BitsToNumber, f16Round } from '../../ir/float16.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { expandF16, F16_MIN_BYTES, f16Form } from '../../lowering/f16-weights.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { randTensor } from '../wasm/helpers.js';

/** n float16-exact float32 values from seeded bit patterns: normals, subnormals, both zeros, the largest finite. */
function halfValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    let h = s >>> 16;
    if ((h & 0x7c00) === 0x7c00) h &= 0xbfff; // no infinities or NaNs
    out[i] = f16BitsToNumber(h);
  }
  out.set([0, -0, f16BitsToNumber(0x0001), f16BitsToNumber(0x83ff), 65504, -65504], 0);
  return out;
}
const bytesOf = (x: Float32Array): Uint8Array => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

describe('f16Form', () => {
  it('stores float16-exact words as their bits, which expand back bit for bit', () => {
    const x = halfValues(2048, 3), h = f16Form(bytesOf(x))!;
    expect(h).toBeDefined();
    expect(Array.from(expandF16(h))).toEqual(Array.from(bytesOf(x)));
  });
  it('refuses a general float32 tensor, one inexact word, an infinity, a NaN, a small tensor', () => {
    expect(f16Form(bytesOf(randTensor([1024], 1).data as Float32Array))).toBeUndefined();
    for (const bad of [1 + 2 ** -20, Infinity, NaN, 1e-30]) {
      const x = halfValues(1024, 5);
      x[700] = bad;
      expect(f16Form(bytesOf(x))).toBeUndefined();
    }
    expect(f16Form(bytesOf(halfValues(F16_MIN_BYTES / 4 - 1, 5)))).toBeUndefined();
    expect(f16Form(bytesOf(halfValues(F16_MIN_BYTES / 4, 5)))).toBeDefined();
    // all +0 words: left to the sparse form or the dense copy (the CSC kernel's placeholders); all -0 is taken
    expect(f16Form(new Uint8Array(4096))).toBeUndefined();
    expect(f16Form(bytesOf(new Float32Array(1024).fill(-0)))).toBeDefined();
  });
});

describe('f16Form, property', () => {
  // words drawn from float16 values (sometimes with one word nudged off them) or any bit pattern: the form exists
  // exactly when every word is a finite float32 that float16 holds (the oracle: f16Round leaves it as it is) and not
  // every word is +0, and then it widens back to the same bits
  const f16Word = fc.integer({ min: 0, max: 0xffff }).map((h) => {
    const v = f16BitsToNumber(h);
    return Number.isFinite(v) ? v : 1;
  });
  const words = fc.oneof(
    fc.array(f16Word, { minLength: 100, maxLength: 400 }),
    fc.integer({ min: 100, max: 400 }).map((n) => new Array<number>(n).fill(0)),
    fc.tuple(fc.array(f16Word, { minLength: 100, maxLength: 400 }), fc.nat(), fc.integer({ min: 1, max: 0x1fff })).map(([a, i, d]) => {
      const x = Float32Array.from(a), u = new Uint32Array(x.buffer);
      u[i % u.length] = (u[i % u.length]! + d) >>> 0;
      return Array.from(x);
    }),
    fc.array(fc.integer({ min: 0, max: 0xffffffff }).map((w) => new Float32Array(new Uint32Array([w]).buffer)[0]!), { minLength: 100, maxLength: 400 }),
  );
  it('is taken exactly when every word is float16-exact and finite (and the tensor big enough), bit for bit', () => {
    fc.assert(fc.property(words, (a) => {
      const x = Float32Array.from(a), b = bytesOf(x), h = f16Form(b);
      const exact = x.every((v) => Number.isFinite(v) && Math.abs(v) <= 65504 && f16Round(v) === v) && !x.every((v) => Object.is(v, 0));
      expect(h !== undefined).toBe(exact && b.length >= F16_MIN_BYTES);
      if (h) expect(Array.from(expandF16(h))).toEqual(Array.from(b));
    }), { numRuns: 300 });
  });
});

describe('float16-stored weights in the wasm artifact', () => {
  const model = (w: Float32Array): ReturnType<GraphBuilder['model']> => {
    const b = new GraphBuilder('half');
    b.output(b.op('MatMul', [b.input('x', 'float32', [3, 64]), b.weight('w', makeTensor('float32', [64, 33], w))]));
    return b.model({ source: 'half' });
  };
  const x = randTensor([3, 64], 9);
  const run = (a: ReturnType<typeof compileWasm>, outName: string): Float32Array => {
    const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.manifest.weights.file ? a.weights : undefined });
    s.runSync({ x: toTensorValue(x) });
    return s.runSync({ x: toTensorValue(x) })[outName]!.data as Float32Array;
  };
  for (const embedLimit of [Infinity, 0]) {
    it(`a float16-exact weight takes half the bytes and computes the same bits (${embedLimit ? 'embedded' : 'weights.bin'})`, () => {
      const g = model(halfValues(64 * 33, 7)).graph;
      const on = compileWasm(g, { embedLimit }), off = compileWasm(g, { embedLimit, sparseWeights: false });
      const stored = on.manifest.sparseWeights ?? [];
      expect(stored.length).toBe(1);
      expect(stored[0]![0]).toMatch(/float16/);
      expect(stored[0]![2]).toBe(stored[0]![1] / 2);
      expect(on.weights.length).toBeLessThan(0.6 * off.weights.length);
      const got = run(on, g.outputs[0]!);
      expect(Array.from(got)).toEqual(Array.from(run(off, g.outputs[0]!)));
      const ref = (runGraph(g, [x]) as Tensor[])[0]!.data as Float32Array;
      got.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(ref[i]!))));
    });
  }
  it('a 128-value float16-exact vector (a per-channel scale, LayerNorm ones) is stored in half too, same bits', () => {
    const b = new GraphBuilder('vec');
    const c = halfValues(128, 11);
    b.output(b.op('Mul', [b.input('x', 'float32', [3, 128]), b.weight('c', makeTensor('float32', [128], c))]));
    const g = b.model({ source: 'vec' }).graph, xv = randTensor([3, 128], 4);
    const go = (a: ReturnType<typeof compileWasm>): number[] => {
      const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.manifest.weights.file ? a.weights : undefined });
      return Array.from(s.runSync({ x: toTensorValue(xv) })[g.outputs[0]!]!.data as Float32Array);
    };
    const on = compileWasm(g, { embedLimit: 0 }), off = compileWasm(g, { embedLimit: 0, sparseWeights: false });
    expect(on.manifest.sparseWeights?.map(([label, dense, stored]) => [/float16/.test(label), dense, stored])).toEqual([[true, 512, 256]]);
    expect(go(on)).toEqual(go(off));
  });
  it('a general float32 weight is stored as it is', () => {
    const g = model(randTensor([64 * 33], 2).data as Float32Array).graph;
    expect(compileWasm(g, {}).manifest.sparseWeights).toBeUndefined();
  });
});
