// Depthwise conv in NHWC (group == C == OC, MobileNet's 3x3 stride 1/2): per output pixel, 4 channels at a time,
// every tap unrolled with static offsets, bias/residual/activation in registers before the store; interior pixels
// 4 along the row at once, so each weight vector is loaded once per 4 pixels. Weights are
// HWIO ([KH, KW, 1, C]: each tap a contiguous run of channels). Pixels whose window lies inside the image take a
// branch-free body; border pixels test each tap.

import type { Expr } from '../fn.js';
import { LANES } from '../simd.js';
import { claimGrid, itemsFor, parallelOf } from '../parallel.js';
import { residualStrides, type ConvEpilogue, type ConvGeom } from './conv.js';
import type { KernelContext } from './types.js';
import { input, output, unsupported } from './util.js';
import { interior, interiorRows, windowRow, windowRows } from './window.js';

export function emitDepthwiseNhwc(ctx: KernelContext, g: ConvGeom, wBase: number, epi: ConvEpilogue): Expr {
  const x = input(ctx, 0), y = output(ctx), b = ctx.inputs[2], fn = ctx.fn, m = ctx.m, V = m.f32x4;
  const C = g.C;
  const zs = epi.residual ? residualStrides(epi.residual, y.dims, true) : undefined;
  if (epi.residual && (!zs || (zs.c !== 0 && zs.c !== 1))) unsupported(ctx, `with residual [${epi.residual.dims.join(',')}] (depthwise NHWC)`);
  const n = fn.i32(), oh = fn.i32(), ow = fn.i32(), c = fn.i32(), ih = fn.i32(), iw = fn.i32();
  const px = fn.i32(), pc = fn.i32(), py = fn.i32(), pz = fn.i32(), acc = fn.v128(), xImg = fn.i32();
  const cBytes = (): Expr => m.i32.shl(fn.get(c), fn.c32(2));

  // one channel group: `vec` (4 lanes) or lane 0 only (the tail, same formula on splats)
  const channels = (vec: boolean, checked: boolean): Expr[] => {
    const ld = (off: number, p: Expr): Expr => (vec ? m.v128.load(off, 4, p) : m.v128.load32_splat(off, 4, p));
    const body: Expr[] = [fn.set(pc, cBytes())];
    body.push(fn.set(acc, b ? ld(b.ptr.base, fn.get(pc)) : V.splat(fn.cf32(0))));
    for (let kh = 0; kh < g.KH; kh++) {
      for (let kw = 0; kw < g.KW; kw++) {
        const wOff = wBase + (kh * g.KW + kw) * C * 4;
        if (!checked) {
          // px: byte offset of X[n, ih, iw, 0] for the window's top-left tap (never negative here)
          const xOff = x.ptr.base + (kh * g.dh * g.W + kw * g.dw) * C * 4;
          body.push(fn.set(acc, V.add(fn.get(acc), V.mul(ld(xOff, m.i32.add(fn.get(px), fn.get(pc))), ld(wOff, fn.get(pc))))));
        } else {
          const ihE = (): Expr => m.i32.add(fn.get(ih), fn.c32(kh * g.dh)), iwE = (): Expr => m.i32.add(fn.get(iw), fn.c32(kw * g.dw));
          const inside = m.i32.and(m.i32.lt_u(ihE(), fn.c32(g.H)), m.i32.lt_u(iwE(), fn.c32(g.W)));
          const addr = m.i32.add(m.i32.add(fn.get(xImg), m.i32.mul(m.i32.add(m.i32.mul(ihE(), fn.c32(g.W)), iwE()), fn.c32(C * 4))), fn.get(pc));
          body.push(m.if(inside, fn.set(acc, V.add(fn.get(acc), V.mul(ld(x.ptr.base, addr), ld(wOff, fn.get(pc)))))));
        }
      }
    }
    let v: Expr = fn.get(acc);
    if (zs && epi.residual) {
      const zp = m.i32.add(fn.get(pz), zs.c === 1 ? fn.get(pc) : fn.c32(0));
      v = V.add(v, zs.c === 1 ? ld(epi.residual.ptr.base, zp) : m.v128.load32_splat(epi.residual.ptr.base, 4, zp));
    }
    if (epi.act) v = epi.act(fn, v);
    const dst = m.i32.add(fn.get(py), fn.get(pc));
    body.push(vec ? m.v128.store(y.ptr.base, 4, dst, v) : m.f32.store(y.ptr.base, 4, dst, V.extract_lane(v, 0)));
    return body;
  };
  const full = C - (C % LANES);
  const pixel = (checked: boolean): Expr[] => [
    fn.set(iw, m.i32.sub(m.i32.mul(fn.get(ow), fn.c32(g.sw)), fn.c32(g.pl))),
    ...(checked ? [] : [fn.set(px, m.i32.add(fn.get(xImg), m.i32.mul(m.i32.add(m.i32.mul(fn.get(ih), fn.c32(g.W)), fn.get(iw)), fn.c32(C * 4))))]),
    fn.set(py, m.i32.mul(m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(fn.get(n), fn.c32(g.OH)), fn.get(oh)), fn.c32(g.OW)), fn.get(ow)), fn.c32(C * 4))),
    ...(zs ? [fn.set(pz, m.i32.mul(m.i32.add(m.i32.add(m.i32.mul(fn.get(n), fn.c32(zs.n)), m.i32.mul(fn.get(oh), fn.c32(zs.p * g.OW))), m.i32.mul(fn.get(ow), fn.c32(zs.p))), fn.c32(4)))] : []),
    fn.loop(c, 0, full, () => channels(true, checked), LANES),
    fn.loop(c, full, C, () => channels(false, checked)),
  ];
  // P interior pixels of a row at once (ow .. ow+P-1): each weight vector is loaded once for all P, the pixels'
  // inputs and outputs at static offsets from the first's (sw*C and C floats apart)
  // Per kernel row, the row's weight vectors go to locals and each input column the P windows share (column
  // k*sw + kw*dw of pixel k's tap kw) is loaded once and used by every pixel that reads it: a 7x7 stride 1 row loads
  // 10 input vectors instead of 28, a 3x3 stride 2 one 9 instead of 12. Columns go left to right, so each pixel
  // still adds its taps in (kh, kw) order: the same sums as the one-pixel form.
  const P = 4;
  const accs = Array.from({ length: P }, (_, k) => (k === 0 ? acc : fn.v128()));
  const wvs = Array.from({ length: g.KW }, () => fn.v128()), xv = fn.v128();
  const columns = new Map<number, { k: number; kw: number }[]>();
  for (let k = 0; k < P; k++) for (let kw = 0; kw < g.KW; kw++) {
    const col = k * g.sw + kw * g.dw;
    columns.set(col, [...(columns.get(col) ?? []), { k, kw }]);
  }
  const cols = [...columns.keys()].sort((a, c) => a - c);
  const group = (vec: boolean): Expr[] => {
    const ld = (off: number, p: Expr): Expr => (vec ? m.v128.load(off, 4, p) : m.v128.load32_splat(off, 4, p));
    const body: Expr[] = [fn.set(pc, cBytes())];
    for (const a of accs) body.push(fn.set(a, b ? ld(b.ptr.base, fn.get(pc)) : V.splat(fn.cf32(0))));
    for (let kh = 0; kh < g.KH; kh++) {
      wvs.forEach((w, kw) => body.push(fn.set(w, ld(wBase + (kh * g.KW + kw) * C * 4, fn.get(pc)))));
      for (const col of cols) {
        body.push(fn.set(xv, ld(x.ptr.base + (kh * g.dh * g.W + col) * C * 4, m.i32.add(fn.get(px), fn.get(pc)))));
        for (const { k, kw } of columns.get(col)!) body.push(fn.set(accs[k]!, V.add(fn.get(accs[k]!), V.mul(fn.get(xv), fn.get(wvs[kw]!)))));
      }
    }
    accs.forEach((a, k) => {
      let v: Expr = fn.get(a);
      if (zs && epi.residual) {
        const zp = m.i32.add(fn.get(pz), zs.c === 1 ? fn.get(pc) : fn.c32(0)), zOff = epi.residual.ptr.base + k * zs.p * 4;
        v = V.add(v, zs.c === 1 ? ld(zOff, zp) : m.v128.load32_splat(zOff, 4, zp));
      }
      if (epi.act) v = epi.act(fn, v);
      const dst = m.i32.add(fn.get(py), fn.get(pc)), yOff = y.ptr.base + k * C * 4;
      body.push(vec ? m.v128.store(yOff, 4, dst, v) : m.f32.store(yOff, 4, dst, V.extract_lane(v, 0)));
    });
    return body;
  };
  const pixels = (): Expr[] => [
    fn.set(iw, m.i32.sub(m.i32.mul(fn.get(ow), fn.c32(g.sw)), fn.c32(g.pl))),
    fn.set(px, m.i32.add(fn.get(xImg), m.i32.mul(m.i32.add(m.i32.mul(fn.get(ih), fn.c32(g.W)), fn.get(iw)), fn.c32(C * 4)))),
    fn.set(py, m.i32.mul(m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(fn.get(n), fn.c32(g.OH)), fn.get(oh)), fn.c32(g.OW)), fn.get(ow)), fn.c32(C * 4))),
    ...(zs ? [fn.set(pz, m.i32.mul(m.i32.add(m.i32.add(m.i32.mul(fn.get(n), fn.c32(zs.n)), m.i32.mul(fn.get(oh), fn.c32(zs.p * g.OW))), m.i32.mul(fn.get(ow), fn.c32(zs.p))), fn.c32(4)))] : []),
    fn.loop(c, 0, full, () => group(true), LANES),
    fn.loop(c, full, C, () => group(false)),
  ];
  const [h0, h1] = interiorRows(g);
  const [w0, w1] = interior(g.OW, g.W, g.sw, g.pl, (g.KW - 1) * g.dw);
  const wP = w0 + Math.floor((w1 - w0) / P) * P;
  // an interior row: the border columns checked, the interior ones P at a time, the rest one by one
  const row = (checked: boolean): Expr[] => (checked ? windowRow(fn, g, oh, ow, ih, pixel)(true) : [
    fn.set(ih, m.i32.sub(m.i32.mul(fn.get(oh), fn.c32(g.sh)), fn.c32(g.pt))),
    fn.loop(ow, 0, w0, () => pixel(true)),
    fn.loop(ow, w0, wP, () => pixels(), P),
    fn.loop(ow, wP, w1, () => pixel(false)),
    fn.loop(ow, w1, g.OW, () => pixel(true)),
  ]);
  const par = parallelOf(ctx), R = g.N * g.OH;
  const items = par ? Math.min(R, itemsFor(R * g.OW * C * g.KH * g.KW, par.threads)) : 1;
  if (par && items >= 2) {
    // threads: items are runs of output rows (over images and rows); each row as the serial loops do it
    const size = Math.ceil(R / items), count = Math.ceil(R / size), r = fn.i32(), hi = fn.i32();
    par.used = true;
    return claimGrid(fn, [count], ([ci]) => [
      fn.set(hi, m.i32.mul(ci!(), fn.c32(size))),
      fn.set(r, fn.get(hi)),
      fn.set(hi, m.select(m.i32.lt_s(m.i32.add(fn.get(hi), fn.c32(size)), fn.c32(R)), m.i32.add(fn.get(hi), fn.c32(size)), fn.c32(R))),
      fn.loopDyn(r, fn.get(r), hi, () => [
        fn.set(n, m.i32.div_u(fn.get(r), fn.c32(g.OH))),
        fn.set(oh, m.i32.rem_u(fn.get(r), fn.c32(g.OH))),
        fn.set(xImg, m.i32.mul(fn.get(n), fn.c32(g.H * g.W * C * 4))),
        m.if(m.i32.and(m.i32.ge_s(fn.get(oh), fn.c32(h0)), m.i32.lt_s(fn.get(oh), fn.c32(h1))), fn.block(row(false)), fn.block(row(true))),
      ]),
    ]);
  }
  return fn.loop(n, 0, g.N, () => [
    fn.set(xImg, m.i32.mul(fn.get(n), fn.c32(g.H * g.W * C * 4))),
    ...windowRows(fn, g, oh, row),
  ]);
}
