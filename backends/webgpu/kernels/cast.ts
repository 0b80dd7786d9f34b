// Cast and CastLike between the 32-bit types WebGPU stores (float32, int32, uint32): a same-type cast is a view
// (no code); float -> int truncates toward zero as the reference does for in-range values. Other types are
// refused with reason `dtype` (int64 exists only as constants, folded before lowering).

import type { PlanContext } from '../../../lowering/protocol.js';
import { convert, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder } from '../wgsl/module.js';
import { grid1d, main1d } from './common.js';
import { input, output, type KernelDispatch, type WgKernel } from './types.js';
import { copyShader } from './movement.js';

type Elem = 'f32' | 'i32' | 'u32';
const ELEM: Readonly<Record<string, Elem>> = { float32: 'f32', int32: 'i32', uint32: 'u32' };

export function castShader(n: number, from: Elem, to: Elem): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', from, 'read'), Y = s.buffer('y', to, 'read_write');
  main1d(s, n, (b, i) => b.set(Y.at(i) as LValue<Elem>, convert(to, X.at(i) as Expr<Elem>) as Expr<Elem>));
  return s.print();
}

const same = (ctx: PlanContext): boolean => ctx.inputs[0]!.dtype === ctx.outputs[0]!.dtype;

export const castKernel: WgKernel = {
  refuse(ctx) {
    const from = ctx.inputs[0]!, to = ctx.outputs[0]!;
    if (ELEM[from.dtype] && ELEM[to.dtype]) return undefined;
    const bad = ELEM[from.dtype] ? to : from;
    return { reason: 'dtype', dtype: bad.dtype, detail: `the webgpu Cast converts between float32, int32 and uint32, not ${from.dtype} -> ${to.dtype}` };
  },
  lower(ctx): KernelDispatch[] {
    const y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const from = ELEM[ctx.inputs[0]!.dtype]!, to = ELEM[y.dtype]!;
    return [{ shader: same(ctx) ? copyShader(y.size, to) : castShader(y.size, from, to), operands: [input(0), output(0)], workgroups: grid1d(y.size) }];
  },
};

export const CAST_KERNELS = { Cast: castKernel, CastLike: castKernel } as const;
