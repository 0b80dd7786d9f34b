// Gather along one axis, bounds-checked like the reference: an index outside [-n, n) writes 0, sets the node's
// status slot (code 1, with the index) and never reads outside the tensor; the runtime turns the slot into an
// OnnxcRuntimeError 'index-out-of-range' naming the node. Constant int64 indices are narrowed to int32 at
// compile time (WebGPU has no 64-bit integers); run-time int64 indices (ArgMax's) are read as word pairs and
// range-checked (common.ts loadI64).

import type { Tensor } from '../../../ir/tensor.js';
import type { PlanContext } from '../../../lowering/protocol.js';
import { add, and, bool, convert, ge, i32, lt, mul, not, select, u32, type Expr, type Scalar } from '../wgsl/ast.js';
import { ShaderBuilder, type Buffer } from '../wgsl/module.js';
import { coords, grid1d, loadI64, prod, refuseRuntimeInt64 } from './common.js';
import { ELEM_OF, load, storeAll, type Elem } from './scalar-map.js';
import { input, output, packed, STATUS, type KernelDispatch, type WgKernel } from './types.js';

/** Status code of an index out of range (runtime/webgpu/session.ts reads it). */
export const INDEX_OUT_OF_RANGE = 1;

const elemOf = (dtype: string): Elem => ELEM_OF[dtype]!;
const narrow = (ctx: PlanContext): boolean => ctx.inputs[1]!.constant !== undefined && ctx.inputs[1]!.dtype === 'int64';

function toInt32(t: Tensor): Tensor {
  const src = t.data as BigInt64Array;
  // values past int32 are out of range for any tensor WebGPU can bind; saturate so they stay out of range
  const out = Int32Array.from(src, (v) => Number(v > 2147483647n ? 2147483647n : v < -2147483648n ? -2147483648n : v));
  return { dtype: 'int32', dims: [...t.dims], data: out };
}

export function gatherShader(outer: number, n: number, idxCount: number, inner: number, elem: Elem, wideIdx = false): string {
  const s = new ShaderBuilder();
  const word = elem === 'bool' ? 'u32' : elem;
  const X = s.buffer('x', word, 'read'), I = wideIdx ? s.buffer('idx', 'u32', 'read') : s.buffer('idx', 'i32', 'read'), Y = s.buffer('y', word, 'read_write');
  const status = s.status();
  storeAll(s, Y, elem, outer * idxCount * inner, (b, i) => {
    const [o, j, r] = coords(b, i, [outer, idxCount, inner]);
    // an int64 index past int32 reads as n: out of range
    const raw = b.let('raw', wideIdx ? loadI64(b, I as Buffer<'u32'>, j!, status, i32(n)) : I.at(j!) as Expr<'i32'>);
    const k = b.let('k', select(lt(raw, i32(0)), add(raw, i32(n)), raw));
    const ok = b.let('ok', and(ge(k, i32(0)), lt(k, i32(n))));
    b.if(not(ok), (e) => status.fail(e, INDEX_OUT_OF_RANGE, raw));
    // a bad index reads element 0 of the row (never outside the tensor) and writes 0
    const at = add(mul(add(mul(o!, u32(n)), convert('u32', select(ok, k, i32(0)))), u32(inner)), r!);
    const zero = (elem === 'bool' ? bool(false) : convert(elem, i32(0))) as Expr<Scalar>;
    return select(ok, n > 0 ? load(X, elem, at) : zero, zero);
  });
  return s.print();
}

export const gatherKernel: WgKernel = {
  refuse(ctx) {
    const bad = refuseRuntimeInt64(ctx, [1]);
    if (bad) return bad;
    const d = ctx.outputs[0]!.dtype;
    if (!ELEM_OF[d]) return { reason: 'dtype', dtype: ctx.outputs[0]!.dtype, detail: `the webgpu Gather moves float32/int32/uint32/bool values, not ${d}` };
    return undefined;
  },
  prepack: (ctx) => (narrow(ctx) ? [toInt32(ctx.inputs[1]!.constant!)] : []),
  unread: (ctx) => (narrow(ctx) ? [1] : []),
  lower(ctx): KernelDispatch[] {
    const x = ctx.inputs[0]!, idx = ctx.inputs[1]!, y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const r = x.dims.length, a0 = Number(ctx.attrs['axis'] ?? 0), a = a0 < 0 ? a0 + r : a0;
    const wide = idx.dtype === 'int64' && !narrow(ctx);
    const shader = gatherShader(prod(x.dims.slice(0, a)), x.dims[a]!, idx.size, prod(x.dims.slice(a + 1)), elemOf(y.dtype), wide);
    return [{ shader, operands: [input(0), narrow(ctx) ? packed(0) : input(1), output(0), STATUS], workgroups: grid1d(y.dtype === 'bool' ? Math.ceil(y.size / 4) : y.size) }];
  },
};
