// ConvTranspose, onnxc.FusedConvTranspose (bias + residual + activation) and onnxc.NhwcConvTranspose /
// onnxc.NhwcFusedConvTranspose (channels-last, made by layout-nhwc). float32 with a constant weight and 1-2 spatial dims run on the GEMM core
// (conv-transpose-gemm.ts); everything else (any rank, other dtypes, run-time weights) is the scatter the
// reference uses: the output starts as the bias, and every input element adds itself times each kernel tap at
// position in*stride - padBegin + k*dilation, in scalar loops. The fused and channels-last ops have no scalar
// form: they refuse the rest (KernelPlanning.refuse), so the driver decomposes them before lowering.

import { makeWindow } from '../../../ops/conv-window.js';
import { transposeAxis } from '../../../ops/conv-transpose.js';
import type { Expr } from '../fn.js';
import { convTGeometry, convTPrepack, convTScratch, emitConvTGemm } from './conv-transpose-gemm.js';
import { activationOf } from './fused-activation.js';
import type { KernelContext, KernelGen } from './types.js';
import { f64c, ldF, lin, stF } from './scalar.js';
import { attrInts, attrNum, attrStr, input, output, prod, strides, unsupported } from './util.js';

function convTranspose(kind: 'plain' | 'fused' | 'nhwc' | 'nhwc-fused'): KernelGen {
  const geo = (ctx: Parameters<typeof convTGeometry>[0]) => convTGeometry(ctx, kind === 'nhwc' || kind === 'nhwc-fused');
  return {
    // the fused and channels-last forms have no scalar kernel: declared up front so the driver decomposes them
    refuse: (ctx) => (kind === 'plain' || geo(ctx) ? undefined
      : { reason: 'form', detail: 'this form runs float32 with a constant weight and 1 or 2 spatial dims only' }),
    unread: (ctx) => (geo(ctx) ? [1] : []),
    prepack: (ctx) => { const g = geo(ctx); return g ? convTPrepack(ctx, g) : []; },
    scratch: (ctx) => { const g = geo(ctx); return g ? convTScratch(g) : 0; },
    emit(ctx) {
      const g = geo(ctx);
      if (g) return emitConvTGemm(ctx, g, ctx.packed[0]!.ptr.base, kind === 'fused' || kind === 'nhwc-fused' ? activationOf(ctx) : undefined);
      if (kind !== 'plain') unsupported(ctx, 'other than float32 with a constant weight and 1 or 2 spatial dims');
      return emitScalar(ctx);
    },
  };
}

/** The scatter, in f64 through scalar.ts: any rank and dtype, run-time weights. */
function emitScalar(ctx: KernelContext): Expr {
  {
    const { fn, m } = ctx;
    const x = input(ctx, 0), w = input(ctx, 1), bias = ctx.inputs[2], y = output(ctx);
    const spatial = x.dims.slice(2), rank = spatial.length, kernel = w.dims.slice(2);
    const group = attrNum(ctx, 'group');
    const win = makeWindow(kernel, { strides: attrInts(ctx, 'strides'), dilations: attrInts(ctx, 'dilations'), pads: attrInts(ctx, 'pads'), auto_pad: attrStr(ctx, 'auto_pad') });
    const tAttrs = { output_padding: attrInts(ctx, 'output_padding'), output_shape: attrInts(ctx, 'output_shape') };
    const geo = spatial.map((d, a) => transposeAxis(win, tAttrs, a, d, rank));
    const out = y.dims.slice(2), outSize = prod(out), inSize = prod(spatial), kSize = prod(kernel);
    const [N, C] = x.dims as [number, number], Mg = w.dims[1]!, M = Mg * group, Cg = C / group;
    const os = strides(out), is = strides(spatial), ks = strides(kernel);
    const n = fn.i32(), mo = fn.i32(), mg = fn.i32(), ci = fn.i32(), gi = fn.i32(), p = fn.i32(), xv = fn.forType('f64'), valid = fn.i32(), at = fn.i32();
    const iv = spatial.map(() => fn.i32()), kv = kernel.map(() => fn.i32()), ov = spatial.map(() => fn.i32());
    const G = (l: typeof n) => (): Expr => fn.get(l);
    const init = fn.loop(n, 0, N, () => [fn.loop(mo, 0, M, () => [fn.loop(p, 0, outSize, () => [
      stF(fn, y, lin(fn, [[G(n), M * outSize], [G(mo), outSize], [G(p), 1]]), bias ? ldF(fn, bias, fn.get(mo)) : f64c(fn, 0)),
    ])])]);
    const tap = (): Expr[] => {
      const stmts: Expr[] = [fn.set(valid, fn.c32(1))];
      for (let a = 0; a < rank; a++) {
        stmts.push(fn.set(ov[a]!, m.i32.add(m.i32.sub(m.i32.mul(fn.get(iv[a]!), fn.c32(win.strides[a]!)), fn.c32(geo[a]!.padBegin)), m.i32.mul(fn.get(kv[a]!), fn.c32(win.dilations[a]!)))));
        stmts.push(fn.set(valid, m.i32.and(fn.get(valid), m.i32.lt_u(fn.get(ov[a]!), fn.c32(out[a]!)))));
      }
      const yIdx = (): Expr => lin(fn, [[G(n), M * outSize], [G(mo), outSize], ...ov.map((l, a) => [G(l), os[a]!] as const)]);
      const wIdx = lin(fn, [[G(gi), Cg * Mg * kSize], [G(ci), Mg * kSize], [G(mg), kSize], ...kv.map((l, a) => [G(l), ks[a]!] as const)]);
      const acc = m.f64.add(ldF(fn, y, yIdx()), m.f64.mul(fn.get(xv), ldF(fn, w, wIdx)));
      stmts.push(m.if(fn.get(valid), fn.block([fn.set(at, yIdx()), stF(fn, y, fn.get(at), acc)])));
      return stmts;
    };
    const kLoops = (a: number): Expr[] => (a === rank ? tap() : [fn.loop(kv[a]!, 0, kernel[a]!, () => kLoops(a + 1))]);
    const iLoops = (a: number): Expr[] => (a === rank
      ? [
        fn.set(xv, ldF(fn, x, lin(fn, [[G(n), C * inSize], [() => m.i32.add(m.i32.mul(fn.get(gi), fn.c32(Cg)), fn.get(ci)), inSize], ...iv.map((l, k) => [G(l), is[k]!] as const)]))),
        // mg runs over the group's output channels, mo is the absolute output channel
        fn.loop(mg, 0, Mg, () => [fn.set(mo, m.i32.add(fn.get(mg), m.i32.mul(fn.get(gi), fn.c32(Mg)))), ...kLoops(0)]),
      ]
      : [fn.loop(iv[a]!, 0, spatial[a]!, () => iLoops(a + 1))]);
    const scatter = fn.loop(n, 0, N, () => [fn.loop(gi, 0, group, () => [fn.loop(ci, 0, Cg, () => iLoops(0))])]);
    return fn.block([init, scatter]);
  }
}

export const CONV_TRANSPOSE: Readonly<Record<string, KernelGen>> = {
  ConvTranspose: convTranspose('plain'),
  'onnxc.FusedConvTranspose': convTranspose('fused'),
  'onnxc.NhwcConvTranspose': convTranspose('nhwc'),
  'onnxc.NhwcFusedConvTranspose': convTranspose('nhwc-fused'),
};
