// onnxc.FusedConv: Conv + bias + residual + activation, NCHW or channels-last (NHWC). Weights are re-packed at
// compile time into the layout each path reads (HWIO for NHWC: per tap, input channels by output channels; OIHW
// for NCHW), whatever layout the node recorded. NHWC paths: depthwise (fused-conv-dw.ts), 1x1 stride-1 as one
// GEMM over pixels reading X in place, everything else (general, grouped, strided) as NHWC im2col + that GEMM.

import { permuteList, layoutToStandard, standardLayout, standardToLayout, transposeTensor } from '../../../ops/fused/permute.js';
import { makeTensor, type Tensor } from '../../../ir/tensor.js';
import type { Expr } from '../fn.js';
import { emitConvNchw, geometry, nchwScratch, refuse3d, residualStrides, type ConvEpilogue, type ConvGeom } from './conv.js';
import { activationOf } from './fused-activation.js';
import { emitDepthwiseNhwc } from './fused-conv-dw.js';
import { emitWinogradNhwc, winogradFits, winogradScratch, winogradWeights } from './conv-winograd.js';
import { gemm, type GemmSpec, type MatOperand } from './gemm-core.js';
import { claimGrid, gemmItem, itemsFor, parallelOf, splitGemm, threadSlot, type Parallel } from '../parallel.js';
import { packPanels, panelable, panelSize } from './gemm-pack.js';
import type { Refusal } from '../../../lowering/protocol.js';
import type { KernelContext, KernelGen, PlanContext } from './types.js';
import { attrNum, attrStr, input, output, requireDType, unsupported, withDTypes } from './util.js';

type Ctx = Pick<PlanContext, 'inputs' | 'outputs' | 'attrs' | 'node' | 'site'>;

const channelsLast = (ctx: Ctx): boolean => attrNum(ctx, 'channels_last') === 1;

/** The layout the node's path reads: HWIO (or WIO for 1-D) channels-last, the standard OIHW otherwise. */
function wantedLayout(ctx: Ctx): string {
  const rank = input(ctx, 1).dims.length;
  const std = standardLayout(rank);
  return channelsLast(ctx) ? `${std.slice(2)}IO` : std;
}
const storedLayout = (ctx: Ctx): string => attrStr(ctx, 'weight_layout') || standardLayout(input(ctx, 1).dims.length);

/** The weight's dims in the standard O, I, spatial order. */
function standardDims(ctx: Ctx): number[] {
  const w = input(ctx, 1);
  return permuteList(w.dims, layoutToStandard(storedLayout(ctx), w.dims.length));
}

function geom(ctx: Ctx): ConvGeom {
  return geometry(ctx, channelsLast(ctx), standardDims(ctx).slice(2));
}

/** Which NHWC path a node takes. */
function nhwcPath(g: ConvGeom): 'depthwise' | 'direct' | 'im2col' {
  if (g.G === g.C && g.G === g.OC && g.G > 1) return 'depthwise';
  return g.direct ? 'direct' : 'im2col';
}

/** Whether this node runs as Winograd (conv-winograd.ts: 3x3, 5x1, 1x5): a constant float32 weight, a residual (if
 *  any) contiguous or broadcast over channels. */
function winograd(ctx: Ctx): boolean {
  const w = input(ctx, 1);
  if (!channelsLast(ctx) || !w.constant || w.dtype !== 'float32' || !winogradFits(geom(ctx))) return false;
  const z = ctx.inputs[3], zs = z && residualStrides(z, output(ctx).dims, true);
  return !z || (zs !== undefined && (zs.c === 0 || zs.c === 1));
}

/** Whether this node's NHWC GEMM path reads its weight as column panels (gemm-pack.ts): a constant float32 weight
 *  and a group width the panel tail handles (a multiple of 4 output channels). */
function panelPacked(ctx: Ctx): boolean {
  const w = input(ctx, 1);
  if (!channelsLast(ctx) || !w.constant || w.dtype !== 'float32') return false;
  const g = geom(ctx);
  return nhwcPath(g) !== 'depthwise' && panelable(g.OC / g.G);
}

/** The weight in the layout its path reads (or undefined when the stored one is it). */
function relaid(ctx: Ctx): Tensor | undefined {
  const w = input(ctx, 1), from = storedLayout(ctx), to = wantedLayout(ctx);
  if (from === to) return undefined;
  if (!w.constant) unsupported(ctx, `with a run-time weight in layout ${from} (this path reads ${to})`);
  requireDType(ctx, w, ['float32']);
  const rank = w.dims.length;
  return transposeTensor(w.constant, permuteList(layoutToStandard(from, rank), standardToLayout(to, rank)));
}

/** Forms the paths below do not handle, declared before lowering so the driver decomposes such a node. */
function refuse(ctx: PlanContext): Refusal | undefined {
  const flat = refuse3d(ctx);
  if (flat) return flat;
  const from = storedLayout(ctx), to = wantedLayout(ctx);
  if (from !== to && !input(ctx, 1).constant) return { reason: 'form', detail: `a run-time weight in layout ${from} (this path reads ${to})` };
  const z = ctx.inputs[3];
  if (!z) return undefined;
  const last = channelsLast(ctx), zs = residualStrides(z, output(ctx).dims, last);
  const depthwise = last && nhwcPath(geom(ctx)) === 'depthwise';
  if (!zs || (depthwise && zs.c !== 0 && zs.c !== 1)) return { reason: 'form', detail: `residual [${z.dims.join(',')}] broadcast in a way this path does not index` };
  return undefined;
}

const fusedConv: KernelGen = {
  refuse,
  unread: (ctx) => ((storedLayout(ctx) !== wantedLayout(ctx) && input(ctx, 1).constant) || panelPacked(ctx) || winograd(ctx) ? [1] : []),
  prepack(ctx) {
    const hwio = relaid(ctx);
    if (winograd(ctx)) {
      const g = geom(ctx);
      const u = winogradWeights((hwio ?? input(ctx, 1).constant!).data as Float32Array, g);
      return [makeTensor('float32', [u.length], u)];
    }
    if (!panelPacked(ctx)) return hwio ? [hwio] : [];
    // HWIO is [K = KH*KW*Cg, OC] row-major; each group's OCg columns become their own run of panels
    const g = geom(ctx), src = (hwio ?? input(ctx, 1).constant!).data as Float32Array;
    const Cg = g.C / g.G, OCg = g.OC / g.G, K = g.KH * g.KW * Cg, per = panelSize(K, OCg);
    const out = new Float32Array(per * g.G);
    for (let gi = 0; gi < g.G; gi++) packPanels(src, K, OCg, g.OC, 1, gi * OCg, out, gi * per);
    return [makeTensor('float32', [out.length], out)];
  },
  scratch(ctx) {
    const g = geom(ctx);
    if (!channelsLast(ctx)) return nchwScratch(g);
    if (winograd(ctx)) return winogradScratch(g);
    const K = g.KH * g.KW * (g.C / g.G);
    return nhwcPath(g) === 'im2col' ? im2colRows(g, K) * g.OW * K * 4 : 0;
  },
  emit(ctx) {
    const x = input(ctx, 0), y = output(ctx);
    for (const t of [x, y, input(ctx, 1)]) requireDType(ctx, t, ['float32']);
    const g = geom(ctx);
    const wBase = (ctx.packed[0] ?? input(ctx, 1)).ptr.base;
    const z = ctx.inputs[3];
    if (z) requireDType(ctx, z, ['float32']);
    const epi: ConvEpilogue = { residual: z, act: activationOf(ctx) };
    if (y.size === 0) return ctx.m.nop();
    if (!channelsLast(ctx)) return emitConvNchw(ctx, g, wBase, epi);
    if (winograd(ctx)) return emitWinogradNhwc(ctx, g, wBase, epi);
    switch (nhwcPath(g)) {
      case 'depthwise': return emitDepthwiseNhwc(ctx, g, wBase, epi);
      case 'direct': case 'im2col': return emitGemmNhwc(ctx, g, wBase, epi, panelPacked(ctx));
    }
  },
};

/** Bytes of im2col columns built at a time: a block of output rows whose columns stay in L2 while the GEMM reads
 *  them (super-resolution-10's 224x224 3x3 convs wrote and re-read 115 MB of columns through memory otherwise). */
const IM2COL_BLOCK_BYTES = 192 * 1024;

/** Output rows per im2col block (the whole image when one row alone exceeds the block). */
export const im2colRows = (g: ConvGeom, K: number): number => Math.max(1, Math.min(g.OH, Math.floor(IM2COL_BLOCK_BYTES / (g.OW * K * 4))));

/** Per image, group and block of output rows: Y[P, OCg] = cols[P, KH*KW*Cg] x W_hwio[KH*KW*Cg, OCg] (+ epilogue);
 *  cols is X itself for a 1x1 stride-1 unpadded conv (one block), else NHWC im2col in scratch (each tap a run of
 *  Cg contiguous channels), im2colRows output rows at a time. */
function emitGemmNhwc(ctx: KernelContext, g: ConvGeom, wBase: number, epi: ConvEpilogue, panels: boolean): Expr {
  const x = input(ctx, 0), y = output(ctx), b = ctx.inputs[2], fn = ctx.fn, m = ctx.m;
  const Cg = g.C / g.G, OCg = g.OC / g.G, K = g.KH * g.KW * Cg, P = g.OH * g.OW;
  const n = fn.i32(), gi = fn.i32(), blk = fn.i32(), la = fn.i32(), lc = fn.i32(), lw = fn.i32(), lbias = fn.i32(), lres = fn.i32();
  const zs = epi.residual ? residualStrides(epi.residual, y.dims, true) : undefined;
  if (epi.residual && !zs) unsupported(ctx, `with residual [${epi.residual.dims.join(',')}] broadcast along one spatial axis`);
  const residual: MatOperand | undefined = epi.residual && zs ? { base: epi.residual.ptr.base, dyn: lres, rs: zs.p, cs: zs.c } : undefined;
  const direct = g.direct;
  const cols = direct ? undefined : emitIm2colNhwc(ctx, g, Cg);
  const rb = direct ? g.OH : im2colRows(g, K), full = g.OH - (g.OH % rb), rem = g.OH % rb;
  // threads: each has its own slot of im2col scratch (the backend laid out one per thread: parallel.ts)
  const par = parallelOf(ctx);
  const slot = par && cols ? (): Expr => threadSlot(fn, rb * g.OW * K * 4) : undefined;
  const spec = (rows: number): GemmSpec => ({
    M: rows * g.OW, N: OCg, K,
    a: direct ? { base: x.ptr.base, dyn: la, rs: g.C, cs: 1 } : { base: ctx.scratch.base, dyn: la, rs: K, cs: 1 },
    b: { base: wBase, dyn: lw, rs: g.OC, cs: 1, ...(panels ? { panels: true } : {}) },
    c: { base: y.ptr.base, dyn: lc, rs: g.OC, cs: 1 },
    bias: b ? { base: b.ptr.base, dyn: lbias, rs: 0, cs: 1 } : undefined,
    residual, act: epi.act,
  });
  // blk: the block's first output row
  const block = (rows: number, item?: (s: GemmSpec) => Expr): Expr[] => [
    ...(cols ? [cols(() => fn.get(n), () => fn.get(gi), () => fn.get(blk), rows, slot)] : []),
    // A: X[n] (direct) or the columns; C: Y[n]'s group columns from row blk
    fn.set(la, direct ? m.i32.add(m.i32.mul(fn.get(n), fn.c32(P * g.C * 4)), m.i32.mul(fn.get(gi), fn.c32(Cg * 4))) : slot ? slot() : fn.c32(0)),
    fn.set(lc, m.i32.add(m.i32.add(m.i32.mul(fn.get(n), fn.c32(P * g.OC * 4)), m.i32.mul(fn.get(gi), fn.c32(OCg * 4))), m.i32.mul(fn.get(blk), fn.c32(g.OW * g.OC * 4)))),
    ...(zs ? [fn.set(lres, m.i32.add(m.i32.add(m.i32.mul(fn.get(n), fn.c32(zs.n * 4)), m.i32.mul(fn.get(gi), fn.c32(OCg * zs.c * 4))), m.i32.mul(fn.get(blk), fn.c32(g.OW * zs.p * 4))))] : []),
    item ? item(spec(rows)) : gemm(fn, spec(rows)),
  ];
  // panels: group gi's panels start after gi groups of panelSize(K, OCg) floats
  const groupOffsets = (): Expr[] => [
    fn.set(lw, m.i32.mul(fn.get(gi), fn.c32(panels ? panelSize(K, OCg) * 4 : OCg * 4))),
    fn.set(lbias, m.i32.mul(fn.get(gi), fn.c32(OCg * 4))),
  ];
  const threaded = par && threadedNhwc(par, g, K, rb, direct);
  if (threaded) {
    par!.used = true;
    const { count, rows, split } = threaded, lastRows = g.OH - (count - 1) * rows;
    // items (image, group, block of output rows); a direct conv's one block is cut further as a GEMM
    return claimGrid(fn, [g.N, g.G, split?.count ?? count], ([ni, gii, bi]) => [
      fn.set(n, ni!()), fn.set(gi, gii!()), ...groupOffsets(),
      ...(split ? [fn.set(blk, fn.c32(0)), ...block(g.OH, (s) => gemmItem(fn, s, split, bi!))]
        : [fn.set(blk, m.i32.mul(bi!(), fn.c32(rows))),
          lastRows === rows ? fn.block(block(rows)) : m.if(m.i32.eq(bi!(), fn.c32(count - 1)), fn.block(block(lastRows)), fn.block(block(rows)))]),
    ]);
  }
  return fn.loop(n, 0, g.N, () => [
    fn.loop(gi, 0, g.G, () => [
      ...groupOffsets(),
      fn.loop(blk, 0, full, () => block(rb), rb),
      ...(rem ? [fn.set(blk, fn.c32(full)), ...block(rem)] : []),
    ]),
  ]);
}

/** How a threaded module cuts an NHWC GEMM conv: blocks of `rows` output rows (`count` per image and group), or for a
 *  direct conv (one block) its GEMM by `split`; undefined when too small to split. */
function threadedNhwc(par: Parallel, g: ConvGeom, K: number, rb: number, direct: boolean): { count: number; rows: number; split?: ReturnType<typeof splitGemm> } | undefined {
  const OCg = g.OC / g.G, P = g.OH * g.OW, outer = g.N * g.G;
  const items = itemsFor(outer * P * OCg * K, par.threads);
  if (items < 2) return undefined;
  const per = Math.ceil(items / outer);
  if (direct) {
    const split = per >= 2 ? splitGemm(P, OCg, K, par.threads, per) : undefined;
    return outer * (split?.count ?? 1) >= 2 ? { count: 1, rows: g.OH, ...(split ? { split } : {}) } : undefined;
  }
  // im2col blocks no taller than the serial ones (each thread's slot holds one), at least `per` of them per image
  const rows = Math.max(1, Math.min(rb, Math.ceil(g.OH / per))), count = Math.ceil(g.OH / rows);
  return outer * count >= 2 ? { count, rows } : undefined;
}

/** cols[p, (kh*KW + kw)*Cg + c] = X[n, ih, iw, gi*Cg + c] or 0 outside the image, for the `rows` output rows
 *  from oh0 (p counts from the block's first pixel), from byte `slot` of the scratch (a thread's; 0 by default). */
function emitIm2colNhwc(ctx: KernelContext, g: ConvGeom, Cg: number): (n: () => Expr, gi: () => Expr, oh0: () => Expr, rows: number, slot?: () => Expr) => Expr {
  const x = input(ctx, 0), fn = ctx.fn, m = ctx.m, col = ctx.scratch.base;
  const K = g.KH * g.KW * Cg;
  const oh = fn.i32(), ow = fn.i32(), ih = fn.i32(), iw = fn.i32(), src = fn.i32(), dst = fn.i32(), xImg = fn.i32();
  const bytes = Cg * 4;
  // runs up to 512 bytes (the 3-channel stem, 64-channel 3x3 convs) as unrolled vector/scalar moves: V8 calls out
  // of line for memory.copy/fill, which costs more than the move itself at these sizes; longer runs use them
  const copy = (tapOff: number): Expr => {
    if (bytes > 512) return m.memory.copy(m.i32.add(fn.get(dst), fn.c32(col + tapOff)), m.i32.add(fn.get(src), fn.c32(x.ptr.base)), fn.c32(bytes));
    const parts: Expr[] = [];
    let o = 0;
    for (; o + 16 <= bytes; o += 16) parts.push(m.v128.store(col + tapOff + o, 4, fn.get(dst), m.v128.load(x.ptr.base + o, 4, fn.get(src))));
    for (; o < bytes; o += 4) parts.push(m.i32.store(col + tapOff + o, 4, fn.get(dst), m.i32.load(x.ptr.base + o, 4, fn.get(src))));
    return fn.block(parts);
  };
  const zero = (tapOff: number): Expr => {
    if (bytes > 512) return m.memory.fill(m.i32.add(fn.get(dst), fn.c32(col + tapOff)), fn.c32(0), fn.c32(bytes));
    const parts: Expr[] = [];
    let o = 0;
    for (; o + 16 <= bytes; o += 16) parts.push(m.v128.store(col + tapOff + o, 4, fn.get(dst), m.v128.const([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])));
    for (; o < bytes; o += 4) parts.push(m.i32.store(col + tapOff + o, 4, fn.get(dst), fn.c32(0)));
    return fn.block(parts);
  };
  // built afresh for each call: Binaryen expressions are tree nodes, never shared (the full and last blocks)
  const taps = (): Expr[] => {
    const out: Expr[] = [];
    for (let kh = 0; kh < g.KH; kh++) {
      for (let kw = 0; kw < g.KW; kw++) {
        const tapOff = (kh * g.KW + kw) * bytes;
        const ihE = (): Expr => m.i32.add(fn.get(ih), fn.c32(kh * g.dh)), iwE = (): Expr => m.i32.add(fn.get(iw), fn.c32(kw * g.dw));
        // unsigned compares reject negative coordinates too
        const inside = m.i32.and(m.i32.lt_u(ihE(), fn.c32(g.H)), m.i32.lt_u(iwE(), fn.c32(g.W)));
        out.push(m.if(inside, fn.block([
          fn.set(src, m.i32.add(fn.get(xImg), m.i32.mul(m.i32.add(m.i32.mul(ihE(), fn.c32(g.W)), iwE()), fn.c32(g.C * 4)))),
          copy(tapOff),
        ]), zero(tapOff)));
      }
    }
    return out;
  };
  return (n, gi, oh0, rows, slot) => fn.block([
    fn.set(xImg, m.i32.add(m.i32.mul(n(), fn.c32(g.H * g.W * g.C * 4)), m.i32.mul(gi(), fn.c32(Cg * 4)))),
    fn.set(dst, slot ? slot() : fn.c32(0)),
    fn.loop(oh, 0, rows, () => [
      fn.set(ih, m.i32.sub(m.i32.mul(m.i32.add(fn.get(oh), oh0()), fn.c32(g.sh)), fn.c32(g.pt))),
      fn.loop(ow, 0, g.OW, () => [
        fn.set(iw, m.i32.sub(m.i32.mul(fn.get(ow), fn.c32(g.sw)), fn.c32(g.pl))),
        ...taps(),
        fn.set(dst, m.i32.add(fn.get(dst), fn.c32(K * 4))),
      ]),
    ]),
  ]);
}

export const FUSED_CONV: Readonly<Record<string, KernelGen>> = withDTypes(['float32'], { 'onnxc.FusedConv': fusedConv });
