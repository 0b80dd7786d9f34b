// Elementwise kernels with numpy broadcasting: one invocation per output element, or per 4 elements (vec4 loads
// and stores) when the output's last dim is a multiple of 4 and every input either spans that dim or is
// broadcast along it. Input offsets come from static strides (0 along broadcast dims).

import type { PlanContext, Refusal, ValueRef } from '../../../lowering/protocol.js';
import { add, expr, f32, u32, vec4, type Expr } from '../wgsl/ast.js';
import { ShaderBuilder } from '../wgsl/module.js';
import { broadcastStrides, coords, grid1d, main1d, offsetOf, prod, refuseNonFloat } from './common.js';
import { boundInputs, ELEMENTWISE, type ElemOp } from './elementwise-ops.js';
import { firstSharing, input, output, type KernelDispatch, type WgKernel } from './types.js';

/** Vector width of the vectorised path. */
export const VEC = 4;

const opOf = (ctx: PlanContext): ElemOp | Refusal => {
  const entry = ELEMENTWISE[ctx.node.op as keyof typeof ELEMENTWISE];
  if (!entry) return { reason: 'missing-kernel', detail: `op ${ctx.node.op} has no webgpu elementwise formula` };
  return entry(ctx);
};

/** The shader for `op` reading `ins` into an output of `outDims` (exported for snapshot tests). */
export function elementwiseShader(op: ElemOp, ins: readonly (readonly number[])[], outDims: readonly number[], share: readonly number[] = ins.map((_, k) => k)): { shader: string; threads: number } {
  const total = prod(outDims);
  const last = outDims[outDims.length - 1] ?? 1;
  const strides = ins.map((d) => broadcastStrides(d, outDims));
  const lastStride = (k: number): number => strides[k]![outDims.length - 1] ?? 0;
  const vec = outDims.length > 0 && last % VEC === 0 && strides.every((_, k) => lastStride(k) === 0 || lastStride(k) === 1);
  const s = new ShaderBuilder();
  const same = ins.map((d) => prod(d) === total);
  // an input spanning the last dim is read as vec4 (offsets are multiples of 4 there); a broadcast one as f32
  // inputs in one buffer share a binding (as vec4 only when every one of them reads vec4)
  const wantsVec = (k: number): boolean => vec && ins.every((_, j) => share[j] !== share[k] || lastStride(j) === 1);
  const bound = new Map<number, ReturnType<typeof s.buffer<'f32'>> | ReturnType<typeof s.buffer<'vec4<f32>'>>>();
  const bufs = ins.map((_, k) => {
    const first = share[k]!;
    if (!bound.has(first)) bound.set(first, wantsVec(first) ? s.buffer(`x${first}`, 'vec4<f32>', 'read') : s.buffer(`x${first}`, 'f32', 'read'));
    return bound.get(first)!;
  });
  const threads = vec ? total / VEC : total;
  if (vec) {
    const out = s.buffer('y', 'vec4<f32>', 'read_write');
    main1d(s, threads, (b, v) => {
      const i = b.let('e', expr('u32', { kind: 'bin', op: '*', a: v.node, b: u32(VEC).node }));
      const cs = ins.some((_, k) => !same[k] && prod(ins[k]!) !== 1) ? coords(b, i, outDims) : [];
      const xs = bufs.map((buf, k): Expr<'vec4<f32>'> => {
        const off = same[k] ? i : prod(ins[k]!) === 1 ? u32(0) : offsetOf(cs, strides[k]!);
        if (buf.elem === 'vec4<f32>') return buf.at(same[k] ? v : expr('u32', { kind: 'bin', op: '/', a: off.node, b: u32(VEC).node })) as Expr<'vec4<f32>'>;
        // a scalar binding (shared with a broadcast reader): four loads along the last dim, or one splatted
        if (lastStride(k) === 1) return vec4('f32', ...[0, 1, 2, 3].map((l) => buf.at(add(off, u32(l))) as Expr<'f32'>));
        return vec4('f32', buf.at(off) as Expr<'f32'>);
      });
      b.set(out.at(v), op.formula(xs, (x) => vec4('f32', k32(x))));
    });
  } else {
    const out = s.buffer('y', 'f32', 'read_write');
    main1d(s, threads, (b, i) => {
      const cs = ins.some((_, k) => !same[k] && prod(ins[k]!) !== 1) ? coords(b, i, outDims) : [];
      const xs = bufs.map((buf, k) => buf.at(same[k] ? i : prod(ins[k]!) === 1 ? u32(0) : offsetOf(cs, strides[k]!)) as Expr<'f32'>);
      b.set(out.at(i), op.formula(xs, k32));
    });
  }
  return { shader: s.print(), threads };
}
const k32 = (x: number): Expr<'f32'> => f32(x);

export const elementwiseKernel: WgKernel = {
  dtypes: ['float32'],
  refuse(ctx) {
    const op = opOf(ctx);
    if ('reason' in op) return op;
    const bound = boundInputs(op);
    return refuseNonFloat(ctx, [...ctx.inputs.keys()].filter((i) => !bound.includes(i)));
  },
  lower(ctx): KernelDispatch[] {
    const op = opOf(ctx) as ElemOp;
    const out = ctx.outputs[0]!;
    if (out.size === 0) return [];
    const bound = boundInputs(op);
    const ins = bound.map((i) => (ctx.inputs[i] as ValueRef).dims);
    const share = firstSharing(ctx, bound).map((j) => bound.indexOf(j));
    const { shader, threads } = elementwiseShader(op, ins, out.dims, share);
    const distinct = bound.filter((_, k) => share[k] === k);
    return [{ shader, operands: [...distinct.map((i) => input(i)), output(0)], workgroups: grid1d(threads) }];
  },
};
