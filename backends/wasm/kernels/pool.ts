// Pooling: MaxPool/AveragePool (1-D/2-D/3-D windows with pads, strides, dilations, ceil_mode via the output
// shape) as scalar loops with bounds checks, and GlobalAverage/GlobalMax pooling as SIMD row reductions. The
// channels-last forms (onnxc.NhwcMaxPool, ...) run 4 channels per f32x4, contiguous in memory.

import binaryen from '../binaryen.js';
import { makeWindow, windowAxis } from '../../../ops/conv-window.js';
import type { Expr, Fn, Local } from '../fn.js';
import { isRelaxed, vmax } from '../relaxed.js';
import { hmax, hsum, LANES, vectorLoop } from '../simd.js';
import type { KernelContext, KernelGen } from './types.js';
import { attrInts, attrNum, attrStr, input, output, prod, requireDType, unsupported, withDTypes } from './util.js';
import { windowRow, windowRows } from './window.js';

/** The window of a (channels-first or channels-last) pooling node, as 2-D sizes. */
function window(ctx: KernelContext, channelsLast: boolean) {
  const x = input(ctx, 0), y = output(ctx);
  const sp = x.dims.length - 2;
  if (sp !== 1 && sp !== 2) unsupported(ctx, `with ${sp} spatial dims (1 or 2 are handled)`);
  const spatial = (d: readonly number[]): readonly number[] => (channelsLast ? d.slice(1, -1) : d.slice(2));
  const win = makeWindow(attrInts(ctx, 'kernel_shape')!, {
    strides: attrInts(ctx, 'strides'), dilations: attrInts(ctx, 'dilations'), pads: attrInts(ctx, 'pads'),
    auto_pad: attrStr(ctx, 'auto_pad'), ceil_mode: attrNum(ctx, 'ceil_mode'),
  });
  const ax = spatial(x.dims).map((d, i) => windowAxis(win, i, d));
  const two = <T>(v: readonly T[], one: T): [T, T] => (sp === 1 ? [one, v[0]!] : [v[0]!, v[1]!]);
  const [H, W] = two(spatial(x.dims), 1), [OH, OW] = two(spatial(y.dims), 1);
  const [KH, KW] = two(win.kernel, 1), [sh, sw] = two(win.strides, 1), [dh, dw] = two(win.dilations, 1);
  const [pt, pl] = two(ax.map((a) => a.padBegin), 0), [pb, pr] = two(ax.map((a) => a.padEnd), 0);
  return { H, W, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr };
}

/** A running f32x4 max with strict wasm's answer (NaN if any input is NaN, -0 < +0) at about a third of
 *  f32x4.max's cost: V8 lowers f32x4.max to ~8 x86 instructions on one dependent chain, which made NHWC max
 *  pooling ten times slower than its loads. Here each value is mapped to an i32 that orders like the float
 *  (negative floats flip their magnitude bits), reduced with i32x4.max_s (one pmaxsd), mapped back at the end, and
 *  NaNs are tracked in a mask. A relaxed module takes relaxed_max, one maxps. */
function maxReducer(fn: Fn, acc: Local): { init: () => Expr[]; add: (v: Expr) => Expr[]; result: () => Expr } {
  const m = fn.m, I = m.i32x4;
  if (isRelaxed(fn)) {
    return { init: () => [fn.set(acc, m.f32x4.splat(fn.cf32(-Infinity)))], add: (v) => [fn.set(acc, vmax(fn, fn.get(acc), v))], result: () => fn.get(acc) };
  }
  const nan = fn.v128(), t = fn.v128();
  const key = (v: () => Expr): Expr => m.v128.xor(v(), m.v128.and(I.shr_s(v(), fn.c32(31)), I.splat(fn.c32(0x7fffffff))));
  return {
    // the key of -Infinity (0xff800000 ^ 0x7fffffff)
    init: () => [fn.set(acc, I.splat(fn.c32(0x807fffff | 0))), fn.set(nan, I.splat(fn.c32(0)))],
    add: (v) => [fn.set(t, v), fn.set(acc, I.max_s(fn.get(acc), key(() => fn.get(t)))), fn.set(nan, m.v128.or(fn.get(nan), m.f32x4.ne(fn.get(t), fn.get(t))))],
    result: () => m.v128.bitselect(m.f32x4.splat(fn.cf32(NaN)), key(() => fn.get(acc)), fn.get(nan)),
  };
}

/** NHWC Max/AveragePool, 4 channels at a time (the tail as lane 0 of the same formula). Border pixels count their
 *  valid taps (scalar) and test each tap; pixels whose window lies inside the image take every tap unrolled at a
 *  static offset, without tests (squeezenet1_1's 3x3/2 pools: most of their time went to the per-tap tests). */
function poolNhwc(kind: 'max' | 'avg'): KernelGen {
  return {
    emit(ctx: KernelContext) {
      const x = input(ctx, 0), y = output(ctx), fn = ctx.fn, m = ctx.m, V = m.f32x4;
      requireDType(ctx, x, ['float32']);
      if (ctx.outputs[1]) unsupported(ctx, 'with the Indices output');
      const w = window(ctx, true);
      const C = x.dims[x.dims.length - 1]!, N = x.dims[0]!;
      const includePad = kind === 'avg' && attrNum(ctx, 'count_include_pad') !== 0; // an AveragePool attribute
      const n = fn.i32(), oh = fn.i32(), ow = fn.i32(), kh = fn.i32(), kw = fn.i32(), ih = fn.i32(), iw = fn.i32(), c = fn.i32();
      const cnt = fn.i32(), py = fn.i32(), pxImg = fn.i32(), px = fn.i32(), pw = fn.i32(), acc = fn.v128(), inv = fn.v128();
      const ihE = (): Expr => m.i32.add(fn.get(ih), m.i32.mul(fn.get(kh), fn.c32(w.dh)));
      const iwE = (): Expr => m.i32.add(fn.get(iw), m.i32.mul(fn.get(kw), fn.c32(w.dw)));
      const inside = (): Expr => m.i32.and(m.i32.lt_u(ihE(), fn.c32(w.H)), m.i32.lt_u(iwE(), fn.c32(w.W)));
      const inPad = (): Expr => m.i32.and(m.i32.lt_s(ihE(), fn.c32(w.H + w.pb)), m.i32.lt_s(iwE(), fn.c32(w.W + w.pr)));
      // a function: each border loop gets its own copy of the expressions
      const counting = (): Expr[] => (kind === 'avg' ? [
        fn.set(cnt, fn.c32(0)),
        fn.loop(kh, 0, w.KH, () => [fn.loop(kw, 0, w.KW, () => [m.if(includePad ? inPad() : inside(), fn.set(cnt, m.i32.add(fn.get(cnt), fn.c32(1))))])]),
        fn.set(inv, V.splat(m.f32.convert_s.i32(fn.get(cnt)))),
      ] : []);
      const channels = (vec: boolean, checked: boolean): Expr[] => {
        const ld = (off: number, p: Expr): Expr => (vec ? m.v128.load(off, 4, p) : m.v128.load32_splat(off, 4, p));
        const cOff = (): Expr => m.i32.shl(fn.get(c), fn.c32(2));
        const xAddr = (): Expr => m.i32.add(m.i32.add(fn.get(pxImg), m.i32.mul(m.i32.add(m.i32.mul(ihE(), fn.c32(w.W)), iwE()), fn.c32(C * 4))), cOff());
        const red = kind === 'max' ? maxReducer(fn, acc) : undefined;
        const add = (t: Expr): Expr[] => (red ? red.add(t) : [fn.set(acc, V.add(fn.get(acc), t))]);
        const v = red ? red.result() : V.div(fn.get(acc), checked ? fn.get(inv) : V.splat(fn.cf32(w.KH * w.KW)));
        const dst = m.i32.add(fn.get(py), cOff());
        const taps: Expr[] = red ? red.init() : [fn.set(acc, V.splat(fn.cf32(0)))];
        if (checked) {
          taps.push(fn.loop(kh, 0, w.KH, () => [fn.loop(kw, 0, w.KW, () => [m.if(inside(), fn.block(add(ld(x.ptr.base, xAddr()))))])]));
        } else {
          // pw: byte offset of X[n, ih, iw, c], the window's top-left tap
          taps.push(fn.set(pw, m.i32.add(fn.get(px), cOff())));
          for (let a = 0; a < w.KH; a++) {
            for (let b = 0; b < w.KW; b++) taps.push(...add(ld(x.ptr.base + (a * w.dh * w.W + b * w.dw) * C * 4, fn.get(pw))));
          }
        }
        return [...taps, vec ? m.v128.store(y.ptr.base, 4, dst, v) : m.f32.store(y.ptr.base, 4, dst, V.extract_lane(v, 0))];
      };
      const full = C - (C % LANES);
      const pixel = (checked: boolean): Expr[] => [
        fn.set(iw, m.i32.sub(m.i32.mul(fn.get(ow), fn.c32(w.sw)), fn.c32(w.pl))),
        fn.set(py, m.i32.mul(m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(fn.get(n), fn.c32(w.OH)), fn.get(oh)), fn.c32(w.OW)), fn.get(ow)), fn.c32(C * 4))),
        ...(checked ? counting() : [fn.set(px, m.i32.add(fn.get(pxImg), m.i32.mul(m.i32.add(m.i32.mul(fn.get(ih), fn.c32(w.W)), fn.get(iw)), fn.c32(C * 4))))]),
        fn.loop(c, 0, full, () => channels(true, checked), LANES),
        fn.loop(c, full, C, () => channels(false, checked)),
      ];
      const row = windowRow(fn, w, oh, ow, ih, pixel);
      return fn.loop(n, 0, N, () => [
        fn.set(pxImg, m.i32.mul(fn.get(n), fn.c32(w.H * w.W * C * 4))),
        ...windowRows(fn, w, oh, row),
      ]);
    },
  };
}

/** NHWC global pooling: per image, 4 channels at a time summed (or maxed) over every pixel. */
function globalPoolNhwc(kind: 'max' | 'avg'): KernelGen {
  return {
    emit(ctx) {
      const x = input(ctx, 0), y = output(ctx), fn = ctx.fn, m = ctx.m, V = m.f32x4;
      requireDType(ctx, x, ['float32']);
      const N = x.dims[0]!, C = x.dims[x.dims.length - 1]!, L = prod(x.dims.slice(1, -1));
      const n = fn.i32(), c = fn.i32(), p = fn.i32(), px = fn.i32(), py = fn.i32();
      // Y's row is the accumulator (it stays in L1) and X is read once, pixel by pixel, in storage order: a channel
      // group walked down the pixels would touch one 16-byte vector per C*4-byte row (magika: 512 channels x 508).
      // Each channel still sums its pixels in order, as before.
      const full = C - (C % LANES);
      const step = (f: (v: Expr, q: Expr) => Expr, vec: boolean): Expr => {
        const at = (): Expr => m.i32.add(fn.get(py), m.i32.shl(fn.get(c), fn.c32(2)));
        const cur = vec ? m.v128.load(y.ptr.base, 4, at()) : m.v128.load32_splat(y.ptr.base, 4, at());
        const xv = (): Expr => m.i32.add(fn.get(px), m.i32.shl(fn.get(c), fn.c32(2)));
        const v = f(cur, xv());
        return vec ? m.v128.store(y.ptr.base, 4, at(), v) : m.f32.store(y.ptr.base, 4, at(), V.extract_lane(v, 0));
      };
      const channels = (f: (v: Expr, q: Expr) => Expr): Expr[] => [
        fn.loop(c, 0, full, () => [step(f, true)], LANES),
        fn.loop(c, full, C, () => [step(f, false)]),
      ];
      const ldx = (vec: boolean) => (q: Expr): Expr => (vec ? m.v128.load(x.ptr.base, 4, q) : m.v128.load32_splat(x.ptr.base, 4, q));
      const init = (): Expr[] => channels(() => V.splat(fn.cf32(kind === 'max' ? -Infinity : 0)));
      const accumulate = (): Expr[] => [
        fn.loop(c, 0, full, () => [step((v, q) => (kind === 'max' ? vmax(fn, v, ldx(true)(q)) : V.add(v, ldx(true)(q))), true)], LANES),
        fn.loop(c, full, C, () => [step((v, q) => (kind === 'max' ? vmax(fn, v, ldx(false)(q)) : V.add(v, ldx(false)(q))), false)]),
      ];
      const finish = kind === 'avg' ? channels((v) => V.div(v, V.splat(fn.cf32(L)))) : [];
      return fn.loop(n, 0, N, () => [
        fn.set(py, m.i32.mul(fn.get(n), fn.c32(C * 4))),
        ...init(),
        fn.set(px, m.i32.mul(fn.get(n), fn.c32(L * C * 4))),
        fn.loop(p, 0, L, () => [...accumulate(), fn.set(px, m.i32.add(fn.get(px), fn.c32(C * 4)))]),
        ...finish,
      ]);
    },
  };
}

/** Channels-first Max/AveragePool over 1-3 spatial axes, held as (D, H, W) with 1 for the missing leading axes; the
 *  depth loops are emitted only for 3-D windows, so 1-D/2-D code is as before. */
function pool(kind: 'max' | 'avg'): KernelGen {
  return {
    emit(ctx: KernelContext) {
      const x = input(ctx, 0), y = output(ctx), fn = ctx.fn, m = ctx.m;
      requireDType(ctx, x, ['float32']);
      if (ctx.outputs[1]) unsupported(ctx, 'with the Indices output');
      const sp = x.dims.length - 2;
      if (sp < 1 || sp > 3) unsupported(ctx, `with ${sp} spatial dims (1, 2 or 3 are handled)`);
      const win = makeWindow(attrInts(ctx, 'kernel_shape')!, {
        strides: attrInts(ctx, 'strides'), dilations: attrInts(ctx, 'dilations'), pads: attrInts(ctx, 'pads'),
        auto_pad: attrStr(ctx, 'auto_pad'), ceil_mode: attrNum(ctx, 'ceil_mode'),
      });
      const ax = x.dims.slice(2).map((d, i) => windowAxis(win, i, d));
      const three = <T>(v: readonly T[], one: T): [T, T, T] => [...Array<T>(3 - sp).fill(one), ...v.slice(0, sp)] as [T, T, T];
      const [D, H, W] = three(x.dims.slice(2), 1), [OD, OH, OW] = three(y.dims.slice(2), 1);
      const [KD, KH, KW] = three(win.kernel, 1), [sd, sh, sw] = three(win.strides, 1), [dd, dh, dw] = three(win.dilations, 1);
      const [pf, pt, pl] = three(ax.map((a) => a.padBegin), 0), [pk, pb, pr] = three(ax.map((a) => a.padEnd), 0);
      const deep = sp === 3;
      const includePad = kind === 'avg' && attrNum(ctx, 'count_include_pad') !== 0; // an AveragePool attribute
      const nc = fn.i32(), oh = fn.i32(), ow = fn.i32(), kh = fn.i32(), kw = fn.i32(), ih = fn.i32(), iw = fn.i32();
      const od = deep ? fn.i32() : undefined, kd = deep ? fn.i32() : undefined, id = deep ? fn.i32() : undefined;
      const acc = fn.f32(), cnt = fn.i32(), cntPad = fn.i32();
      const inside = (v: Local, n: number): Expr => m.i32.and(m.i32.ge_s(fn.get(v), fn.c32(0)), m.i32.lt_s(fn.get(v), fn.c32(n)));
      // (nc * D + id) * H + ih: the input row; 2-D windows have D = 1 and id = 0
      const plane = (): Expr => (id ? m.i32.add(m.i32.mul(fn.get(nc), fn.c32(D)), fn.get(id)) : fn.get(nc));
      const outPlane = (): Expr => (od ? m.i32.add(m.i32.mul(fn.get(nc), fn.c32(OD)), fn.get(od)) : fn.get(nc));
      const xv = (): Expr => fn.load('float32', { base: x.ptr.base, dyn: m.i32.shl(m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(plane(), fn.c32(H)), fn.get(ih)), fn.c32(W)), fn.get(iw)), fn.c32(2)) });
      const padOk = (): Expr => {
        const hw = m.i32.and(m.i32.lt_s(fn.get(ih), fn.c32(H + pb)), m.i32.lt_s(fn.get(iw), fn.c32(W + pr)));
        return id ? m.i32.and(m.i32.lt_s(fn.get(id), fn.c32(D + pk)), hw) : hw;
      };
      const valid = (): Expr => {
        const hw = m.i32.and(inside(ih, H), inside(iw, W));
        return id ? m.i32.and(inside(id, D), hw) : hw;
      };
      const inner = fn.loop(kw, 0, KW, () => [
        fn.set(iw, m.i32.add(m.i32.sub(m.i32.mul(fn.get(ow), fn.c32(sw)), fn.c32(pl)), m.i32.mul(fn.get(kw), fn.c32(dw)))),
        m.if(padOk(), fn.set(cntPad, m.i32.add(fn.get(cntPad), fn.c32(1)))),
        m.if(valid(), fn.block([
          fn.set(acc, kind === 'max' ? m.f32.max(fn.get(acc), xv()) : m.f32.add(fn.get(acc), xv())),
          fn.set(cnt, m.i32.add(fn.get(cnt), fn.c32(1))),
        ])),
      ]);
      const rows = fn.loop(kh, 0, KH, () => [fn.set(ih, m.i32.add(m.i32.sub(m.i32.mul(fn.get(oh), fn.c32(sh)), fn.c32(pt)), m.i32.mul(fn.get(kh), fn.c32(dh)))), inner]);
      const taps = od && kd && id
        ? fn.loop(kd, 0, KD, () => [fn.set(id, m.i32.add(m.i32.sub(m.i32.mul(fn.get(od), fn.c32(sd)), fn.c32(pf)), m.i32.mul(fn.get(kd), fn.c32(dd)))), rows])
        : rows;
      const result = kind === 'max' ? fn.get(acc) : m.f32.div(fn.get(acc), m.f32.convert_s.i32(fn.get(includePad ? cntPad : cnt)));
      const image = (): Expr => fn.loop(oh, 0, OH, () => [
        fn.loop(ow, 0, OW, () => [
          fn.set(acc, fn.cf32(kind === 'max' ? -Infinity : 0)), fn.set(cnt, fn.c32(0)), fn.set(cntPad, fn.c32(0)),
          taps,
          fn.store('float32', { base: y.ptr.base, dyn: m.i32.shl(m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(outPlane(), fn.c32(OH)), fn.get(oh)), fn.c32(OW)), fn.get(ow)), fn.c32(2)) }, result),
        ]),
      ]);
      return fn.loop(nc, 0, prod(x.dims.slice(0, 2)), () => [od ? fn.loop(od, 0, OD, () => [image()]) : image()]);
    },
  };
}

function globalPool(kind: 'max' | 'avg'): KernelGen {
  return {
    emit(ctx) {
      const x = input(ctx, 0), y = output(ctx), fn = ctx.fn, m = ctx.m, V = m.f32x4;
      requireDType(ctx, x, ['float32']);
      const rows = prod(x.dims.slice(0, 2)), L = prod(x.dims.slice(2));
      const r = fn.i32(), i = fn.i32(), base = fn.i32(), acc = fn.v128(), s = fn.f32();
      const at = (): Expr => m.i32.shl(m.i32.add(fn.get(base), fn.get(i)), fn.c32(2));
      const combineV = (a: Expr, b: Expr): Expr => (kind === 'max' ? vmax(fn, a, b) : V.add(a, b));
      const combineS = (a: Expr, b: Expr): Expr => (kind === 'max' ? m.f32.max(a, b) : m.f32.add(a, b));
      const init = kind === 'max' ? -Infinity : 0;
      return fn.loop(r, 0, rows, (rv) => [
        fn.set(base, m.i32.mul(rv(), fn.c32(L))),
        fn.set(acc, V.splat(fn.cf32(init))),
        vectorLoop(fn, i, {
          n: L,
          vector: () => [fn.set(acc, combineV(fn.get(acc), fn.loadV({ base: x.ptr.base, dyn: at() })))],
          scalar: () => [fn.set(acc, m.f32x4.replace_lane(fn.get(acc), 0, combineS(m.f32x4.extract_lane(fn.get(acc), 0), fn.load('float32', { base: x.ptr.base, dyn: at() }))))],
        }),
        fn.set(s, kind === 'max' ? hmax(fn, acc) : m.f32.div(hsum(fn, acc), fn.cf32(L))),
        fn.store('float32', { base: y.ptr.base, dyn: m.i32.shl(fn.get(r), fn.c32(2)) }, fn.get(s)),
      ]);
    },
  };
}

export const POOL: Readonly<Record<string, KernelGen>> = withDTypes(['float32'], {
  MaxPool: pool('max'), AveragePool: pool('avg'), GlobalAveragePool: globalPool('avg'), GlobalMaxPool: globalPool('max'),
  'onnxc.NhwcMaxPool': poolNhwc('max'), 'onnxc.NhwcAveragePool': poolNhwc('avg'),
  'onnxc.NhwcGlobalAveragePool': globalPoolNhwc('avg'), 'onnxc.NhwcGlobalMaxPool': globalPoolNhwc('max'),});
void binaryen;
