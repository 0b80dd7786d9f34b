// GridSample (N-D; nearest, linear, cubic; zeros, border, reflection padding; align_corners) as the reference
// computes it (ops/resize-grid.ts, PyTorch's grid_sample): one invocation per output element; each spatial axis
// gives its taps (index after padding, weight, whether it reads zero), unrolled here since their counts are static,
// and the sample is the sum over the tensor product of the axes' taps.

import type { Refusal } from '../../../lowering/protocol.js';
import {
  add, and, bool, convert, f32, ge, gt, i32, le, lt, math, max, min, mod, mul, or, select, sub, u32, div, eq,
  type Expr, type LValue,
} from '../wgsl/ast.js';
import { ShaderBuilder, type Body } from '../wgsl/module.js';
import { bindInputs, coords, grid1d, main1d, prod, refuseNonFloat, stridesOf } from './common.js';
import { output, type KernelDispatch, type LowerContext, type WgKernel } from './types.js';

type F = Expr<'f32'>;
interface Tap { readonly ok: Expr<'bool'>; readonly idx: Expr<'u32'>; readonly w: F }

const cubicW = (x: F, a = -0.75): F => mul(mul(sub(mul(f32(a + 2), x), f32(a + 3)), x), x);

function gridSampleShader(ctx: LowerContext): { shader: string; operands: ReturnType<typeof bindInputs>['operands'] } {
  const x = ctx.inputs[0]!, grid = ctx.inputs[1]!;
  const mode = String(ctx.attrs['mode'] ?? 'linear').replace(/^bi/, '');
  const pad = String(ctx.attrs['padding_mode'] ?? 'zeros');
  const ac = Number(ctx.attrs['align_corners'] ?? 0) !== 0;
  const [n, c] = x.dims as [number, number];
  const dims = x.dims.slice(2), rank = dims.length, outSpatial = grid.dims.slice(1, -1);
  const outSize = prod(outSpatial), inSize = prod(dims), st = stridesOf(dims);
  const s = new ShaderBuilder();
  const { bufs, operands } = bindInputs(s, ctx, [{ index: 0, hint: 'x', elem: 'f32' }, { index: 1, hint: 'grid', elem: 'f32' }]);
  const X = bufs.get(0)!, G = bufs.get(1)!;
  const Y = s.buffer('y', 'f32', 'read_write');
  /** Reflect v by the nearer border until it lies in [lo, hi] (as the reference's reflect). */
  // declared only where it is called (reflection padding)
  const reflect = pad !== 'reflection' ? undefined : s.fn('reflect', [['v', 'f32'], ['lo', 'f32'], ['hi', 'f32']] as const, 'f32', (b, v, lo, hi) => {
    const range = b.let('range', sub(hi, lo));
    /** dx past a border: an even number of ranges lands `r` inside from that border, an odd one from the other. */
    const side = (dx: F, even: (r: F) => F, odd: (r: F) => F): F => {
      const k = b.let('k', math('trunc', div(dx, range)));
      const r = b.let('r', sub(dx, mul(k, range)));
      return select(eq(mod(convert('i32', k), i32(2)), i32(0)), even(r), odd(r));
    };
    const left = side(sub(lo, v), (r) => add(lo, r), (r) => sub(hi, r));
    const right = side(sub(v, hi), (r) => sub(hi, r), (r) => add(lo, r));
    return select(lt(v, lo), left, select(gt(v, hi), right, v));
  });
  main1d(s, n * c * outSize, (b, i) => {
    const [ni, ci, p] = coords(b, i, [n, c, outSize]);
    const g = b.let('g', mul(add(mul(ni!, u32(outSize)), p!), u32(rank)));
    const axes: Tap[][] = dims.map((d, a) => {
      const lo = ac ? 0 : -0.5, hi = ac ? d - 1 : d - 0.5;
      // the grid lists coordinates innermost axis first (x, y, z)
      const v = b.let(`gv${a}`, G.at(add(g, u32(rank - 1 - a))) as F);
      let u: F = b.let(`u${a}`, ac ? mul(div(add(v, f32(1)), f32(2)), f32(d - 1)) : div(sub(mul(add(v, f32(1)), f32(d)), f32(1)), f32(2)));
      if (mode === 'nearest') u = b.let(`un${a}`, math('round', u));
      const out = or(lt(u, f32(lo)), gt(u, f32(hi)));
      if (pad === 'border') u = b.let(`ub${a}`, select(out, min(max(u, f32(0)), f32(d - 1)), u));
      else if (pad === 'reflection') u = b.let(`ur${a}`, select(out, reflect!(u, f32(lo), f32(hi)), u));
      /** Tap at integer position t (as f32): after padding, and whether it reads zero. */
      const tap = (t: F, w: F, k: number): Tap => {
        let j: F = t, ok: Expr<'bool'> = and(ge(t, f32(0)), le(t, f32(d - 1)));
        if (pad === 'border') { j = min(max(t, f32(0)), f32(d - 1)); ok = bool(true); }
        if (pad === 'reflection') { j = math('trunc', reflect!(t, f32(lo), f32(hi))); ok = and(ge(j, f32(0)), le(j, f32(d - 1))); }
        const okv = b.let(`ok${a}_${k}`, ok);
        return { ok: okv, idx: b.let(`ix${a}_${k}`, select(okv, convert('u32', max(j, f32(0))), u32(0))), w: b.let(`w${a}_${k}`, w) };
      };
      if (mode === 'nearest') return [tap(math('trunc', u), f32(1), 0)];
      const base = b.let(`fl${a}`, math('floor', u)), t = b.let(`t${a}`, sub(u, base));
      if (mode === 'linear') return [tap(base, sub(f32(1), t), 0), tap(add(base, f32(1)), t, 1)];
      // cubic, a = -0.75: weights of distances t+1, t, 1-t, 2-t
      const far = (z: F): F => { const A = -0.75; return sub(add(mul(sub(mul(f32(A), z), f32(5 * A)), mul(z, z)), mul(f32(8 * A), z)), f32(4 * A)); };
      const near = (z: F): F => add(cubicW(z), f32(1));
      return [
        tap(sub(base, f32(1)), far(add(t, f32(1))), 0), tap(base, near(t), 1),
        tap(add(base, f32(1)), near(sub(f32(1), t)), 2), tap(add(base, f32(2)), far(sub(f32(2), t)), 3),
      ];
    });
    const xBase = b.let('xbase', mul(add(mul(ni!, u32(c)), ci!), u32(inSize)));
    const sum = b.var('sum', f32(0));
    const nest = (bd: Body, a: number, off: Expr<'u32'>, w: F, ok: Expr<'bool'> | undefined): void => {
      if (a === rank) {
        const term = mul(w, X.at(add(xBase, off)) as F);
        if (ok) bd.if(ok, (t) => t.set(sum, add(sum, term)));
        else bd.set(sum, add(sum, term));
        return;
      }
      for (const t of axes[a]!) nest(bd, a + 1, add(off, mul(t.idx, u32(st[a]!))), mul(w, t.w), pad === 'border' ? ok : ok ? and(ok, t.ok) : t.ok);
    };
    nest(b, 0, u32(0), f32(1), undefined);
    b.set(Y.at(i) as LValue<'f32'>, sum);
  });
  return { shader: s.print(), operands };
}

export const gridSampleKernel: WgKernel = {
  refuse(ctx): Refusal | undefined {
    const bad = refuseNonFloat(ctx);
    if (bad) return bad;
    const x = ctx.inputs[0]!, g = ctx.inputs[1]!;
    if (x.dims.length < 3 || g.dims.length !== x.dims.length || g.dims[g.dims.length - 1] !== x.dims.length - 2) return { reason: 'form', detail: `grid [${g.dims.join(',')}] does not fit X [${x.dims.join(',')}]` };
    if (x.dims.length > 5) return { reason: 'form', detail: `GridSample over ${x.dims.length - 2} spatial axes` };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const { shader, operands } = gridSampleShader(ctx);
    return [{ shader, operands: [...operands, output(0)], workgroups: grid1d(y.size) }];
  },
};

export const GRID_SAMPLE_KERNELS = { GridSample: gridSampleKernel } as const;
