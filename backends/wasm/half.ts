// 16-bit floats in linear memory: float16 and bfloat16 are stored as their ONNX bits and computed in f32, so
// every load widens (exactly) and every store rounds to nearest even, with inf/NaN/subnormals preserved.

import binaryen from './binaryen.js';
import type { DType } from '../../ir/dtype.js';
import type { Expr, Fn, Ptr } from './fn.js';

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

// Four at a time (SIMD128), bit for bit what the scalar conversions above give: the elementwise engine's vector
// loop reads and writes 16-bit floats through these, so a float16 Cast or Add runs four lanes a step.

/** f32x4 of four float16 bit patterns (an i32x4 of 0..0xffff). Normal and subnormal halves: the magnitude bits
 *  moved to float32 position and scaled by 2^112 (exact, subnormals included); inf/NaN get float32's exponent. */
export function halfToF32x4(fn: Fn, bits: Expr): Expr {
  const m = fn.m, h = fn.v128(), mag = fn.v128(), g = (l: typeof h): Expr => fn.get(l);
  const k = (v: number): Expr => m.i32x4.splat(fn.c32(v));
  const shifted = (): Expr => m.i32x4.shl(g(mag), fn.c32(13));
  const finite = m.f32x4.mul(shifted(), m.f32x4.splat(m.f32.reinterpret(fn.c32(0x77800000))));
  const special = m.v128.or(shifted(), k(0x7f800000));
  return m.block(null, [
    fn.set(h, bits),
    fn.set(mag, m.v128.and(g(h), k(0x7fff))),
    m.v128.or(m.i32x4.shl(m.v128.and(g(h), k(0x8000)), fn.c32(16)), m.v128.bitselect(special, finite, m.i32x4.ge_u(g(mag), k(0x7c00)))),
  ], binaryen.v128);
}

/** float16 bits (i32x4) of an f32x4, rounded to nearest even: f32ToHalf lane by lane. */
export function f32x4ToHalf(fn: Fn, x: Expr): Expr {
  const m = fn.m, u = fn.v128(), s = fn.v128(), g = (): Expr => fn.get(u);
  const k = (v: number): Expr => m.i32x4.splat(fn.c32(v));
  const denormMagic = ((127 - 15) + (23 - 10) + 1) << 23;
  const big = m.v128.bitselect(k(0x7e00), k(0x7c00), m.i32x4.gt_u(g(), k(0x7f800000)));
  const small = m.i32x4.sub(m.f32x4.add(g(), k(denormMagic)), k(denormMagic));
  const odd = m.v128.and(m.i32x4.shr_u(g(), fn.c32(13)), k(1));
  const normal = m.i32x4.shr_u(m.i32x4.add(m.i32x4.add(g(), k(((15 - 127) << 23) + 0xfff)), odd), fn.c32(13));
  return m.block(null, [
    fn.set(u, x),
    fn.set(s, m.i32x4.shr_u(m.v128.and(g(), k(0x80000000 | 0)), fn.c32(16))),
    fn.set(u, m.v128.and(g(), k(0x7fffffff))),
    m.v128.or(fn.get(s), m.v128.bitselect(big, m.v128.bitselect(small, normal, m.i32x4.lt_u(g(), k(113 << 23))), m.i32x4.ge_u(g(), k((127 + 16) << 23)))),
  ], binaryen.v128);
}

/** f32x4 of four bfloat16 bit patterns. */
export function bf16ToF32x4(fn: Fn, bits: Expr): Expr {
  return fn.m.i32x4.shl(bits, fn.c32(16));
}

/** bfloat16 bits (i32x4) of an f32x4: f32ToBf16 lane by lane. */
export function f32x4ToBf16(fn: Fn, x: Expr): Expr {
  const m = fn.m, u = fn.v128(), g = (): Expr => fn.get(u);
  const k = (v: number): Expr => m.i32x4.splat(fn.c32(v));
  const rounded = m.i32x4.shr_u(m.i32x4.add(g(), m.i32x4.add(k(0x7fff), m.v128.and(m.i32x4.shr_u(g(), fn.c32(16)), k(1)))), fn.c32(16));
  const nan = m.v128.or(m.i32x4.shr_u(g(), fn.c32(16)), k(0x40));
  return m.block(null, [
    fn.set(u, x),
    m.v128.bitselect(nan, rounded, m.i32x4.gt_u(m.v128.and(g(), k(0x7fffffff)), k(0x7f800000))),
  ], binaryen.v128);
}

/** The element types a float32 vector formula can read and write: float32 itself, and the 16-bit floats. */
export const isF32Storage = (d: DType): boolean => d === 'float32' || d === 'float16' || d === 'bfloat16';

/** Four consecutive elements of a float32-computed type at `p`, as f32x4. */
export function loadF32V(fn: Fn, dtype: DType, p: Ptr): Expr {
  if (dtype === 'float32') return fn.loadV(p);
  const bits = fn.m.v128.load16x4_u(p.base, 2, p.dyn ?? fn.c32(0));
  return dtype === 'float16' ? halfToF32x4(fn, bits) : bf16ToF32x4(fn, bits);
}

/** Store an f32x4 as four consecutive elements of a float32-computed type at `p` (16-bit ones rounded). */
export function storeF32V(fn: Fn, dtype: DType, p: Ptr, v: Expr): Expr {
  if (dtype === 'float32') return fn.storeV(p, v);
  const bits = dtype === 'float16' ? f32x4ToHalf(fn, v) : f32x4ToBf16(fn, v);
  // the lanes are 0..0xffff, so the unsigned saturating narrow is exact; the low 8 bytes hold the four halves
  return fn.m.v128.store64_lane(p.base, 2, 0, p.dyn ?? fn.c32(0), fn.m.i16x8.narrow_i32x4_u(bits, fn.m.i32x4.splat(fn.c32(0))));
}
