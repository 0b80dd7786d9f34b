// DeformConv (2-D; groups, offset groups, optional mask and bias) as the reference computes it
// (ops/conv-deform.ts): one invocation per output element; each kernel tap is moved by its offset and sampled
// bilinearly (taps outside the plane read zero), scaled by the mask, and weighted.

import { makeWindow, resolveWindow } from '../../../ops/conv-window.js';
import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { add, and, convert, div, f32, ge, i32, lt, math, mod, mul, sub, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, type Body, type Buffer } from '../wgsl/module.js';
import { bindInputs, coords, grid1d, main1d, refuseNonFloat } from './common.js';
import { output, type KernelDispatch, type LowerContext, type WgKernel } from './types.js';

type F = Expr<'f32'>;
const ints = (v: unknown): number[] | undefined => (Array.isArray(v) ? v.map(Number) : undefined);

function geometry(ctx: PlanContext) {
  const [n, c, ih, iw] = ctx.inputs[0]!.dims as [number, number, number, number];
  const [m, cg, kh, kw] = ctx.inputs[1]!.dims as [number, number, number, number];
  const a = ctx.attrs;
  const win = makeWindow([kh, kw], { strides: ints(a['strides']), dilations: ints(a['dilations']), pads: ints(a['pads']) });
  const { out, padBegin } = resolveWindow(win, [ih, iw]);
  return { n, c, ih, iw, m, cg, kh, kw, oh: out[0]!, ow: out[1]!, pT: padBegin[0]!, pL: padBegin[1]!, sH: win.strides[0]!, sW: win.strides[1]!, dH: win.dilations[0]!, dW: win.dilations[1]!, group: Number(a['group'] ?? 1), og: Number(a['offset_group'] ?? 1) };
}

function deformShader(ctx: LowerContext): { shader: string; operands: ReturnType<typeof bindInputs>['operands'] } {
  const g = geometry(ctx);
  const s = new ShaderBuilder();
  const names = ['x', 'w', 'offset', 'bias', 'mask'];
  const { bufs, operands } = bindInputs(s, ctx, names.flatMap((hint, index) => (ctx.inputs[index] ? [{ index, hint, elem: 'f32' as const }] : [])));
  const at = (k: number, e: Expr<'u32'>): F => (bufs.get(k) as Buffer<'f32'>).at(e) as F;
  const Y = s.buffer('y', 'f32', 'read_write');
  const kk = g.kh * g.kw, plane = g.oh * g.ow, mPerGroup = g.m / g.group, cPerOg = g.c / g.og;
  main1d(s, g.n * g.m * plane, (b, idx) => {
    const [ni, mi, i, j] = coords(b, idx, [g.n, g.m, g.oh, g.ow]);
    const pos = b.let('pos', add(mul(i!, u32(g.ow)), j!));
    const grp = b.let('grp', div(mi!, u32(mPerGroup)));
    const sum = b.var('sum', bufs.has(3) ? at(3, mi!) : f32(0));
    b.for('k', u32(0), u32(g.cg), (kb, k) => {
      const ci = kb.let('ci', add(mul(grp, u32(g.cg)), k));
      const og = kb.let('og', div(ci, u32(cPerOg)));
      const xBase = kb.let('xb', mul(add(mul(ni!, u32(g.c)), ci), u32(g.ih * g.iw)));
      kb.for('t', u32(0), u32(kk), (tb, t) => {
        const ki = tb.let('ki', div(t, u32(g.kw))), kj = tb.let('kj', mod(t, u32(g.kw)));
        const oBase = tb.let('ob', mul(add(mul(add(mul(ni!, u32(g.og)), og), u32(kk)), t), u32(2)));
        const h = tb.let('h', add(f32v(tb, sub(convert('i32', add(mul(i!, u32(g.sH)), mul(ki, u32(g.dH)))), i32(g.pT))), at(2, add(mul(oBase, u32(plane)), pos))));
        const w = tb.let('wc', add(f32v(tb, sub(convert('i32', add(mul(j!, u32(g.sW)), mul(kj, u32(g.dW)))), i32(g.pL))), at(2, add(mul(add(oBase, u32(1)), u32(plane)), pos))));
        const v = tb.let('v', bilinear(tb, (e) => at(0, add(xBase, e)), g.ih, g.iw, h, w));
        const scale = bufs.has(4) ? at(4, add(mul(add(mul(add(mul(ni!, u32(g.og)), og), u32(kk)), t), u32(plane)), pos)) : f32(1);
        tb.set(sum, add(sum, mul(mul(v, scale), at(1, add(mul(add(mul(mi!, u32(g.cg)), k), u32(kk)), t)))));
      });
    });
    b.set(Y.at(idx) as LValue<'f32'>, sum);
  });
  return { shader: s.print(), operands };
}
const f32v = (b: Body, x: Expr<'i32'>): F => b.let('fi', convert('f32', x));

/** Bilinear sample of a plane at (h, w); taps outside read zero. */
function bilinear(b: Body, read: (e: Expr<'u32'>) => F, H: number, W: number, h: F, w: F): F {
  const h0 = b.let('h0', math('floor', h)), w0 = b.let('w0', math('floor', w));
  const fh = b.let('fh', sub(h, h0)), fw = b.let('fw', sub(w, w0));
  const v = b.var('smp', f32(0));
  for (const dh of [0, 1]) for (const dw of [0, 1]) {
    const hh = b.let('hh', convert('i32', add(h0, f32(dh)))), ww = b.let('ww', convert('i32', add(w0, f32(dw))));
    const ok = and(and(ge(hh, i32(0)), lt(hh, i32(H))), and(ge(ww, i32(0)), lt(ww, i32(W))));
    const wt = mul(dh === 0 ? sub(f32(1), fh) : fh, dw === 0 ? sub(f32(1), fw) : fw);
    b.if(ok, (t) => t.set(v, add(v, mul(wt, read(add(mul(convert('u32', hh), u32(W)), convert('u32', ww)))))));
  }
  return v;
}

export const deformConvKernel: WgKernel = {
  dtypes: ['float32'],
  refuse(ctx): Refusal | undefined {
    const bad = refuseNonFloat(ctx);
    if (bad) return bad;
    if (ctx.inputs[0]!.dims.length !== 4 || ctx.inputs[1]!.dims.length !== 4) return { reason: 'form', detail: 'DeformConv supports 2-D inputs only' };
    const g = geometry(ctx);
    if (g.c !== g.cg * g.group || g.m % g.group !== 0 || g.c % g.og !== 0) return { reason: 'form', detail: `channel counts do not fit group ${g.group} / offset_group ${g.og}` };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const { shader, operands } = deformShader(ctx);
    return [{ shader, operands: [...operands, output(0)], workgroups: grid1d(y.size) }];
  },
};

export const DEFORM_CONV_KERNELS = { DeformConv: deformConvKernel } as const;
