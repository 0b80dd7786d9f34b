// Vector (f32x4) approximations of the transcendental functions kernels need, written once and used for
// scalar tails too (via simd.viaVector). Range reduction + polynomials after Cephes (expf/logf); measured
// error against Math.* is checked in test/wasm/math.test.ts.

import binaryen from './binaryen.js';
import type { Expr, Fn, Local } from './fn.js';

function k(fn: Fn, x: number): Expr { return fn.m.f32x4.splat(fn.m.f32.const(x)); }
function ki(fn: Fn, x: number): Expr { return fn.m.i32x4.splat(fn.m.i32.const(x | 0)); }

/** Horner: c[0]*x^(n-1) + ... + c[n-1], x read from a local each time. */
function horner(fn: Fn, x: () => Expr, c: readonly number[]): Expr {
  const m = fn.m;
  let acc = k(fn, c[0]!);
  for (let i = 1; i < c.length; i++) acc = m.f32x4.add(m.f32x4.mul(acc, x()), k(fn, c[i]!));
  return acc;
}

/** The same polynomial as horner (c highest degree first) by Estrin's scheme: pairs c[i] x + c[i+1] combined with
 *  x^2, those pairs with x^4, ...: about log2(n) multiply-add steps deep instead of n - 1, so the steps of
 *  neighbouring vectors need not wait in line (the rounding differs from Horner's by about an ulp of the small
 *  terms). pow(0) is x, pow(1) x^2, pow(2) x^4, ...: getters of locals the caller fills (an Expr is used once). */
function estrin(fn: Fn, pow: (level: number) => Expr, c: readonly number[]): Expr {
  const m = fn.m;
  // terms lowest degree first: each level folds pairs (t[2i] + t[2i+1] x^(2^level))
  let t: Expr[] = c.slice().reverse().map((ci) => k(fn, ci));
  for (let level = 0; t.length > 1; level++) {
    const next: Expr[] = [];
    for (let i = 0; i < t.length; i += 2) next.push(i + 1 < t.length ? m.f32x4.add(t[i]!, m.f32x4.mul(t[i + 1]!, pow(level))) : t[i]!);
    t = next;
  }
  return t[0]!;
}

/** Locals x^2, x^4, ... up to x^(2^levels) of the vector in local x, and their getter for estrin. */
function powers(fn: Fn, x: Local, levels: number): { init: Expr[]; pow: (level: number) => Expr } {
  const v = fn.m.f32x4, ps: Local[] = [x], init: Expr[] = [];
  for (let l = 1; l <= levels; l++) { const p = fn.v128(); init.push(fn.set(p, v.mul(fn.get(ps[l - 1]!), fn.get(ps[l - 1]!)))); ps.push(p); }
  return { init, pow: (level) => fn.get(ps[level]!) };
}

/** P of e^r = 1 + r + r^2 P(r) on |r| <= ln2 / 2: a degree-4 fit of relative error (Lawson's iteration, coefficients
 *  rounded to float32), max relative error 3.7e-9 in exact arithmetic, about 0.06 of a half ulp. It replaced Cephes
 *  expf's degree-5 P (one multiply-add fewer per vector): over 2^22 points expV's maximum went 0.691 -> 0.699 ulps
 *  on [-87, 88], expNegV's 0.687 -> 0.694 on [-87, 0]; over 64K floats interleaved, expV 1.13 -> 1.05 and expNegV
 *  0.90 -> 0.83 ns per element (load 2-4). */
const EXP_P = [0.0013814519625157118, 0.00836874358355999, 0.04166839271783829, 0.1666652113199234, 0.4999999403953552];

/** 1 + r + r^2 P(r), P by Estrin's scheme on pw (r, r^2, r^4: powers(fn, r, 2)); r^2 P + r is summed before the 1
 *  so that its rounding stays relative to the small part. Against Horner (with Cephes' degree-5 P: 9 dependent
 *  steps after r, 6 by Estrin): over a 1 MiB buffer expV 13% and expNegV 11% faster, max error over 2^20 points
 *  0.674 and 0.680 ulps (Horner 0.685 and 0.681). */
function expPoly(fn: Fn, r: Local, pw: { pow: (level: number) => Expr }): Expr {
  const v = fn.m.f32x4;
  return v.add(v.add(v.mul(estrin(fn, pw.pow, EXP_P), pw.pow(1)), fn.get(r)), k(fn, 1));
}

/** e^x, about 1 ulp on the normal range; overflows to inf, underflows through subnormals to 0, NaN stays NaN. */
export function expV(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = m.f32x4, xl = fn.v128(), tm = fn.v128(), n = fn.v128(), r = fn.v128(), ni = fn.v128(), n1 = fn.v128();
  const g = fn.get.bind(fn);
  const pw = powers(fn, r, 2);
  const scale = (e: Expr): Expr => m.i32x4.shl(m.i32x4.add(e, ki(fn, 127)), m.i32.const(23));
  // 1.5 * 2^23: adding it rounds |t| < 2^22 to the nearest integer (ties to even, as f32x4.nearest) and leaves that
  // integer in the low mantissa bits, so n and its i32 come from one add and one subtract each; V8 lowers
  // nearest + trunc_sat to about ten x86 instructions. The clamps are pmin/pmax (one minps/maxps each in V8; min/max
  // cost about seven): with x first they keep a NaN x, and the bounds are not zeros, so the result is the same.
  const magic = 12582912;
  return m.block(null, [
    fn.set(xl, v.pmax(v.pmin(x, k(fn, 89)), k(fn, -104))),
    fn.set(tm, v.add(v.mul(g(xl), k(fn, Math.LOG2E)), k(fn, magic))),
    fn.set(n, v.sub(g(tm), k(fn, magic))),
    // x - n ln2 in two steps (ln2 split so n*hi is exact)
    fn.set(r, v.sub(v.sub(g(xl), v.mul(g(n), k(fn, 0.693359375))), v.mul(g(n), k(fn, -2.12194440e-4)))),
    ...pw.init,
    fn.set(ni, m.i32x4.sub(g(tm), ki(fn, 0x4b400000))),
    fn.set(n1, m.i32x4.shr_s(g(ni), m.i32.const(1))),
    // 2^n as two factors so n in [-150, 128] never leaves the normal exponent range
    v.mul(v.mul(
      expPoly(fn, r, pw),
      scale(g(n1))), scale(m.i32x4.sub(g(ni), g(n1)))),
  ], binaryen.v128);
}

/** e^x for x <= 88 (softmax's x - max <= 0), as expV within 1 ulp, but a result below 2^-126 (x < -87) is
 *  flushed to 0 instead of going through subnormals: an f32x4.mul that makes a subnormal takes a microcode assist
 *  on x86 (expV was 4.5x slower on inputs of -1000 than of -5), and a causal mask makes half of a softmax row's
 *  inputs -inf or -3.4e38. The error this adds is below 1.2e-38 absolute. NaN stays NaN. */
export function expNegV(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = m.f32x4, g = fn.get.bind(fn);
  const x0 = fn.v128(), xc = fn.v128(), tm = fn.v128(), n = fn.v128(), r = fn.v128(), pw = powers(fn, r, 2);
  const magic = 12582912 + 127; // as in geluTanhV: tm's low bits are n + 127
  return m.block(null, [
    fn.set(x0, x),
    // from -87 up every result, and 2^n (n >= -126), is a normal number
    fn.set(xc, v.pmax(g(x0), k(fn, -87))),
    fn.set(tm, v.add(v.mul(g(xc), k(fn, Math.LOG2E)), k(fn, magic))),
    fn.set(n, v.sub(g(tm), k(fn, magic))),
    fn.set(r, v.sub(v.sub(g(xc), v.mul(g(n), k(fn, 0.693359375))), v.mul(g(n), k(fn, -2.12194440e-4)))),
    ...pw.init,
    // tm << 23 is 2^n (see geluTanhV); the lanes below -87 are cleared
    m.v128.andnot(v.mul(
      expPoly(fn, r, pw),
      m.i32x4.shl(g(tm), m.i32.const(23))), v.lt(g(x0), k(fn, -87))),
  ], binaryen.v128);
}

/** Natural log, about 1 ulp; log(0) = -inf, log(x<0) = NaN, log(inf) = inf, subnormals handled. */
export function logV(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = m.f32x4, i = m.i32x4, g = fn.get.bind(fn);
  const x0 = fn.v128(), xs = fn.v128(), sub = fn.v128(), e = fn.v128(), mm = fn.v128(), lt = fn.v128(), z = fn.v128(), y = fn.v128(), fe = fn.v128();
  return m.block(null, [
    fn.set(x0, x),
    fn.set(sub, v.lt(g(x0), k(fn, 1.1754943508222875e-38))),
    fn.set(xs, m.v128.bitselect(v.mul(g(x0), k(fn, 8388608)), g(x0), g(sub))),
    fn.set(e, i.sub(i.sub(i.shr_u(g(xs), m.i32.const(23)), ki(fn, 126)), m.v128.and(g(sub), ki(fn, 23)))),
    fn.set(mm, m.v128.or(m.v128.and(g(xs), ki(fn, 0x007fffff)), ki(fn, 0x3f000000))),
    fn.set(lt, v.lt(g(mm), k(fn, Math.SQRT1_2))),
    fn.set(e, i.add(g(e), g(lt))), // lt lanes are -1
    fn.set(mm, v.sub(v.add(g(mm), m.v128.and(g(mm), g(lt))), k(fn, 1))),
    fn.set(z, v.mul(g(mm), g(mm))),
    fn.set(y, v.mul(v.mul(horner(fn, () => g(mm), [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1]), g(mm)), g(z))),
    fn.set(fe, v.convert_i32x4_s(g(e))),
    fn.set(y, v.add(g(y), v.mul(g(fe), k(fn, -2.12194440e-4)))),
    fn.set(y, v.add(g(y), v.mul(g(z), k(fn, -0.5)))),
    fn.set(y, v.add(v.add(g(mm), g(y)), v.mul(g(fe), k(fn, 0.693359375)))),
    // special values: 0 -> -inf, negative or NaN -> NaN, +inf -> +inf
    fn.set(y, m.v128.bitselect(k(fn, -Infinity), g(y), v.eq(g(x0), k(fn, 0)))),
    fn.set(y, m.v128.bitselect(k(fn, Infinity), g(y), v.eq(g(x0), k(fn, Infinity)))),
    m.v128.bitselect(g(y), k(fn, NaN), v.ge(g(x0), k(fn, 0))),
  ], binaryen.v128);
}

/** copysign(a, s) lane-wise. */
function copySign(fn: Fn, a: Expr, s: Expr): Expr {
  return fn.m.v128.bitselect(s, a, fn.m.i32x4.splat(fn.m.i32.const(0x80000000 | 0)));
}

/** erf(a) - a on a < 1.1 as a (a P(z) / Q(z)), z = a^2, and erf(a) - 1 on 1.1 <= a < 3.92 as P(z) / Q(z): two
 *  rational fits in z (Sanathanan-Koerner iteration with Lawson reweighting, relative error on the first piece,
 *  absolute on the second; coefficients rounded to float32, highest degree first). Each piece is a correction added
 *  to a or to 1, so the roundings of the polynomials reach the result scaled by |erf(a) - a| <= 0.16 or
 *  erfc(a) <= 0.12. */
const ERF_SPLIT = 1.1, ERF_ONE = 3.92;
const ERF_SMALL_P = [-0.0012764742132276297, -0.016053318977355957, -0.33043476939201355, 0.12837916612625122];
const ERF_SMALL_Q = [0.038794003427028656, 0.3559073507785797, 1.0];
const ERF_LARGE_P = [1.2830133755414863e-06, -8.871326281223446e-05, 0.002479482674971223, -0.03517718240618706, 0.2545548379421234, -0.7552030682563782];
const ERF_LARGE_Q = [0.005836975295096636, -0.0003004330792464316, 0.2270963490009308, 0.3896980285644531, 1.7689487934112549, 1.0];

/** erf, odd, from the two pieces above (both evaluated, one division), 1 from a >= 3.92 (where erf rounds to 1 in
 *  float32; also +-inf), the sign copied from x (so erf(-0) = -0); NaN stays NaN (it fails both compares and
 *  propagates through the polynomials). Error over every float32 in [2^-30, 4) (test/wasm/math.test.ts samples
 *  it): at most 1.06e-7 absolute, about 1 ulp; below 2^-30, a + 0.128 a. About 40 vector ops; the exp-based
 *  erfc form it replaced took about 70. The second piece's degree-5 polynomials go by Estrin's scheme (about 5%
 *  faster over a buffer; its error over every float32 in [1.1, 3.92) 8.57e-8 against Horner's 8.28e-8, under the
 *  first piece's maximum), the first piece's short ones by Horner (Estrin there raised the maximum). */
export function erfV(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = m.f32x4, g = fn.get.bind(fn);
  const x0 = fn.v128(), a = fn.v128(), z = fn.v128(), small = fn.v128(), r = fn.v128();
  const pw = powers(fn, z, 2), poly = (c: readonly number[]): Expr => estrin(fn, pw.pow, c);
  return m.block(null, [
    fn.set(x0, x),
    fn.set(a, v.abs(g(x0))),
    fn.set(z, v.mul(g(a), g(a))),
    fn.set(small, v.lt(g(a), k(fn, ERF_SPLIT))),
    ...pw.init,
    fn.set(r, v.div(
      m.v128.bitselect(v.mul(g(a), horner(fn, () => g(z), ERF_SMALL_P)), poly(ERF_LARGE_P), g(small)),
      m.v128.bitselect(horner(fn, () => g(z), ERF_SMALL_Q), poly(ERF_LARGE_Q), g(small)))),
    fn.set(r, v.add(m.v128.bitselect(g(a), k(fn, 1), g(small)), g(r))),
    copySign(fn, m.v128.bitselect(k(fn, 1), g(r), v.ge(g(a), k(fn, ERF_ONE))), g(x0)),
  ], binaryen.v128);
}

/** tanh: odd Taylor series below 0.4 (no cancellation near 0), 1 - 2/(e^2a + 1) above. */
export function tanhV(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = m.f32x4, g = fn.get.bind(fn);
  const x0 = fn.v128(), a = fn.v128(), z = fn.v128();
  const series = [21844 / 6081075, -1382 / 155925, 62 / 2835, -17 / 315, 2 / 15, -1 / 3, 1];
  const big = v.sub(k(fn, 1), v.div(k(fn, 2), v.add(expV(fn, v.add(g(a), g(a))), k(fn, 1))));
  return m.block(null, [
    fn.set(x0, x),
    fn.set(a, v.abs(g(x0))),
    fn.set(z, v.mul(g(a), g(a))),
    copySign(fn, m.v128.bitselect(v.mul(horner(fn, () => g(z), series), g(a)), big, v.lt(g(a), k(fn, 0.4))), g(x0)),
  ], binaryen.v128);
}

/** 2^r on [-0.5, 0.5]: a degree-5 minimax fit of relative error (Lawson's iteration, coefficients rounded to
 *  float32), max relative error 1.6e-7 in exact arithmetic. */
const EXP2_HALF = [1.0000001192092896, 0.6931469440460205, 0.24022120237350464, 0.05550713464617729, 0.009675546549260616, 0.0013276481768116355];

/** GELU, tanh form, as x / (1 + 2^t) with t = -2 sqrt(2/pi) log2(e) (x + 0.044715 x^3): the identity
 *  0.5 (1 + tanh(u)) = 1 / (1 + e^-2u) leaves one power of two, one division and no cancellation (the tanh form
 *  loses every digit below x ~ -4). t is clamped to [-127, 128]: 2^n is built by shifting n + 127 into the exponent
 *  field, so n = -127 gives 0 (x itself) and n = 128 gives +inf (-0, or NaN for x = -inf as the tanh form gives);
 *  NaN passes through the clamps. Error (test/wasm/math.test.ts): at most 1.2e-7 |x| absolute, 8e-7 relative for
 *  x > -3; beyond that the rounding of t (|t| up to 127) dominates the relative error of the tiny result. About 23
 *  vector ops; the tanh-based formula took 60 and a second transcendental. */
export function geluTanhV(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = m.f32x4, g = fn.get.bind(fn);
  const x0 = fn.v128(), t = fn.v128(), tm = fn.v128(), r = fn.v128();
  // 1.5 * 2^23 as in expV, plus the exponent bias: tm's low bits are then n + 127, 2^n's exponent field
  const a = 2 * Math.sqrt(2 / Math.PI) * Math.LOG2E, b = a * 0.044715, magic = 12582912 + 127;
  const c = EXP2_HALF;
  let p = k(fn, c[c.length - 1]!);
  for (let i = c.length - 2; i >= 0; i--) p = v.add(v.mul(p, g(r)), k(fn, c[i]!));
  return m.block(null, [
    fn.set(x0, x),
    fn.set(t, v.pmin(v.pmax(v.mul(g(x0), v.sub(k(fn, -a), v.mul(v.mul(g(x0), g(x0)), k(fn, b)))), k(fn, -127)), k(fn, 128))),
    // tm's low mantissa bits hold n + 127, n = round(t); r = t - n is exact
    fn.set(tm, v.add(g(t), k(fn, magic))),
    fn.set(r, v.sub(g(t), v.sub(g(tm), k(fn, magic)))),
    // tm << 23: the magic's own bits shift out, leaving the biased exponent n + 127
    v.div(g(x0), v.add(k(fn, 1), v.mul(p, m.i32x4.shl(g(tm), m.i32.const(23))))),
  ], binaryen.v128);
}

/** 1 / (1 + e^-x) as e^min(x,0) / (1 + e^-|x|): one exponential of a non-positive argument (expNegV's reduction:
 *  one clamp, 2^n from a single shift, no overflow to guard), the numerator e^-|x| for x < 0 and 1 for x >= 0,
 *  0 below -87, picked by two compares and a max, one division. x < -87 gives 0 where 1 / (1 + e^-x) gave up to
 *  1.6e-38; x > 87 gives 1 either way; NaN stays NaN (both compares fail, the denominator is NaN), +-0 give 0.5,
 *  +-inf give 1 and 0. Max error over 2^22 points of [-87, 87] 1.49 ulps (1 / (1 + expV(-x)): 1.23). */
export function sigmoidV(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = m.f32x4, g = fn.get.bind(fn);
  const x0 = fn.v128(), ac = fn.v128(), tm = fn.v128(), n = fn.v128(), r = fn.v128(), e = fn.v128(), pw = powers(fn, r, 2);
  const magic = 12582912 + 127; // as in expNegV
  return m.block(null, [
    fn.set(x0, x),
    // -|x|, clamped: from -87 up 2^n and the result are normal numbers
    fn.set(ac, v.pmax(m.v128.or(g(x0), ki(fn, 0x80000000)), k(fn, -87))),
    fn.set(tm, v.add(v.mul(g(ac), k(fn, Math.LOG2E)), k(fn, magic))),
    fn.set(n, v.sub(g(tm), k(fn, magic))),
    fn.set(r, v.sub(v.sub(g(ac), v.mul(g(n), k(fn, 0.693359375))), v.mul(g(n), k(fn, -2.12194440e-4)))),
    ...pw.init,
    fn.set(e, v.mul(expPoly(fn, r, pw), m.i32x4.shl(g(tm), m.i32.const(23)))),
    v.div(
      v.pmax(m.v128.and(g(e), v.ge(g(x0), k(fn, -87))), m.v128.and(k(fn, 1), v.ge(g(x0), k(fn, 0)))),
      v.add(k(fn, 1), g(e))),
  ], binaryen.v128);
}

export { k as splatF32 };
