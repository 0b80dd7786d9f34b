// Resize with constant scales/sizes/roi (every mode, coordinate transformation, antialias, exclude_outside,
// extrapolation): the op's own per-axis tap rule (ops/resize-core.ts) runs at compile time, so the shader only
// reads a table of (input index, weight) taps per output coordinate of each resized axis and sums the tensor
// product of the axes' taps: one invocation per output element. An extrapolated coordinate (tf_crop_and_resize
// outside the roi) is marked by index -1 and takes extrapolation_value.

import { toNumbers, type Tensor } from '../../../ir/tensor.js';
import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { changes, planResize, resizeAxes, resizeOptions, tapsFor, type ResizeAttrs, type ResizePlan } from '../../../ops/resize-core.js';
import { add, convert, f32, lt, mul, select, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, type Body } from '../wgsl/module.js';
import { coords, grid1d, main1d, prod, refuseNonFloat, stridesOf } from './common.js';
import { input, output, packed, type KernelDispatch, type WgKernel } from './types.js';

const values = (t: Tensor | undefined): number[] | undefined => (t && t.data.length ? toNumbers(t) : undefined);

interface AxisTable { readonly axis: number; readonly taps: number; readonly at: number }

function planOf(ctx: PlanContext): { plan: ResizePlan; tables: AxisTable[]; data: Float32Array; extrapolation: number } {
  const x = ctx.inputs[0]!;
  const o = resizeOptions(ctx.attrs as unknown as ResizeAttrs);
  const axes = resizeAxes(ctx.attrs['axes'] as number[] | undefined, x.dims.length);
  const roi = o.coord === 'tf_crop_and_resize' ? values(ctx.inputs[1]?.constant) : undefined;
  const plan = planResize(x.dims, axes, o.policy, values(ctx.inputs[2]?.constant), values(ctx.inputs[3]?.constant), roi);
  const tables: AxisTable[] = [];
  const chunks: number[] = [];
  x.dims.forEach((d, a) => {
    if (!changes(o, plan, x.dims, a)) return;
    const taps = tapsFor(o, plan, a, d);
    const n = Math.max(1, ...taps.map((t) => t.idx.length));
    tables.push({ axis: a, taps: n, at: chunks.length });
    // per output coordinate: n (index, weight) pairs; unused taps weigh 0, an extrapolated coordinate has index -1
    for (const t of taps) for (let k = 0; k < n; k++) chunks.push(t.extrapolate ? -1 : (t.idx[k] ?? 0), t.extrapolate ? 0 : (t.w[k] ?? 0));
  });
  return { plan, tables, data: Float32Array.from(chunks), extrapolation: o.extrapolation };
}

export function resizeShader(inDims: readonly number[], outDims: readonly number[], tables: readonly AxisTable[], extrapolation: number): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', 'f32', 'read');
  // no resized axis (scales of 1): a copy, and no table to bind
  const T = tables.length ? s.buffer('taps', 'f32', 'read') : X;
  const Y = s.buffer('y', 'f32', 'read_write');
  const st = stridesOf(inDims);
  main1d(s, prod(outDims), (b, i) => {
    const cs = coords(b, i, outDims);
    // the unresized axes' part of the input offset
    let base: Expr<'u32'> = u32(0);
    inDims.forEach((d, a) => { if (d !== 1 && !tables.some((t) => t.axis === a)) base = add(base, mul(cs[a]!, u32(st[a]!))); });
    const rows = tables.map((t) => b.let(`row${t.axis}`, add(u32(t.at), mul(cs[t.axis]!, u32(2 * t.taps)))));
    const out = b.var('out', f32(0));
    let ext: Expr<'bool'> | undefined;
    tables.forEach((_, k) => {
      const e = lt(T.at(rows[k]!) as Expr<'f32'>, f32(0));
      ext = ext ? { type: 'bool', node: { kind: 'bin', op: '||', a: ext.node, b: e.node } } : e;
    });
    // nested loops over each resized axis' taps, innermost axis last
    const nest = (bd: Body, k: number, off: Expr<'u32'>, w: Expr<'f32'>): void => {
      if (k === tables.length) { bd.set(out, add(out, mul(w, X.at(off) as Expr<'f32'>))); return; }
      const t = tables[k]!;
      bd.for(`t${t.axis}`, u32(0), u32(t.taps), (lb, j) => {
        const at = lb.let('at', add(rows[k]!, mul(j, u32(2))));
        const idx = lb.let('ix', convert('u32', T.at(at) as Expr<'f32'>));
        const wt = lb.let('wt', mul(w, T.at(add(at, u32(1))) as Expr<'f32'>));
        nest(lb, k + 1, add(off, mul(idx, u32(st[t.axis]!))), wt);
      });
    };
    if (ext) b.if(ext, (t) => t.set(out, f32(extrapolation)), (e) => nest(e, 0, base, f32(1)));
    else nest(b, 0, base, f32(1));
    b.set(Y.at(i) as LValue<'f32'>, out);
  });
  return s.print();
}

export const resizeKernel: WgKernel = {
  constInputs: [1, 2, 3],
  refuse(ctx): Refusal | undefined {
    return refuseNonFloat(ctx, [1, 2, 3]);
  },
  prepack: (ctx) => {
    const d = planOf(ctx).data;
    return d.length ? [{ dtype: 'float32', dims: [d.length], data: d }] : [];
  },
  unread: (ctx) => [1, 2, 3].filter((i) => ctx.inputs[i] !== undefined),
  lower(ctx): KernelDispatch[] {
    const y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const { tables, extrapolation } = planOf(ctx);
    const shader = resizeShader(ctx.inputs[0]!.dims, y.dims, tables, extrapolation);
    return [{ shader, operands: [input(0), ...(tables.length ? [packed(0)] : []), output(0)], workgroups: grid1d(y.size) }];
  },
};

export const RESIZE_KERNELS = { Resize: resizeKernel } as const;
