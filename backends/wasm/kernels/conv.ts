// Conv (1-D and 2-D, groups, strides, dilations, pads, auto_pad) as im2col into scratch + the gemm core,
// per image and group. A 1x1/stride-1/unpadded conv reads its input directly as the column matrix.

import { makeWindow, windowAxis } from '../../../ops/conv-window.js';
import type { Expr } from '../fn.js';
import { gemm } from './gemm-core.js';
import type { KernelContext, KernelGen } from './types.js';
import { attrInts, attrNum, attrStr, input, output, requireDType, unsupported } from './util.js';

interface ConvGeom {
  N: number; C: number; H: number; W: number; OC: number; OH: number; OW: number; G: number;
  KH: number; KW: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number;
  direct: boolean;
}

function geometry(ctx: Pick<KernelContext, 'inputs' | 'outputs' | 'attrs' | 'node' | 'site'>): ConvGeom {
  const x = input(ctx, 0), w = input(ctx, 1), y = output(ctx);
  const sp = x.dims.length - 2;
  if (sp !== 1 && sp !== 2) unsupported(ctx, `with ${sp} spatial dims (1 or 2 are handled)`);
  const kernel = attrInts(ctx, 'kernel_shape') ?? w.dims.slice(2);
  const win = makeWindow(kernel, {
    strides: attrInts(ctx, 'strides'), dilations: attrInts(ctx, 'dilations'), pads: attrInts(ctx, 'pads'), auto_pad: attrStr(ctx, 'auto_pad', 'NOTSET'),
  });
  const two = <T>(v: readonly T[], one: T): [T, T] => (sp === 1 ? [one, v[0]!] : [v[0]!, v[1]!]);
  const ax = x.dims.slice(2).map((d, i) => windowAxis(win, i, d));
  const [H, W] = two(x.dims.slice(2), 1), [OH, OW] = two(y.dims.slice(2), 1);
  const [KH, KW] = two(win.kernel, 1), [sh, sw] = two(win.strides, 1), [dh, dw] = two(win.dilations, 1);
  const [pt, pl] = two(ax.map((a) => a.padBegin), 0);
  const G = attrNum(ctx, 'group', 1);
  const direct = KH === 1 && KW === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && OH === H && OW === W;
  return { N: x.dims[0]!, C: x.dims[1]!, H, W, OC: y.dims[1]!, OH, OW, G, KH, KW, sh, sw, dh, dw, pt, pl, direct };
}

/** Valid range [lo, hi) of output positions o whose input position o*s - p + k*d lies in [0, n). */
function validRange(out: number, n: number, s: number, p: number, kd: number): [number, number] {
  let lo = 0;
  while (lo < out && lo * s - p + kd < 0) lo++;
  let hi = out;
  while (hi > lo && (hi - 1) * s - p + kd >= n) hi--;
  return [lo, hi];
}

const conv: KernelGen = {
  scratch(ctx) {
    const g = geometry(ctx);
    return g.direct ? 0 : (g.C / g.G) * g.KH * g.KW * g.OH * g.OW * 4;
  },
  emit(ctx) {
    const x = input(ctx, 0), w = input(ctx, 1), y = output(ctx), b = ctx.inputs[2], fn = ctx.fn, m = ctx.m;
    for (const t of [x, w, y]) requireDType(ctx, t, ['float32']);
    const g = geometry(ctx);
    const Cg = g.C / g.G, OCg = g.OC / g.G, K = Cg * g.KH * g.KW, P = g.OH * g.OW;
    if (y.size === 0) return m.nop();
    const n = fn.i32(), gi = fn.i32(), c = fn.i32(), oh = fn.i32(), ow = fn.i32();
    const xOff = fn.i32(), la = fn.i32(), lb = fn.i32(), lc = fn.i32(), lbias = fn.i32();
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
        gemm(fn, {
          M: OCg, N: P, K,
          a: { base: w.ptr.base, dyn: la, rs: K, cs: 1 },
          b: { base: 0, dyn: lb, rs: P, cs: 1 },
          c: { base: y.ptr.base, dyn: lc, rs: P, cs: 1 },
          bias: b ? { base: b.ptr.base, dyn: lbias, rs: 1, cs: 0 } : undefined,
        }),
      ]),
    ]);
  },
};

export const CONV: Readonly<Record<string, KernelGen>> = { Conv: conv };
