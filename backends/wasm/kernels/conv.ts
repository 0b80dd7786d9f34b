// Conv (1-D and 2-D, groups, strides, dilations, pads, auto_pad) in NCHW as im2col into scratch + the gemm core,
// per image and group. A 1x1/stride-1/unpadded conv reads its input directly as the column matrix. The same
// emitter serves onnxc.FusedConv in NCHW (weights pre-packed to OIHW, residual and activation in the epilogue).

import { makeWindow, windowAxis } from '../../../ops/conv-window.js';
import type { Expr } from '../fn.js';
import { broadcastStrides } from '../layout.js';
import { gemm, type MatOperand, type VecEpilogue } from './gemm-core.js';
import type { Refusal } from '../../../lowering/protocol.js';
import type { KernelContext, KernelGen, PlanContext, TensorRef } from './types.js';
import { attrInts, attrNum, attrStr, input, output, requireDType, unsupported, withDTypes } from './util.js';

export interface ConvGeom {
  N: number; C: number; H: number; W: number; OC: number; OH: number; OW: number; G: number;
  KH: number; KW: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number;
  direct: boolean;
}

/** Sizes of a conv node; `channelsLast`: X and Y are N,spatial...,C. The weight's dims are not read (its layout
 *  may be packed), so the kernel comes from kernel_shape or the standard-layout dims the caller gives. */
export function geometry(ctx: Pick<KernelContext, 'inputs' | 'outputs' | 'attrs' | 'node' | 'site'>, channelsLast = false, wSpatial?: readonly number[]): ConvGeom {
  const x = input(ctx, 0), w = input(ctx, 1), y = output(ctx);
  const sp = x.dims.length - 2;
  if (sp !== 1 && sp !== 2) unsupported(ctx, `with ${sp} spatial dims (1 or 2 are handled)`);
  const spatial = (d: readonly number[]): readonly number[] => (channelsLast ? d.slice(1, -1) : d.slice(2));
  const chans = (d: readonly number[]): number => (channelsLast ? d[d.length - 1]! : d[1]!);
  const kernel = attrInts(ctx, 'kernel_shape') ?? wSpatial ?? w.dims.slice(2);
  const win = makeWindow(kernel, {
    strides: attrInts(ctx, 'strides'), dilations: attrInts(ctx, 'dilations'), pads: attrInts(ctx, 'pads'), auto_pad: attrStr(ctx, 'auto_pad'),
  });
  const two = <T>(v: readonly T[], one: T): [T, T] => (sp === 1 ? [one, v[0]!] : [v[0]!, v[1]!]);
  const ax = spatial(x.dims).map((d, i) => windowAxis(win, i, d));
  const [H, W] = two(spatial(x.dims), 1), [OH, OW] = two(spatial(y.dims), 1);
  const [KH, KW] = two(win.kernel, 1), [sh, sw] = two(win.strides, 1), [dh, dw] = two(win.dilations, 1);
  const [pt, pl] = two(ax.map((a) => a.padBegin), 0);
  const G = attrNum(ctx, 'group');
  const direct = KH === 1 && KW === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && OH === H && OW === W;
  return { N: x.dims[0]!, C: chans(x.dims), H, W, OC: chans(y.dims), OH, OW, G, KH, KW, sh, sw, dh, dw, pt, pl, direct };
}

/** What a fused conv adds after the product: a residual Z (broadcast into Y) and an activation. */
export interface ConvEpilogue {
  readonly residual?: TensorRef;
  readonly act?: VecEpilogue;
}

/** Element strides of Z read as Y (both in Y's storage order); the two spatial axes merged into one pixel axis,
 *  or undefined when they do not merge (a Z broadcast along one spatial axis only). */
export function residualStrides(z: TensorRef, yDims: readonly number[], channelsLast: boolean): { n: number; c: number; p: number } | undefined {
  const s = broadcastStrides(z.dims, yDims);
  const r = yDims.length;
  const cAxis = channelsLast ? r - 1 : 1;
  const sp = channelsLast ? [1, r - 2] : [2, r - 1];
  const axes = Array.from({ length: sp[1]! - sp[0]! + 1 }, (_, i) => sp[0]! + i).filter((a) => yDims[a] !== 1);
  let p = 0;
  if (axes.length === 1) p = s[axes[0]!]!;
  else if (axes.length === 2) {
    const [a0, a1] = axes as [number, number];
    if (s[a0] !== s[a1]! * yDims[a1]!) return undefined;
    p = s[a1]!;
  }
  return { n: s[0]!, c: s[cAxis]!, p };
}

/** Valid range [lo, hi) of output positions o whose input position o*s - p + k*d lies in [0, n). */
function validRange(out: number, n: number, s: number, p: number, kd: number): [number, number] {
  let lo = 0;
  while (lo < out && lo * s - p + kd < 0) lo++;
  let hi = out;
  while (hi > lo && (hi - 1) * s - p + kd >= n) hi--;
  return [lo, hi];
}

/** Scratch bytes of the NCHW emitter (im2col of one image and group). */
export const nchwScratch = (g: ConvGeom): number => (g.direct ? 0 : (g.C / g.G) * g.KH * g.KW * g.OH * g.OW * 4);

/** The NCHW conv of `ctx` with OIHW weights at `wBase` and an optional epilogue. */
export function emitConvNchw(ctx: KernelContext, g: ConvGeom, wBase: number, epi: ConvEpilogue = {}): Expr {
    const x = input(ctx, 0), y = output(ctx), b = ctx.inputs[2], fn = ctx.fn, m = ctx.m;
    for (const t of [x, y]) requireDType(ctx, t, ['float32']);
    const Cg = g.C / g.G, OCg = g.OC / g.G, K = Cg * g.KH * g.KW, P = g.OH * g.OW;
    if (y.size === 0) return m.nop();
    const n = fn.i32(), gi = fn.i32(), c = fn.i32(), oh = fn.i32(), ow = fn.i32();
    const xOff = fn.i32(), la = fn.i32(), lb = fn.i32(), lc = fn.i32(), lbias = fn.i32(), lres = fn.i32();
    const z = epi.residual;
    const zs = z ? residualStrides(z, y.dims, false) : undefined;
    if (z && !zs) unsupported(ctx, `with residual [${z.dims.join(',')}] broadcast along one spatial axis`);
    const residual: MatOperand | undefined = z && zs ? { base: z.ptr.base, dyn: lres, rs: zs.c, cs: zs.p } : undefined;
    const col = ctx.scratch;
    const im2col = (): Expr => {
      if (g.direct) return fn.set(lb, m.i32.add(m.i32.shl(fn.get(xOff), fn.c32(2)), fn.c32(x.ptr.base)));
      const parts: Expr[] = [fn.set(lb, fn.c32(col.base))];
      const taps: Expr[] = [];
      for (let kh = 0; kh < g.KH; kh++) {
        for (let kw = 0; kw < g.KW; kw++) {
          const [h0, h1] = validRange(g.OH, g.H, g.sh, g.pt, kh * g.dh);
          const [w0, w1] = validRange(g.OW, g.W, g.sw, g.pl, kw * g.dw);
          // element index of col[(c*KH + kh)*KW + kw, oh*OW + ow]
          const rowStart = (): Expr => m.i32.mul(m.i32.add(m.i32.mul(fn.get(c), fn.c32(g.KH * g.KW)), fn.c32(kh * g.KW + kw)), fn.c32(P));
          const colByte = (ohE: () => Expr, owN: number): Expr => m.i32.add(fn.c32(col.base), m.i32.shl(m.i32.add(rowStart(), m.i32.add(m.i32.mul(ohE(), fn.c32(g.OW)), fn.c32(owN))), fn.c32(2)));
          const zero = (ohE: () => Expr, from: number, to: number): Expr => (to > from ? m.memory.fill(colByte(ohE, from), fn.c32(0), fn.c32((to - from) * 4)) : m.nop());
          // input element (c, ih, iw) with ih = oh*sh - pt + kh*dh
          const inIdx = (owE: () => Expr): Expr => m.i32.add(fn.get(xOff), m.i32.add(
            m.i32.mul(fn.get(c), fn.c32(g.H * g.W)),
            m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(fn.get(oh), fn.c32(g.sh)), fn.c32(kh * g.dh - g.pt)), fn.c32(g.W)),
              m.i32.add(m.i32.mul(owE(), fn.c32(g.sw)), fn.c32(kw * g.dw - g.pl)))));
          const rowBody = (): Expr[] => {
            const body: Expr[] = [zero(() => fn.get(oh), 0, w0), zero(() => fn.get(oh), w1, g.OW)];
            if (w1 > w0) {
              if (g.sw === 1) {
                body.push(m.memory.copy(colByte(() => fn.get(oh), w0), m.i32.add(fn.c32(x.ptr.base), m.i32.shl(inIdx(() => fn.c32(w0)), fn.c32(2))), fn.c32((w1 - w0) * 4)));
              } else {
                body.push(fn.loop(ow, w0, w1, () => [m.f32.store(0, 4,
                  m.i32.add(fn.c32(col.base), m.i32.shl(m.i32.add(rowStart(), m.i32.add(m.i32.mul(fn.get(oh), fn.c32(g.OW)), fn.get(ow))), fn.c32(2))),
                  fn.load('float32', { base: x.ptr.base, dyn: m.i32.shl(inIdx(() => fn.get(ow)), fn.c32(2)) }))]));
              }
            }
            return body;
          };
          taps.push(fn.loop(oh, 0, h0, () => [zero(() => fn.get(oh), 0, g.OW)]));
          taps.push(fn.loop(oh, h0, h1, rowBody));
          taps.push(fn.loop(oh, h1, g.OH, () => [zero(() => fn.get(oh), 0, g.OW)]));
        }
      }
      parts.push(fn.loop(c, 0, Cg, () => taps));
      return fn.block(parts);
    };
    return fn.loop(n, 0, g.N, () => [
      fn.loop(gi, 0, g.G, () => [
        // element offset of x[n, gi*Cg]
        fn.set(xOff, m.i32.mul(m.i32.add(m.i32.mul(fn.get(n), fn.c32(g.C)), m.i32.mul(fn.get(gi), fn.c32(Cg))), fn.c32(g.H * g.W))),
        im2col(),
        fn.set(la, m.i32.mul(fn.get(gi), fn.c32(OCg * K * 4))),
        fn.set(lc, m.i32.mul(m.i32.add(m.i32.mul(fn.get(n), fn.c32(g.OC)), m.i32.mul(fn.get(gi), fn.c32(OCg))), fn.c32(P * 4))),
        fn.set(lbias, m.i32.mul(fn.get(gi), fn.c32(OCg * 4))),
        ...(zs ? [fn.set(lres, m.i32.add(m.i32.mul(fn.get(n), fn.c32(zs.n * 4)), m.i32.mul(fn.get(gi), fn.c32(OCg * zs.c * 4))))] : []),
        gemm(fn, {
          M: OCg, N: P, K,
          a: { base: wBase, dyn: la, rs: K, cs: 1 },
          b: { base: 0, dyn: lb, rs: P, cs: 1 },
          c: { base: y.ptr.base, dyn: lc, rs: P, cs: 1 },
          bias: b ? { base: b.ptr.base, dyn: lbias, rs: 1, cs: 0 } : undefined,
          residual, act: epi.act,
        }),
      ]),
    ]);
}

/** 3-D Convs (5-D inputs) are refused as a form, so the decompose pass rewrites them as 2-D Convs over depth
 *  (ops/decompose/conv3d.ts; a FusedConv is first split into its Conv and epilogue). */
export function refuse3d(ctx: PlanContext): Refusal | undefined {
  return (ctx.inputs[0]?.dims.length ?? 0) === 5 ? { reason: 'form', detail: '3 spatial dims (1 or 2 are handled)' } : undefined;
}

const conv: KernelGen = {
  refuse: refuse3d,
  scratch: (ctx: PlanContext) => nchwScratch(geometry(ctx)),
  emit(ctx) {
    const w = input(ctx, 1);
    requireDType(ctx, w, ['float32']);
    return emitConvNchw(ctx, geometry(ctx), w.ptr.base);
  },
};

export const CONV: Readonly<Record<string, KernelGen>> = withDTypes(['float32'], { Conv: conv });
