// Data movement: views (Reshape, Flatten, Squeeze, Unsqueeze, Identity, inference Dropout) share their input's
// buffer and emit nothing, or copy when the input is a constant; Transpose maps each output element to its
// source through permuted strides; Concat copies each input into its slab of the output (one dispatch each).

import type { PlanContext } from '../../../lowering/protocol.js';
import { add, mul, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder } from '../wgsl/module.js';
import { coords, grid1d, main1d, offsetOf, prod, refuseRuntimeInt64, stridesOf } from './common.js';
import { input, output, type KernelDispatch, type WgKernel } from './types.js';
import { ELEM_OF, load, storeAll, type Elem as MapElem } from './scalar-map.js';

type Elem = 'f32' | 'i32' | 'u32';
const elemOf = (dtype: string): Elem => (dtype === 'int32' ? 'i32' : dtype === 'uint32' || dtype === 'bool' ? 'u32' : 'f32');
const refuseMovement = (ctx: PlanContext, types = ['float32', 'int32', 'uint32', 'bool']) => refuseRuntimeInt64(ctx)
  ?? (ctx.outputs.some((o) => o && !types.includes(o.dtype)) ? { reason: 'dtype' as const, detail: `the webgpu ${ctx.node.op} kernel moves ${types.join('/')} values, not ${ctx.outputs[0]!.dtype}` } : undefined);
/** Words to copy for `n` elements of `dtype` (bool: one byte each, copied four at a time). */
const copyWords = (n: number, dtype: string): number => (dtype === 'bool' ? Math.ceil(n / 4) : n);

export function copyShader(n: number, elem: Elem): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', elem, 'read'), Y = s.buffer('y', elem, 'read_write');
  main1d(s, n, (b, i) => b.set(Y.at(i) as LValue<Elem>, X.at(i) as Expr<Elem>));
  return s.print();
}

/** A view: no code unless its input is a constant (then a copy into its own buffer). */
export const viewKernel = (constInputs: readonly number[] = []): WgKernel => ({
  alias: true,
  constInputs,
  refuse: refuseMovement,
  unread: () => [...constInputs],
  lower(ctx): KernelDispatch[] {
    const y = ctx.outputs[0]!;
    if (ctx.view || y.size === 0) return [];
    const n = copyWords(y.size, y.dtype);
    return [{ shader: copyShader(n, elemOf(y.dtype)), operands: [input(0), output(0)], workgroups: grid1d(n) }];
  },
});

/** Dropout at inference (training_mode absent or false) is the identity; in training mode it is refused. */
const dropoutKernel: WgKernel = {
  ...viewKernel([1, 2]),
  refuse(ctx) {
    const t = ctx.inputs[2]?.constant;
    if (t && t.data.length > 0 && Number((t.data as ArrayLike<number>)[0]) !== 0) return { reason: 'form', detail: 'Dropout in training mode is not supported by the webgpu backend' };
    if (ctx.outputs[1]) return { reason: 'form', detail: 'Dropout mask output is not supported by the webgpu backend' };
    return refuseMovement(ctx);
  },
};

export function transposeShader(inDims: readonly number[], perm: readonly number[], elem: MapElem): string {
  const outDims = perm.map((p) => inDims[p]!);
  const st = stridesOf(inDims);
  const s = new ShaderBuilder();
  const word = elem === 'bool' ? 'u32' : elem;
  const X = s.buffer('x', word, 'read'), Y = s.buffer('y', word, 'read_write');
  storeAll(s, Y, elem, prod(outDims), (b, i) => load(X, elem, offsetOf(coords(b, i, outDims), perm.map((p) => (inDims[p] === 1 ? 0 : st[p]!)))));
  return s.print();
}

export const transposeKernel: WgKernel = {
  refuse: refuseMovement,
  lower(ctx): KernelDispatch[] {
    const x = ctx.inputs[0]!, y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const perm = (ctx.attrs['perm'] as number[] | undefined)?.map(Number) ?? x.dims.map((_, i) => x.dims.length - 1 - i);
    return [{ shader: transposeShader(x.dims, perm, ELEM_OF[y.dtype]!), operands: [input(0), output(0)], workgroups: grid1d(copyWords(y.size, y.dtype)) }];
  },
};

/** Copies an [outer, axisIn, inner] input into [outer, axisOut, inner] at axis offset `at`. */
export function slabShader(outer: number, axisIn: number, inner: number, axisOut: number, at: number, elem: Elem): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', elem, 'read'), Y = s.buffer('y', elem, 'read_write');
  main1d(s, outer * axisIn * inner, (b, i) => {
    const [o, r] = coords(b, i, [outer, axisIn * inner]);
    b.set(Y.at(add(add(mul(o!, u32(axisOut * inner)), u32(at * inner)), r!)) as LValue<Elem>, X.at(i) as Expr<Elem>);
  });
  return s.print();
}

export const concatKernel: WgKernel = {
  // bool slabs need not start on a word: not copied word-wise
  refuse: (ctx) => refuseMovement(ctx, ['float32', 'int32', 'uint32']),
  lower(ctx): KernelDispatch[] {
    const y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const r = y.dims.length, a0 = Number(ctx.attrs['axis']), a = a0 < 0 ? a0 + r : a0;
    const outer = prod(y.dims.slice(0, a)), inner = prod(y.dims.slice(a + 1)), axisOut = y.dims[a]!;
    const out: KernelDispatch[] = [];
    let at = 0;
    ctx.inputs.forEach((x, k) => {
      const n = x!.dims[a]!;
      if (n > 0 && outer * inner > 0) out.push({ shader: slabShader(outer, n, inner, axisOut, at, elemOf(y.dtype)), operands: [input(k), output(0)], workgroups: grid1d(outer * n * inner) });
      at += n;
    });
    return out;
  },
};

export const MOVEMENT_KERNELS = {
  Reshape: viewKernel([1]), Flatten: viewKernel(), Squeeze: viewKernel([1]), Unsqueeze: viewKernel([1]), Identity: viewKernel(),
  Dropout: dropoutKernel, Transpose: transposeKernel, Concat: concatKernel,
} as const;
