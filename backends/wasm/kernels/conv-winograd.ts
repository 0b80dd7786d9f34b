// NHWC 3x3 stride-1 convs as Winograd F(4x4, 3x3) or F(2x2, 3x3): each 4x4 (2x2) block of output pixels takes 36
// (16) multiply-adds per input/output channel pair instead of 144 (36), so the GEMM core does 4x (2.25x) less work
// (super-resolution-10's 64-channel 224x224 convs were ~85% of the model at the core's peak). The weight transform
// is done at compile time in float64; F(2x2)'s other transforms use only +-1, F(4x4)'s small integers (points 0,
// +-1, +-2), whose drift against direct convolution on super-resolution-10 is 3.3e-6 of the output range (F(2x2):
// 5.1e-7, im2col 9.4e-7; tests and shared models hold 1e-5 / 1e-4).
//
// Per image, blocks of T tiles (row-major over the tile grid, the last block padded with tiles outside the image):
// input transform V[xi][t][c] = (B^T d B)[xi] into scratch, then for each of the a*a positions xi one GEMM
// M[xi] = V[xi] (T x C) x U[xi] (C x OC, panel-packed), then the output transform A^T M A with bias, residual and
// activation, stored to the pixels inside the image.

import type { Expr, Local } from '../fn.js';
import { LANES } from '../simd.js';
import { claimGrid, itemsFor, parallelOf, threadSlot } from '../parallel.js';
import { residualStrides, type ConvEpilogue, type ConvGeom } from './conv.js';
import { gemm } from './gemm-core.js';
import { packPanels, panelSize } from './gemm-pack.js';
import type { KernelContext } from './types.js';
import { input, output } from './util.js';

/** A Winograd variant F(m x m, 3x3): m x m outputs from an a x a input tile (a = m + 2), with its matrices. */
interface Variant { readonly m: number; readonly a: number; readonly BT: readonly number[][]; readonly G: readonly number[][]; readonly AT: readonly number[][] }
const F2: Variant = {
  m: 2, a: 4,
  BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
};
const F4: Variant = {
  m: 4, a: 6,
  BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
  G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
  AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
};
/** The variant a conv runs: F(4x4) from 8x8 outputs up with up to 64x64 channels (super-resolution-10 0.34x ->
 *  0.26x of onnxruntime-web over F(2x2)), F(2x2) otherwise: below 8x8, 4x4 tiles past the edge waste too much, and
 *  the transformed weight is stored, 36/9 of the conv's (squeezenet1_1 with F(4x4) throughout: weights.bin 4.9 ->
 *  11.6 MB for 0.41x -> 0.40x; F(2x2) is 16/9). */
export const variantOf = (g: ConvGeom): Variant => (g.OH >= 8 && g.OW >= 8 && g.C * g.OC <= 64 * 64 ? F4 : F2);
/** Input-tile positions. */
const XI = (v: Variant): number => v.a * v.a;
/** Bytes of V and M one block keeps (L2-resident between the transforms and the GEMMs). */
const BLOCK_BYTES = 192 * 1024;

/** Whether a conv takes this path: 3x3, stride and dilation 1, one group, whole channel vectors in, enough
 *  channels that the transforms cost less than the multiply-adds they save, and enough pixels: at 7x7 with 512
 *  channels (16 tiles) the 16/9 larger transformed weight, streamed per block, ate the gain (measured even with
 *  im2col; 14x14x256 and larger ran 1.7-1.9x faster). Up to 256x256 channels, so a ResNet's 512-channel convs (most
 *  of its weights) keep their stored size. */
export function winogradFits(g: ConvGeom): boolean {
  return g.G === 1 && g.KH === 3 && g.KW === 3 && g.sh === 1 && g.sw === 1 && g.dh === 1 && g.dw === 1
    && g.C % LANES === 0 && g.C >= 16 && g.OC >= 8 && g.OH >= 2 && g.OW >= 2 && g.OH * g.OW >= 100
    && g.C * g.OC <= 256 * 256;
}

const ocPad = (g: ConvGeom): number => Math.ceil(g.OC / LANES) * LANES;
const tileCount = (g: ConvGeom, v: Variant): number => Math.ceil(g.OH / v.m) * Math.ceil(g.OW / v.m);

/** Tiles per block: V and M of a block within BLOCK_BYTES, a multiple of the GEMM's 4 rows, at most the image. */
export function winogradTiles(g: ConvGeom): number {
  const v = variantOf(g), perTile = XI(v) * (g.C + ocPad(g)) * 4;
  return Math.max(LANES, Math.min(Math.ceil(tileCount(g, v) / LANES) * LANES, Math.floor(BLOCK_BYTES / perTile / LANES) * LANES));
}

/** Scratch bytes of one thread: one block's V and M. */
export const winogradScratch = (g: ConvGeom): number => winogradTiles(g) * XI(variantOf(g)) * (g.C + ocPad(g)) * 4;

/** U[xi] = (G w G^T)[xi] per (c, oc) in float64, packed as a*a runs of column panels (C x OC each), from HWIO. */
export function winogradWeights(hwio: Float32Array, g: ConvGeom): Float32Array {
  const { C, OC } = g, { a, G } = variantOf(g);
  const per = panelSize(C, OC), out = new Float32Array(per * a * a), u = new Float32Array(C * OC);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < a; j++) {
      for (let c = 0; c < C; c++) {
        for (let o = 0; o < OC; o++) {
          let s = 0;
          for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) s += G[i]![kh]! * hwio[((kh * 3 + kw) * C + c) * OC + o]! * G[j]![kw]!;
          u[c * OC + o] = s;
        }
      }
      packPanels(u, C, OC, OC, 1, 0, out, (i * a + j) * per);
    }
  }
  return out;
}

/** One row of a transform matrix applied to vectors: positive terms first, then each term added or subtracted
 *  in order, coefficients other than +-1 as a multiply by a splat. */
function combine(fn: KernelContext['fn'], coef: readonly number[], x: readonly (() => Expr)[]): Expr {
  const V = fn.m.f32x4;
  const term = (k: number): Expr => (Math.abs(coef[k]!) === 1 ? x[k]!() : V.mul(x[k]!(), V.splat(fn.cf32(Math.abs(coef[k]!)))));
  const order = coef.map((c, k) => k).filter((k) => coef[k] !== 0);
  const first = order.find((k) => coef[k]! > 0) ?? order[0]!;
  let e = coef[first]! > 0 ? term(first) : V.neg(term(first));
  for (const k of order) if (k !== first) e = coef[k]! > 0 ? V.add(e, term(k)) : V.sub(e, term(k));
  return e;
}

export function emitWinogradNhwc(ctx: KernelContext, g: ConvGeom, uBase: number, epi: ConvEpilogue): Expr {
  const x = input(ctx, 0), y = output(ctx), b = ctx.inputs[2], fn = ctx.fn, m = ctx.m, V = m.f32x4;
  const { C, OC, H, W, OH, OW } = g;
  const vr = variantOf(g), { a: A, m: S } = vr, X = XI(vr);
  const OCp = ocPad(g), T = winogradTiles(g), TW = Math.ceil(OW / S), tiles = tileCount(g, vr);
  const blocks = Math.ceil(tiles / T);
  const vBase = ctx.scratch.base, mBase = vBase + X * T * C * 4, slotBytes = winogradScratch(g);
  const zs = epi.residual ? residualStrides(epi.residual, y.dims, true) : undefined;
  const n = fn.i32(), blk = fn.i32(), t = fn.i32(), idx = fn.i32(), ty = fn.i32(), tx = fn.i32(), iy = fn.i32(), ix = fn.i32();
  const cv = fn.i32(), px = fn.i32(), pv = fn.i32(), slot = fn.i32(), xi = fn.i32(), la = fn.i32(), lw = fn.i32(), lc = fn.i32();
  const pm = fn.i32(), py = fn.i32(), pz = fn.i32(), ok = fn.i32();
  const d = Array.from({ length: X }, () => fn.v128()), tmp = Array.from({ length: X }, () => fn.v128()), out = fn.v128();
  const get = (l: Local) => (): Expr => fn.get(l);
  const idxA = Array.from({ length: A }, (_, k) => k);
  const times = (e: Expr, k: number): Expr => (k === 2 ? m.i32.shl(e, fn.c32(1)) : k === 4 ? m.i32.shl(e, fn.c32(2)) : m.i32.mul(e, fn.c32(k)));

  /** (ty, tx) of tile idx = blk*T + t, and the input window's top-left (iy, ix). */
  const locate = (): Expr[] => [
    fn.set(idx, m.i32.add(m.i32.mul(fn.get(blk), fn.c32(T)), fn.get(t))),
    fn.set(ty, m.i32.div_u(fn.get(idx), fn.c32(TW))), fn.set(tx, m.i32.rem_u(fn.get(idx), fn.c32(TW))),
    fn.set(iy, m.i32.sub(times(fn.get(ty), S), fn.c32(g.pt))),
    fn.set(ix, m.i32.sub(times(fn.get(tx), S), fn.c32(g.pl))),
  ];

  // input transform of channels cv..cv+3 of tile t: d[r*A+c] loaded, columns then rows (B^T d B), stored to V
  const transformIn = (load: (r: number, c: number) => Expr): Expr[] => {
    const st: Expr[] = [];
    for (let r = 0; r < A; r++) for (let c = 0; c < A; c++) st.push(fn.set(d[r * A + c]!, load(r, c)));
    for (let c = 0; c < A; c++) for (let i = 0; i < A; i++) st.push(fn.set(tmp[i * A + c]!, combine(fn, vr.BT[i]!, idxA.map((r) => get(d[r * A + c]!)))));
    for (let i = 0; i < A; i++) {
      for (let j = 0; j < A; j++) st.push(m.v128.store(vBase + (i * A + j) * T * C * 4, 4, fn.get(pv), combine(fn, vr.BT[j]!, idxA.map((c) => get(tmp[i * A + c]!)))));
    }
    return st;
  };
  const interior = (): Expr => (H >= A && W >= A
    ? m.i32.and(m.i32.le_u(fn.get(iy), fn.c32(H - A)), m.i32.le_u(fn.get(ix), fn.c32(W - A)))
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

  // the a*a GEMMs of the block: M[xi] (T x OC, rows OCp apart) = V[xi] x U[xi]
  const gemms = (): Expr => fn.loop(xi, 0, X, () => [
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
    if (OH % S && r >= OH % S) e = m.i32.and(e, m.i32.lt_u(m.i32.add(times(fn.get(ty), S), fn.c32(r)), fn.c32(OH)));
    if (OW % S && c >= OW % S) e = m.i32.and(e, m.i32.lt_u(m.i32.add(times(fn.get(tx), S), fn.c32(c)), fn.c32(OW)));
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
    for (let k = 0; k < X; k++) st.push(fn.set(d[k]!, m.v128.load(mBase + k * T * OCp * 4, 4, fn.get(pm))));
    for (let c = 0; c < A; c++) for (let i = 0; i < S; i++) st.push(fn.set(tmp[i * A + c]!, combine(fn, vr.AT[i]!, idxA.map((r) => get(d[r * A + c]!)))));
    const ovBytes = (): Expr => m.i32.shl(ov(), fn.c32(4));
    for (let r = 0; r < S; r++) {
      for (let c = 0; c < S; c++) {
        let v = combine(fn, vr.AT[c]!, idxA.map((k) => get(tmp[r * A + k]!)));
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
      }
    }
    st.push(fn.set(pm, m.i32.add(fn.get(pm), fn.c32(16))));
    return st;
  };
  const ov = fn.i32(), fullV = Math.floor(OC / LANES), tail = OC % LANES;
  /** Pixel index of the tile's top-left output, times `k` bytes. */
  const tilePixel = (k: number): Expr => m.i32.mul(m.i32.add(m.i32.mul(times(fn.get(ty), S), fn.c32(OW)), times(fn.get(tx), S)), fn.c32(k));
  const outputBlock = (): Expr => fn.loop(t, 0, T, () => [
    ...locate(),
    fn.set(ok, m.i32.lt_u(fn.get(idx), fn.c32(tiles))),
    fn.set(pm, m.i32.add(fn.get(slot), m.i32.mul(fn.get(t), fn.c32(OCp * 4)))),
    // py: Y[n, S*ty, S*tx, 0] (computed for tiles past the image too; nothing is stored there)
    fn.set(py, m.i32.add(m.i32.mul(fn.get(n), fn.c32(OH * OW * OC * 4)), tilePixel(OC * 4))),
    ...(zs ? [fn.set(pz, m.i32.add(m.i32.mul(fn.get(n), fn.c32(zs.n * 4)), tilePixel(zs.p * 4)))] : []),
    fn.loop(ov, 0, fullV, (o) => transformOut(o, LANES)),
    ...(tail ? [fn.set(ov, fn.c32(fullV)), ...transformOut(() => fn.get(ov), tail)] : []),
  ]);

  const block = (): Expr[] => [inputBlock(), gemms(), outputBlock()];
  const par = parallelOf(ctx);
  const items = par ? itemsFor(g.N * tiles * X * C * OC, par.threads) : 1;
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
