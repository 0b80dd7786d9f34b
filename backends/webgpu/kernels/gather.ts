// Gather along one axis, bounds-checked like the reference: an index outside [-n, n) writes 0, sets the node's
// status slot (code 1, with the index) and never reads outside the tensor; the runtime turns the slot into an
// OnnxcRuntimeError 'index-out-of-range' naming the node. Constant int64 indices are narrowed to int32 at
// compile time (WebGPU has no 64-bit integers); run-time indices must be int32.

import type { Tensor } from '../../../ir/tensor.js';
import type { PlanContext } from '../../../lowering/protocol.js';
import { add, and, convert, ge, i32, lt, mul, select, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder } from '../wgsl/module.js';
import { coords, grid1d, main1d, prod, refuseRuntimeInt64 } from './common.js';
import { input, output, packed, STATUS, type KernelDispatch, type WgKernel } from './types.js';

/** Status code of an index out of range (runtime/webgpu/session.ts reads it). */
export const INDEX_OUT_OF_RANGE = 1;

type Elem = 'f32' | 'i32' | 'u32';
const elemOf = (dtype: string): Elem => (dtype === 'int32' ? 'i32' : dtype === 'uint32' ? 'u32' : 'f32');
const narrow = (ctx: PlanContext): boolean => ctx.inputs[1]!.constant !== undefined && ctx.inputs[1]!.dtype === 'int64';

function toInt32(t: Tensor): Tensor {
  const src = t.data as BigInt64Array;
  // values past int32 are out of range for any tensor WebGPU can bind; saturate so they stay out of range
  const out = Int32Array.from(src, (v) => Number(v > 2147483647n ? 2147483647n : v < -2147483648n ? -2147483648n : v));
  return { dtype: 'int32', dims: [...t.dims], data: out };
}

export function gatherShader(outer: number, n: number, idxCount: number, inner: number, elem: Elem): string {
  const s = new ShaderBuilder();
  const X = s.buffer('x', elem, 'read'), I = s.buffer('idx', 'i32', 'read'), Y = s.buffer('y', elem, 'read_write');
  const status = s.status();
  main1d(s, outer * idxCount * inner, (b, i) => {
    const [o, j, r] = coords(b, i, [outer, idxCount, inner]);
    const raw = b.let('raw', I.at(j!) as Expr<'i32'>);
    const k = b.let('k', select(lt(raw, i32(0)), add(raw, i32(n)), raw));
    const ok = b.let('ok', and(ge(k, i32(0)), lt(k, i32(n))));
    b.if(ok, (t) => {
      t.set(Y.at(i) as LValue<Elem>, X.at(add(mul(add(mul(o!, u32(n)), convert('u32', k)), u32(inner)), r!)) as Expr<Elem>);
    }, (e) => {
      e.set(Y.at(i) as LValue<Elem>, convert(elem, i32(0)) as Expr<Elem>);
      status.fail(e, INDEX_OUT_OF_RANGE, raw);
    });
  });
  return s.print();
}

export const gatherKernel: WgKernel = {
  refuse(ctx) {
    const bad = refuseRuntimeInt64(ctx, narrow(ctx) ? [1] : []);
    if (bad) return bad;
    const d = ctx.outputs[0]!.dtype;
    if (!['float32', 'int32', 'uint32'].includes(d)) return { reason: 'dtype', dtype: ctx.outputs[0]!.dtype, detail: `the webgpu Gather moves 32-bit values, not ${d}` };
    return undefined;
  },
  prepack: (ctx) => (narrow(ctx) ? [toInt32(ctx.inputs[1]!.constant!)] : []),
  unread: (ctx) => (narrow(ctx) ? [1] : []),
  lower(ctx): KernelDispatch[] {
    const x = ctx.inputs[0]!, idx = ctx.inputs[1]!, y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const r = x.dims.length, a0 = Number(ctx.attrs['axis'] ?? 0), a = a0 < 0 ? a0 + r : a0;
    const shader = gatherShader(prod(x.dims.slice(0, a)), x.dims[a]!, idx.size, prod(x.dims.slice(a + 1)), elemOf(y.dtype));
    return [{ shader, operands: [input(0), narrow(ctx) ? packed(0) : input(1), output(0), STATUS], workgroups: grid1d(y.size) }];
  },
};
