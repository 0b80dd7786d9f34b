// The ONNX RNN/GRU/LSTM activations on f32x4 for the SIMD recurrent kernel (rnn-gemm.ts). Sigmoid and tanh, the
// gates of every default cell, are one rational function each, x·P(x²)/Q(x²) on a clamped argument: 21 vector
// instructions and one division, against about 30 for a clamped exponential (2^n by an exponent shift, a degree-5
// polynomial, then 1 - 2/(e^2x + 1)); lstm_forecaster's two LSTMs take about 10% less time. Max absolute error
// over all 2^32 float32 inputs (test/wasm/rnn-act.test.ts samples them): tanh 3.93e-7, sigmoid 2.26e-7, float32
// rounding included (an exact tanh rounded to float32 is within 3e-8).

import binaryen from '../binaryen.js';
import type { Expr, Fn } from '../fn.js';
import { expV, logV, splatF32, tanhV } from '../math.js';

export interface Act { name: string; alpha: number; beta: number }

/** tanh(x) ≈ x·P(x²)/Q(x²) on [-9, 9] with P(0) = Q(0) = 1 (exact slope at 0, so tiny arguments keep their
 *  relative accuracy): a linearised minimax fit of the absolute error (Lawson's reweighting of |xP - tanh·Q|,
 *  each round a linear program), coefficients rounded to float32. Past ±9 the clamp holds the fit's end value
 *  (tanh(9) = 1 - 3e-8; float32 tanh is 1 from 9.01 on). */
const TANH_P = [1, 0.1291532665491104, 0.0029166864696890116, 9.232983757101465e-6, -1.2688269102056893e-8, 1.8048226108069443e-11];
const TANH_Q = [1, 0.4624860882759094, 0.023746144026517868, 0.0002275550359627232];
const TANH_CLAMP = 9;

/** x clamped to [-lim, lim], a NaN kept (pmin/pmax with x first: one minps/maxps each in V8). */
const clampTo = (fn: Fn, x: Expr, lim: number): Expr => fn.m.f32x4.pmax(fn.m.f32x4.pmin(x, splatF32(fn, lim)), splatF32(fn, -lim));

/** k·tanh(x/s) as x·P'(x²)/Q'(x²) (the tanh coefficients rescaled: P'_i = k/s · P_i / s^2i, Q'_i = Q_i / s^2i), x
 *  clamped to ±9s. Horner in y = x²: P and Q are independent chains, so their latencies overlap. */
function scaledTanh(fn: Fn, x: Expr, s: number, k: number): Expr {
  const v = fn.m.f32x4, xc = fn.v128(), y = fn.v128();
  const poly = (co: readonly number[]): Expr => co.slice(0, -1).reduceRight((acc, c) => v.add(v.mul(acc, fn.get(y)), splatF32(fn, c)), splatF32(fn, co[co.length - 1]!));
  const P = TANH_P.map((c, i) => (k / s) * c / s ** (2 * i)), Q = TANH_Q.map((c, i) => c / s ** (2 * i));
  return fn.m.block(null, [
    fn.set(xc, clampTo(fn, x, TANH_CLAMP * s)),
    fn.set(y, v.mul(fn.get(xc), fn.get(xc))),
    v.div(v.mul(fn.get(xc), poly(P)), poly(Q)),
  ], binaryen.v128);
}

/** tanh(x), a NaN kept, ±Infinity to ±1. */
export const tanhFast = (fn: Fn, x: Expr): Expr => scaledTanh(fn, x, 1, 1);

/** 1 / (1 + e^-x) as 1/2 + tanh(x/2)/2: absolute error, not relative, below -18 (the answer there is under 1.6e-8). */
export const sigmoidFast = (fn: Fn, x: Expr): Expr => fn.m.f32x4.add(scaledTanh(fn, x, 2, 0.5), splatF32(fn, 0.5));

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
