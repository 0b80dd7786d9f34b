// ConvTranspose over any number of spatial axes (groups, strides, dilations, pads/auto_pad, output_padding,
// output_shape: the geometry is the op's own transposeAxis): one invocation per output element gathering the
// input elements that scatter into it: for tap k on an axis, input position (o + padBegin - k*d) / s when that is
// an integer inside the input.

import { makeWindow } from '../../../ops/conv-window.js';
import { transposeAxis } from '../../../ops/conv-transpose.js';
import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { add, and, convert, div, eq, f32, ge, i32, lt, mod, mul, sub, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, type Body, type Buffer } from '../wgsl/module.js';
import { bindInputs, coords, grid1d, main1d, prod, refuseNonFloat, stridesOf } from './common.js';
import { output, type KernelDispatch, type LowerContext, type WgKernel } from './types.js';

const ints = (v: unknown): number[] | undefined => (Array.isArray(v) ? v.map(Number) : undefined);

function geometry(ctx: PlanContext) {
  const x = ctx.inputs[0]!.dims, w = ctx.inputs[1]!.dims, a = ctx.attrs;
  const spatial = x.slice(2), rank = spatial.length, kernel = w.slice(2);
  const win = makeWindow(kernel, { strides: ints(a['strides']), dilations: ints(a['dilations']), pads: ints(a['pads']), auto_pad: a['auto_pad'] as string | undefined });
  const geo = spatial.map((d, axis) => transposeAxis(win, { output_padding: ints(a['output_padding']), output_shape: ints(a['output_shape']) }, axis, d, rank));
  const group = Number(a['group'] ?? 1);
  return { N: x[0]!, C: x[1]!, M: w[1]! * group, mg: w[1]!, cg: x[1]! / group, spatial, kernel, out: geo.map((g) => g.out), padBegin: geo.map((g) => g.padBegin), strides: [...win.strides], dilations: [...win.dilations] };
}

function convTransposeShader(ctx: LowerContext): { shader: string; operands: ReturnType<typeof bindInputs>['operands'] } {
  const g = geometry(ctx);
  const s = new ShaderBuilder();
  const hasBias = ctx.inputs[2] !== undefined;
  const { bufs, operands } = bindInputs(s, ctx, [{ index: 0, hint: 'x', elem: 'f32' }, { index: 1, hint: 'w', elem: 'f32' }, ...(hasBias ? [{ index: 2, hint: 'bias', elem: 'f32' as const }] : [])]);
  const X = bufs.get(0) as Buffer<'f32'>, W = bufs.get(1) as Buffer<'f32'>;
  const Y = s.buffer('y', 'f32', 'read_write');
  const rank = g.spatial.length, inSize = prod(g.spatial), kSize = prod(g.kernel);
  const xst = stridesOf(g.spatial), kst = stridesOf(g.kernel);
  main1d(s, g.N * g.M * prod(g.out), (b, i) => {
    const [n, oc, ...os] = coords(b, i, [g.N, g.M, ...g.out]);
    const grp = b.let('grp', div(oc!, u32(g.mg))), ocl = b.let('ocl', mod(oc!, u32(g.mg)));
    const acc = b.var('acc', hasBias ? (bufs.get(2) as Buffer<'f32'>).at(oc!) as Expr<'f32'> : f32(0));
    b.for('icl', u32(0), u32(g.cg), (cb, icl) => {
      const ic = cb.let('ic', add(mul(grp, u32(g.cg)), icl));
      const xBase = cb.let('xb', mul(add(mul(n!, u32(g.C)), ic), u32(inSize)));
      const wBase = cb.let('wb', mul(add(mul(ic, u32(g.mg)), ocl), u32(kSize)));
      const nest = (bd: Body, a: number, xo: Expr<'u32'>, wo: Expr<'u32'>): void => {
        if (a === rank) { bd.set(acc, add(acc, mul(X.at(add(xBase, xo)) as Expr<'f32'>, W.at(add(wBase, wo)) as Expr<'f32'>))); return; }
        bd.for(`k${a}`, u32(0), u32(g.kernel[a]!), (lb, k) => {
          const num = lb.let(`num${a}`, sub(add(convert('i32', os[a]!), i32(g.padBegin[a]!)), convert('i32', mul(k, u32(g.dilations[a]!)))));
          const sa = g.strides[a]!;
          const ip = lb.let(`ip${a}`, sa === 1 ? num : div(num, i32(sa)));
          const ok = and(ge(num, i32(0)), sa === 1 ? lt(num, i32(g.spatial[a]!)) : and(eq(mod(num, i32(sa)), i32(0)), lt(ip, i32(g.spatial[a]!))));
          lb.if(ok, (ib) => nest(ib, a + 1, add(xo, mul(convert('u32', ip), u32(xst[a]!))), add(wo, mul(k, u32(kst[a]!)))));
        });
      };
      nest(cb, 0, u32(0), u32(0));
    });
    b.set(Y.at(i) as LValue<'f32'>, acc);
  });
  return { shader: s.print(), operands };
}

export const convTransposeKernel: WgKernel = {
  dtypes: ['float32'],
  refuse(ctx): Refusal | undefined {
    const bad = refuseNonFloat(ctx);
    if (bad) return bad;
    const x = ctx.inputs[0]!.dims, w = ctx.inputs[1]!.dims;
    if (x.length < 3 || w.length !== x.length) return { reason: 'form', detail: `X [${x.join(',')}] and W [${w.join(',')}] do not fit` };
    const group = Number(ctx.attrs['group'] ?? 1);
    if (w[0] !== x[1] || x[1]! % group !== 0) return { reason: 'form', detail: `X has ${x[1]} channels and W is [${w.join(',')}] with group ${group}` };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const { shader, operands } = convTransposeShader(ctx);
    return [{ shader, operands: [...operands, output(0)], workgroups: grid1d(y.size) }];
  },
};

export const CONV_TRANSPOSE_KERNELS = { ConvTranspose: convTransposeKernel } as const;
