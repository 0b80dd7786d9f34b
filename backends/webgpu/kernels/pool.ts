// Pooling: MaxPool and AveragePool (1-D and 2-D windows here, more through pool-nd.ts; pads, strides, dilations, ceil_mode, count_include_pad)
// with one invocation per output element, and GlobalAveragePool / GlobalMaxPool with one per (image, channel), or a
// group of lanes per (image, channel) for planes of 16+ elements (row-group.ts).
// Taps in the padding are skipped (MaxPool, AveragePool without count_include_pad) or counted as zeros.

import type { PlanContext } from '../../../lowering/protocol.js';
import { add, and, convert, div, eq, f32, ge, i32, lt, max, mul, sub, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, type Body } from '../wgsl/module.js';
import { coords, grid1d, main1d, prod, refuseNonFloat } from './common.js';
import { rowGroupGrid, rowGroupMain, rowLanes } from './row-group.js';
import { input, output, type KernelDispatch, type WgKernel } from './types.js';
import { window2d, type Window2d } from './window.js';
import { ndPoolKernel } from './pool-nd.js';

const kernelShape = (ctx: PlanContext): number[] => (ctx.attrs['kernel_shape'] as number[]).map(Number);

export function poolShader(g: Window2d, isMax: boolean, countPad: boolean): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', 'f32', 'read'), Y = s.buffer('y', 'f32', 'read_write');
  const total = g.N * g.C * g.OH * g.OW;
  main1d(s, total, (b, i) => {
    const [nc, oy, ox] = coords(b, i, [g.N * g.C, g.OH, g.OW]);
    const xBase = b.let('xbase', mul(nc!, u32(g.H * g.W)));
    const acc = b.var('acc', f32(isMax ? -Infinity : 0));
    const count = b.var('count', u32(0));
    const iy0 = b.let('iy0', sub(convert('i32', mul(oy!, u32(g.sH))), i32(g.pT)));
    const ix0 = b.let('ix0', sub(convert('i32', mul(ox!, u32(g.sW))), i32(g.pL)));
    b.for('ky', u32(0), u32(g.kH), (kb, ky) => {
      const iy = kb.let('iy', add(iy0, convert('i32', mul(ky, u32(g.dH)))));
      kb.for('kx', u32(0), u32(g.kW), (xb, kx) => {
        const ix = xb.let('ix', add(ix0, convert('i32', mul(kx, u32(g.dW)))));
        xb.if(and(and(ge(iy, i32(0)), lt(iy, i32(g.H))), and(ge(ix, i32(0)), lt(ix, i32(g.W)))), (ib) => {
          const v = X.at(add(xBase, add(mul(convert('u32', iy), u32(g.W)), convert('u32', ix)))) as Expr<'f32'>;
          ib.set(acc, isMax ? max(acc, v) : add(acc, v));
          ib.set(count, add(count, u32(1)));
        });
      });
    });
    if (isMax) {
      b.set(Y.at(i) as LValue<'f32'>, acc);
    } else {
      // count_include_pad divides by the taps inside the padded input (not those past it, which ceil_mode adds);
      // otherwise by the taps inside the input (0 taps: NaN, as the reference)
      if (countPad) {
        const taps = (o: Expr<'u32'>, st: number, p: number, pEnd: number, k: number, d: number, size: number): Expr<'f32'> => {
          const start = b.let('st', sub(convert('i32', mul(o, u32(st))), i32(p)));
          return convert('f32', add(minI(i32(k - 1), div(sub(i32(size + pEnd - 1), start), i32(d))), i32(1)));
        };
        b.set(Y.at(i) as LValue<'f32'>, div(acc, mul(taps(oy!, g.sH, g.pT, g.pB, g.kH, g.dH, g.H), taps(ox!, g.sW, g.pL, g.pR, g.kW, g.dW, g.W))));
      } else {
        b.set(Y.at(i) as LValue<'f32'>, div(acc, convert('f32', count)));
      }
    }
  });
  return s.print();
}
const minI = (a: Expr<'i32'>, b: Expr<'i32'>): Expr<'i32'> => ({ type: 'i32', node: { kind: 'call', fn: 'min', args: [a.node, b.node] } });

/** `L`: lanes per (image, channel) (rowLanes' by default; 1 one invocation each, the form for CPU adapters). */
export function globalPoolShader(nc: number, hw: number, isMax: boolean, withSubgroups = false, L = rowLanes(nc, hw)): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', 'f32', 'read'), Y = s.buffer('y', 'f32', 'read_write');
  const pool = (b: Body, i: Expr<'u32'>, from: Expr<'u32'>, step: number): Expr<'f32'> => {
    const base = b.let('base', mul(i, u32(hw)));
    const acc = b.var('acc', f32(isMax ? -Infinity : 0));
    b.for('k', from, u32(hw), (lb, k) => {
      const v = X.at(add(base, k)) as Expr<'f32'>;
      lb.set(acc, isMax ? max(acc, v) : add(acc, v));
    }, step);
    return acc;
  };
  const result = (acc: Expr<'f32'>): Expr<'f32'> => (isMax ? acc : div(acc, f32(hw)));
  // planes of 16+ elements: a group of lanes per (image, channel) (row-group.ts; squeezenet1_1's 1000 planes of 169)
  if (L > 1) {
    rowGroupMain(s, nc, L, (b, g) => {
      const total = g.combine(b, pool(b, g.row, g.lane, L), isMax ? 'max' : 'sum', 'total');
      b.if(and(g.valid, eq(g.lane, u32(0))), (sb) => sb.set(Y.at(g.row) as LValue<'f32'>, result(total)));
    }, withSubgroups ? (b, row) => b.set(Y.at(row) as LValue<'f32'>, result(pool(b, row, u32(0), 1))) : undefined);
  } else {
    main1d(s, nc, (b, i) => b.set(Y.at(i) as LValue<'f32'>, result(pool(b, i, u32(0), 1))));
  }
  return s.print();
}

/** 1-D and 2-D windows here; 3-D and higher through the N-D kernel (pool-nd.ts). */
const windowPool = (isMax: boolean): WgKernel => {
  const nd = ndPoolKernel((ctx) => (isMax ? { kind: 'max' } : { kind: 'avg', includePad: Number(ctx.attrs['count_include_pad'] ?? 0) === 1 }));
  const is2d = (ctx: PlanContext): boolean => ctx.inputs[0]!.dims.length === 3 || ctx.inputs[0]!.dims.length === 4;
  return {
  dtypes: ['float32'],
  refuse(ctx) {
    if (!is2d(ctx)) return nd.refuse!(ctx);
    if (ctx.outputs[1]) return { reason: 'form', detail: 'MaxPool indices output is not supported by the webgpu kernel' };
    const bad = refuseNonFloat(ctx);
    if (bad) return bad;
    const g = window2d(ctx, kernelShape(ctx));
    return 'reason' in g ? g : undefined;
  },
  lower(ctx): KernelDispatch[] {
    if (!is2d(ctx)) return nd.lower(ctx);
    const y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const g = window2d(ctx, kernelShape(ctx)) as Window2d;
    return [{ shader: poolShader(g, isMax, Number(ctx.attrs['count_include_pad'] ?? 0) === 1), operands: [input(0), output(0)], workgroups: grid1d(y.size) }];
  },
  };
};

const globalPool = (isMax: boolean): WgKernel => ({
  dtypes: ['float32'],
  refuse: (ctx) => refuseNonFloat(ctx),
  lower(ctx): KernelDispatch[] {
    const x = ctx.inputs[0]!.dims;
    const nc = x[0]! * x[1]!, hw = prod(x.slice(2));
    if (nc === 0) return [];
    const L = rowLanes(nc, hw);
    const serial = { shader: globalPoolShader(nc, hw, isMax, false, 1), workgroups: grid1d(nc) };
    if (L === 1) return [{ ...serial, operands: [input(0), output(0)] }];
    const workgroups = rowGroupGrid(nc, L);
    return [{ shader: globalPoolShader(nc, hw, isMax), operands: [input(0), output(0)], workgroups, subgroups: { shader: globalPoolShader(nc, hw, isMax, true), workgroups }, cpu: serial }];
  },
});

export const POOL_KERNELS = {
  MaxPool: windowPool(true), AveragePool: windowPool(false), GlobalMaxPool: globalPool(true), GlobalAveragePool: globalPool(false),
} as const;
