// The int8 GEMM of a `--simd relaxed` build (onnxc.QConv's GEMM path, MatMulInteger) where every centred weight fits
// 7 bits ([-64, 63]): a relaxed_dot_i8x16_i7x16 multiplies 4 K steps of 4 columns (16 multiply-adds) where strict
// dot_i16x8_s does 8 on widened operands. Its result is the same on every engine only when the second operand's
// bytes are in [0, 127], so A goes first as signed bytes (a = x - o: o = 128 for uint8 x, 0 for int8) and the
// weights second as b = w + 64: sum a*w = dot(a, b) - 64 * sum a, and with x = a + o, sum x*w = sum a*w + o * (the
// column's weight sum). The identities hold exactly in wrapping i32: the accumulator equals the strict kernel's bit
// for bit. A is written as i8 rows with their sums; the weights stay in the strict kernels' packed panels (K in
// pairs), each panel rearranged into K quads (offset, summed per column) once in scratch before its row tiles.
// Weights in [-127, 127] (what symmetric int8 quantisers write) would take two dots (b1 = (w >> 1) + 64,
// b2 = w - (w >> 1) + 63): measured 2.0x slower than strict on Node 20 (V8 lowers each dot to three instructions
// on x64), so they keep the strict kernels; a quantiser that limits weights to 7 bits gets the relaxed ones.

import type { Expr, Local } from '../fn.js';
import { dotI8I7Add } from '../relaxed.js';
import type { KernelContext } from './types.js';

/** Rows per micro-tile, columns per panel: 8 accumulators, 2 weight vectors and A's splat in 11 registers. */
export const MR = 4, NR = 8;

/** The offset that moves a 7-bit weight into the relaxed dot's exact range [0, 127]. */
const OFFSET = 64;

/** Whether every centred weight is in [-64, 63], so the relaxed kernel is exact. */
export function fitsSevenBits(centred: Int8Array): boolean {
  for (const v of centred) if (v < -OFFSET || v >= OFFSET) return false;
  return true;
}

/** K as the strict panels hold it (Kp, pairs), in quads (Kq), and A's row stride in scratch (Kr: whole v128s). */
export interface Layout { readonly K: number; readonly Kp: number; readonly Kq: number; readonly Kr: number }

export function layoutOf(K: number): Layout {
  return { K, Kp: K + (K % 2), Kq: Math.ceil(K / 4) * 4, Kr: Math.ceil(K / 16) * 16 };
}

/** Scratch of a relaxed GEMM over `rows` rows: A (i8 rows of Kr), the row sums (i32), one panel in quads. */
export function scratchBytes(rows: number, K: number): number {
  const L = layoutOf(K);
  return rows * (L.Kr + 4) + (L.Kq / 4) * 32 + 16;
}

/** Where the pieces sit in the kernel's scratch. */
export interface Regions { readonly a: number; readonly sums: number; readonly quads: number }

export function regionsOf(base: number, rows: number, L: Layout): Regions {
  return { a: base, sums: base + rows * L.Kr, quads: base + rows * (L.Kr + 4) };
}

export interface RelaxedGemm {
  /** The panel at `panelAt` (a byte offset from `bBase`, strict layout) into quads; the column sums into `sums`. */
  panel(bBase: number, panelAt: () => Expr, sums?: readonly [Local, Local]): Expr[];
  /** The row sum of A's row `row` (its Kr bytes; the pad must be zero) into the sums region. */
  rowSum(row: () => Expr): Expr;
  /** Row tiles at mi: accumulators start at `base` less offset * the row sum, then every quad, then `epilogue`. */
  rows(mi: Local, count: number, base: readonly [Local, Local], epilogue: (r: number, acc: readonly [Expr, Expr]) => Expr[]): Expr[];
}

const ILO = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23], IHI = ILO.map((v) => v + 8);

export function relaxedGemm(ctx: KernelContext, L: Layout, R: Regions): RelaxedGemm {
  const { fn, m } = ctx, I = m.i32x4, B8 = m.i8x16;
  const G = (l: Local): Expr => fn.get(l), c = (v: number): Expr => fn.c32(v);
  const src = fn.i32(), dst = fn.i32(), ki = fn.i32(), pa = fn.i32(), pb = fn.i32(), e = fn.i32();
  const v = [fn.v128(), fn.v128()] as const, h = [fn.v128(), fn.v128()] as const, sum = fn.v128();
  const acc = Array.from({ length: MR }, () => [fn.v128(), fn.v128()] as const);
  const bv = [fn.v128(), fn.v128()] as const, av = fn.v128();
  const splat = (b: number): Expr => B8.splat(c(b));
  const pairs = L.Kp / 2, fullQuads = Math.floor(pairs / 2);

  const panel = (bBase: number, panelAt: () => Expr, sums?: readonly [Local, Local]): Expr[] => {
    /** One quad from pair 2q (and 2q + 1, or zeros past the last pair: A is zero there too). */
    const quad = (second: boolean): Expr[] => {
      const st: Expr[] = [fn.set(v[0], m.v128.load(bBase, 1, G(src))), fn.set(v[1], second ? m.v128.load(bBase + 16, 1, G(src)) : m.v128.const(new Array(16).fill(0)))];
      for (const j of [0, 1] as const) {
        // column j*4 + l's four K steps in lane l
        st.push(fn.set(h[j], B8.shuffle(G(v[0]), G(v[1]), j ? IHI : ILO)));
        if (sums) st.push(fn.set(sums[j]!, dotI8I7Add(fn, G(h[j]), splat(1), G(sums[j]!))));
        st.push(m.v128.store(R.quads + 16 * j, 1, G(dst), B8.add(G(h[j]), splat(OFFSET))));
      }
      st.push(fn.set(src, m.i32.add(G(src), c(32))), fn.set(dst, m.i32.add(G(dst), c(32))));
      return st;
    };
    return [
      fn.set(src, panelAt()), fn.set(dst, c(0)),
      ...(sums ? sums.map((s) => fn.set(s, I.splat(c(0)))) : []),
      fn.loop(ki, 0, fullQuads, () => quad(true)),
      ...(pairs % 2 ? quad(false) : []),
    ];
  };

  const rowSum = (row: () => Expr): Expr => fn.block([
    fn.set(pa, m.i32.mul(row(), c(L.Kr))), fn.set(sum, I.splat(c(0))),
    fn.loop(e, 0, L.Kr / 16, () => [
      fn.set(sum, dotI8I7Add(fn, m.v128.load(R.a, 1, G(pa)), splat(1), G(sum))),
      fn.set(pa, m.i32.add(G(pa), c(16))),
    ]),
    m.i32.store(R.sums, 4, m.i32.shl(row(), c(2)),
      m.i32.add(m.i32.add(I.extract_lane(G(sum), 0), I.extract_lane(G(sum), 1)), m.i32.add(I.extract_lane(G(sum), 2), I.extract_lane(G(sum), 3)))),
  ]);

  const tile = (nr: number, mi: Local, base: readonly [Local, Local], epilogue: (r: number, acc: readonly [Expr, Expr]) => Expr[]): Expr[] => {
    const st: Expr[] = [fn.set(pa, m.i32.mul(G(mi), c(L.Kr))), fn.set(pb, c(0))];
    for (let r = 0; r < nr; r++) {
      const corr = (): Expr => I.splat(m.i32.mul(m.i32.load(R.sums + 4 * r, 4, m.i32.shl(G(mi), c(2))), c(OFFSET)));
      for (const j of [0, 1] as const) st.push(fn.set(acc[r]![j], I.sub(G(base[j]), corr())));
    }
    st.push(fn.loop(ki, 0, L.Kq / 4, () => {
      const body: Expr[] = bv.map((b, j) => fn.set(b, m.v128.load(R.quads + 16 * j, 16, G(pb))));
      for (let r = 0; r < nr; r++) {
        body.push(fn.set(av, m.v128.load32_splat(R.a + r * L.Kr, 4, G(pa))));
        for (const j of [0, 1] as const) body.push(fn.set(acc[r]![j], dotI8I7Add(fn, G(av), G(bv[j]), G(acc[r]![j]))));
      }
      body.push(fn.set(pa, m.i32.add(G(pa), c(4))), fn.set(pb, m.i32.add(G(pb), c(32))));
      return body;
    }));
    for (let r = 0; r < nr; r++) st.push(...epilogue(r, [G(acc[r]![0]), G(acc[r]![1])]));
    return st;
  };

  const rows = (mi: Local, count: number, base: readonly [Local, Local], epilogue: (r: number, acc: readonly [Expr, Expr]) => Expr[]): Expr[] => {
    const full = count - (count % MR);
    return [
      fn.loop(mi, 0, full, () => tile(MR, mi, base, epilogue), MR),
      ...(count % MR ? [fn.set(mi, c(full)), ...tile(count % MR, mi, base, epilogue)] : []),
    ];
  };

  return { panel, rowSum, rows };
}
