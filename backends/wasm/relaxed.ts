// Relaxed SIMD: a module built with `--simd relaxed` marks itself here, and the float GEMM/conv micro-kernels then
// accumulate with f32x4.relaxed_madd (one fused multiply-add, no rounding between) instead of f32x4.add(f32x4.mul),
// clamp (Relu/Clip epilogues, max pooling) with relaxed_min/max, and the int8 GEMMs multiply with
// i16x8.relaxed_dot_i8x16_i7x16_s (kernels/int8-relaxed.ts). A strict module never sees a relaxed instruction.

import binaryen from './binaryen.js';
import type { Expr, Fn } from './fn.js';

/** How a module's float cores multiply-accumulate: strict wasm SIMD (mul then add) or relaxed (fused madd). */
export type SimdMode = 'strict' | 'relaxed';
export const SIMD_MODES: readonly SimdMode[] = ['strict', 'relaxed'];

const relaxedModules = new WeakSet<binaryen.Module>();

/** Mark `m` as a relaxed-SIMD module (its feature set must include RelaxedSIMD). */
export function markRelaxed(m: binaryen.Module): void { relaxedModules.add(m); }
export const isRelaxed = (fn: Fn): boolean => relaxedModules.has(fn.m);

// binaryen.js builds relaxed ternaries only through its C API (no f32x4.relaxed_madd wrapper in the JS layer)
interface RelaxedApi {
  _BinaryenSIMDTernary(m: number, op: number, a: Expr, b: Expr, c: Expr): Expr; RelaxedMaddVecF32x4: number;
  _BinaryenBinary(m: number, op: number, a: Expr, b: Expr): Expr; RelaxedMinVecF32x4: number; RelaxedMaxVecF32x4: number;
  RelaxedDotI8x16I7x16SToVecI16x8: number;
}
const api = binaryen as unknown as RelaxedApi;
const ptrOf = (m: binaryen.Module): number => (m as unknown as { ptr: number }).ptr;

/** acc + a*b on f32x4: fused (relaxed_madd, rounded once) in a relaxed module, mul then add otherwise. */
export function madd(fn: Fn, a: Expr, b: Expr, acc: Expr): Expr {
  if (isRelaxed(fn)) return api._BinaryenSIMDTernary(ptrOf(fn.m), api.RelaxedMaddVecF32x4, a, b, acc);
  return fn.m.f32x4.add(acc, fn.m.f32x4.mul(a, b));
}

/** f32x4 max/min: strict wasm's NaN-propagating, -0 < +0 form costs V8 about seven x86 instructions (two maxps
 *  plus fix-ups for NaN and signed zero); relaxed_max/min is one maxps/minps, whose NaN and ±0 results are the
 *  engine's choice. For clamps (Relu, Clip, ReLU6) and max pooling, where only those cases differ. */
export function vmax(fn: Fn, a: Expr, b: Expr): Expr {
  return isRelaxed(fn) ? api._BinaryenBinary(ptrOf(fn.m), api.RelaxedMaxVecF32x4, a, b) : fn.m.f32x4.max(a, b);
}
export function vmin(fn: Fn, a: Expr, b: Expr): Expr {
  return isRelaxed(fn) ? api._BinaryenBinary(ptrOf(fn.m), api.RelaxedMinVecF32x4, a, b) : fn.m.f32x4.min(a, b);
}

/** c + the dot of each lane's 4 bytes, a signed by b (the i32x4.relaxed_dot_i8x16_i7x16_add_s computation). Exact and
 *  the same on every engine only while every byte of `b` is in [0, 127] (b's top bit is read as sign by some engines,
 *  as magnitude by others; with it clear no 16-bit pair sum can saturate: 2 * 128 * 127 < 2^15). Callers guarantee it.
 *  Written as i16x8.relaxed_dot_i8x16_i7x16_s, extadd_pairwise, add (what V8 emits for the fused instruction on x64
 *  without AVX-VNNI: pmaddubsw, pmaddwd, paddd): Node 20's baseline compiler (Liftoff, V8 11.3) picks a scratch
 *  register that may be the fused instruction's accumulator and returns wrong sums until TurboFan takes over. */
export function dotI8I7Add(fn: Fn, a: Expr, b: Expr, c: Expr): Expr {
  const pairs = api._BinaryenBinary(ptrOf(fn.m), api.RelaxedDotI8x16I7x16SToVecI16x8, a, b);
  return fn.m.i32x4.add(c, fn.m.i32x4.extadd_pairwise_i16x8_s(pairs));
}
