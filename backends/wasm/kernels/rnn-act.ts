// The ONNX RNN/GRU/LSTM activations on f32x4 for the SIMD recurrent kernel (rnn-gemm.ts). Sigmoid and tanh, the
// gates of every default cell, take one exponential each on a clamped argument, so 2^n is one exponent-field
// shift (math.ts's expV covers the whole float range with two factors and tanhV adds a series near 0): about a
// third fewer instructions in the step's gate loop. Both stay within 2e-7 absolute of the exact function
// (test/wasm/rnn-act.test.ts).

import binaryen from '../binaryen.js';
import type { Expr, Fn } from '../fn.js';
import { expV, logV, splatF32, tanhV } from '../math.js';

export interface Act { name: string; alpha: number; beta: number }

/** e^x for x in [-87, 87] (the caller clamps; a NaN x stays NaN): the range keeps n = round(x log2 e) inside
 *  [-126, 126], so 2^n is a normal float built in one shift. Cephes' expf reduction and polynomial, as expV. */
function expClamped(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = m.f32x4, c = (k: number): Expr => splatF32(fn, k), g = fn.get.bind(fn);
  const xl = fn.v128(), tm = fn.v128(), n = fn.v128(), r = fn.v128();
  // 1.5 * 2^23: adding it rounds to the nearest integer and leaves it in the low mantissa bits (see expV)
  const magic = 12582912;
  let p = c(1.9875691500e-4);
  for (const k of [1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]) p = v.add(v.mul(p, g(r)), c(k));
  return m.block(null, [
    fn.set(xl, x),
    fn.set(tm, v.add(v.mul(g(xl), c(Math.LOG2E)), c(magic))),
    fn.set(n, v.sub(g(tm), c(magic))),
    fn.set(r, v.sub(v.sub(g(xl), v.mul(g(n), c(0.693359375))), v.mul(g(n), c(-2.12194440e-4)))),
    // (1 + r + r² P(r)) · 2^n; n + 127 is tm's integer bits minus (0x4b400000 - 127)
    v.mul(v.add(v.add(v.mul(v.mul(p, g(r)), g(r)), g(r)), c(1)), m.i32x4.shl(m.i32x4.sub(g(tm), m.i32x4.splat(fn.c32(0x4b400000 - 127))), fn.c32(23))),
  ], binaryen.v128);
}

/** x clamped to [-lim, lim], a NaN kept (pmin/pmax with x first: one minps/maxps each in V8). */
const clampTo = (fn: Fn, x: Expr, lim: number): Expr => fn.m.f32x4.pmax(fn.m.f32x4.pmin(x, splatF32(fn, lim)), splatF32(fn, -lim));

/** 1 / (1 + e^-x); below -87 the answer (< 1.7e-38) is that bound's, above 87 it is 1 as in float32. */
export function sigmoidFast(fn: Fn, x: Expr): Expr {
  const v = fn.m.f32x4;
  return v.div(splatF32(fn, 1), v.add(splatF32(fn, 1), expClamped(fn, clampTo(fn, v.neg(x), 87))));
}

/** 1 - 2 / (e^2x + 1): absolute error under 2e-7 (near 0 not relative: tanh there is x within that); |x| >
 *  43.5 gives ±1, as float32 tanh does from 9.1 on. */
export function tanhFast(fn: Fn, x: Expr): Expr {
  const v = fn.m.f32x4, t = fn.v128();
  return fn.m.block(null, [
    fn.set(t, x),
    v.sub(splatF32(fn, 1), v.div(splatF32(fn, 2), v.add(expClamped(fn, clampTo(fn, v.add(fn.get(t), fn.get(t)), 87)), splatF32(fn, 1)))),
  ], binaryen.v128);
}

/** f(v) on f32x4 for the ONNX RNN activations (names lower-cased); v is read once. */
export function actV(fn: Fn, a: Act, v: Expr): Expr {
  const m = fn.m, V = m.f32x4, x = fn.v128(), g = (): Expr => fn.get(x), c = (k: number): Expr => splatF32(fn, k);
  // the two common ones take v as it is (no local of their own)
  if (a.name === 'sigmoid') return sigmoidFast(fn, v);
  if (a.name === 'tanh') return tanhFast(fn, v);
  const body = ((): Expr => {
    switch (a.name) {
      case 'relu': return V.max(g(), c(0));
      case 'affine': return V.add(V.mul(c(a.alpha), g()), c(a.beta));
      case 'leakyrelu': return m.v128.bitselect(g(), V.mul(c(a.alpha), g()), V.ge(g(), c(0)));
      case 'thresholdedrelu': return m.v128.bitselect(g(), c(0), V.gt(g(), c(a.alpha)));
      case 'scaledtanh': return V.mul(c(a.alpha), tanhV(fn, V.mul(c(a.beta), g())));
      case 'hardsigmoid': return V.max(c(0), V.min(c(1), V.add(V.mul(c(a.alpha), g()), c(a.beta))));
      case 'elu': return m.v128.bitselect(g(), V.mul(c(a.alpha), V.sub(expV(fn, g()), c(1))), V.ge(g(), c(0)));
      case 'softsign': return V.div(g(), V.add(c(1), V.abs(g())));
      case 'softplus': return V.add(logV(fn, V.add(c(1), expV(fn, V.neg(V.abs(g()))))), V.max(g(), c(0)));
      default: throw new Error(`rnn-gemm: activation '${a.name}' passed the kernel's check`);
    }
  })();
  return m.block(null, [fn.set(x, v), body], binaryen.v128);
}
