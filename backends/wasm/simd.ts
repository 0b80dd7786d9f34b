// The one SIMD loop shape every float32 kernel uses: a 4-lane vector loop over [0, n) and a scalar tail
// for the last n % 4 elements. Kernels supply the vector body and the scalar body; the split is static.

import type { Expr, Fn, Local } from './fn.js';
import { floorTo, genericDims, guardedLoop } from './dims-mode.js';

/** f32 lanes in a v128. */
export const LANES = 4;

export interface VectorLoop {
  /** Elements in the loop (static). */
  readonly n: number;
  /** Body for elements [i, i + 4); `i` is the element index. */
  vector(i: () => Expr): Expr[];
  /** Body for element i. */
  scalar(i: () => Expr): Expr[];
}

/** for (i = 0; i + 4 <= n; i += 4) vector(i); for (; i < n; i++) scalar(i). */
export function vectorLoop(fn: Fn, i: Local, l: VectorLoop): Expr {
  // a dynamic-dims sample: the split is run-time arithmetic on n (dims-mode.ts)
  if (genericDims()) {
    return fn.block([guardedLoop(fn, i, () => fn.c32(0), floorTo(fn, l.n, LANES), l.vector, LANES), guardedLoop(fn, i, floorTo(fn, l.n, LANES), () => fn.c32(l.n), l.scalar)]);
  }
  const full = l.n - (l.n % LANES);
  return fn.block([
    fn.loop(i, 0, full, (e) => l.vector(e), LANES),
    fn.loop(i, full, l.n, (e) => l.scalar(e)),
  ]);
}

/** Horizontal sum of a f32x4. */
export function hsum(fn: Fn, v: Local): Expr {
  const m = fn.m, lane = (k: number): Expr => m.f32x4.extract_lane(fn.get(v), k);
  return m.f32.add(m.f32.add(lane(0), lane(1)), m.f32.add(lane(2), lane(3)));
}

/** Horizontal max of a f32x4. */
export function hmax(fn: Fn, v: Local): Expr {
  const m = fn.m, lane = (k: number): Expr => m.f32x4.extract_lane(fn.get(v), k);
  return m.f32.max(m.f32.max(lane(0), lane(1)), m.f32.max(lane(2), lane(3)));
}

/** A scalar f32 computed with a vector formula: splat, apply, take lane 0 (so each formula is written once). */
export function viaVector(fn: Fn, f: (v: Expr) => Expr, x: Expr): Expr {
  return fn.m.f32x4.extract_lane(f(fn.m.f32x4.splat(x)), 0);
}
