// onnxc.QConv's GEMM path in a `--simd relaxed` build: im2col writes X - o as i8 rows (o = 128 for uint8 X, so the
// bytes are signed; taps outside the image hold x_zp - o) with each row's sum, and the GEMM runs on
// relaxed_dot_i8x16_i7x16 (int8-relaxed.ts says why the sums are exact and when it is used). The accumulators start at the strict
// plan's bias (B - x_zp * the weights' sum) plus o * the weights' sum, so the requantising epilogue is the strict one.

import type { Expr, Local } from '../fn.js';
import { im2colTaps, requant8, requantConsts, storeLow, type Plan } from './conv-int8-simd.js';
import { layoutOf, NR, regionsOf, relaxedGemm, type Layout, type Regions } from './int8-relaxed.js';
import type { KernelContext, TensorRef } from './types.js';
import { input, output } from './util.js';

export function emitGemmRelaxed(ctx: KernelContext, p: Plan): Expr {
  const { fn, m } = ctx, I = m.i32x4, g = p.g;
  const y = output(ctx), [wP, mP, bP] = ctx.packed as [TensorRef, TensorRef, TensorRef];
  const OCg = g.OC / g.G, rows = g.OH * g.OW, o = input(ctx, 0).dtype === 'uint8' ? 128 : 0;
  const L = layoutOf(p.K), R = regionsOf(ctx.scratch.base, rows, L), core = relaxedGemm(ctx, L, R);
  const n = fn.i32(), gi = fn.i32(), pi = fn.i32(), mi = fn.i32(), yRow = fn.i32(), pc = fn.i32();
  const out = fn.v128(), mv = [fn.v128(), fn.v128()] as const, base = [fn.v128(), fn.v128()] as const, sums = [fn.v128(), fn.v128()] as const;
  const G = (l: Local): Expr => fn.get(l), c = (v: number): Expr => fn.c32(v);
  const rq = requantConsts(ctx, p);
  const epilogue = (cols: number) => (r: number, acc: readonly [Expr, Expr]): Expr[] => [
    fn.set(out, requant8(ctx, rq.consts, acc, (j) => G(mv[j]!))),
    // Y[n, mi + r, gi * OCg + pi * 8 + j]
    ...storeLow(ctx, out, cols, y.ptr.base + r * g.OC, () => m.i32.add(m.i32.add(G(yRow), m.i32.mul(G(mi), c(g.OC))), m.i32.shl(G(pi), c(3)))),
  ];
  const panelOf = (cols: number): Expr[] => [
    // the panel's per-channel vectors: byte offset (gi * P + pi) * 8 * 4; its weights at (gi * P + pi) * Kp * 8
    fn.set(pc, m.i32.shl(m.i32.add(m.i32.mul(G(gi), c(p.P)), G(pi)), c(5))),
    ...core.panel(wP.ptr.base, () => m.i32.mul(m.i32.add(m.i32.mul(G(gi), c(p.P)), G(pi)), c(p.Kp * NR)), o ? sums : undefined),
    ...[0, 1].flatMap((j) => {
      const bias = (): Expr => m.v128.load(bP.ptr.base + 16 * j, 4, G(pc));
      return [fn.set(mv[j]!, m.v128.load(mP.ptr.base + 16 * j, 4, G(pc))), fn.set(base[j]!, o ? I.add(bias(), I.shl(G(sums[j]!), c(7))) : bias())];
    }),
    ...core.rows(mi, rows, base, epilogue(cols)),
  ];
  const pFull = Math.floor(OCg / NR);
  const cols = emitIm2col8(ctx, p, L, R, o, core.rowSum);
  return fn.block([...rq.init, fn.loop(n, 0, g.N, () => [
    fn.loop(gi, 0, g.G, () => [
      cols(() => G(n), () => G(gi)),
      fn.set(yRow, m.i32.add(m.i32.mul(G(n), c(rows * g.OC)), m.i32.mul(G(gi), c(OCg)))),
      fn.loop(pi, 0, pFull, () => panelOf(NR)),
      ...(OCg % NR ? [fn.set(pi, c(pFull)), ...panelOf(OCg % NR)] : []),
    ]),
  ])]);
}

/** Row r of A: X[n, ih, iw, gi * Cg + ci] - o at byte tap * Cg + ci (x_zp - o outside the image), zeros to Kr; and
 *  its sum. A 1x1 stride-1 conv is the one-tap case. */
function emitIm2col8(ctx: KernelContext, p: Plan, L: Layout, R: Regions, o: number, rowSum: (row: () => Expr) => Expr): (n: () => Expr, gi: () => Expr) => Expr {
  const { fn, m } = ctx, g = p.g, x = input(ctx, 0), Cg = g.C / g.G;
  const oh = fn.i32(), ow = fn.i32(), ih = fn.i32(), iw = fn.i32(), src = fn.i32(), dst = fn.i32(), xImg = fn.i32(), e = fn.i32(), row = fn.i32();
  const G = (l: Local): Expr => fn.get(l), c = (v: number): Expr => fn.c32(v);
  const fillByte = p.zx - o;
  const flip = (v: Expr): Expr => (o ? m.v128.xor(v, m.i8x16.splat(c(0x80))) : v);
  /** Cg bytes from src (or x_zp - o) to dst + off: 16 at a time, the rest one by one. */
  const move = (off: number, fill: boolean): Expr => {
    const vec = Cg - (Cg % 16), parts: Expr[] = [];
    const v16 = (k: () => Expr, at: number): Expr => m.v128.store(R.a + off + at, 1, m.i32.add(G(dst), k()), fill ? m.i8x16.splat(c(fillByte)) : flip(m.v128.load(x.ptr.base + at, 1, m.i32.add(G(src), k()))));
    if (vec > 64) parts.push(fn.loop(e, 0, vec, () => [v16(() => G(e), 0)], 16));
    else for (let at = 0; at < vec; at += 16) parts.push(v16(() => c(0), at));
    for (let at = vec; at < Cg; at++) {
      const b = (): Expr => (o ? m.i32.xor(m.i32.load8_u(x.ptr.base + at, 1, G(src)), c(0x80)) : m.i32.load8_u(x.ptr.base + at, 1, G(src)));
      parts.push(m.i32.store8(R.a + off + at, 1, G(dst), fill ? c(fillByte) : b()));
    }
    return fn.block(parts);
  };
  const taps = im2colTaps(ctx, p, { ih, iw, src, xImg }, Cg, move);
  return (n, gi) => fn.block([
    fn.set(xImg, m.i32.add(m.i32.mul(n(), c(g.H * g.W * g.C)), m.i32.mul(gi(), c(Cg)))),
    fn.set(dst, c(0)), fn.set(row, c(0)),
    fn.loop(oh, 0, g.OH, () => [
      fn.set(ih, m.i32.sub(m.i32.mul(G(oh), c(g.sh)), c(g.pt))),
      fn.loop(ow, 0, g.OW, () => [
        fn.set(iw, m.i32.sub(m.i32.mul(G(ow), c(g.sw)), c(g.pl))),
        // the pad past K (K quads and the row sum read it) is zero; the taps then overwrite what is theirs
        ...(L.Kr > L.K ? [m.v128.store(R.a + L.Kr - 16, 1, G(dst), m.v128.const(new Array(16).fill(0)))] : []),
        ...taps,
        rowSum(() => G(row)),
        fn.set(dst, m.i32.add(G(dst), c(L.Kr))), fn.set(row, m.i32.add(G(row), c(1))),
      ]),
    ]),
  ]);
}
