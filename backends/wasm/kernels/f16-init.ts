// The load-time widening of float16-stored weights (lowering/f16-weights.ts): f16_expand(dst, src, n) writes n
// float32 words from n float16 bit patterns, all finite. The magnitude bits shifted into float32 position and
// multiplied by 2^112 rebias the exponent exactly (a float16 subnormal lands on the float32 value mant * 2^-24 too);
// the sign is ored back. Four a step on SIMD128, the rest one by one. Called once by weights_init.
// Front to back, each step's loads before its store: sparse-init.ts relies on it to widen in place, with the halves
// ending at or past the float32 words' end (src >= dst + 2n), where no store reaches a half not yet read.

import binaryen from '../binaryen.js';

export const F16_EXPAND = 'f16_expand';
const TWO_112 = 0x77800000;

export function addF16Expand(m: binaryen.Module): void {
  const i32 = binaryen.i32;
  const [dst, src, n, i] = [0, 1, 2, 3];
  const get = (l: number): binaryen.ExpressionRef => m.local.get(l, i32);
  const c = (v: number): binaryen.ExpressionRef => m.i32.const(v);
  const vec = (): binaryen.ExpressionRef => {
    const h = (): binaryen.ExpressionRef => m.v128.load16x4_u(0, 2, m.i32.add(get(src), m.i32.shl(get(i), c(1))));
    const mag = m.f32x4.mul(m.i32x4.shl(m.v128.and(h(), m.i32x4.splat(c(0x7fff))), c(13)), m.f32x4.splat(m.f32.reinterpret(c(TWO_112))));
    const sign = m.i32x4.shl(m.v128.and(h(), m.i32x4.splat(c(0x8000))), c(16));
    return m.v128.store(0, 4, m.i32.add(get(dst), m.i32.shl(get(i), c(2))), m.v128.or(mag, sign));
  };
  const one = (): binaryen.ExpressionRef => {
    const h = (): binaryen.ExpressionRef => m.i32.load16_u(0, 2, m.i32.add(get(src), m.i32.shl(get(i), c(1))));
    const mag = m.i32.reinterpret(m.f32.mul(m.f32.reinterpret(m.i32.shl(m.i32.and(h(), c(0x7fff)), c(13))), m.f32.reinterpret(c(TWO_112))));
    return m.i32.store(0, 4, m.i32.add(get(dst), m.i32.shl(get(i), c(2))), m.i32.or(mag, m.i32.shl(m.i32.and(h(), c(0x8000)), c(16))));
  };
  const loop = (name: string, end: binaryen.ExpressionRef, step: number, body: binaryen.ExpressionRef): binaryen.ExpressionRef =>
    m.block(`${name}_done`, [m.loop(name, m.block(null, [
      m.br(`${name}_done`, m.i32.gt_u(m.i32.add(get(i), c(step)), end)),
      body,
      m.local.set(i, m.i32.add(get(i), c(step))),
      m.br(name),
    ]))]);
  const body = m.block(null, [
    m.local.set(i, c(0)),
    loop('quads', get(n), 4, vec()),
    loop('ones', get(n), 1, one()),
  ]);
  m.addFunction(F16_EXPAND, binaryen.createType([i32, i32, i32]), binaryen.none, [i32], body);
}
