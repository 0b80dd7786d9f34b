// The load-time expansion of int4-block weights (lowering/int4-weights.ts): int4_expand(dst, q, scales, n, log2B)
// writes n float32 values, element i = f32(sign-extended nibble i of q) * scales[i >> log2B], the float32 multiply
// DequantizeLinear does, so the expanded words are bit for bit the folded constant's. Called once by weights_init.

import binaryen from '../binaryen.js';

export const INT4_EXPAND = 'int4_expand';

export function addInt4Expand(m: binaryen.Module): void {
  const i32 = binaryen.i32;
  const [dst, q, sc, n, lb, i, byte] = [0, 1, 2, 3, 4, 5, 6];
  const get = (l: number): binaryen.ExpressionRef => m.local.get(l, i32);
  const c = (v: number): binaryen.ExpressionRef => m.i32.const(v);
  // element i + k (k = 0: low nibble, 1: high) of the byte at q + i/2; blocks are even-sized, so both share a scale
  const value = (k: number): binaryen.ExpressionRef => m.f32.mul(
    m.f32.convert_s.i32(m.i32.shr_s(m.i32.shl(get(byte), c(k === 0 ? 28 : 24)), c(28))),
    m.f32.load(0, 4, m.i32.add(get(sc), m.i32.shl(m.i32.shr_u(get(i), get(lb)), c(2)))),
  );
  const store = (k: number): binaryen.ExpressionRef => m.f32.store(4 * k, 4, m.i32.add(get(dst), m.i32.shl(get(i), c(2))), value(k));
  const body = m.block(null, [
    m.local.set(i, c(0)),
    m.block('done', [m.loop('elems', m.block(null, [
      m.br('done', m.i32.ge_u(get(i), get(n))),
      m.local.set(byte, m.i32.load8_u(0, 1, m.i32.add(get(q), m.i32.shr_u(get(i), c(1))))),
      store(0),
      store(1),
      m.local.set(i, m.i32.add(get(i), c(2))),
      m.br('elems'),
    ]))]),
  ]);
  m.addFunction(INT4_EXPAND, binaryen.createType([i32, i32, i32, i32, i32]), binaryen.none, [i32, i32], body);
}
