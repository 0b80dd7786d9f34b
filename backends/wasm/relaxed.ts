// Relaxed SIMD in the float cores: a module built with `--simd relaxed` marks itself here, and the GEMM/conv
// micro-kernels then accumulate with f32x4.relaxed_madd (one fused multiply-add, no rounding between) instead of
// f32x4.add(f32x4.mul). A strict module never sees a relaxed instruction, so it validates everywhere.

import binaryen from 'binaryen';
import type { Expr, Fn } from './fn.js';

/** How a module's float cores multiply-accumulate: strict wasm SIMD (mul then add) or relaxed (fused madd). */
export type SimdMode = 'strict' | 'relaxed';
export const SIMD_MODES: readonly SimdMode[] = ['strict', 'relaxed'];

const relaxedModules = new WeakSet<binaryen.Module>();

/** Mark `m` as a relaxed-SIMD module (its feature set must include RelaxedSIMD). */
export function markRelaxed(m: binaryen.Module): void { relaxedModules.add(m); }
export const isRelaxed = (fn: Fn): boolean => relaxedModules.has(fn.m);

// binaryen.js builds relaxed ternaries only through its C API (no f32x4.relaxed_madd wrapper in the JS layer)
interface TernaryApi { _BinaryenSIMDTernary(m: number, op: number, a: Expr, b: Expr, c: Expr): Expr; RelaxedMaddVecF32x4: number }
const api = binaryen as unknown as TernaryApi;
const ptrOf = (m: binaryen.Module): number => (m as unknown as { ptr: number }).ptr;

/** acc + a*b on f32x4: fused (relaxed_madd, rounded once) in a relaxed module, mul then add otherwise. */
export function madd(fn: Fn, a: Expr, b: Expr, acc: Expr): Expr {
  if (isRelaxed(fn)) return api._BinaryenSIMDTernary(ptrOf(fn.m), api.RelaxedMaddVecF32x4, a, b, acc);
  return fn.m.f32x4.add(acc, fn.m.f32x4.mul(a, b));
}
