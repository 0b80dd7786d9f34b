// The elementwise engine: any n-ary op over broadcast inputs, as a loop nest whose inner dim runs as a
// 4-lane SIMD loop (float32 ops with a vector formula, float16/bfloat16 data widened and rounded four at a time)
// with a scalar tail, or as a scalar loop otherwise.

import binaryen from '../binaryen.js';
import type { DType } from '../../../ir/dtype.js';
import { UnsupportedTypeError } from '../../../ir/errors.js';
import type { Expr, Local, Ptr, ValType } from '../fn.js';
import { elemBytes, Fn, valType } from '../fn.js';
import { isF32Storage, loadF32V, storeF32V } from '../half.js';
import { broadcastStrides, collapse, nest } from '../layout.js';
import { vectorLoop, viaVector } from '../simd.js';
import type { KernelContext, KernelGen, PlanContext, TensorRef } from './types.js';
import { input, output, strides } from './util.js';

export type Args = readonly (() => Expr)[];

export interface ElemOp {
  /** f32x4 formula; used when every input and the output are float32. */
  readonly vec?: (fn: Fn, a: Args) => Expr;
  /** Scalar formula on the inputs' value types (undefined: this dtype is not handled). Float32 ops with a
   *  `vec` formula and no scalar one compute their tail through the vector formula. */
  readonly scalar?: (fn: Fn, a: Args, t: ValType, dtypes: readonly DType[]) => Expr | undefined;
  /** `vec` also takes int32/uint32 inputs, as their raw 32-bit lanes (Cast's conversions to float). */
  readonly vecInts?: boolean;
}

/** Int32/uint32 inputs that a `vecInts` formula reads as raw lanes. */
const isI32Lanes = (d: DType): boolean => d === 'int32' || d === 'uint32';

/** An elementwise kernel from an op description (made per node, so attributes can shape the formula). */
export function elementwise(make: (ctx: KernelContext) => ElemOp, arity?: number): KernelGen {
  return {
    refuse: (ctx) => (handles(ctx, make(ctx as KernelContext), arity) ? undefined
      : { reason: 'dtype', dtype: ctx.inputs[0]?.dtype, detail: `the wasm backend's ${ctx.node.op} kernel does not handle ${ctx.inputs.slice(0, arity ?? ctx.inputs.length).map((t) => t?.dtype).join(', ')} -> ${ctx.outputs[0]?.dtype}` }),
    emit: (ctx) => emitElementwise(ctx, make(ctx), arity),
  };
}

/** Whether the formulas cover these value types, decided as emit decides it: the vector formula serves float32
 *  (and 16-bit floats, widened), otherwise the scalar formula must give an expression for the value type; it is
 *  asked once on a throwaway module (formulas only build expressions). */
function handles(ctx: PlanContext, op: ElemOp, arity?: number): boolean {
  const out = ctx.outputs[0];
  const ins = ctx.inputs.slice(0, arity ?? ctx.inputs.length);
  if (!out || ins.some((t) => t === undefined) || out.size === 0) return true;
  const types = [out, ...ins].map((t) => valType(t!.dtype));
  if (op.vec && (types.every((t) => t === 'f32') || types.every((t) => t === 'f64'))) return true;
  if (!op.scalar) return false;
  const probe = new binaryen.Module();
  try {
    const fn = new Fn(probe);
    const vals = ins.map((t) => fn.forType(valType(t!.dtype)));
    return op.scalar(fn, vals.map((l) => () => fn.get(l)), types[1]!, ins.map((t) => t!.dtype)) !== undefined;
  } finally {
    probe.dispose();
  }
}

function emitElementwise(ctx: KernelContext, op: ElemOp, arity?: number): Expr {
  const { fn, m } = ctx;
  const out = output(ctx);
  const ins: TensorRef[] = [];
  const n = arity ?? ctx.inputs.length;
  for (let i = 0; i < n; i++) ins.push(input(ctx, i));
  if (out.size === 0) return m.nop();
  const useVec = op.vec !== undefined && isF32Storage(out.dtype) && ins.every((t) => isF32Storage(t.dtype) || (op.vecInts === true && isI32Lanes(t.dtype)));
  // 16-bit floats compute in f32 (loads widen, stores round), so scalar f32 formulas serve them too
  const allF32Val = valType(out.dtype) === 'f32' && ins.every((t) => valType(t.dtype) === 'f32');
  const allF64Val = valType(out.dtype) === 'f64' && ins.every((t) => valType(t.dtype) === 'f64');
  const dtypes = ins.map((t) => t.dtype);
  const t0 = valType(ins[0]!.dtype);
  const c = collapse(out.dims, [strides(out.dims), ...ins.map((t) => broadcastStrides(t.dims, out.dims))]);
  if (c.dims.length === 0) { c.dims.push(1); c.sets.forEach((s) => s.push(0)); }
  const inner = c.dims.length - 1;
  const innerN = c.dims[inner]!;
  const innerStride = c.sets.map((s) => s[inner]!);
  const i = fn.i32();
  const vals: Local[] = ins.map((t) => fn.forType(valType(t.dtype)));
  const scalarValue = (): Expr => {
    const args: Args = vals.map((l) => () => fn.get(l));
    if (op.scalar) {
      const r = op.scalar(fn, args, t0, dtypes);
      if (r !== undefined) return r;
    }
    // float64 ops with only a vector formula compute in f32 (about 1e-7 relative), promoted back
    if (allF64Val && op.vec) {
      const vs = vals.map(() => fn.v128());
      return m.f64.promote(m.block(null, [
        ...vals.map((l, j) => fn.set(vs[j]!, m.f32x4.splat(m.f32.demote(fn.get(l))))),
        m.f32x4.extract_lane(op.vec(fn, vs.map((v) => () => fn.get(v))), 0),
      ], binaryen.f32));
    }
    if (allF32Val && op.vec) return viaVector(fn, (v) => { const tmp = fn.v128(); return m.block(null, [fn.set(tmp, v), op.vec!(fn, [() => fn.get(tmp)])], binaryen.v128); }, fn.get(vals[0]!));
    throw new UnsupportedTypeError(`the wasm backend's ${ctx.node.op} kernel does not handle ${dtypes.join(', ')} -> ${out.dtype}`, ctx.site);
  };
  // unary vec formulas are the common case for the via-vector tail; n-ary ones use splats of every arg
  const scalarTail = (): Expr => {
    if (!(allF32Val && op.vec && !op.scalar) || ins.length === 1) return scalarValue();
    const vs = vals.map(() => fn.v128());
    return m.block(null, [
      ...vals.map((l, j) => fn.set(vs[j]!, m.f32x4.splat(fn.get(l)))),
      m.f32x4.extract_lane(op.vec!(fn, vs.map((v) => () => fn.get(v))), 0),
    ], binaryen.f32);
  };
  return nest(fn, c.dims.slice(0, inner), c.sets.map((s) => s.slice(0, inner)), (offs) => {
    const outOff = offs[0]!;
    const inOffs = offs.slice(1);
    const offL = [outOff, ...inOffs].map(() => fn.i32());
    const pre = [outOff, ...inOffs].map((e, j) => fn.set(offL[j]!, e));
    const getOff = (j: number): Expr => fn.get(offL[j]!);
    const scalarBody = (iv: () => Expr): Expr[] => [
      ...ins.map((t, j) => fn.set(vals[j]!, fn.load(t.dtype, fn.elem(t.ptr, atIdx(j + 1, iv), elemBytes(t.dtype))))),
      fn.store(out.dtype, fn.elem(out.ptr, atIdx(0, iv), elemBytes(out.dtype)), scalarTail()),
    ];
    function atIdx(j: number, iv: () => Expr): Expr {
      const s = innerStride[j]!;
      return s === 0 ? getOff(j) : s === 1 ? m.i32.add(getOff(j), iv()) : m.i32.add(getOff(j), m.i32.mul(iv(), fn.c32(s)));
    }
    if (!useVec) return [...pre, fn.loop(i, 0, innerN, () => scalarBody(() => fn.get(i)))];
    const splats = ins.map((t, j) => (innerStride[j + 1] === 0 ? fn.v128() : undefined));
    const hoist = ins.flatMap((t, j) => {
      const s = splats[j];
      const x = (): Expr => fn.load(t.dtype, fn.elem(t.ptr, getOff(j + 1), elemBytes(t.dtype)));
      return s ? [fn.set(s, isI32Lanes(t.dtype) ? m.i32x4.splat(x()) : m.f32x4.splat(x()))] : [];
    });
    return [...pre, ...hoist, vectorLoop(fn, i, {
      n: innerN,
      vector: () => [storeF32V(fn, out.dtype, fn.elem(out.ptr, atIdx(0, () => fn.get(i)), elemBytes(out.dtype)), op.vec!(fn, ins.map((t, j) => {
        const s = splats[j];
        const at = (): Ptr => fn.elem(t.ptr, atIdx(j + 1, () => fn.get(i)), elemBytes(t.dtype));
        return s ? () => fn.get(s) : isI32Lanes(t.dtype) ? () => fn.loadV(at()) : () => loadF32V(fn, t.dtype, at());
      })))],
      scalar: () => scalarBody(() => fn.get(i)),
    })];
  });
}
