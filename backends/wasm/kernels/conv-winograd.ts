// NHWC stride-1 convs as Winograd: 3x3 as F(4x4, 3x3) or F(2x2, 3x3), each 4x4 (2x2) block of output pixels taking
// 36 (16) multiply-adds per input/output channel pair instead of 144 (36), so the GEMM core does 4x (2.25x) less work
// (super-resolution-10's 64-channel 224x224 convs were ~85% of the model at the core's peak); 5x1 and 1x5 (magika's
// 5-tap conv over 256 -> 512 channels, ~80% of the model) as the one-axis F(4, 5): 8 multiply-adds for 4 outputs
// instead of 20. The weight transform is done at compile time in float64; F(2x2)'s other transforms use only +-1,
// F(4x4)'s small integers (points 0, +-1, +-2), whose drift against direct convolution on super-resolution-10 is
// 3.3e-6 of the output range (F(2x2): 5.1e-7, im2col 9.4e-7; tests and shared models hold 1e-5 / 1e-4); F(4, 5)
// adds the points +-1/2 (integers up to 640 in B^T).
//
// A variant is one 1-D algorithm per spatial axis (the identity F(1, 1) on a 1-tap axis). Per image, blocks of T
// tiles (row-major over the tile grid, the last block padded with tiles outside the image): input transform
// V[xi][t][c] = (B^T d B)[xi] into scratch, then for each of the aH*aW positions xi one GEMM M[xi] = V[xi] (T x C) x
// U[xi] (C x OC, panel-packed), then the output transform A^T M A with bias, residual and activation, stored to the
// pixels inside the image.

import type { Expr, Local } from '../fn.js';
import { LANES } from '../simd.js';
import { claimGrid, itemsFor, parallelOf, threadId, threadSlot } from '../parallel.js';
import { residualStrides, type ConvEpilogue, type ConvGeom } from './conv.js';
import { gemm } from './gemm-core.js';
import { packPanels, panelSize } from './gemm-pack.js';
import type { KernelContext } from './types.js';
import { input, output } from './util.js';

/** A 1-D Winograd algorithm F(m, r) along one axis: m outputs from a = m + r - 1 inputs, r taps (G's columns). */
interface Axis { readonly m: number; readonly a: number; readonly BT: readonly number[][]; readonly G: readonly number[][]; readonly AT: readonly number[][] }
/** A 1-tap axis: the identity. */
const F1: Axis = { m: 1, a: 1, BT: [[1]], G: [[1]], AT: [[1]] };
const F2_3: Axis = {
  m: 2, a: 4,
  BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
};
const F4_3: Axis = {
  m: 4, a: 6,
  BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
  G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
  AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
};
/** Toom-Cook at the points 0, +-1, +-2, +-1/2 and infinity (B^T rows scaled to integers, G's rows divided to match). */
const F4_5: Axis = {
  m: 4, a: 8,
  BT: [[4, 0, -21, 0, 21, 0, -4, 0], [0, -8, -8, 34, 34, -8, -8, 0], [0, 8, -8, -34, 34, 8, -8, 0], [0, 2, 1, -10, -5, 8, 4, 0],
    [0, -2, 1, 10, -5, -8, 4, 0], [0, 256, 512, -320, -640, 64, 128, 0], [0, -256, 512, 320, -640, -64, 128, 0], [0, -4, 0, 21, 0, -21, 0, 4]],
  G: [[1 / 4, 0, 0, 0, 0], [1 / 36, 1 / 36, 1 / 36, 1 / 36, 1 / 36], [1 / 36, -1 / 36, 1 / 36, -1 / 36, 1 / 36],
    [1 / 360, 1 / 180, 1 / 90, 1 / 45, 2 / 45], [1 / 360, -1 / 180, 1 / 90, -1 / 45, 2 / 45],
    [1 / 180, 1 / 360, 1 / 720, 1 / 1440, 1 / 2880], [1 / 180, -1 / 360, 1 / 720, -1 / 1440, 1 / 2880], [0, 0, 0, 0, 1 / 4]],
  AT: [[1, 1, 1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0.5, -0.5, 0], [0, 1, 1, 4, 4, 0.25, 0.25, 0], [0, 1, -1, 8, -8, 0.125, -0.125, 1]],
};
/** A Winograd variant: one algorithm per spatial axis. */
interface Variant { readonly h: Axis; readonly w: Axis }
/** The variant a conv runs. 3x3: F(4x4) from 8x8 outputs up with up to 64x64 channels (super-resolution-10 0.34x ->
 *  0.26x of onnxruntime-web over F(2x2)), F(2x2) otherwise: below 8x8, 4x4 tiles past the edge waste too much, and
 *  the transformed weight is stored, 36/9 of the conv's (squeezenet1_1 with F(4x4) throughout: weights.bin 4.9 ->
 *  11.6 MB for 0.41x -> 0.40x; F(2x2) is 16/9). 5x1 / 1x5: F(4, 5) on the 5-tap axis (stored weight 8/5). */
export function variantOf(g: ConvGeom): Variant {
  if (g.KH === 5) return { h: F4_5, w: F1 };
  if (g.KW === 5) return { h: F1, w: F4_5 };
  const v = g.OH >= 8 && g.OW >= 8 && g.C * g.OC <= 64 * 64 ? F4_3 : F2_3;
  return { h: v, w: v };
}
/** Input-tile positions. */
const XI = (v: Variant): number => v.h.a * v.w.a;
/** Bytes of V and M one block keeps (L2-resident between the transforms and the GEMMs). */
const BLOCK_BYTES = 192 * 1024;
/** Scratch bytes per block of a one-axis variant (winogradTiles). */
const ONE_AXIS_BLOCK_BYTES = 2 * 1024 * 1024;

/** Whether a conv takes this path: 3x3, or 5 taps along one axis and 1 along the other; stride and dilation 1, one
 *  group, whole channel vectors in, enough channels that the transforms cost less than the multiply-adds they save,
 *  and enough pixels: at 7x7 with 512 channels (16 tiles) the 16/9 larger transformed weight, streamed per block,
 *  ate the gain (measured even with im2col; 14x14x256 and larger ran 1.7-1.9x faster). 3x3 up to 256x256 channels, so
 *  a ResNet's 512-channel convs (most of its weights) keep their stored size; a 5-tap conv (8/5 of its weight) up to
 *  512x512, with at least 8 outputs along its taps (two tiles). */
export function winogradFits(g: ConvGeom): boolean {
  const common = g.G === 1 && g.sh === 1 && g.sw === 1 && g.dh === 1 && g.dw === 1
    && g.C % LANES === 0 && g.C >= 16 && g.OC >= 8 && g.OH * g.OW >= 100;
  if (!common) return false;
  if (g.KH === 3 && g.KW === 3) return g.OH >= 2 && g.OW >= 2 && g.C * g.OC <= 256 * 256;
  const taps5 = (g.KH === 5 && g.KW === 1 && g.OH >= 8) || (g.KH === 1 && g.KW === 5 && g.OW >= 8);
  return taps5 && g.C * g.OC <= 512 * 512;
}

const ocPad = (g: ConvGeom): number => Math.ceil(g.OC / LANES) * LANES;
const tileCount = (g: ConvGeom, v: Variant): number => Math.ceil(g.OH / v.h.m) * Math.ceil(g.OW / v.w.m);

/** Tiles per block: V and M of a block within BLOCK_BYTES, a multiple of the GEMM's 4 rows, at most the image. A
 *  one-axis variant instead takes the image in the fewest even blocks of at most ONE_AXIS_BLOCK_BYTES: its U (C x OC
 *  per position, 8 positions) is re-read for every block, and magika's 256 -> 512 channels (4 MB of U, 24 KiB of V
 *  and M per tile) ran its GEMMs bandwidth-bound at 8 tiles a block (interleaved, load 11: 0.50x of
 *  onnxruntime-web with im2col, 0.28-0.31x at 16 and 32 tiles, 0.25x at 64, 0.23x at 128, the whole image). Two
 *  blocks leave a threaded build two items. */
export function winogradTiles(g: ConvGeom): number {
  const v = variantOf(g), perTile = XI(v) * (g.C + ocPad(g)) * 4, tiles = tileCount(g, v);
  const whole = Math.ceil(tiles / LANES) * LANES;
  if (v.h === F1 || v.w === F1) {
    const blocks = Math.ceil((tiles * perTile) / ONE_AXIS_BLOCK_BYTES);
    return Math.min(whole, Math.ceil(tiles / blocks / LANES) * LANES);
  }
  return Math.max(LANES, Math.min(whole, Math.floor(BLOCK_BYTES / perTile / LANES) * LANES));
}

/** Scratch bytes of one thread: one block's V and M. */
export const winogradScratch = (g: ConvGeom): number => winogradTiles(g) * XI(variantOf(g)) * (g.C + ocPad(g)) * 4;

/** U[xi] = (G_h w G_w^T)[xi] per (c, oc) in float64, packed as aH*aW runs of column panels (C x OC each), from HWIO. */
export function winogradWeights(hwio: Float32Array, g: ConvGeom): Float32Array {
  const { C, OC, KH, KW } = g, { h, w } = variantOf(g);
  const per = panelSize(C, OC), out = new Float32Array(per * h.a * w.a), u = new Float32Array(C * OC);
  for (let i = 0; i < h.a; i++) {
    for (let j = 0; j < w.a; j++) {
      for (let c = 0; c < C; c++) {
        for (let o = 0; o < OC; o++) {
          let s = 0;
          for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) s += h.G[i]![kh]! * hwio[((kh * KW + kw) * C + c) * OC + o]! * w.G[j]![kw]!;
          u[c * OC + o] = s;
        }
      }
      packPanels(u, C, OC, OC, 1, 0, out, (i * w.a + j) * per);
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
  const vr = variantOf(g), { a: AH, m: SH } = vr.h, { a: AW, m: SW } = vr.w, X = XI(vr);
  const OCp = ocPad(g), T = winogradTiles(g), TW = Math.ceil(OW / SW), tiles = tileCount(g, vr);
  const blocks = Math.ceil(tiles / T);
  const vBase = ctx.scratch.base, mBase = vBase + X * T * C * 4, slotBytes = winogradScratch(g);
  const zs = epi.residual ? residualStrides(epi.residual, y.dims, true) : undefined;
  const par = parallelOf(ctx);
  const items = par ? itemsFor(g.N * tiles * X * C * OC, par.threads) : 1;
  // a heavy activation (GELU) written out SH*SW times in the output transform made magika's 5x1 conv 1.4 ms slower
  // than conv + a Gelu pass: it runs as one pass over Y at the end instead (threaded: by the main thread, once every
  // item is done)
  const actAfter = epi.act?.heavy === true;
  const n = fn.i32(), blk = fn.i32(), t = fn.i32(), idx = fn.i32(), ty = fn.i32(), tx = fn.i32(), iy = fn.i32(), ix = fn.i32();
  const cv = fn.i32(), px = fn.i32(), pv = fn.i32(), slot = fn.i32(), xi = fn.i32(), la = fn.i32(), lw = fn.i32(), lc = fn.i32();
  const pm = fn.i32(), py = fn.i32(), pz = fn.i32(), ok = fn.i32();
  const d = Array.from({ length: X }, () => fn.v128()), tmp = Array.from({ length: X }, () => fn.v128()), out = fn.v128();
  const get = (l: Local) => (): Expr => fn.get(l);
  const upTo = (n: number): number[] => Array.from({ length: n }, (_, k) => k);
  const times = (e: Expr, k: number): Expr => (k === 1 ? e : k === 2 ? m.i32.shl(e, fn.c32(1)) : k === 4 ? m.i32.shl(e, fn.c32(2)) : m.i32.mul(e, fn.c32(k)));

  /** (ty, tx) of tile idx = blk*T + t, and the input window's top-left (iy, ix). */
  const locate = (): Expr[] => [
    fn.set(idx, m.i32.add(m.i32.mul(fn.get(blk), fn.c32(T)), fn.get(t))),
    fn.set(ty, m.i32.div_u(fn.get(idx), fn.c32(TW))), fn.set(tx, m.i32.rem_u(fn.get(idx), fn.c32(TW))),
    fn.set(iy, m.i32.sub(times(fn.get(ty), SH), fn.c32(g.pt))),
    fn.set(ix, m.i32.sub(times(fn.get(tx), SW), fn.c32(g.pl))),
  ];

  // input transform of channels cv..cv+3 of tile t: d[r*AW+c] loaded, columns then rows (B_h^T d B_w), stored to V
  const transformIn = (load: (r: number, c: number) => Expr): Expr[] => {
    const st: Expr[] = [];
    for (let r = 0; r < AH; r++) for (let c = 0; c < AW; c++) st.push(fn.set(d[r * AW + c]!, load(r, c)));
    for (let c = 0; c < AW; c++) for (let i = 0; i < AH; i++) st.push(fn.set(tmp[i * AW + c]!, combine(fn, vr.h.BT[i]!, upTo(AH).map((r) => get(d[r * AW + c]!)))));
    for (let i = 0; i < AH; i++) {
      for (let j = 0; j < AW; j++) st.push(m.v128.store(vBase + (i * AW + j) * T * C * 4, 4, fn.get(pv), combine(fn, vr.w.BT[j]!, upTo(AW).map((c) => get(tmp[i * AW + c]!)))));
    }
    return st;
  };
  const interior = (): Expr => (H >= AH && W >= AW
    ? m.i32.and(m.i32.le_u(fn.get(iy), fn.c32(H - AH)), m.i32.le_u(fn.get(ix), fn.c32(W - AW)))
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
    if (OH % SH && r >= OH % SH) e = m.i32.and(e, m.i32.lt_u(m.i32.add(times(fn.get(ty), SH), fn.c32(r)), fn.c32(OH)));
    if (OW % SW && c >= OW % SW) e = m.i32.and(e, m.i32.lt_u(m.i32.add(times(fn.get(tx), SW), fn.c32(c)), fn.c32(OW)));
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
    for (let c = 0; c < AW; c++) for (let i = 0; i < SH; i++) st.push(fn.set(tmp[i * AW + c]!, combine(fn, vr.h.AT[i]!, upTo(AH).map((r) => get(d[r * AW + c]!)))));
    const ovBytes = (): Expr => m.i32.shl(ov(), fn.c32(4));
    for (let r = 0; r < SH; r++) {
      for (let c = 0; c < SW; c++) {
        let v = combine(fn, vr.w.AT[c]!, upTo(AW).map((k) => get(tmp[r * AW + k]!)));
        if (b) v = V.add(v, partial(b.ptr.base, ovBytes, lanes));
        if (epi.residual && zs) {
          const zOff = epi.residual.ptr.base + (r * OW + c) * zs.p * 4;
          v = V.add(v, zs.c === 0 ? V.splat(m.f32.load(zOff, 4, fn.get(pz))) : partial(zOff, () => m.i32.add(fn.get(pz), ovBytes()), lanes));
        }
        if (epi.act && !actAfter) v = epi.act(fn, v);
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
  const tilePixel = (k: number): Expr => m.i32.mul(m.i32.add(m.i32.mul(times(fn.get(ty), SH), fn.c32(OW)), times(fn.get(tx), SW)), fn.c32(k));
  const outputBlock = (): Expr => fn.loop(t, 0, T, () => [
    ...locate(),
    fn.set(ok, m.i32.lt_u(fn.get(idx), fn.c32(tiles))),
    fn.set(pm, m.i32.add(fn.get(slot), m.i32.mul(fn.get(t), fn.c32(OCp * 4)))),
    // py: Y[n, SH*ty, SW*tx, 0] (computed for tiles past the image too; nothing is stored there)
    fn.set(py, m.i32.add(m.i32.mul(fn.get(n), fn.c32(OH * OW * OC * 4)), tilePixel(OC * 4))),
    ...(zs ? [fn.set(pz, m.i32.add(m.i32.mul(fn.get(n), fn.c32(zs.n * 4)), tilePixel(zs.p * 4)))] : []),
    fn.loop(ov, 0, fullV, (o) => transformOut(o, LANES)),
    ...(tail ? [fn.set(ov, fn.c32(fullV)), ...transformOut(() => fn.get(ov), tail)] : []),
  ]);

  const block = (): Expr[] => [inputBlock(), gemms(), outputBlock()];
  const after: Expr[] = [];
  if (actAfter && epi.act) {
    const act = epi.act, vecEnd = (y.size - (y.size % LANES)) * 4, e = fn.i32();
    after.push(fn.loop(e, 0, vecEnd, () => [m.v128.store(y.ptr.base, 4, fn.get(e), act(fn, m.v128.load(y.ptr.base, 4, fn.get(e))))], 16));
    for (let k = y.size - (y.size % LANES); k < y.size; k++) {
      after.push(m.f32.store(y.ptr.base + k * 4, 4, fn.c32(0), V.extract_lane(act(fn, V.splat(m.f32.load(y.ptr.base + k * 4, 4, fn.c32(0)))), 0)));
    }
  }
  if (par && items >= 2 && g.N * blocks >= 2) {
    par.used = true;
    // items: (image, block); each thread transforms and multiplies in its own scratch slot
    const grid = claimGrid(fn, [g.N, blocks], ([ni, bi]) => [fn.set(n, ni!()), fn.set(blk, bi!()), fn.set(slot, threadSlot(fn, slotBytes)), ...block()]);
    return after.length ? fn.block([grid, m.if(m.i32.eqz(threadId(fn)), fn.block(after))]) : grid;
  }
  return fn.block([
    fn.set(slot, fn.c32(0)),
    fn.loop(n, 0, g.N, () => [fn.loop(blk, 0, blocks, () => block())]),
    ...after,
  ]);
}
