// Emission for a dynamic-dims compile (backends/wasm/dims-compile.ts): while `genericDims()` is on, loops are
// emitted in one shape whatever their static trip count (guarded, never unrolled or dropped), and kernels write
// size splits (a vector loop's whole-lane part) as run-time arithmetic on the size constant, so the code of two
// sizes differs only in constants that are polynomials in the dims. Off for every static compile.

import type { Expr, Fn, Local } from './fn.js';

let generic = false;

/** Whether the function being emitted is one sample of a dynamic-dims compile. */
export const genericDims = (): boolean => generic;

/** Run `f` with generic emission on (synchronous: emission never awaits). */
export function withGenericDims<T>(f: () => T): T {
  const was = generic;
  generic = true;
  try { return f(); } finally { generic = was; }
}

/** for (i = from; i < to; i += step) body, bounds as i32 expressions (thunks: an expression is used once);
 *  may run zero times. */
export function guardedLoop(fn: Fn, i: Local, from: () => Expr, to: () => Expr, body: (i: () => Expr) => Expr[], step = 1): Expr {
  const m = fn.m;
  const label = fn.label();
  return m.block(`B${label}`, [
    fn.set(i, from()),
    m.br(`B${label}`, m.i32.ge_s(fn.get(i), to())),
    m.loop(`L${label}`, fn.block([
      ...body(() => fn.get(i)),
      fn.set(i, m.i32.add(fn.get(i), fn.c32(step))),
      m.br_if(`L${label}`, m.i32.lt_s(fn.get(i), to())),
    ])),
  ]);
}

/** `n` rounded down to a multiple of `k` (a power of two), computed at run time in generic emission. */
export function floorTo(fn: Fn, n: number, k: number): () => Expr {
  return () => fn.m.i32.and(fn.c32(n), fn.c32(-k));
}
