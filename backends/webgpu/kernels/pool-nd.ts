// Window pools over any number of spatial axes (3-D MaxPool/AveragePool, LpPool of any rank) with the reference's
// rules (ops/pool.ts): one invocation per output element, nested loops over the window's axes visiting the taps
// inside the input; count_include_pad divides by the taps inside the padded input, a window with no taps gives
// NaN (average) or -inf (max), LpPool is (sum |x|^p)^(1/p) over the taps inside the input.

import { makeWindow, windowAxis } from '../../../ops/conv-window.js';
import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { abs, add, and, convert, div, f32, ge, i32, lt, math, max, min, mul, pow, select, sub, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, type Body } from '../wgsl/module.js';
import { coords, grid1d, main1d, prod, refuseNonFloat, stridesOf } from './common.js';
import { input, output, type KernelDispatch, type WgKernel } from './types.js';

export type PoolHow = { kind: 'max' } | { kind: 'avg'; includePad: boolean } | { kind: 'lp'; p: number };

interface Geo { spatial: number[]; out: number[]; kernel: number[]; strides: number[]; dilations: number[]; padBegin: number[]; padEnd: number[] }

const ints = (v: unknown): number[] | undefined => (Array.isArray(v) ? v.map(Number) : undefined);

export function poolGeometry(ctx: PlanContext): Geo {
  const a = ctx.attrs, spatial = ctx.inputs[0]!.dims.slice(2);
  const win = makeWindow((a['kernel_shape'] as number[]).map(Number), { strides: ints(a['strides']), dilations: ints(a['dilations']), pads: ints(a['pads']), auto_pad: a['auto_pad'] as string | undefined, ceil_mode: a['ceil_mode'] as number | undefined });
  const axes = spatial.map((d, k) => windowAxis(win, k, d));
  return { spatial, out: axes.map((x) => x.out), kernel: [...win.kernel], strides: [...win.strides], dilations: [...win.dilations], padBegin: axes.map((x) => x.padBegin), padEnd: axes.map((x) => x.padEnd) };
}

export function poolNdShader(planes: number, g: Geo, how: PoolHow): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', 'f32', 'read'), Y = s.buffer('y', 'f32', 'read_write');
  const rank = g.spatial.length, st = stridesOf(g.spatial);
  main1d(s, planes * prod(g.out), (b, i) => {
    const [pl, ...os] = coords(b, i, [planes, ...g.out]);
    const xBase = b.let('xbase', mul(pl!, u32(prod(g.spatial))));
    const acc = b.var('acc', f32(how.kind === 'max' ? -Infinity : 0));
    const count = b.var('count', u32(0));
    const starts = os.map((o, a) => b.let(`st${a}`, sub(convert('i32', mul(o, u32(g.strides[a]!))), i32(g.padBegin[a]!))));
    const nest = (bd: Body, a: number, off: Expr<'u32'>): void => {
      if (a === rank) {
        const v = bd.let('v', X.at(add(xBase, off)) as Expr<'f32'>);
        bd.set(acc, how.kind === 'max' ? max(acc, v) : how.kind === 'avg' ? add(acc, v) : add(acc, how.p === 1 ? abs(v) : pow(abs(v), f32(how.p))));
        bd.set(count, add(count, u32(1)));
        return;
      }
      bd.for(`k${a}`, u32(0), u32(g.kernel[a]!), (lb, k) => {
        const p = lb.let(`p${a}`, add(starts[a]!, convert('i32', mul(k, u32(g.dilations[a]!)))));
        lb.if(and(ge(p, i32(0)), lt(p, i32(g.spatial[a]!))), (ib) => nest(ib, a + 1, add(off, mul(convert('u32', p), u32(st[a]!)))));
      });
    };
    nest(b, 0, u32(0));
    let result: Expr<'f32'> = acc;
    if (how.kind === 'avg') {
      let divisor: Expr<'f32'> = convert('f32', count);
      if (how.includePad) {
        // taps inside the padded input on each axis: k with start + k*d <= in + padEnd - 1 (the first is always in)
        divisor = f32(1);
        os.forEach((_, a) => {
          const last = div(sub(i32(g.spatial[a]! + g.padEnd[a]! - 1), starts[a]!), i32(g.dilations[a]!));
          const n = select(lt(sub(i32(g.spatial[a]! + g.padEnd[a]! - 1), starts[a]!), i32(0)), i32(0), add(min(i32(g.kernel[a]! - 1), last), i32(1)));
          divisor = mul(divisor, convert('f32', n));
        });
      }
      const d = b.let('divisor', divisor);
      result = select(ge(d, f32(0.5)), div(acc, d), f32(NaN));
    }
    if (how.kind === 'lp') result = how.p === 1 ? acc : math('sqrt', acc);
    if (how.kind === 'lp' && how.p > 2) result = pow(acc, f32(1 / how.p));
    b.set(Y.at(i) as LValue<'f32'>, result);
  });
  return s.print();
}

export const ndPoolKernel = (howOf: (ctx: PlanContext) => PoolHow): WgKernel => ({
  dtypes: ['float32'],
  refuse(ctx): Refusal | undefined {
    if (ctx.outputs[1]) return { reason: 'form', detail: 'MaxPool indices output is not supported by the webgpu kernel' };
    if (ctx.inputs[0]!.dims.length < 3) return { reason: 'form', detail: 'pooling needs X of rank >= 3' };
    return refuseNonFloat(ctx);
  },
  lower(ctx): KernelDispatch[] {
    const y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const x = ctx.inputs[0]!.dims;
    return [{ shader: poolNdShader(x[0]! * x[1]!, poolGeometry(ctx), howOf(ctx)), operands: [input(0), output(0)], workgroups: grid1d(y.size) }];
  },
});

export const LP_POOL_KERNELS = { LpPool: ndPoolKernel((ctx) => ({ kind: 'lp', p: Number(ctx.attrs['p'] ?? 2) })) } as const;
