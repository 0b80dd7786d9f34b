// DFT (opset 20: axis and dft_length inputs known at compile time; forward, inverse, onesided, real or complex
// input, the inverse-onesided Hermitian rebuild) as a direct sum per output element over a twiddle table computed
// in doubles at compile time (index k*j mod n), so no angle is rounded through f32 arithmetic in the shader.

import { toNumbers } from '../../../ir/tensor.js';
import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { add, f32, lt, mod, mul, select, sub, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder } from '../wgsl/module.js';
import { coords, grid1d, main1d, prod, refuseNonFloat } from './common.js';
import { input, output, packed, type KernelDispatch, type WgKernel } from './types.js';

type F = Expr<'f32'>;

function planOf(ctx: PlanContext) {
  const x = ctx.inputs[0]!.dims, rank = x.length;
  const a0 = ctx.inputs[2]?.constant ? toNumbers(ctx.inputs[2].constant)[0]! : -2;
  const axis = a0 < 0 ? a0 + rank : a0;
  const len = ctx.inputs[1]?.constant ? toNumbers(ctx.inputs[1].constant)[0] : undefined;
  const inverse = Number(ctx.attrs['inverse'] ?? 0) !== 0, onesided = Number(ctx.attrs['onesided'] ?? 0) !== 0;
  const inLen = x[axis]!, comps = x[rank - 1]!;
  const n = inverse && onesided ? len ?? 2 * (inLen - 1) : len ?? inLen;
  const outLen = inverse && onesided ? n : onesided ? Math.floor(n / 2) + 1 : n;
  return { axis, rank, n, outLen, inLen, comps, inverse, onesided, outer: prod(x.slice(0, axis)), inner: prod(x.slice(axis + 1, rank - 1)), oc: inverse && onesided ? 1 : 2 };
}

export const dftKernel: WgKernel = {
  dtypes: ['float32'],
  constInputs: [1, 2],
  unread: (ctx) => [1, 2].filter((i) => ctx.inputs[i]),
  refuse(ctx): Refusal | undefined {
    const bad = refuseNonFloat(ctx, [1, 2]);
    if (bad) return bad;
    const p = planOf(ctx);
    if (p.axis < 0 || p.axis > p.rank - 2 || (p.comps !== 1 && p.comps !== 2) || !(p.n >= 1)) return { reason: 'form', detail: 'DFT axis, length or complex dim out of range' };
    // k*j is formed in u32 before the modulo
    if (p.n > 65535) return { reason: 'form', detail: `dft_length ${p.n} past 65535` };
    return undefined;
  },
  prepack(ctx) {
    const { n } = planOf(ctx);
    const t = new Float32Array(2 * n);
    for (let k = 0; k < n; k++) { t[k] = Math.cos((2 * Math.PI * k) / n); t[n + k] = Math.sin((2 * Math.PI * k) / n); }
    return [{ dtype: 'float32', dims: [2 * n], data: t }];
  },
  lower(ctx): KernelDispatch[] {
    const p = planOf(ctx), y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const s = new ShaderBuilder();
    const X = s.buffer('x', 'f32', 'read'), T = s.buffer('tw', 'f32', 'read'), Y = s.buffer('y', 'f32', 'read_write');
    const sign = p.inverse ? 1 : -1;
    main1d(s, y.size, (b, i) => {
      const [o, k, q, c] = coords(b, i, [p.outer, p.outLen, p.inner, p.oc]);
      const at = (j: Expr<'u32'>): Expr<'u32'> => mul(add(mul(add(mul(o!, u32(p.inLen)), j), u32(p.inner)), q!), u32(p.comps));
      const sr = b.var('sr', f32(0)), si = b.var('si', f32(0));
      const hermitian = p.inverse && p.onesided;
      const count = hermitian ? p.n : Math.min(p.inLen, p.n);
      b.for('j', u32(0), u32(count), (lb, j) => {
        let re: F, im: F;
        if (hermitian) {
          // bins past the half mirror the first half conjugated; bins past the input are zero
          const upper = lb.let('upper', lt(u32(Math.floor(p.n / 2)), j));
          const src = lb.let('src', select(upper, sub(u32(p.n), j), j));
          const inside = lb.let('inside', lt(src, u32(p.inLen)));
          const safe = lb.let('safe', select(inside, src, u32(0)));
          re = lb.let('re', select(inside, X.at(at(safe)) as F, f32(0)));
          im = p.comps === 2 ? lb.let('im', select(inside, mul(select(upper, f32(-1), f32(1)), X.at(add(at(safe), u32(1))) as F), f32(0))) : f32(0);
        } else {
          re = lb.let('re', X.at(at(j)) as F);
          im = p.comps === 2 ? lb.let('im', X.at(add(at(j), u32(1))) as F) : f32(0);
        }
        const m = lb.let('m', mod(mul(k!, j), u32(p.n)));
        const cs = lb.let('cs', T.at(m) as F), sn = lb.let('sn', mul(f32(sign), T.at(add(m, u32(p.n))) as F));
        lb.set(sr, add(sr, sub(mul(re, cs), mul(im, sn))));
        lb.set(si, add(si, add(mul(re, sn), mul(im, cs))));
      });
      const scale = p.inverse ? 1 / p.n : 1;
      const v = p.oc === 1 ? sr : select(lt(c!, u32(1)), sr, si);
      b.set(Y.at(i) as LValue<'f32'>, p.inverse ? mul(v, f32(scale)) : v);
    });
    return [{ shader: s.print(), operands: [input(0), packed(0), output(0)], workgroups: grid1d(y.size) }];
  },
};

export const DFT_KERNELS = { DFT: dftKernel } as const;
