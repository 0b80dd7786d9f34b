// 16-bit floats in linear memory: float16 and bfloat16 are stored as their ONNX bits and computed in f32, so
// every load widens (exactly) and every store rounds to nearest even, with inf/NaN/subnormals preserved.

import binaryen from './binaryen.js';
import type { Expr, Fn } from './fn.js';

/** f32 value of float16 bits (an i32 holding 0..0xffff). */
export function halfToF32(fn: Fn, bits: Expr): Expr {
  const m = fn.m, h = fn.i32(), g = (): Expr => fn.get(h);
  const sign = (): Expr => m.i32.shl(m.i32.and(g(), fn.c32(0x8000)), fn.c32(16));
  const mag = (): Expr => m.i32.and(g(), fn.c32(0x7fff));
  const normal = m.f32.reinterpret(m.i32.or(sign(), m.i32.add(m.i32.shl(mag(), fn.c32(13)), fn.c32(0x38000000))));
  const special = m.f32.reinterpret(m.i32.or(sign(), m.i32.or(fn.c32(0x7f800000), m.i32.shl(m.i32.and(g(), fn.c32(0x3ff)), fn.c32(13)))));
  // subnormals (and zero): mantissa * 2^-24, exact in f32
  const sub = m.f32.copysign(m.f32.mul(m.f32.convert_u.i32(m.i32.and(g(), fn.c32(0x3ff))), fn.cf32(2 ** -24)), m.f32.reinterpret(sign()));
  return m.block(null, [
    fn.set(h, bits),
    m.select(m.i32.lt_u(mag(), fn.c32(0x400)), sub, m.select(m.i32.ge_u(mag(), fn.c32(0x7c00)), special, normal)),
  ], binaryen.f32);
}

/** float16 bits (i32) of an f32, rounded to nearest even (after F. Giesen's float_to_half_fast3_rtne). */
export function f32ToHalf(fn: Fn, x: Expr): Expr {
  const m = fn.m, u = fn.i32(), s = fn.i32(), g = (): Expr => fn.get(u);
  const denormMagic = ((127 - 15) + (23 - 10) + 1) << 23;
  const big = m.select(m.i32.gt_u(g(), fn.c32(0x7f800000)), fn.c32(0x7e00), fn.c32(0x7c00));
  const small = m.i32.sub(m.i32.reinterpret(m.f32.add(m.f32.reinterpret(g()), m.f32.reinterpret(fn.c32(denormMagic)))), fn.c32(denormMagic));
  const normal = m.i32.shr_u(m.i32.add(m.i32.add(g(), fn.c32(((15 - 127) << 23) + 0xfff)), m.i32.and(m.i32.shr_u(g(), fn.c32(13)), fn.c32(1))), fn.c32(13));
  return m.block(null, [
    fn.set(u, m.i32.reinterpret(x)),
    fn.set(s, m.i32.shr_u(m.i32.and(g(), fn.c32(0x80000000 | 0)), fn.c32(16))),
    fn.set(u, m.i32.and(g(), fn.c32(0x7fffffff))),
    m.i32.or(fn.get(s), m.select(m.i32.ge_u(g(), fn.c32((127 + 16) << 23)), big, m.select(m.i32.lt_u(g(), fn.c32(113 << 23)), small, normal))),
  ], binaryen.i32);
}

/** f32 value of bfloat16 bits: the high half of the f32. */
export function bf16ToF32(fn: Fn, bits: Expr): Expr {
  return fn.m.f32.reinterpret(fn.m.i32.shl(bits, fn.c32(16)));
}

/** bfloat16 bits of an f32, rounded to nearest even; NaN stays a (quiet) NaN. */
export function f32ToBf16(fn: Fn, x: Expr): Expr {
  const m = fn.m, u = fn.i32(), g = (): Expr => fn.get(u);
  const rounded = m.i32.shr_u(m.i32.add(g(), m.i32.add(fn.c32(0x7fff), m.i32.and(m.i32.shr_u(g(), fn.c32(16)), fn.c32(1)))), fn.c32(16));
  const isNaN = m.i32.gt_u(m.i32.and(g(), fn.c32(0x7fffffff)), fn.c32(0x7f800000));
  return m.block(null, [
    fn.set(u, m.i32.reinterpret(x)),
    m.select(isNaN, m.i32.or(m.i32.shr_u(g(), fn.c32(16)), fn.c32(0x40)), rounded),
  ], binaryen.i32);
}
