// NHWC 3x3 stride-1 convs as Winograd F(2x2, 3x3): each 2x2 block of output pixels takes 16 multiply-adds per
// input/output channel pair instead of 36, so the GEMM core does 2.25x less work (super-resolution-10's 64-channel
// 224x224 convs were ~85% of the model at the core's peak). The transforms use only +-1 and 1/2 (the weight's,
// done at compile time in float64), so the drift against direct convolution stays at float32 rounding.
//
// Per image, blocks of T tiles (2x2 output pixels each, row-major over the tile grid, the last block padded with
// tiles outside the image): input transform V[xi][t][c] = (B^T d B)[xi] into scratch, then for each of the 16
// positions xi one GEMM M[xi] = V[xi] (T x C) x U[xi] (C x OC, panel-packed), then the output transform A^T M A
// with bias, residual and activation, stored to the pixels inside the image.

import type { Expr, Local } from '../fn.js';
import { LANES } from '../simd.js';
import { claimGrid, itemsFor, parallelOf, threadSlot } from '../parallel.js';
import { residualStrides, type ConvEpilogue, type ConvGeom } from './conv.js';
import { gemm } from './gemm-core.js';
import { packPanels, panelSize } from './gemm-pack.js';
import type { KernelContext } from './types.js';
import { input, output } from './util.js';

/** Input-tile positions (4x4). */
const XI = 16;
/** Bytes of V and M one block keeps (L2-resident between the transforms and the GEMMs). */
const BLOCK_BYTES = 192 * 1024;

/** Whether a conv takes this path: 3x3, stride and dilation 1, one group, whole channel vectors in, enough
 *  channels that the transforms cost less than the multiply-adds they save, and enough pixels: at 7x7 with 512
 *  channels (16 tiles) the 16/9 larger transformed weight, streamed per block, ate the gain (measured even with
 *  im2col; 14x14x256 and larger ran 1.7-1.9x faster). */
export function winogradFits(g: ConvGeom): boolean {
  return g.G === 1 && g.KH === 3 && g.KW === 3 && g.sh === 1 && g.sw === 1 && g.dh === 1 && g.dw === 1
    && g.C % LANES === 0 && g.C >= 16 && g.OC >= 8 && g.OH >= 2 && g.OW >= 2 && g.OH * g.OW >= 100;
}

const ocPad = (g: ConvGeom): number => Math.ceil(g.OC / LANES) * LANES;

/** Tiles per block: V and M of a block within BLOCK_BYTES, a multiple of the GEMM's 4 rows, at most the image. */
export function winogradTiles(g: ConvGeom): number {
  const perTile = XI * (g.C + ocPad(g)) * 4, tiles = Math.ceil(g.OH / 2) * Math.ceil(g.OW / 2);
  return Math.max(LANES, Math.min(Math.ceil(tiles / LANES) * LANES, Math.floor(BLOCK_BYTES / perTile / LANES) * LANES));
}

/** Scratch bytes of one thread: one block's V and M. */
export const winogradScratch = (g: ConvGeom): number => winogradTiles(g) * XI * (g.C + ocPad(g)) * 4;

/** U[xi] = (G w G^T)[xi] per (c, oc), packed as 16 runs of column panels (C x OC each), from HWIO weights. */
export function winogradWeights(hwio: Float32Array, C: number, OC: number): Float32Array {
  const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
  const per = panelSize(C, OC), out = new Float32Array(per * XI), u = new Float32Array(C * OC);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      for (let c = 0; c < C; c++) {
        for (let o = 0; o < OC; o++) {
          let s = 0;
          for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) s += G[i]![kh]! * hwio[((kh * 3 + kw) * C + c) * OC + o]! * G[j]![kw]!;
          u[c * OC + o] = s;
        }
      }
      packPanels(u, C, OC, OC, 1, 0, out, (i * 4 + j) * per);
    }
  }
  return out;
}

/** 1-D transforms on four values: B^T d (input) and A^T m (output, two values). */
const inT = (d: readonly (() => Expr)[], sub: (a: Expr, b: Expr) => Expr, add: (a: Expr, b: Expr) => Expr): Expr[] => [
  sub(d[0]!(), d[2]!()), add(d[1]!(), d[2]!()), sub(d[2]!(), d[1]!()), sub(d[1]!(), d[3]!()),
];
const outT = (s: readonly (() => Expr)[], sub: (a: Expr, b: Expr) => Expr, add: (a: Expr, b: Expr) => Expr): Expr[] => [
  add(add(s[0]!(), s[1]!()), s[2]!()), sub(sub(s[1]!(), s[2]!()), s[3]!()),
];

export function emitWinogradNhwc(ctx: KernelContext, g: ConvGeom, uBase: number, epi: ConvEpilogue): Expr {
  const x = input(ctx, 0), y = output(ctx), b = ctx.inputs[2], fn = ctx.fn, m = ctx.m, V = m.f32x4;
  const { C, OC, H, W, OH, OW } = g;
  const OCp = ocPad(g), T = winogradTiles(g), TW = Math.ceil(OW / 2), tiles = Math.ceil(OH / 2) * TW;
  const blocks = Math.ceil(tiles / T);
  const vBase = ctx.scratch.base, mBase = vBase + XI * T * C * 4, slotBytes = winogradScratch(g);
  const zs = epi.residual ? residualStrides(epi.residual, y.dims, true) : undefined;
  const n = fn.i32(), blk = fn.i32(), t = fn.i32(), idx = fn.i32(), ty = fn.i32(), tx = fn.i32(), iy = fn.i32(), ix = fn.i32();
  const cv = fn.i32(), px = fn.i32(), pv = fn.i32(), slot = fn.i32(), xi = fn.i32(), la = fn.i32(), lw = fn.i32(), lc = fn.i32();
  const pm = fn.i32(), py = fn.i32(), pz = fn.i32(), ok = fn.i32();
  const d = Array.from({ length: XI }, () => fn.v128()), out = fn.v128();
  const sub = (a: Expr, c: Expr): Expr => V.sub(a, c), add = (a: Expr, c: Expr): Expr => V.add(a, c);
  const get = (l: Local) => (): Expr => fn.get(l);

  /** (ty, tx) of tile idx = blk*T + t, and the input window's top-left (iy, ix). */
  const locate = (): Expr[] => [
    fn.set(idx, m.i32.add(m.i32.mul(fn.get(blk), fn.c32(T)), fn.get(t))),
    fn.set(ty, m.i32.div_u(fn.get(idx), fn.c32(TW))), fn.set(tx, m.i32.rem_u(fn.get(idx), fn.c32(TW))),
    fn.set(iy, m.i32.sub(m.i32.shl(fn.get(ty), fn.c32(1)), fn.c32(g.pt))),
    fn.set(ix, m.i32.sub(m.i32.shl(fn.get(tx), fn.c32(1)), fn.c32(g.pl))),
  ];

  // input transform of channels cv..cv+3 of tile t: d[r*4+c] loaded, columns then rows, 16 vectors stored to V
  const transformIn = (load: (r: number, c: number) => Expr): Expr[] => {
    const st: Expr[] = [];
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) st.push(fn.set(d[r * 4 + c]!, load(r, c)));
    const tmp = Array.from({ length: XI }, () => fn.v128());
    for (let c = 0; c < 4; c++) inT([0, 1, 2, 3].map((r) => get(d[r * 4 + c]!)), sub, add).forEach((e, i) => st.push(fn.set(tmp[i * 4 + c]!, e)));
    for (let i = 0; i < 4; i++) {
      inT([0, 1, 2, 3].map((c) => get(tmp[i * 4 + c]!)), sub, add).forEach((e, j) => st.push(m.v128.store(vBase + (i * 4 + j) * T * C * 4, 4, fn.get(pv), e)));
    }
    return st;
  };
  const interior = (): Expr => (H >= 4 && W >= 4
    ? m.i32.and(m.i32.le_u(fn.get(iy), fn.c32(H - 4)), m.i32.le_u(fn.get(ix), fn.c32(W - 4)))
    : fn.c32(0));
  const xImg = (): Expr => m.i32.mul(fn.get(n), fn.c32(H * W * C * 4));
  const inputBlock = (): Expr => fn.loop(t, 0, T, () => [
    ...locate(),
    fn.set(pv, m.i32.add(fn.get(slot), m.i32.mul(fn.get(t), fn.c32(C * 4)))),
    m.if(interior(),
      fn.block([
        fn.set(px, m.i32.add(xImg(), m.i32.mul(m.i32.add(m.i32.mul(fn.get(iy), fn.c32(W)), fn.get(ix)), fn.c32(C * 4)))),
        fn.loop(cv, 0, C / LANES, () => [
          ...transformIn((r, c) => m.v128.load(x.ptr.base + (r * W + c) * C * 4, 4, fn.get(px))),
          fn.set(px, m.i32.add(fn.get(px), fn.c32(16))), fn.set(pv, m.i32.add(fn.get(pv), fn.c32(16))),
        ]),
      ]),
      // a border tile (or one past the image): taps outside read zero
      fn.loop(cv, 0, C / LANES, () => [
        ...transformIn((r, c) => {
          const yy = (): Expr => m.i32.add(fn.get(iy), fn.c32(r)), xx = (): Expr => m.i32.add(fn.get(ix), fn.c32(c));
          const inside = m.i32.and(m.i32.lt_u(yy(), fn.c32(H)), m.i32.lt_u(xx(), fn.c32(W)));
          const addr = m.i32.add(m.i32.add(xImg(), m.i32.mul(m.i32.add(m.i32.mul(yy(), fn.c32(W)), xx()), fn.c32(C * 4))), m.i32.shl(fn.get(cv), fn.c32(4)));
          return m.if(inside, m.v128.load(x.ptr.base, 4, addr), V.splat(fn.cf32(0)));
        }),
        fn.set(pv, m.i32.add(fn.get(pv), fn.c32(16))),
      ])),
  ]);

  // the 16 GEMMs of the block: M[xi] (T x OC, rows OCp apart) = V[xi] x U[xi]
  const gemms = (): Expr => fn.loop(xi, 0, XI, () => [
    fn.set(la, m.i32.add(fn.get(slot), m.i32.mul(fn.get(xi), fn.c32(T * C * 4)))),
    fn.set(lw, m.i32.mul(fn.get(xi), fn.c32(panelSize(C, OC) * 4))),
    fn.set(lc, m.i32.add(fn.get(slot), m.i32.mul(fn.get(xi), fn.c32(T * OCp * 4)))),
    gemm(fn, {
      M: T, N: OC, K: C,
      a: { base: vBase, dyn: la, rs: C, cs: 1 },
      b: { base: uBase, dyn: lw, rs: OC, cs: 1, panels: true },
      c: { base: mBase, dyn: lc, rs: OCp, cs: 1 },
    }),
  ]);

  // output transform of channels ov*4.. of tile t (`lanes` valid), epilogue, stores to the pixels in the image
  const pixelOk = (r: number, c: number): Expr => {
    let e = fn.get(ok);
    if (r === 1 && OH % 2) e = m.i32.and(e, m.i32.lt_u(m.i32.add(m.i32.shl(fn.get(ty), fn.c32(1)), fn.c32(1)), fn.c32(OH)));
    if (c === 1 && OW % 2) e = m.i32.and(e, m.i32.lt_u(m.i32.add(m.i32.shl(fn.get(tx), fn.c32(1)), fn.c32(1)), fn.c32(OW)));
    return e;
  };
  const partial = (off: number, p: () => Expr, lanes: number): Expr => {
    if (lanes === LANES) return m.v128.load(off, 4, p());
    let v = V.splat(fn.cf32(0));
    for (let l = 0; l < lanes; l++) v = V.replace_lane(v, l, m.f32.load(off + 4 * l, 4, p()));
    return v;
  };
  const transformOut = (ov: () => Expr, lanes: number): Expr[] => {
    const st: Expr[] = [];
    for (let k = 0; k < XI; k++) st.push(fn.set(d[k]!, m.v128.load(mBase + k * T * OCp * 4, 4, fn.get(pm))));
    const s = Array.from({ length: 8 }, () => fn.v128());
    for (let c = 0; c < 4; c++) outT([0, 1, 2, 3].map((r) => get(d[r * 4 + c]!)), sub, add).forEach((e, i) => st.push(fn.set(s[i * 4 + c]!, e)));
    const ovBytes = (): Expr => m.i32.shl(ov(), fn.c32(4));
    for (let r = 0; r < 2; r++) {
      outT([0, 1, 2, 3].map((c) => get(s[r * 4 + c]!)), sub, add).forEach((e, c) => {
        let v = e;
        if (b) v = V.add(v, partial(b.ptr.base, ovBytes, lanes));
        if (epi.residual && zs) {
          const zOff = epi.residual.ptr.base + (r * OW + c) * zs.p * 4;
          v = V.add(v, zs.c === 0 ? V.splat(m.f32.load(zOff, 4, fn.get(pz))) : partial(zOff, () => m.i32.add(fn.get(pz), ovBytes()), lanes));
        }
        if (epi.act) v = epi.act(fn, v);
        const yOff = y.ptr.base + (r * OW + c) * OC * 4, yAt = (): Expr => m.i32.add(fn.get(py), ovBytes());
        const store = lanes === LANES ? m.v128.store(yOff, 4, yAt(), v)
          : fn.block([fn.set(out, v), ...Array.from({ length: lanes }, (_, l) => m.f32.store(yOff + 4 * l, 4, yAt(), V.extract_lane(fn.get(out), l)))]);
        st.push(m.if(pixelOk(r, c), store));
      });
    }
    st.push(fn.set(pm, m.i32.add(fn.get(pm), fn.c32(16))));
    return st;
  };
  const ov = fn.i32(), fullV = Math.floor(OC / LANES), tail = OC % LANES;
  const outputBlock = (): Expr => fn.loop(t, 0, T, () => [
    ...locate(),
    fn.set(ok, m.i32.lt_u(fn.get(idx), fn.c32(tiles))),
    fn.set(pm, m.i32.add(fn.get(slot), m.i32.mul(fn.get(t), fn.c32(OCp * 4)))),
    // py: Y[n, 2ty, 2tx, 0] (computed for tiles past the image too; nothing is stored there)
    fn.set(py, m.i32.add(m.i32.mul(fn.get(n), fn.c32(OH * OW * OC * 4)),
      m.i32.mul(m.i32.add(m.i32.mul(m.i32.shl(fn.get(ty), fn.c32(1)), fn.c32(OW)), m.i32.shl(fn.get(tx), fn.c32(1))), fn.c32(OC * 4)))),
    ...(zs ? [fn.set(pz, m.i32.add(m.i32.mul(fn.get(n), fn.c32(zs.n * 4)),
      m.i32.mul(m.i32.add(m.i32.mul(m.i32.shl(fn.get(ty), fn.c32(1)), fn.c32(OW)), m.i32.shl(fn.get(tx), fn.c32(1))), fn.c32(zs.p * 4))))] : []),
    fn.loop(ov, 0, fullV, (o) => transformOut(o, LANES)),
    ...(tail ? [fn.set(ov, fn.c32(fullV)), ...transformOut(() => fn.get(ov), tail)] : []),
  ]);

  const block = (): Expr[] => [inputBlock(), gemms(), outputBlock()];
  const par = parallelOf(ctx);
  const items = par ? itemsFor(g.N * tiles * 16 * C * OC, par.threads) : 1;
  if (par && items >= 2 && g.N * blocks >= 2) {
    par.used = true;
    // items: (image, block); each thread transforms and multiplies in its own scratch slot
    return claimGrid(fn, [g.N, blocks], ([ni, bi]) => [fn.set(n, ni!()), fn.set(blk, bi!()), fn.set(slot, threadSlot(fn, slotBytes)), ...block()]);
  }
  return fn.block([
    fn.set(slot, fn.c32(0)),
    fn.loop(n, 0, g.N, () => [fn.loop(blk, 0, blocks, () => block())]),
  ]);
}
