// ScatterElements and ScatterND with reduction 'none' (KV-cache updates and the like): the output is a copy of the
// data, then one invocation per update element stores it at its target. Indices are int32 or int64 (run-time int64
// narrowed and checked); an index outside [-n, n) sets the node's status (an OnnxcRuntimeError) and stores
// nothing. Duplicate targets are left to whichever store lands last, which ONNX leaves unspecified for 'none';
// the reductions (add, mul, max, min) would need float atomics and are refused.

import type { Refusal } from '../../../lowering/protocol.js';
import { add, and, convert, ge, i32, lt, mul, select, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, type Body, type Buffer, type StatusBinding } from '../wgsl/module.js';
import { coords, grid1d, loadI64, main1d, prod, stridesOf } from './common.js';
import { INDEX_OUT_OF_RANGE } from './gather.js';
import { copyShader } from './movement.js';
import { input, output, STATUS, type KernelDispatch, type LowerContext, type WgKernel } from './types.js';

type Num = 'f32' | 'i32' | 'u32';
const NUM: Readonly<Record<string, Num>> = { float32: 'f32', int32: 'i32', uint32: 'u32' };

const refuse = (ctx: Parameters<NonNullable<WgKernel['refuse']>>[0]): Refusal | undefined => {
  const d = ctx.inputs[0]!.dtype, ix = ctx.inputs[1]!.dtype;
  if (!NUM[d]) return { reason: 'dtype', dtype: d, detail: `the webgpu ${ctx.node.op} kernel moves float32/int32/uint32, not ${d}` };
  if (ix !== 'int32' && ix !== 'int64') return { reason: 'dtype', dtype: ix, detail: `indices of ${ix}` };
  const r = String(ctx.attrs['reduction'] ?? 'none');
  if (r !== 'none') return { reason: 'form', detail: `${ctx.node.op} reduction '${r}' needs float atomics, which the webgpu kernel does not use` };
  return undefined;
};

/** Index `at` of the indices, narrowed to i32 (int64: checked, out of range reads as `n`, itself out of range). */
const readIndex = (b: Body, I: Buffer<'u32'> | Buffer<'i32'>, wide: boolean, at: Expr<'u32'>, status: StatusBinding, n: number): Expr<'i32'> =>
  b.let('raw', wide ? loadI64(b, I as Buffer<'u32'>, at, status, i32(n)) : (I as Buffer<'i32'>).at(at) as Expr<'i32'>);

/** A checked, wrapped index (negative counts from the end), and whether it is inside [0, n). */
function wrap(b: Body, raw: Expr<'i32'>, n: number, status: StatusBinding): { k: Expr<'u32'>; ok: Expr<'bool'> } {
  const k = b.let('k', select(lt(raw, i32(0)), add(raw, i32(n)), raw));
  const ok = b.let('ok', and(ge(k, i32(0)), lt(k, i32(n))));
  b.if({ type: 'bool', node: { kind: 'un', op: '!', a: ok.node } }, (t) => status.fail(t, INDEX_OUT_OF_RANGE, raw));
  return { k: convert('u32', select(ok, k, i32(0))), ok };
}

function scatterDispatches(ctx: LowerContext, body: (s: ShaderBuilder, b: Body, i: Expr<'u32'>, I: Buffer<'u32'> | Buffer<'i32'>, U: Buffer<Num>, Y: Buffer<Num>, status: StatusBinding) => void): KernelDispatch[] {
  const x = ctx.inputs[0]!, upd = ctx.inputs[2]!;
  const e = NUM[x.dtype]!, wide = ctx.inputs[1]!.dtype === 'int64';
  const out: KernelDispatch[] = [];
  if (x.size > 0) out.push({ shader: copyShader(x.size, e), operands: [input(0), output(0)], workgroups: grid1d(x.size) });
  if (upd.size === 0) return out;
  const s = new ShaderBuilder();
  const I = wide ? s.buffer('idx', 'u32', 'read') : s.buffer('idx', 'i32', 'read');
  // indices and updates are distinct values (their buffers too, or one was bound for both)
  const U = s.buffer('upd', e, 'read'), Y = s.buffer('y', e, 'read_write');
  const status = s.status();
  main1d(s, upd.size, (b, i) => body(s, b, i, I, U as Buffer<Num>, Y as Buffer<Num>, status));
  out.push({ shader: s.print(), operands: [input(1), input(2), output(0), STATUS], workgroups: grid1d(upd.size) });
  return out;
}

export const scatterElementsKernel: WgKernel = {
  refuse: (ctx) => refuse(ctx) ?? (ctx.inputs[1]!.dims.join() !== ctx.inputs[2]!.dims.join() ? { reason: 'form', detail: 'indices and updates must have one shape' } : undefined),
  lower(ctx): KernelDispatch[] {
    const x = ctx.inputs[0]!, ix = ctx.inputs[1]!, wide = ix.dtype === 'int64';
    const a0 = Number(ctx.attrs['axis'] ?? 0), axis = a0 < 0 ? a0 + x.dims.length : a0, n = x.dims[axis]!;
    const st = stridesOf(x.dims);
    return scatterDispatches(ctx, (_s, b, i, I, U, Y, status) => {
      const cs = coords(b, i, ix.dims);
      const { k, ok } = wrap(b, readIndex(b, I, wide, i, status, n), n, status);
      let off: Expr<'u32'> = u32(0);
      x.dims.forEach((d, a) => { if (d !== 1) off = add(off, mul(a === axis ? k : cs[a]!, u32(st[a]!))); });
      b.if(ok, (t) => t.set(Y.at(off) as LValue<Num>, U.at(i) as Expr<Num>));
    });
  },
};

export const scatterNdKernel: WgKernel = {
  refuse(ctx): Refusal | undefined {
    const bad = refuse(ctx);
    if (bad) return bad;
    const k = ctx.inputs[1]!.dims[ctx.inputs[1]!.dims.length - 1] ?? 0;
    if (k < 1 || k > ctx.inputs[0]!.dims.length) return { reason: 'form', detail: `index tuples of ${k} values into rank ${ctx.inputs[0]!.dims.length}` };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const x = ctx.inputs[0]!, ix = ctx.inputs[1]!, wide = ix.dtype === 'int64';
    const k = ix.dims[ix.dims.length - 1]!, slice = prod(x.dims.slice(k)), st = stridesOf(x.dims);
    return scatterDispatches(ctx, (_s, b, i, I, U, Y, status) => {
      const [tuple, r] = coords(b, i, [prod(ix.dims.slice(0, -1)), slice]);
      let off: Expr<'u32'> = r!;
      let all: Expr<'bool'> | undefined;
      for (let a = 0; a < k; a++) {
        const { k: c, ok } = wrap(b, readIndex(b, I, wide, add(mul(tuple!, u32(k)), u32(a)), status, x.dims[a]!), x.dims[a]!, status);
        off = add(off, mul(c, u32(st[a]!)));
        all = all ? and(all, ok) : ok;
      }
      b.if(all!, (t) => t.set(Y.at(off) as LValue<Num>, U.at(i) as Expr<Num>));
    });
  },
};

export const SCATTER_KERNELS = { ScatterElements: scatterElementsKernel, ScatterND: scatterNdKernel } as const;
