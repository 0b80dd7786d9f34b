// ConvTranspose on the SIMD GEMM core (float32, 1-D/2-D, constant weight), NCHW or channels-last, with the fused
// epilogue of onnxc.FusedConvTranspose. Per image and group: cols[HW, T*Mg] = Xᵀ[HW, Cg] · W'[Cg, T*Mg] (T kernel
// taps, W' packed at compile time), then a gather ("col2im" run output-first, so every output is written once
// with bias, residual and activation in registers): output row o = r + s*i of phase r reads the taps k with
// (r + pad - k*d) divisible by s, at input row i + (r + pad - k*d)/s — a static list per phase. An out-of-range
// tap points at a row of zeros in scratch, so the inner loop over output channels (4 per f32x4) has no branch.

import { makeWindow } from '../../../ops/conv-window.js';
import { transposeAxis } from '../../../ops/conv-transpose.js';
import { makeTensor, type Tensor } from '../../../ir/tensor.js';
import type { Expr, Local } from '../fn.js';
import { LANES } from '../simd.js';
import { gemm, type VecEpilogue } from './gemm-core.js';
import { packPanels, panelable, panelSize } from './gemm-pack.js';
import { NR } from './gemm-plan.js';
import type { KernelContext, PlanContext } from './types.js';
import { attrInts, attrNum, attrStr, input, output } from './util.js';

type Ctx = Pick<PlanContext, 'inputs' | 'outputs' | 'attrs' | 'node' | 'site'>;

/** Sizes of one ConvTranspose node, 1-D read as 2-D with H = 1. */
export interface ConvTGeom {
  N: number; C: number; H: number; W: number; M: number; OH: number; OW: number; G: number; Cg: number; Mg: number;
  KH: number; KW: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number;
  /** Columns of the GEMM: taps x group output channels, tap-major. */
  cols: number;
  channelsLast: boolean;
}

/** Above this many output phases (sh*sw) the unrolled gather would be too much code: the scalar kernel runs. */
const MAX_PHASES = 64;

/** The geometry when the GEMM path handles the node (float32 X/W/Y, constant W, 1 or 2 spatial dims), else undefined. */
export function convTGeometry(ctx: Ctx, channelsLast: boolean): ConvTGeom | undefined {
  const x = ctx.inputs[0], w = ctx.inputs[1], y = ctx.outputs[0];
  if (!x || !w || !y || !w.constant) return undefined;
  if ([x, w, y, ctx.inputs[2], ctx.inputs[3]].some((t) => t !== undefined && t.dtype !== 'float32')) return undefined;
  const rank = x.dims.length - 2;
  if ((rank !== 1 && rank !== 2) || w.dims.length !== rank + 2) return undefined;
  const spatial = channelsLast ? x.dims.slice(1, -1) : x.dims.slice(2);
  const outSp = channelsLast ? y.dims.slice(1, -1) : y.dims.slice(2);
  const kernel = w.dims.slice(2);
  const win = makeWindow(kernel, { strides: attrInts(ctx, 'strides'), dilations: attrInts(ctx, 'dilations'), pads: attrInts(ctx, 'pads'), auto_pad: attrStr(ctx, 'auto_pad') });
  const tAttrs = { output_padding: attrInts(ctx, 'output_padding'), output_shape: attrInts(ctx, 'output_shape') };
  const pads = spatial.map((d, a) => transposeAxis(win, tAttrs, a, d, rank).padBegin);
  const two = (v: readonly number[], one: number): [number, number] => (rank === 1 ? [one, v[0]!] : [v[0]!, v[1]!]);
  const [H, W] = two(spatial, 1), [OH, OW] = two(outSp, 1), [KH, KW] = two(kernel, 1);
  const [sh, sw] = two(win.strides, 1), [dh, dw] = two(win.dilations, 1), [pt, pl] = two(pads, 0);
  if (Math.min(sh, OH) * Math.min(sw, OW) > MAX_PHASES) return undefined;
  const G = attrNum(ctx, 'group'), C = w.dims[0]!, Mg = w.dims[1]!;
  return {
    N: x.dims[0]!, C, H, W, M: Mg * G, OH, OW, G, Cg: C / G, Mg, KH, KW, sh, sw, dh, dw, pt, pl, cols: KH * KW * Mg, channelsLast,
  };
}

const panelsFor = (g: ConvTGeom): boolean => panelable(g.cols);
/** Floats of one group's packed weight. */
const groupFloats = (g: ConvTGeom): number => (panelsFor(g) ? panelSize(g.Cg, g.cols) : g.Cg * g.cols);
/** Bytes before the columns in scratch: a row of Mg zeros, 16-byte aligned. */
const zeroBytes = (g: ConvTGeom): number => Math.ceil(g.Mg / LANES) * 16;

export const convTScratch = (g: ConvTGeom): number => zeroBytes(g) + g.H * g.W * g.cols * 4;

/** W [C, Mg, KH, KW] as per group B[c, t*Mg + m] (in column panels when the width allows). */
export function convTPrepack(ctx: Ctx, g: ConvTGeom): Tensor[] {
  const src = input(ctx, 1).constant!.data as Float32Array, T = g.KH * g.KW;
  const b = new Float32Array(g.Cg * g.cols), per = groupFloats(g), out = new Float32Array(per * g.G);
  for (let gi = 0; gi < g.G; gi++) {
    for (let c = 0; c < g.Cg; c++) {
      for (let m = 0; m < g.Mg; m++) for (let t = 0; t < T; t++) b[c * g.cols + t * g.Mg + m] = src[((gi * g.Cg + c) * g.Mg + m) * T + t]!;
    }
    if (panelsFor(g)) packPanels(b, g.Cg, g.cols, g.cols, 1, 0, out, gi * per);
    else out.set(b, gi * per);
  }
  return [makeTensor('float32', [out.length], out)];
}

/** Taps along one axis reaching output phase r: kernel index and input offset q (input = i + q for output r + s*i). */
function phaseTaps(r: number, pad: number, K: number, d: number, s: number): { k: number; q: number }[] {
  const taps: { k: number; q: number }[] = [];
  for (let k = 0; k < K; k++) {
    const t = r + pad - k * d;
    if (((t % s) + s) % s === 0) taps.push({ k, q: t / s });
  }
  return taps;
}

/** Input rows [i0, i1) and the GEMM columns [c0, c1) their taps need: kernel rows kh whose output row
 *  i*sh - pt + kh*dh falls inside [0, OH) (a contiguous run of kh, so of tap-major columns). Rows with equal runs
 *  share one GEMM. The whole product in one segment unless every split column sits on a panel boundary. */
export function rowSegments(g: ConvTGeom): { i0: number; i1: number; c0: number; c1: number }[] {
  const whole = [{ i0: 0, i1: g.H, c0: 0, c1: g.cols }];
  const span = g.KW * g.Mg, segs: { i0: number; i1: number; c0: number; c1: number }[] = [];
  for (let i = 0; i < g.H; i++) {
    let lo = g.KH, hi = -1;
    for (let kh = 0; kh < g.KH; kh++) {
      const oh = i * g.sh - g.pt + kh * g.dh;
      if (oh >= 0 && oh < g.OH) { lo = Math.min(lo, kh); hi = kh; }
    }
    const c0 = hi < 0 ? 0 : lo * span, c1 = hi < 0 ? 0 : (hi + 1) * span;
    const last = segs[segs.length - 1];
    if (last && last.c0 === c0 && last.c1 === c1) last.i1 = i + 1;
    else segs.push({ i0: i, i1: i + 1, c0, c1 });
  }
  const aligned = (c: number): boolean => c % NR === 0 || c === g.cols;
  if (!panelsFor(g) || !segs.every((sg) => aligned(sg.c0) && aligned(sg.c1))) return whole;
  return segs.filter((sg) => sg.c1 > sg.c0);
}

export function emitConvTGemm(ctx: KernelContext, g: ConvTGeom, wBase: number, epilogue?: VecEpilogue): Expr {
  const { fn, m } = ctx, V = m.f32x4;
  // Fewer than 4 output channels per group (an image decoder's last layer, 16 -> 1): every output is a scalar tail,
  // where the activation would run on a whole vector per value. Then it runs once over Y afterwards, 4 at a time.
  const vectorChannels = g.Mg - (g.Mg % LANES) > 0;
  const act = vectorChannels ? epilogue : undefined, actAfter = vectorChannels ? undefined : epilogue;
  const x = input(ctx, 0), y = output(ctx), bias = ctx.inputs[2], z = ctx.inputs[3];
  if (y.size === 0) return m.nop();
  const HW = g.H * g.W, OHW = g.OH * g.OW, zeroAt = ctx.scratch.base, colsAt = ctx.scratch.base + zeroBytes(g);
  const n = fn.i32(), gi = fn.i32(), i = fn.i32(), j = fn.i32(), mb = fn.i32(), la = fn.i32(), lw = fn.i32();
  const yPix = fn.i32(), acc = fn.v128(), accS = fn.f32();
  const get = (l: Local) => (): Expr => fn.get(l);
  const c32 = (v: number): Expr => fn.c32(v);
  const add = (a: Expr, b: Expr): Expr => m.i32.add(a, b), mul = (a: Expr, k: number): Expr => (k === 1 ? a : m.i32.mul(a, c32(k)));

  // one GEMM per run of input rows whose taps reach the same output rows (rowSegments): a row at the top or bottom
  // edge skips the columns of the taps that land in the padding, which the gather never reads
  const product = fn.block(rowSegments(g).map((sg) => {
    const p0 = sg.i0 * g.W, rows = (sg.i1 - sg.i0) * g.W;
    return gemm(fn, {
      M: rows, N: sg.c1 - sg.c0, K: g.Cg,
      a: g.channelsLast ? { base: x.ptr.base + p0 * g.C * 4, dyn: la, rs: g.C, cs: 1 } : { base: x.ptr.base + p0 * 4, dyn: la, rs: 1, cs: HW },
      b: panelsFor(g)
        ? { base: wBase + (sg.c0 / NR) * NR * g.Cg * 4, dyn: lw, rs: g.cols, cs: 1, panels: true }
        : { base: wBase + sg.c0 * 4, dyn: lw, rs: g.cols, cs: 1 },
      c: { base: colsAt + (p0 * g.cols + sg.c0) * 4, rs: g.cols, cs: 1 },
    });
  }));

  // Y element (n, g*Mg + m, pixel): byte offset from y's base = yPix*4 + m*mStride*4, yPix holding the rest
  const mStride = g.channelsLast ? 1 : OHW;
  const yPixOf = (pix: Expr): Expr => (g.channelsLast
    ? add(mul(add(mul(fn.get(n), OHW), pix), g.M), mul(fn.get(gi), g.Mg))
    : add(mul(add(mul(fn.get(n), g.M), mul(fn.get(gi), g.Mg)), OHW), pix));

  /** The gather for one output phase (rh, rw): loops over i, j; `rowTaps`/`colTaps` the static taps. */
  const phase = (rh: number, rw: number): Expr => {
    const th = phaseTaps(rh, g.pt, g.KH, g.dh, g.sh), tw = phaseTaps(rw, g.pl, g.KW, g.dw, g.sw);
    const nI = Math.ceil((g.OH - rh) / g.sh), nJ = Math.ceil((g.OW - rw) / g.sw);
    const vh = th.map(() => fn.i32()), rowOff = th.map(() => fn.i32()), vw = tw.map(() => fn.i32()), colOff = tw.map(() => fn.i32());
    const ptr = th.flatMap(() => tw.map(() => fn.i32()));
    const T = th.length * tw.length;
    // byte address of column block (kh, kw) of input pixel (ih, iw), or the zero row when outside the input
    const setPtrs = (): Expr[] => th.flatMap((a, u) => tw.map((b, v) => fn.set(ptr[u * tw.length + v]!, m.select(
      m.i32.and(fn.get(vh[u]!), fn.get(vw[v]!)),
      add(add(fn.get(rowOff[u]!), fn.get(colOff[v]!)), c32(colsAt + (a.k * g.KW + b.k) * g.Mg * 4)), c32(zeroAt)))));
    const sumV = (): Expr[] => [
      fn.set(acc, bias ? m.v128.load(0, 4, add(fn.get(mb), add(mul(fn.get(gi), g.Mg * 4), c32(bias.ptr.base)))) : V.splat(fn.cf32(0))),
      ...ptr.map((p) => fn.set(acc, V.add(fn.get(acc), m.v128.load(0, 4, add(fn.get(p), fn.get(mb)))))),
    ];
    const yAddr = (): Expr => add(m.i32.shl(fn.get(yPix), c32(2)), m.i32.mul(fn.get(mb), c32(mStride)));
    const residualV = (): Expr => {
      if (!z) return fn.get(acc);
      if (mStride === 1) return V.add(fn.get(acc), m.v128.load(z.ptr.base, 4, yAddr()));
      let v = V.splat(m.f32.load(z.ptr.base, 4, yAddr()));
      for (let l = 1; l < LANES; l++) v = V.replace_lane(v, l, m.f32.load(z.ptr.base + l * OHW * 4, 4, yAddr()));
      return V.add(fn.get(acc), v);
    };
    const storeV = (): Expr[] => {
      const v = act ? act(fn, residualV()) : residualV();
      if (mStride === 1) return [m.v128.store(y.ptr.base, 4, yAddr(), v)];
      return [fn.set(acc, v), ...Array.from({ length: LANES }, (_, l) => m.f32.store(y.ptr.base + l * OHW * 4, 4, yAddr(), V.extract_lane(fn.get(acc), l)))];
    };
    const Mv = g.Mg - (g.Mg % LANES);
    const tail = (mt: number): Expr[] => {
      const off = (p: Local): Expr => add(fn.get(p), c32(mt * 4));
      const yOff = (): Expr => m.i32.shl(fn.get(yPix), c32(2));
      const at = y.ptr.base + mt * mStride * 4;
      let s: Expr = bias ? m.f32.load(0, 4, add(mul(fn.get(gi), g.Mg * 4), c32(bias.ptr.base + mt * 4))) : fn.cf32(0);
      const out: Expr[] = [fn.set(accS, s)];
      for (const p of ptr) out.push(fn.set(accS, m.f32.add(fn.get(accS), m.f32.load(0, 4, off(p)))));
      s = fn.get(accS);
      if (z) s = m.f32.add(s, m.f32.load(z.ptr.base + mt * mStride * 4, 4, yOff()));
      if (act) s = V.extract_lane(act(fn, V.splat(s)), 0);
      out.push(m.f32.store(at, 4, yOff(), s));
      return out;
    };
    return fn.loop(i, 0, nI, () => [
      ...th.flatMap((a, u) => [
        // ih = i + q: unsigned compare rejects negatives; row offset in bytes of the columns
        fn.set(vh[u]!, m.i32.lt_u(add(fn.get(i), c32(a.q)), c32(g.H))),
        fn.set(rowOff[u]!, mul(add(fn.get(i), c32(a.q)), g.W * g.cols * 4)),
      ]),
      fn.loop(j, 0, nJ, () => [
        ...tw.flatMap((b, v) => [
          fn.set(vw[v]!, m.i32.lt_u(add(fn.get(j), c32(b.q)), c32(g.W))),
          fn.set(colOff[v]!, mul(add(fn.get(j), c32(b.q)), g.cols * 4)),
        ]),
        ...(T > 0 ? setPtrs() : []),
        fn.set(yPix, yPixOf(add(mul(add(mul(get(i)(), g.sh), c32(rh)), g.OW), add(mul(fn.get(j), g.sw), c32(rw))))),
        fn.loop(mb, 0, Mv * 4, () => [...sumV(), ...storeV()], 16),
        ...Array.from({ length: g.Mg - Mv }, (_, u) => tail(Mv + u)).flat(),
      ]),
    ]);
  };

  const phases: Expr[] = [];
  for (let rh = 0; rh < Math.min(g.sh, g.OH); rh++) for (let rw = 0; rw < Math.min(g.sw, g.OW); rw++) phases.push(phase(rh, rw));
  const per = groupFloats(g) * 4;
  // the row out-of-range taps read (scratch is shared with other kernels, so it is zeroed on every run)
  const zero = m.memory.fill(c32(zeroAt), c32(0), c32(zeroBytes(g)));
  const after: Expr[] = [];
  if (actAfter) {
    const vecEnd = (y.size - (y.size % LANES)) * 4;
    after.push(fn.loop(i, 0, vecEnd, () => [m.v128.store(y.ptr.base, 4, fn.get(i), actAfter(fn, m.v128.load(y.ptr.base, 4, fn.get(i))))], 16));
    for (let e = y.size - (y.size % LANES); e < y.size; e++) {
      after.push(m.f32.store(y.ptr.base + e * 4, 4, c32(0), V.extract_lane(actAfter(fn, V.splat(m.f32.load(y.ptr.base + e * 4, 4, c32(0)))), 0)));
    }
  }
  return fn.block([zero, fn.loop(n, 0, g.N, () => [
    fn.loop(gi, 0, g.G, () => [
      fn.set(la, g.channelsLast ? add(mul(fn.get(n), HW * g.C * 4), mul(fn.get(gi), g.Cg * 4)) : mul(add(mul(fn.get(n), g.C), mul(fn.get(gi), g.Cg)), HW * 4)),
      fn.set(lw, mul(fn.get(gi), per)),
      product,
      ...phases,
    ]),
  ]), ...after]);
}
