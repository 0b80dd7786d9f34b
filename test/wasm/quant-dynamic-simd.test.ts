// DynamicQuantizeLinear on the wasm backend (kernels/quant.ts: the range 16 elements a step with f32x4.pmin/pmax and
// a scalar tail, then the per-tensor uint8 quantize loop) against the reference interpreter, bit for bit: every
// output (y, scale, zero point) for odd lengths on both sides of the vector step, all zeros, signed zeros, ties at
// .5 after the division, huge ranges (hi - lo overflowing to Infinity), infinities and NaN (ignored by the range
// as in the reference, quantized to 0).

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { runWasm } from './helpers.js';

function check(vals: ArrayLike<number>): void {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [vals.length]);
  const [y, s, z] = b.node('DynamicQuantizeLinear', [x], {}, 3);
  b.output(y!, s!, z!);
  const g = b.build(), inputs = [makeTensor('float32', [vals.length], Float32Array.from(vals))];
  const want = (runGraph(g, inputs) as Tensor[]).map((t) => Array.from(t.data as ArrayLike<number>));
  for (const optimize of [true, false]) {
    const got = runWasm(g, inputs, optimize).map((t) => Array.from(t.data as ArrayLike<number>));
    expect(got[1]).toEqual(want[1]);
    expect(got[2]).toEqual(want[2]);
    // the first mismatching element, not a 49155-long diff
    const bad = got[0]!.findIndex((q, i) => q !== want[0]![i]);
    expect(bad === -1 ? 'equal' : `y[${bad}] = ${got[0]![bad]}, want ${want[0]![bad]} (x = ${vals[bad]})`).toBe('equal');
  }
}

function rand(n: number, seed: number, lo: number, hi: number): Float32Array {
  const d = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; d[i] = lo + (s / 2 ** 32) * (hi - lo); }
  return d;
}

const LENGTHS = [1, 3, 4, 5, 15, 16, 17, 33, 1023, 49152 + 3];

describe('DynamicQuantizeLinear (wasm SIMD) = reference', () => {
  for (const n of LENGTHS) {
    it(`random [${n}]: mixed signs, all positive, all negative`, () => {
      check(rand(n, n, -3, 5));
      check(rand(n, n + 1, 0.5, 7));
      check(rand(n, n + 2, -9, -0.25));
    });
  }

  it('all zeros (scale 1), signed zeros, one nonzero value in each lane and in the tail', () => {
    for (const n of [1, 16, 21]) check(new Float32Array(n));
    check(Array.from({ length: 37 }, (_, i) => (i % 3 ? -0 : 0)));
    for (const at of [0, 5, 15, 16, 34, 36]) {
      check(Array.from({ length: 37 }, (_, i) => (i === at ? -2.5 : i % 2 ? -0 : 0)));
      check(Array.from({ length: 37 }, (_, i) => (i === at ? 1e-30 : 0)));
    }
  });

  it('ties at .5 after the division round half to even (scale 1, zero point 128)', () => {
    // lo = -128, hi = 127: scale = 255 / 255 = 1; every k + 0.5 in between is a tie
    const vals = [-128, 127, ...Array.from({ length: 255 }, (_, k) => -128 + k + 0.5)];
    check(vals);
    check([...vals].reverse());
    // the same ties, scale 0.5
    check(vals.map((v) => v / 2));
  });

  it('huge magnitudes: hi - lo overflowing to Infinity, near-max floats', () => {
    check([...rand(37, 7, -1, 1), 3.4e38, -3.4e38]);
    check([...rand(37, 8, -1, 1), 3.4e38]);
    check([-3.4e38, ...rand(20, 9, -1e38, 1e38)]);
  });

  it('±Infinity and NaN, in the vector part and the tail', () => {
    for (const special of [[Infinity], [-Infinity], [Infinity, -Infinity], [NaN], [NaN, Infinity], [NaN, -Infinity, 4]]) {
      for (const at of [0, 3, 13, 16, 33, 36]) {
        const v = Array.from(rand(37, at + 3, -2, 3));
        special.forEach((s, j) => { v[(at + 5 * j) % 37] = s; });
        check(v);
      }
    }
    // a NaN after the extreme of its accumulator lane (16 elements on) must not displace it
    for (const j of [0, 6, 15]) {
      for (const ext of [-50, 50]) {
        const v = Array.from(rand(53, j + 11, -1, 1));
        v[j] = ext; v[j + 16] = NaN;
        check(v);
      }
    }
    check([NaN]);
    check(new Float32Array(19).fill(NaN));
  });
});
