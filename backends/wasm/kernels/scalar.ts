// Helpers for the scalar kernels of rare ops (losses, attention, resize, quantization, ...): elements loaded as
// f64 whatever their dtype (so one loop serves float32/float64/float16 and integers), linear index arithmetic,
// and f64 versions of the transcendental functions through the f32x4 formulas (about 1e-7 relative).

import binaryen from '../binaryen.js';
import type { DType } from '../../../ir/dtype.js';
import { intRange, isInt } from '../../../ir/dtype.js';
import type { Expr, Fn } from '../fn.js';
import { elemBytes, valType } from '../fn.js';
import { expV, logV, tanhV } from '../math.js';
import type { TensorRef } from './types.js';

/** A loop counter or index as an i32 expression getter, or a static number. */
export type Ix = (() => Expr) | number;

/** Σ terms[k][0] * terms[k][1] + c, folding static parts. */
export function lin(fn: Fn, terms: readonly (readonly [Ix, number])[], c = 0): Expr {
  const m = fn.m;
  let acc: Expr | undefined;
  let k = c;
  for (const [i, s] of terms) {
    if (s === 0) continue;
    if (typeof i === 'number') { k += i * s; continue; }
    const t = s === 1 ? i() : m.i32.mul(i(), fn.c32(s));
    acc = acc === undefined ? t : m.i32.add(acc, t);
  }
  if (acc === undefined) return fn.c32(k);
  return k === 0 ? acc : m.i32.add(acc, fn.c32(k));
}

/** Element `idx` of `t` as its value type. */
export const ld = (fn: Fn, t: TensorRef, idx: Expr): Expr => fn.load(t.dtype, fn.elem(t.ptr, idx, elemBytes(t.dtype)));
export const st = (fn: Fn, t: TensorRef, idx: Expr, v: Expr): Expr => fn.store(t.dtype, fn.elem(t.ptr, idx, elemBytes(t.dtype)), v);

const unsigned = (d: DType): boolean => d.startsWith('u') || d === 'bool';

/** A value of `dtype`'s value type as f64. */
export function toF64(fn: Fn, dtype: DType, v: Expr): Expr {
  const m = fn.m;
  switch (valType(dtype)) {
    case 'f64': return v;
    case 'f32': return m.f64.promote(v);
    case 'i64': return unsigned(dtype) ? m.f64.convert_u.i64(v) : m.f64.convert_s.i64(v);
    case 'i32': return dtype === 'uint32' ? m.f64.convert_u.i32(v) : m.f64.convert_s.i32(v);
  }
}

/** An f64 as `dtype`'s value type: floats round, integers truncate toward zero and saturate to the type's range. */
export function fromF64(fn: Fn, dtype: DType, v: Expr): Expr {
  const m = fn.m;
  switch (valType(dtype)) {
    case 'f64': return v;
    case 'f32': return m.f32.demote(v);
    case 'i64': return unsigned(dtype) ? m.i64.trunc_u_sat.f64(v) : m.i64.trunc_s_sat.f64(v);
    case 'i32': {
      if (dtype === 'bool') return m.f64.ne(v, m.f64.const(0));
      if (dtype === 'uint32') return m.i32.trunc_u_sat.f64(v);
      if (dtype === 'int32' || !isInt(dtype)) return m.i32.trunc_s_sat.f64(v);
      const [lo, hi] = intRange(dtype);
      return m.i32.trunc_s_sat.f64(m.f64.min(m.f64.max(v, m.f64.const(lo)), m.f64.const(hi)));
    }
  }
}

/** Element `idx` of `t` as f64. */
export const ldF = (fn: Fn, t: TensorRef, idx: Expr): Expr => toF64(fn, t.dtype, ld(fn, t, idx));
/** Store f64 `v` into element `idx` of `t`, converted to its dtype. */
export const stF = (fn: Fn, t: TensorRef, idx: Expr, v: Expr): Expr => st(fn, t, idx, fromF64(fn, t.dtype, v));

/** Element `idx` of an integer tensor as i32 (int64 wraps: indices are small). */
export function ldI(fn: Fn, t: TensorRef, idx: Expr): Expr {
  const v = ld(fn, t, idx);
  return valType(t.dtype) === 'i64' ? fn.m.i32.wrap(v) : valType(t.dtype) === 'i32' ? v : fn.m.i32.trunc_s_sat.f64(toF64(fn, t.dtype, v));
}

function viaF32(fn: Fn, f: (fn: Fn, v: Expr) => Expr, x: Expr): Expr {
  const m = fn.m;
  return m.f64.promote(m.f32x4.extract_lane(f(fn, m.f32x4.splat(m.f32.demote(x))), 0));
}
export const expF = (fn: Fn, x: Expr): Expr => viaF32(fn, expV, x);
export const logF = (fn: Fn, x: Expr): Expr => viaF32(fn, logV, x);
export const tanhF = (fn: Fn, x: Expr): Expr => viaF32(fn, tanhV, x);

export const f64c = (fn: Fn, x: number): Expr => fn.m.f64.const(x);

/** A block of statements ending in an f64 value. */
export const valBlock = (fn: Fn, stmts: Expr[], type: binaryen.Type = binaryen.f64): Expr => fn.m.block(null, stmts, type);
