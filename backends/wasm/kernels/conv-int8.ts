// Integer convolutions, any form: ConvInteger (int32 out), QLinearConv and onnxc.QConv (requantised, NCHW or
// channels-last), with scales, zero points and bias read at run time. Scalar loops with exactly the reference's
// arithmetic (int32 sum, f64 product with the f32 multiplier x_scale * w_scale / y_scale, round half to even,
// saturation). onnxc.QConv with constant int8 weights takes the SIMD paths of conv-int8-simd.ts instead.

import type { Expr } from '../fn.js';
import { geometry, type ConvGeom } from './conv.js';
import { f64c, ld, ldF, ldI } from './scalar.js';
import type { KernelContext, KernelGen, PlanContext, TensorRef } from './types.js';
import { input, output } from './util.js';

/** Where each operand sits among a node's inputs. */
export interface QOperands { readonly x: number; readonly w: number; readonly xz?: number; readonly wz?: number; readonly xs?: number; readonly ws?: number; readonly ys?: number; readonly yz?: number; readonly b?: number }
export const CONV_INTEGER: QOperands = { x: 0, w: 1, xz: 2, wz: 3 };
export const QLINEAR: QOperands = { x: 0, xs: 1, xz: 2, w: 3, ws: 4, wz: 5, ys: 6, yz: 7, b: 8 };

type Ctx = Pick<PlanContext, 'inputs' | 'outputs' | 'attrs' | 'node' | 'site'>;

/** An attribute only onnxc.QConv has (QLinearConv and ConvInteger lack it), or undefined. */
const own = (ctx: Ctx, name: string): number | undefined => { const v = ctx.attrs[name]; return typeof v === 'number' ? v : undefined; };

export const channelsLast = (ctx: Ctx): boolean => own(ctx, 'channels_last') === 1;

/** The conv's geometry (W is OIHW for every integer conv). */
export function qgeometry(ctx: Ctx, ops: QOperands): ConvGeom {
  return geometry(ctx, channelsLast(ctx), input(ctx, ops.w).dims.slice(2));
}

/** The output clamp of onnxc.QConv (its fused Relu/Clip), within the output type's range. */
export function qclamp(ctx: Ctx, dtype: string): [number, number] {
  const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
  return [Math.max(lo, own(ctx, 'qmin') ?? lo), Math.min(hi, own(ctx, 'qmax') ?? hi)];
}

function emitScalar(ctx: KernelContext, ops: QOperands): Expr {
  const { fn, m } = ctx;
  const g = qgeometry(ctx, ops), cl = channelsLast(ctx);
  const x = input(ctx, ops.x), w = input(ctx, ops.w), y = output(ctx);
  const opt = (i: number | undefined): TensorRef | undefined => (i === undefined ? undefined : ctx.inputs[i]);
  const xz = opt(ops.xz), wz = opt(ops.wz), xs = opt(ops.xs), ws = opt(ops.ws), ys = opt(ops.ys), yz = opt(ops.yz), b = opt(ops.b);
  const Cg = g.C / g.G, OCg = g.OC / g.G;
  const n = fn.i32(), oc = fn.i32(), oh = fn.i32(), ow = fn.i32(), c = fn.i32(), kh = fn.i32(), kw = fn.i32();
  const ih = fn.i32(), iw = fn.i32(), acc = fn.i32(), zx = fn.i32(), zw = fn.i32(), c0 = fn.i32(), mult = fn.forType('f64'), q = fn.forType('f64');
  const G = (l: typeof n) => fn.get(l);
  const c32 = (v: number): Expr => fn.c32(v);
  const add = (...e: Expr[]): Expr => e.reduce((p, v) => m.i32.add(p, v));
  const mul = (a: Expr, k: number): Expr => (k === 1 ? a : m.i32.mul(a, c32(k)));
  // element indices of X[n, c, ih, iw] and Y[n, oc, oh, ow] in the stored layout
  const xIdx = (): Expr => (cl
    ? add(mul(G(n), g.H * g.W * g.C), mul(G(ih), g.W * g.C), mul(G(iw), g.C), G(c))
    : add(mul(G(n), g.C * g.H * g.W), mul(G(c), g.H * g.W), mul(G(ih), g.W), G(iw)));
  const yIdx = (): Expr => (cl
    ? add(mul(G(n), g.OH * g.OW * g.OC), mul(G(oh), g.OW * g.OC), mul(G(ow), g.OC), G(oc))
    : add(mul(G(n), g.OC * g.OH * g.OW), mul(G(oc), g.OH * g.OW), mul(G(oh), g.OW), G(ow)));
  const wIdx = (): Expr => add(mul(G(oc), Cg * g.KH * g.KW), mul(m.i32.sub(G(c), G(c0)), g.KH * g.KW), mul(G(kh), g.KW), G(kw));
  const perOc = (t: TensorRef): Expr => (t.size === 1 ? c32(0) : G(oc));
  const requant = (): Expr[] => {
    if (!ys || !yz) return [fn.store('int32', fn.elem(y.ptr, yIdx(), 4), G(acc))];
    const [lo, hi] = qclamp(ctx, y.dtype);
    return [
      // the multiplier rounds to float32 as the reference's does; the product is formed in f64, then float32
      fn.set(mult, m.f64.promote(m.f32.demote(m.f64.div(m.f64.mul(ldF(fn, xs!, c32(0)), ldF(fn, ws!, perOc(ws!))), ldF(fn, ys, c32(0)))))),
      fn.set(q, m.f64.promote(m.f32.demote(m.f64.mul(m.f64.convert_s.i32(add(G(acc), b ? ldI(fn, b, G(oc)) : c32(0))), G(mult))))),
      fn.set(q, m.f64.add(m.f64.nearest(G(q)), m.f64.convert_s.i32(ldI(fn, yz, c32(0))))),
      fn.store(y.dtype, fn.elem(y.ptr, yIdx(), 1), m.i32.trunc_s_sat.f64(m.f64.min(m.f64.max(G(q), f64c(fn, lo)), f64c(fn, hi)))),
    ];
  };
  const tap = (): Expr[] => [
    fn.set(ih, add(mul(G(oh), g.sh), mul(G(kh), g.dh), c32(-g.pt))),
    fn.set(iw, add(mul(G(ow), g.sw), mul(G(kw), g.dw), c32(-g.pl))),
    // padding holds the zero point: it adds nothing
    m.if(m.i32.and(m.i32.lt_u(G(ih), c32(g.H)), m.i32.lt_u(G(iw), c32(g.W))),
      fn.set(acc, add(G(acc), m.i32.mul(m.i32.sub(ld(fn, x, xIdx()), G(zx)), m.i32.sub(ld(fn, w, wIdx()), G(zw)))))),
  ];
  return fn.block([
    fn.set(zx, xz ? ldI(fn, xz, c32(0)) : c32(0)),
    fn.loop(n, 0, g.N, () => [
      fn.loop(oc, 0, g.OC, () => [
        fn.set(zw, wz ? ldI(fn, wz, perOc(wz)) : c32(0)),
        fn.set(c0, mul(m.i32.div_u(G(oc), c32(OCg)), Cg)),
        fn.loop(oh, 0, g.OH, () => [
          fn.loop(ow, 0, g.OW, () => [
            fn.set(acc, c32(0)),
            fn.loop(c, 0, Cg, () => [
              fn.set(c, add(G(c), G(c0))),
              fn.loop(kh, 0, g.KH, () => [fn.loop(kw, 0, g.KW, tap)]),
              fn.set(c, m.i32.sub(G(c), G(c0))),
            ]),
            ...requant(),
          ]),
        ]),
      ]),
    ]),
  ]);
}

/** The scalar kernel of an integer conv whose operands sit at `ops`. */
export const scalarConvInt = (ops: QOperands): KernelGen => ({
  emit: (ctx) => (output(ctx).size === 0 ? ctx.m.nop() : emitScalar(ctx, ops)),
});

export const CONV_INT8: Readonly<Record<string, KernelGen>> = {
  ConvInteger: scalarConvInt(CONV_INTEGER),
  QLinearConv: scalarConvInt(QLINEAR),
};
