// Inverse trigonometric and hyperbolic ops (Asin, Acos, Atan, Asinh, Acosh, Atanh), computed in f64 with
// range reduction and short series, so float32 results are correctly rounded almost always. Scalar: rare ops.

import binaryen from '../binaryen.js';
import type { Expr, Fn } from '../fn.js';
import { elementwise } from './elementwise.js';
import type { KernelGen } from './types.js';

const c = (fn: Fn, v: number): Expr => fn.m.f64.const(v);

/** Σ_{k<n} coef[k] z^k by Horner, z read from a local. */
function poly(fn: Fn, z: () => Expr, coef: readonly number[]): Expr {
  const m = fn.m;
  let acc = c(fn, coef[coef.length - 1]!);
  for (let k = coef.length - 2; k >= 0; k--) acc = m.f64.add(m.f64.mul(acc, z()), c(fn, coef[k]!));
  return acc;
}

/** atanh(s) = s Σ s^2k / (2k+1), for |s| <= 0.18 (14 terms: the tail is below 1e-21 there). */
function atanhSeries(fn: Fn, s: Expr): Expr {
  const m = fn.m, t = fn.forType('f64'), z = fn.forType('f64');
  return m.block(null, [
    fn.set(t, s), fn.set(z, m.f64.mul(fn.get(t), fn.get(t))),
    m.f64.mul(fn.get(t), poly(fn, () => fn.get(z), Array.from({ length: 14 }, (_, k) => 1 / (2 * k + 1)))),
  ], binaryen.f64);
}

/** atan(a) for a in [0, 1]: three half-angle steps (atan a = 2 atan(a / (1 + sqrt(1 + a²)))) bring it below
 *  tan(pi/32) ≈ 0.0985, where 12 terms of the odd series leave an error below 1e-24. */
function atanUnit(fn: Fn, a: Expr): Expr {
  const m = fn.m, t = fn.forType('f64'), z = fn.forType('f64');
  const half = (): Expr => fn.set(t, m.f64.div(fn.get(t), m.f64.add(c(fn, 1), m.f64.sqrt(m.f64.add(c(fn, 1), m.f64.mul(fn.get(t), fn.get(t)))))));
  return m.block(null, [
    fn.set(t, a), half(), half(), half(),
    fn.set(z, m.f64.mul(fn.get(t), fn.get(t))),
    m.f64.mul(c(fn, 8), m.f64.mul(fn.get(t), poly(fn, () => fn.get(z), Array.from({ length: 12 }, (_, k) => (k % 2 ? -1 : 1) / (2 * k + 1))))),
  ], binaryen.f64);
}

/** atan(x): |x| > 1 through pi/2 - atan(1/|x|) (so ±inf gives ±pi/2), sign restored; NaN stays NaN. */
function atanF64(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = fn.forType('f64'), a = fn.forType('f64');
  const big = m.f64.gt(fn.get(a), c(fn, 1));
  return m.block(null, [
    fn.set(v, x), fn.set(a, m.f64.abs(fn.get(v))),
    m.f64.copysign(m.select(big, m.f64.sub(c(fn, Math.PI / 2), atanUnit(fn, m.f64.div(c(fn, 1), fn.get(a)))), atanUnit(fn, fn.get(a))), fn.get(v)),
  ], binaryen.f64);
}

/** log(1 + u) without cancellation for small u: 2 atanh(u / (2 + u)) when 1 + u is in [sqrt(1/2), sqrt(2)],
 *  otherwise e ln2 + 2 atanh((f - 1)/(f + 1)) with 1 + u = f 2^e, f in [sqrt(1/2), sqrt(2)). 0 -> -inf, <0 -> NaN. */
function log1pF64(fn: Fn, u: Expr): Expr {
  const m = fn.m, uu = fn.forType('f64'), w = fn.forType('f64'), f = fn.forType('f64'), e = fn.forType('f64'), bits = fn.forType('i64');
  const near = m.i32.and(m.f64.ge(fn.get(w), c(fn, Math.SQRT1_2)), m.f64.le(fn.get(w), c(fn, Math.SQRT2)));
  const small = m.f64.mul(c(fn, 2), atanhSeries(fn, m.f64.div(fn.get(uu), m.f64.add(c(fn, 2), fn.get(uu)))));
  const far = m.f64.add(m.f64.mul(fn.get(e), c(fn, Math.LN2)), m.f64.mul(c(fn, 2), atanhSeries(fn, m.f64.div(m.f64.sub(fn.get(f), c(fn, 1)), m.f64.add(fn.get(f), c(fn, 1))))));
  const r = fn.forType('f64');
  return m.block(null, [
    fn.set(uu, u), fn.set(w, m.f64.add(c(fn, 1), fn.get(uu))),
    fn.set(bits, m.i64.reinterpret(fn.get(w))),
    fn.set(e, m.f64.convert_s.i64(m.i64.sub(m.i64.shr_u(fn.get(bits), m.i64.const(52n)), m.i64.const(1023n)))),
    fn.set(f, m.f64.reinterpret(m.i64.or(m.i64.and(fn.get(bits), m.i64.const(0xfffffffffffffn)), m.i64.const(1023n << 52n)))),
    // f in [1, 2): move the top half down so f - 1 stays small on both sides of 1
    m.if(m.f64.gt(fn.get(f), c(fn, Math.SQRT2)), fn.block([fn.set(f, m.f64.mul(fn.get(f), c(fn, 0.5))), fn.set(e, m.f64.add(fn.get(e), c(fn, 1)))])),
    fn.set(r, m.select(near, small, far)),
    fn.set(r, m.select(m.f64.eq(fn.get(w), c(fn, Infinity)), c(fn, Infinity), fn.get(r))),
    fn.set(r, m.select(m.f64.eq(fn.get(w), c(fn, 0)), c(fn, -Infinity), fn.get(r))),
    // w < 0 or NaN
    m.select(m.f64.ge(fn.get(w), c(fn, 0)), fn.get(r), c(fn, NaN)),
  ], binaryen.f64);
}

/** asin x = atan(x / sqrt((1 - x)(1 + x))); |x| > 1 gives NaN through the sqrt. */
function asinF64(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = fn.forType('f64');
  return m.block(null, [fn.set(v, x), atanF64(fn, m.f64.div(fn.get(v), m.f64.sqrt(m.f64.mul(m.f64.sub(c(fn, 1), fn.get(v)), m.f64.add(c(fn, 1), fn.get(v))))))], binaryen.f64);
}

/** acos x = 2 atan(sqrt((1 - x)/(1 + x))): no cancellation near 1, acos(-1) = pi through atan(inf). */
function acosF64(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = fn.forType('f64');
  return m.block(null, [fn.set(v, x), m.f64.mul(c(fn, 2), atanF64(fn, m.f64.sqrt(m.f64.div(m.f64.sub(c(fn, 1), fn.get(v)), m.f64.add(c(fn, 1), fn.get(v))))))], binaryen.f64);
}

/** asinh x = sign(x) log1p(a + a²/(1 + sqrt(1 + a²))); above 1e150 (a² would overflow) log(2a). */
function asinhF64(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = fn.forType('f64'), a = fn.forType('f64');
  const arg = m.f64.add(fn.get(a), m.f64.div(m.f64.mul(fn.get(a), fn.get(a)), m.f64.add(c(fn, 1), m.f64.sqrt(m.f64.add(c(fn, 1), m.f64.mul(fn.get(a), fn.get(a)))))));
  return m.block(null, [
    fn.set(v, x), fn.set(a, m.f64.abs(fn.get(v))),
    m.f64.copysign(log1pF64(fn, m.select(m.f64.gt(fn.get(a), c(fn, 1e150)), m.f64.add(fn.get(a), fn.get(a)), arg)), fn.get(v)),
  ], binaryen.f64);
}

/** acosh x = log1p((x - 1) + sqrt((x - 1)(x + 1))), x < 1 gives NaN through the sqrt; above 1e150 log(2x). */
function acoshF64(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = fn.forType('f64'), d = fn.forType('f64');
  const arg = m.f64.add(fn.get(d), m.f64.sqrt(m.f64.mul(fn.get(d), m.f64.add(fn.get(v), c(fn, 1)))));
  return m.block(null, [
    fn.set(v, x), fn.set(d, m.f64.sub(fn.get(v), c(fn, 1))),
    log1pF64(fn, m.select(m.f64.gt(fn.get(v), c(fn, 1e150)), m.f64.add(fn.get(v), fn.get(v)), arg)),
  ], binaryen.f64);
}

/** atanh x = sign(x) log1p(2a / (1 - a)) / 2: a = 1 gives inf, a > 1 NaN (log1p of a value below -1). */
function atanhF64(fn: Fn, x: Expr): Expr {
  const m = fn.m, v = fn.forType('f64'), a = fn.forType('f64');
  return m.block(null, [
    fn.set(v, x), fn.set(a, m.f64.abs(fn.get(v))),
    m.f64.copysign(m.f64.mul(c(fn, 0.5), log1pF64(fn, m.f64.div(m.f64.add(fn.get(a), fn.get(a)), m.f64.sub(c(fn, 1), fn.get(a))))), fn.get(v)),
  ], binaryen.f64);
}

/** A unary float op computed in f64 (float32/16-bit values promoted, results rounded back). */
const viaF64 = (f: (fn: Fn, x: Expr) => Expr): KernelGen => elementwise(() => ({
  scalar: (fn, a, t) => (t === 'f64' ? f(fn, a[0]!()) : t === 'f32' ? fn.m.f32.demote(f(fn, fn.m.f64.promote(a[0]!()))) : undefined),
}), 1);

export const TRIG: Readonly<Record<string, KernelGen>> = {
  Asin: viaF64(asinF64), Acos: viaF64(acosF64), Atan: viaF64(atanF64),
  Asinh: viaF64(asinhF64), Acosh: viaF64(acoshF64), Atanh: viaF64(atanhF64),
};
