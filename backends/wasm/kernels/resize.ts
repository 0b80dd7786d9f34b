// Resize (and Upsample) with every geometry fixed at compile time: per changed axis, a table of input offsets
// and weights for each output index (the reference's own tap computation, ops/resize-core.ts), so the kernel is
// a loop nest that sums products of taps in f64 (nearest: one tap, a plain element move). Offset -1 marks a
// tf_crop_and_resize position outside the roi (extrapolation_value). float32 resizes of the last two axes, or of
// the two before an unchanged last axis (channels last), with every tap inside the input (image upsampling) take
// the separable SIMD path of resize-simd.ts.

import { makeTensor, toNumbers, type Tensor } from '../../../ir/tensor.js';
import { changes, planResize, resizeAxes, resizeOptions, tapsFor, type ResizeAttrs, type ResizeOptions, type ResizePlan } from '../../../ops/resize-core.js';
import type { Expr } from '../fn.js';
import { elemBytes } from '../fn.js';
import { moveElem } from '../layout.js';
import type { KernelContext, KernelGen, PlanContext } from './types.js';
import { f64c, ldF, lin, stF } from './scalar.js';
import { input, output, strides, unsupported } from './util.js';
import { emitResizeSimd, resizeSimdPrepack, resizeSimdScratch, type AxisTaps, type ResizeSimd } from './resize-simd.js';

const nonEmpty = (ctx: PlanContext, i: number): number[] | undefined => {
  const t = ctx.inputs[i];
  if (!t || t.size === 0) return undefined;
  if (!t.constant) unsupported(ctx, `with a run-time input ${i}; it must be a constant`);
  return toNumbers(t.constant);
};

function setup(ctx: PlanContext, upsample: boolean): { o: ResizeOptions; plan: ResizePlan; axes: number[] } {
  const x = input(ctx, 0), rank = x.dims.length;
  if (upsample) {
    const scales = nonEmpty(ctx, 1)!;
    const mode = ctx.attrs['mode'] === 'bilinear' || ctx.attrs['mode'] === 'linear' ? 'linear' : String(ctx.attrs['mode'] ?? 'nearest');
    const o = resizeOptions({ antialias: 0, coordinate_transformation_mode: 'asymmetric', cubic_coeff_a: -0.75, exclude_outside: 0, extrapolation_value: 0,
      keep_aspect_ratio_policy: 'stretch', mode, nearest_mode: scales.some((s) => s < 1) ? 'ceil' : 'floor' });
    return { o, plan: planResize(x.dims, resizeAxes(undefined, rank), 'stretch', scales, undefined, undefined), axes: [] };
  }
  const o = resizeOptions(ctx.attrs as unknown as ResizeAttrs);
  const axes = resizeAxes(ctx.attrs['axes'] as number[] | undefined, rank);
  const roi = o.coord === 'tf_crop_and_resize' ? nonEmpty(ctx, 1) : undefined;
  return { o, plan: planResize(x.dims, axes, o.policy, nonEmpty(ctx, 2), nonEmpty(ctx, 3), roi), axes };
}

/** Changed axes and their tables: per output index, `n` (offset, weight) pairs. */
function tables(ctx: PlanContext, upsample: boolean): { axis: number; n: number; idx: Tensor; w: Tensor }[] {
  const x = input(ctx, 0), { o, plan } = setup(ctx, upsample), xs = strides(x.dims);
  const out: { axis: number; n: number; idx: Tensor; w: Tensor }[] = [];
  x.dims.forEach((d, a) => {
    if (!changes(o, plan, x.dims, a)) return;
    const taps = tapsFor(o, plan, a, d), L = plan.outDims[a]!;
    const n = taps.reduce((m, t) => Math.max(m, t.idx.length), 1); // no spread: 1e6 taps overflow the stack
    const idx = makeTensor('int32', [L * n]), w = makeTensor('float64', [L * n]);
    taps.forEach((t, q) => {
      for (let k = 0; k < n; k++) {
        idx.data[q * n + k] = t.extrapolate ? -1 : (t.idx[k] ?? 0) * xs[a]!;
        w.data[q * n + k] = t.w[k] ?? 0;
      }
    });
    out.push({ axis: a, n, idx, w });
  });
  return out;
}

/** The SIMD path's plan, or undefined when the node is not float32, changes an axis before the last two (or,
 *  channels last, before the two before the last), or has a tap outside the input (tf_crop_and_resize
 *  extrapolation). */
function simdPlan(ctx: PlanContext, upsample: boolean): ResizeSimd | undefined {
  const x = input(ctx, 0), y = output(ctx), rank = x.dims.length;
  if (x.dtype !== 'float32' || y.dtype !== 'float32' || x.size === 0 || rank === 0) return undefined;
  const { o, plan } = setup(ctx, upsample);
  const changed = x.dims.map((_, a) => changes(o, plan, x.dims, a));
  // channels last: the last axis kept, nothing before the two spatial axes before it changed (NHWC)
  const last = rank >= 3 && !changed[rank - 1] && x.dims[rank - 1]! > 1 && !changed.some((c, a) => c && a < rank - 3) ? 1 : 0;
  if (changed.some((c, a) => c && a < rank - 2 - last)) return undefined;
  let inside = true;
  const axis = (a: number): AxisTaps | undefined => {
    if (a < 0 || !changed[a]) return undefined;
    const taps = tapsFor(o, plan, a, x.dims[a]!);
    if (taps.some((t) => t.extrapolate)) inside = false;
    const n = taps.reduce((m, t) => Math.max(m, t.idx.length), 1); // no spread: 1e6 taps overflow the stack
    return { n, idx: taps.flatMap((t) => Array.from({ length: n }, (_, k) => t.idx[k] ?? 0)), w: taps.flatMap((t) => Array.from({ length: n }, (_, k) => t.w[k] ?? 0)) };
  };
  const sp = rank - last; // the spatial axes are sp - 2 and sp - 1
  const rows = axis(sp - 2), cols = axis(sp - 1);
  if (!inside) return undefined;
  const two = (d: readonly number[]): [number, number] => (sp === 1 ? [1, d[0]!] : [d[sp - 2]!, d[sp - 1]!]);
  const [H, W] = two(x.dims), [OH, OW] = two(y.dims);
  return {
    outer: x.dims.slice(0, Math.max(0, sp - 2)).reduce((p, d) => p * d, 1), H, W, OH, OW, rows, cols, nearest: o.mode === 'nearest',
    C: last ? x.dims[rank - 1]! : 1,
  };
}

function resizeKernel(upsample: boolean): KernelGen {
  return {
    unread: () => [1, 2, 3],
    prepack: (ctx) => { const r = simdPlan(ctx, upsample); return r ? resizeSimdPrepack(r) : tables(ctx, upsample).flatMap((t) => [t.idx, t.w]); },
    scratch: (ctx) => { const r = simdPlan(ctx, upsample); return r ? resizeSimdScratch(r) : 0; },
    emit(ctx: KernelContext) {
      const simd = simdPlan(ctx, upsample);
      if (simd) return emitResizeSimd(ctx, simd);
      const { fn, m } = ctx;
      const x = input(ctx, 0), y = output(ctx), { o } = setup(ctx, upsample), tabs = tables(ctx, upsample);
      if (y.size === 0) return m.nop();
      if (x.size === 0) unsupported(ctx, 'on an empty input');
      const rank = x.dims.length, xs = strides(x.dims), ys = strides(y.dims), eb = elemBytes(x.dtype);
      const nearest = o.mode === 'nearest';
      const oi = y.dims.map(() => fn.i32());
      const byAxis = new Map(tabs.map((t, k) => [t.axis, { ...t, ip: ctx.packed[2 * k]!.ptr, wp: ctx.packed[2 * k + 1]!.ptr, tap: fn.i32(), off: fn.i32() }]));
      const acc = fn.forType('f64'), ext = fn.i32(), wt = fn.forType('f64');
      const G = (l: typeof ext) => (): Expr => fn.get(l);
      const yAt = (): Expr => lin(fn, oi.map((l, a) => [G(l), ys[a]!] as const));
      const xOff = (): Expr => {
        const parts = oi.flatMap((l, a) => (byAxis.has(a) ? [] : [[G(l), xs[a]!] as const]));
        let e = lin(fn, parts);
        for (const t of byAxis.values()) e = m.i32.add(e, m.select(m.i32.lt_s(fn.get(t.off), fn.c32(0)), fn.c32(0), fn.get(t.off)));
        return e;
      };
      const tapList = [...byAxis.values()];
      const inner = (k: number): Expr[] => {
        if (k === tapList.length) {
          if (nearest) return [m.if(m.i32.eqz(fn.get(ext)), moveElem(fn, eb, fn.elem(y.ptr, yAt(), eb), fn.elem(x.ptr, xOff(), eb)))];
          const w = tapList.reduce<Expr>((p, t) => m.f64.mul(p, fn.load('float64', fn.elem(t.wp, lin(fn, [[G(oi[t.axis]!), t.n], [G(t.tap), 1]]), 8))), f64c(fn, 1));
          return [fn.set(wt, w), fn.set(acc, m.f64.add(fn.get(acc), m.f64.mul(fn.get(wt), ldF(fn, x, xOff()))))];
        }
        const t = tapList[k]!;
        return [fn.loop(t.tap, 0, t.n, () => [
          fn.set(t.off, fn.load('int32', fn.elem(t.ip, lin(fn, [[G(oi[t.axis]!), t.n], [G(t.tap), 1]]), 4))),
          fn.set(ext, m.i32.or(fn.get(ext), m.i32.lt_s(fn.get(t.off), fn.c32(0)))),
          ...inner(k + 1),
        ])];
      };
      const point = (): Expr[] => [
        fn.set(acc, f64c(fn, 0)), fn.set(ext, fn.c32(0)),
        ...inner(0),
        nearest ? m.if(fn.get(ext), stF(fn, y, yAt(), f64c(fn, o.extrapolation)))
          : stF(fn, y, yAt(), m.select(fn.get(ext), f64c(fn, o.extrapolation), fn.get(acc))),
      ];
      const loops = (a: number): Expr[] => (a === rank ? point() : [fn.loop(oi[a]!, 0, y.dims[a]!, () => loops(a + 1))]);
      return fn.block(loops(0));
    },
  };
}

export const RESIZE: Readonly<Record<string, KernelGen>> = { Resize: resizeKernel(false), Upsample: resizeKernel(true) };
