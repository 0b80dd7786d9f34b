// Resize/Upsample in float32 when only the two spatial axes change and no tap falls outside the input (image
// upsampling: nearest, linear, cubic, antialias): separable, per plane and output row. Spatial axes last (NCHW):
// the row axis mixes whole input rows (weights x rows, 4 columns per f32x4) into a row of scratch; the column axis
// is a gather of taps per output column from that row. Channels last (NHWC, as the layout pass leaves a detector's
// FPN upsampling), C > 1: a pixel is C contiguous floats, so rows are W*C floats and each output column sums its
// column taps' pixels 4 channels per f32x4. Nearest moves values (no arithmetic), as the scalar kernel does.

import { makeTensor, type Tensor } from '../../../ir/tensor.js';
import type { Expr } from '../fn.js';
import type { KernelContext } from './types.js';
import { output } from './util.js';

/** One changed axis: per output index, `n` taps (input index, weight); undefined weights for nearest. */
export interface AxisTaps { readonly n: number; readonly idx: readonly number[]; readonly w: readonly number[] }

export interface ResizeSimd {
  /** Planes (every axis before the last two), rows and columns in and out. */
  outer: number; H: number; W: number; OH: number; OW: number;
  rows?: AxisTaps; cols?: AxisTaps; nearest: boolean;
  /** Floats per pixel: 1 with the spatial axes last, the channels with them before the last axis. */
  C: number;
}

/** Tables as prepacked constants: per changed axis, byte offsets (int32) then weights (float32). */
export function resizeSimdPrepack(r: ResizeSimd): Tensor[] {
  const out: Tensor[] = [];
  const add = (t: AxisTaps | undefined, bytesPerIndex: number): void => {
    if (!t) return;
    out.push(makeTensor('int32', [t.idx.length], Int32Array.from(t.idx, (i) => i * bytesPerIndex)));
    out.push(makeTensor('float32', [t.w.length], Float32Array.from(t.w)));
  };
  add(r.rows, r.W * r.C * 4);
  add(r.cols, r.C * 4);
  return out;
}

/** Scratch: one mixed row (linear/cubic along the rows only). */
export const resizeSimdScratch = (r: ResizeSimd): number => (r.rows && !r.nearest ? Math.ceil((r.W * r.C) / 4) * 16 : 0);

export function emitResizeSimd(ctx: KernelContext, r: ResizeSimd): Expr {
  const { fn, m } = ctx, V = m.f32x4;
  const x = ctx.inputs[0]!, y = output(ctx);
  if (y.size === 0) return m.nop();
  let pk = 0;
  const rowT = r.rows ? { idx: ctx.packed[pk++]!.ptr.base, w: ctx.packed[pk++]!.ptr.base } : undefined;
  const colT = r.cols ? { idx: ctx.packed[pk++]!.ptr.base, w: ctx.packed[pk++]!.ptr.base } : undefined;
  const tmp = ctx.scratch.base;
  const p = fn.i32(), oh = fn.i32(), ow = fn.i32(), wb = fn.i32(), xPlane = fn.i32(), yRow = fn.i32(), row = fn.i32();
  const c32 = (v: number): Expr => fn.c32(v);
  const add = (a: Expr, b: Expr): Expr => m.i32.add(a, b);
  const nr = r.rows?.n ?? 0, nc = r.cols?.n ?? 0;
  const rOff = Array.from({ length: nr }, () => fn.i32()), rW = Array.from({ length: nr }, () => fn.f32());
  // a row: W pixels of C floats
  const RW = r.W * r.C, W4 = RW - (RW % 4);

  // `row`: byte address of the input row this output row reads (or of the mixed row in scratch); xPlane is
  // absolute too, the row taps' offsets relative to it
  const setRow = (): Expr[] => {
    if (!rowT) return [fn.set(row, add(fn.get(xPlane), m.i32.mul(fn.get(oh), c32(RW * 4))))];
    const at = (): Expr => m.i32.mul(fn.get(oh), c32(nr * 4));
    if (r.nearest) return [fn.set(row, add(fn.get(xPlane), m.i32.load(rowT.idx, 4, at())))];
    const loads: Expr[] = [];
    for (let k = 0; k < nr; k++) {
      loads.push(fn.set(rOff[k]!, add(fn.get(xPlane), m.i32.load(rowT.idx + 4 * k, 4, at()))));
      loads.push(fn.set(rW[k]!, m.f32.load(rowT.w + 4 * k, 4, at())));
    }
    const mixV = (): Expr => rOff.reduce<Expr>((s, o, k) => V.add(s, V.mul(V.splat(fn.get(rW[k]!)), m.v128.load(0, 4, add(fn.get(o), fn.get(wb))))), V.splat(fn.cf32(0)));
    const mixS = (col: number): Expr => rOff.reduce<Expr>((s, o, k) => m.f32.add(s, m.f32.mul(fn.get(rW[k]!), m.f32.load(col * 4, 4, fn.get(o)))), fn.cf32(0));
    return [
      ...loads,
      fn.loop(wb, 0, W4 * 4, () => [m.v128.store(tmp, 4, fn.get(wb), mixV())], 16),
      ...Array.from({ length: RW - W4 }, (_, u) => m.f32.store(tmp + (W4 + u) * 4, 4, c32(0), mixS(W4 + u))),
      fn.set(row, c32(tmp)),
    ];
  };
  // one output row from `row`
  const columns = (): Expr => {
    if (!colT) return m.memory.copy(add(fn.get(yRow), c32(y.ptr.base)), fn.get(row), c32(RW * 4));
    const at = (): Expr => m.i32.mul(fn.get(ow), c32(nc * 4));
    if (r.C > 1) return pixels(at);
    const tap = (k: number): Expr => m.f32.load(0, 4, add(fn.get(row), m.i32.load(colT.idx + 4 * k, 4, at())));
    let v: Expr;
    if (r.nearest) v = tap(0);
    else {
      v = m.f32.mul(m.f32.load(colT.w, 4, at()), tap(0));
      for (let k = 1; k < nc; k++) v = m.f32.add(v, m.f32.mul(m.f32.load(colT.w + 4 * k, 4, at()), tap(k)));
    }
    return fn.loop(ow, 0, r.OW, () => [m.f32.store(y.ptr.base, 4, add(fn.get(yRow), m.i32.shl(fn.get(ow), c32(2))), v)]);
  };
  // channels last: per output column, its taps' pixels (byte address of pixel k in tOff[k]) summed 4 channels at a
  // time, the C % 4 tail one float at a time; nearest copies the one tap's pixel
  const tOff = Array.from({ length: nc }, () => fn.i32()), tW = Array.from({ length: nc }, () => fn.f32()), cb = fn.i32(), yPix = fn.i32();
  const C4 = r.C - (r.C % 4);
  function pixels(at: () => Expr): Expr {
    const taps: Expr[] = [];
    for (let k = 0; k < nc; k++) {
      taps.push(fn.set(tOff[k]!, add(fn.get(row), m.i32.load(colT!.idx + 4 * k, 4, at()))));
      if (!r.nearest) taps.push(fn.set(tW[k]!, m.f32.load(colT!.w + 4 * k, 4, at())));
    }
    const vec = (): Expr => (r.nearest ? m.v128.load(0, 4, add(fn.get(tOff[0]!), fn.get(cb)))
      : tOff.slice(1).reduce<Expr>((s, o, k) => V.add(s, V.mul(V.splat(fn.get(tW[k + 1]!)), m.v128.load(0, 4, add(fn.get(o), fn.get(cb))))),
        V.mul(V.splat(fn.get(tW[0]!)), m.v128.load(0, 4, add(fn.get(tOff[0]!), fn.get(cb))))));
    const one = (c: number): Expr => (r.nearest ? m.f32.load(c * 4, 4, fn.get(tOff[0]!))
      : tOff.slice(1).reduce<Expr>((s, o, k) => m.f32.add(s, m.f32.mul(fn.get(tW[k + 1]!), m.f32.load(c * 4, 4, fn.get(o)))), m.f32.mul(fn.get(tW[0]!), m.f32.load(c * 4, 4, fn.get(tOff[0]!)))));
    return fn.loop(ow, 0, r.OW, () => [
      ...taps,
      fn.set(yPix, add(add(fn.get(yRow), m.i32.mul(fn.get(ow), c32(r.C * 4))), c32(y.ptr.base))),
      ...(C4 > 0 ? [fn.loop(cb, 0, C4 * 4, () => [m.v128.store(0, 4, add(fn.get(yPix), fn.get(cb)), vec())], 16)] : []),
      ...Array.from({ length: r.C - C4 }, (_, u) => m.f32.store((C4 + u) * 4, 4, fn.get(yPix), one(C4 + u))),
    ]);
  }
  return fn.loop(p, 0, r.outer, () => [
    fn.set(xPlane, add(m.i32.mul(fn.get(p), c32(r.H * RW * 4)), c32(x.ptr.base))),
    fn.loop(oh, 0, r.OH, () => [
      ...setRow(),
      fn.set(yRow, m.i32.mul(add(m.i32.mul(fn.get(p), c32(r.OH)), fn.get(oh)), c32(r.OW * r.C * 4))),
      columns(),
    ]),
  ]);
}
