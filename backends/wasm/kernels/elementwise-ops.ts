// The elementwise formula table: one formula per op (f32x4 and/or scalar per value type). The standalone kernels
// (the elementwise engine), the FusedElementwise program steps and the fused activation epilogues all read it, so
// an op's wasm arithmetic is written once. Attributes and constant inputs (Clip bounds, Pow exponents) shape the
// formula. Adding an elementwise op to the wasm backend: one entry here and one case in test/wasm/kernels.test.ts.

import binaryen from '../binaryen.js';
import type { DType } from '../../../ir/dtype.js';
import { toNumbers } from '../../../ir/tensor.js';
import type { Expr, Fn, ValType } from '../fn.js';
import { erfV, expV, geluTanhV, logV, sigmoidV, splatF32, tanhV } from '../math.js';
import type { OpName } from '../../../ops/op-names.js';
import { elementwise as engine, type Args, type ElemOp } from './elementwise.js';
import type { KernelContext, KernelGen, TensorRef } from './types.js';
import { attrNum, attrStr } from './util.js';
import { valType as valTypeOf } from '../fn.js';
import { isF32Storage } from '../half.js';

/** An op's formula: made per node from its attributes and constant inputs. */
export interface Formula {
  readonly arity?: number;
  make(ctx: FormulaContext): ElemOp;
}
/** What a formula may read: attributes, and the inputs (constants, or their place in memory: Clip's bounds). */
export type FormulaContext = Pick<KernelContext, 'attrs' | 'inputs'> & Partial<Pick<KernelContext, 'outputs'>>;

const elementwise = (make: (ctx: FormulaContext) => ElemOp, arity?: number): Formula => ({ make, arity });

type Ops = Record<string, (...a: Expr[]) => Expr>;
const ops = (fn: Fn, t: ValType): Ops => (fn.m as unknown as Record<ValType, Ops>)[t];
const isFloatT = (t: ValType): boolean => t === 'f32' || t === 'f64';
const unsignedT = (d: DType): boolean => d.startsWith('u') || d === 'bool';
const zero = (fn: Fn, t: ValType): Expr => (t === 'i64' ? fn.m.i64.const(0n) : t === 'i32' ? fn.c32(0) : ops(fn, t).const!(0 as unknown as Expr));
const V = (fn: Fn) => fn.m.f32x4;

/** A unary float op with a vector formula only (tail through the same formula). */
const vecOnly = (vec: (fn: Fn, x: Expr) => Expr): Formula => elementwise(() => ({ vec: (fn, a) => vec(fn, a[0]!()) }), 1);

/** An op whose scalar formula is the same wasm instruction for every numeric value type. */
function sameOp(name: string, vec?: (fn: Fn, a: Args) => Expr, floatOnly = false, arity?: number): Formula {
  return elementwise(() => ({
    vec,
    scalar: (fn, a, t) => (floatOnly && !isFloatT(t) ? undefined : ops(fn, t)[name]!(...a.map((g) => g()))),
  }), arity);
}

function minMax(isMax: boolean): Formula {
  return elementwise((ctx) => ({
    vec: (fn, a) => a.slice(1).reduce((acc, g) => (isMax ? V(fn).max(acc, g()) : V(fn).min(acc, g())), a[0]!()),
    scalar: (fn, a, t, d) => {
      const tmp = fn.forType(t);
      const steps: Expr[] = [fn.set(tmp, a[0]!())];
      for (const g of a.slice(1)) {
        const o = ops(fn, t);
        const pick = isFloatT(t) ? o[isMax ? 'max' : 'min']!(fn.get(tmp), g())
          : fn.m.select(o[`${isMax ? 'gt' : 'lt'}_${unsignedT(d[0]!) ? 'u' : 's'}`]!(g(), fn.get(tmp)), g(), fn.get(tmp));
        steps.push(fn.set(tmp, pick));
      }
      return fn.m.block(null, [...steps, fn.get(tmp)], binaryen[t]);
    },
  }), ctx0arity());
}
const ctx0arity = (): undefined => undefined;

function compare(name: 'eq' | 'lt' | 'gt' | 'le' | 'ge'): Formula {
  return elementwise(() => ({
    scalar: (fn, a, t, d) => ops(fn, t)[isFloatT(t) || name === 'eq' ? name : `${name}_${unsignedT(d[0]!) ? 'u' : 's'}`]!(a[0]!(), a[1]!()),
  }), 2);
}

function arith(name: 'add' | 'sub' | 'mul' | 'div'): Formula {
  return elementwise(() => ({
    vec: (fn, a) => V(fn)[name](a[0]!(), a[1]!()),
    scalar: (fn, a, t, d) => {
      const n = name === 'div' && !isFloatT(t) ? (unsignedT(d[0]!) ? 'div_u' : 'div_s') : name;
      return ops(fn, t)[n]!(a[0]!(), a[1]!());
    },
  }), 2);
}

function powOp(ctx: FormulaContext): ElemOp {
  const e = ctx.inputs[1]?.constant;
  const c = e && e.data.length === 1 ? toNumbers(e)[0] : undefined;
  if (c === 2) return { vec: (fn, a) => V(fn).mul(a[0]!(), a[0]!()) };
  if (c === 3) return { vec: (fn, a) => V(fn).mul(V(fn).mul(a[0]!(), a[0]!()), a[0]!()) };
  if (c === 1) return { vec: (fn, a) => a[0]!() };
  if (c === 0.5) return { vec: (fn, a) => V(fn).sqrt(a[0]!()) };
  return {
    vec: (fn, a) => {
      const m = fn.m, v = V(fn), r = fn.v128(), y = fn.v128(), x = fn.v128();
      const yInt = v.eq(v.floor(fn.get(y)), fn.get(y));
      const odd = m.v128.and(yInt, v.ne(v.mul(v.floor(v.mul(fn.get(y), splatF32(fn, 0.5))), splatF32(fn, 2)), fn.get(y)));
      const negR = m.v128.bitselect(v.neg(fn.get(r)), fn.get(r), odd);
      return m.block(null, [
        fn.set(x, a[0]!()), fn.set(y, a[1]!()),
        fn.set(r, expV(fn, v.mul(fn.get(y), logV(fn, v.abs(fn.get(x)))))),
        fn.set(r, m.v128.bitselect(m.v128.bitselect(negR, splatF32(fn, NaN), v.eq(v.floor(fn.get(y)), fn.get(y))), fn.get(r), v.lt(fn.get(x), splatF32(fn, 0)))),
        m.v128.bitselect(splatF32(fn, 1), fn.get(r), v.eq(fn.get(y), splatF32(fn, 0))),
      ], binaryen.v128);
    },
  };
}

function clipOp(ctx: FormulaContext): ElemOp {
  // a bound is a compile-time constant or read from memory at run time (a graph input)
  const bound = (i: number) => {
    const t = ctx.inputs[i];
    return t && (t.dtype === 'float32' || valTypeOf(t.dtype) === 'i32' || valTypeOf(t.dtype) === 'f64') ? t : undefined;
  };
  const lo = bound(1), hi = bound(2);
  if ((ctx.inputs[1] && !lo) || (ctx.inputs[2] && !hi)) return {};
  return {
    vec: (fn, a) => {
      let v = a[0]!();
      // a constant bound is an immediate (the fused epilogues pass theirs that way), a run-time one is loaded
      const splat = (b: TensorRef): Expr => V(fn).splat(fn.load('float32', b.ptr));
      if (lo) v = lo.constant ? maxConst(fn, v, toNumbers(lo.constant)[0]!) : V(fn).max(v, splat(lo));
      if (hi) v = hi.constant ? minConst(fn, v, toNumbers(hi.constant)[0]!) : V(fn).min(v, splat(hi));
      return v;
    },
    scalar: (fn, a, t, d) => {
      if (t === 'f32' || t === 'i64') return undefined;
      const o = ops(fn, t), m = fn.m;
      if (t === 'f64') {
        let v = a[0]!();
        if (lo) v = o.max!(v, fn.load(lo.dtype, lo.ptr));
        if (hi) v = o.min!(v, fn.load(hi.dtype, hi.ptr));
        return v;
      }
      const sfx = unsignedT(d[0]!) ? 'u' : 's', tmp = fn.forType(t);
      return m.block(null, [
        fn.set(tmp, a[0]!()),
        lo ? fn.set(tmp, m.select(o[`lt_${sfx}`]!(fn.get(tmp), fn.load(lo.dtype, lo.ptr)), fn.load(lo.dtype, lo.ptr), fn.get(tmp))) : m.nop(),
        hi ? fn.set(tmp, m.select(o[`gt_${sfx}`]!(fn.get(tmp), fn.load(hi.dtype, hi.ptr)), fn.load(hi.dtype, hi.ptr), fn.get(tmp))) : m.nop(),
        fn.get(tmp),
      ], binaryen[t]);
    },
  };
}

/** f32x4.max(v, splat(c)) for a constant c, in its bits (NaN-ness for a NaN: wasm leaves the payload to the engine),
 *  by one pmax where it can: V8 lowers f32x4.max to 8-9 instructions (its NaN and signed-zero rules), pmax to one
 *  maxps. pmax(v, c) = v < c ? c : v keeps a NaN v as max does, and differs from max only where v and c are zeros of
 *  opposite signs: with c = +0, v = -0 gives -0 where max gives +0, which adding +0 mends (-0 + 0 = +0; every other
 *  value, NaN included, stays itself); with c nonzero no zero v ties with it. A NaN or -0 c keeps f32x4.max.
 *  (Measured by the GEMM work: expand @56 with bias + Clip(0, 6) 30.7 GFLOP/s with max/min, 41.8 with these.) */
function maxConst(fn: Fn, v: Expr, c: number): Expr {
  const f = Math.fround(c);
  if (Number.isNaN(f) || Object.is(f, -0)) return V(fn).max(v, splatF32(fn, f));
  const p = V(fn).pmax(v, splatF32(fn, f));
  return f === 0 ? V(fn).add(p, splatF32(fn, 0)) : p;
}

/** f32x4.min(v, splat(c)) for a constant c, in its bits: pmin(v, c) = c < v ? c : v keeps a NaN v; the zeros differ
 *  only at v = +0, c = -0 (min gives -0, pmin +0), so a NaN or -0 c keeps f32x4.min (c = +0 is exact: v = -0 stays). */
function minConst(fn: Fn, v: Expr, c: number): Expr {
  const f = Math.fround(c);
  return Number.isNaN(f) || Object.is(f, -0) ? V(fn).min(v, splatF32(fn, f)) : V(fn).pmin(v, splatF32(fn, f));
}

const relu: ElemOp = {
  vec: (fn, a) => maxConst(fn, a[0]!(), 0),
  scalar: (fn, a, t) => (t === 'f32' ? undefined : isFloatT(t) ? ops(fn, t).max!(a[0]!(), ops(fn, t).const!(0 as unknown as Expr))
    : fn.m.select(ops(fn, t).gt_s!(a[0]!(), zero(fn, t)), a[0]!(), zero(fn, t))),
};

/** alpha * (e^x - 1) for x <= 0, x above. */
const eluV = (fn: Fn, x: () => Expr, alpha: number): Expr =>
  fn.m.v128.bitselect(x(), V(fn).mul(splatF32(fn, alpha), V(fn).sub(expV(fn, x()), splatF32(fn, 1))), V(fn).gt(x(), splatF32(fn, 0)));

function castOp(ctx: FormulaContext): ElemOp {
  const to = ctx.outputs?.[0]?.dtype, from = ctx.inputs[0]?.dtype;
  if (to === undefined) return {};
  return {
    // between float32 and the 16-bit floats the engine's loads widen and its stores round: the value passes through;
    // int32/uint32 to a float: the lanes converted as f32.convert_s/u.i32 converts one (round to nearest even), then
    // stored as the scalar path stores (a 16-bit float rounded from that float32 in both)
    vec: from !== undefined && isF32Storage(to) ? (isF32Storage(from) ? (_fn, a) => a[0]!()
      : from === 'int32' ? (fn, a) => V(fn).convert_i32x4_s(a[0]!()) : from === 'uint32' ? (fn, a) => V(fn).convert_i32x4_u(a[0]!()) : undefined) : undefined,
    vecInts: true,
    scalar: (fn, a, t, d) => {
      const m = fn.m, x = a[0]!, from = d[0]!, u = unsignedT(from);
      if (to === 'bool') {
        return isFloatT(t) ? m.i32.and(ops(fn, t).ne!(x(), ops(fn, t).const!(0 as unknown as Expr)), ops(fn, t).eq!(x(), x()))
          : t === 'i64' ? m.i32.eqz(m.i64.eqz(x())) : m.i32.ne(x(), fn.c32(0));
      }
      switch (to) {
        case 'float32': case 'float16': case 'bfloat16':
          return t === 'f32' ? x() : t === 'f64' ? m.f32.demote(x()) : t === 'i64' ? (u ? m.f32.convert_u.i64(x()) : m.f32.convert_s.i64(x())) : (from === 'uint32' ? m.f32.convert_u.i32(x()) : m.f32.convert_s.i32(x()));
        case 'float64':
          return t === 'f64' ? x() : t === 'f32' ? m.f64.promote(x()) : t === 'i64' ? (u ? m.f64.convert_u.i64(x()) : m.f64.convert_s.i64(x())) : (from === 'uint32' ? m.f64.convert_u.i32(x()) : m.f64.convert_s.i32(x()));
        case 'int64': case 'uint64':
          return t === 'i64' ? x() : t === 'f32' ? m.i64.trunc_s_sat.f32(x()) : t === 'f64' ? m.i64.trunc_s_sat.f64(x()) : (from === 'uint32' ? m.i64.extend_u(x()) : m.i64.extend_s(x()));
        // narrower than 32 bits: the store keeps the low bits (int4/int2 wrapped to their width by Fn.store)
        case 'int32': case 'uint32': case 'int16': case 'uint16': case 'int8': case 'uint8':
        case 'int4': case 'uint4': case 'int2': case 'uint2':
          return t === 'i32' ? x() : t === 'i64' ? m.i32.wrap(x()) : t === 'f32' ? (to === 'uint32' ? m.i32.trunc_u_sat.f32(x()) : m.i32.trunc_s_sat.f32(x())) : (to === 'uint32' ? m.i32.trunc_u_sat.f64(x()) : m.i32.trunc_s_sat.f64(x()));
        default: return undefined;
      }
    },
  };
}

function modOp(ctx: FormulaContext): ElemOp {
  const fmod = attrNum(ctx, 'fmod');
  return {
    scalar: (fn, a, t, d) => {
      const m = fn.m;
      if (isFloatT(t)) {
        if (!fmod) return undefined;
        const o = ops(fn, t);
        return o.sub!(a[0]!(), o.mul!(o.trunc!(o.div!(a[0]!(), a[1]!())), a[1]!()));
      }
      const o = ops(fn, t), u = unsignedT(d[0]!);
      if (u) return o.rem_u!(a[0]!(), a[1]!());
      if (fmod) return o.rem_s!(a[0]!(), a[1]!());
      const r = fn.forType(t);
      const z = (): Expr => zero(fn, t);
      const fix = m.i32.and(o.ne!(fn.get(r), z()), m.i32.ne(o.lt_s!(fn.get(r), z()), o.lt_s!(a[1]!(), z())));
      return m.block(null, [fn.set(r, o.rem_s!(a[0]!(), a[1]!())), m.select(fix, o.add!(fn.get(r), a[1]!()), fn.get(r))], binaryen[t]);
    },
  };
}

/** sin or cos in f64: reduce to [-pi, pi] (2pi split in two so the product is exact), then the Taylor series
 *  to degree 27 on r^2 (error below 1e-14 there). Scalar: these ops are rare. */
function sinCosF64(fn: Fn, x: Expr, cos: boolean): Expr {
  const m = fn.m, r = fn.forType('f64'), z = fn.forType('f64'), n = fn.forType('f64');
  const c = (v: number): Expr => m.f64.const(v);
  const hi = 6.28318530717958623, lo = 2.4492935982947064e-16;
  const coef: number[] = [];
  for (let k = 13; k >= 0; k--) { const p = cos ? 2 * k : 2 * k + 1; let f = 1; for (let i = 2; i <= p; i++) f *= i; coef.push((k % 2 ? -1 : 1) / f); }
  let acc = c(coef[0]!);
  for (const q of coef.slice(1)) acc = m.f64.add(m.f64.mul(acc, fn.get(z)), c(q));
  return m.block(null, [
    fn.set(r, x),
    fn.set(n, m.f64.nearest(m.f64.div(fn.get(r), c(hi)))),
    fn.set(r, m.f64.sub(m.f64.sub(fn.get(r), m.f64.mul(fn.get(n), c(hi))), m.f64.mul(fn.get(n), c(lo)))),
    fn.set(z, m.f64.mul(fn.get(r), fn.get(r))),
    cos ? acc : m.f64.mul(acc, fn.get(r)),
  ], binaryen.f64);
}

/** A unary float op computed in f64 (f32 inputs promoted, results rounded back). */
const viaF64 = (f: (fn: Fn, x: Expr) => Expr): Formula => elementwise(() => ({
  scalar: (fn, a, t) => (t === 'f64' ? f(fn, a[0]!()) : t === 'f32' ? fn.m.f32.demote(f(fn, fn.m.f64.promote(a[0]!()))) : undefined),
}), 1);

export const FORMULAS: Readonly<Partial<Record<OpName, Formula>>> = {
  Add: arith('add'), Sub: arith('sub'), Mul: arith('mul'), Div: arith('div'),
  Max: minMax(true), Min: minMax(false),
  Sum: elementwise(() => ({ vec: (fn, a) => a.slice(1).reduce((acc, g) => V(fn).add(acc, g()), a[0]!()), scalar: (fn, a, t) => a.slice(1).reduce((acc, g) => ops(fn, t).add!(acc, g()), a[0]!()) })),
  Mean: elementwise(() => ({ vec: (fn, a) => V(fn).div(a.slice(1).reduce((acc, g) => V(fn).add(acc, g()), a[0]!()), splatF32(fn, a.length)) })),
  Pow: elementwise(powOp, 2),
  PRelu: elementwise(() => ({ vec: (fn, a) => fn.m.v128.bitselect(V(fn).mul(a[0]!(), a[1]!()), a[0]!(), V(fn).lt(a[0]!(), splatF32(fn, 0))) }), 2),
  Equal: compare('eq'), Less: compare('lt'), Greater: compare('gt'), LessOrEqual: compare('le'), GreaterOrEqual: compare('ge'),
  And: sameOp('and', undefined, false, 2), Or: sameOp('or', undefined, false, 2), Xor: sameOp('xor', undefined, false, 2),
  Not: elementwise(() => ({ scalar: (fn, a) => fn.m.i32.eqz(a[0]!()) }), 1),
  Where: elementwise(() => ({ scalar: (fn, a) => fn.m.select(a[0]!(), a[1]!(), a[2]!()) }), 3),
  Mod: elementwise(modOp, 2),
  Cast: elementwise(castOp, 1),
  CastLike: elementwise(castOp, 1),
  BitShift: elementwise((ctx) => {
    const left = attrStr(ctx, 'direction') === 'LEFT';
    return { scalar: (fn, a, t) => (isFloatT(t) ? undefined : ops(fn, t)[left ? 'shl' : 'shr_u']!(a[0]!(), a[1]!())) };
  }, 2),
  BitwiseAnd: sameOp('and', undefined, false, 2), BitwiseOr: sameOp('or', undefined, false, 2), BitwiseXor: sameOp('xor', undefined, false, 2),
  BitwiseNot: elementwise(() => ({ scalar: (fn, a, t) => (t === 'i64' ? fn.m.i64.xor(a[0]!(), fn.m.i64.const(-1n)) : t === 'i32' ? fn.m.i32.xor(a[0]!(), fn.c32(-1)) : undefined) }), 1),
  Swish: elementwise((ctx) => {
    const alpha = attrNum(ctx, 'alpha');
    return { vec: (fn, a) => { const t = fn.v128(); return fn.m.block(null, [fn.set(t, a[0]!()), V(fn).mul(fn.get(t), sigmoidV(fn, V(fn).mul(fn.get(t), splatF32(fn, alpha))))], binaryen.v128); } };
  }, 1),
  IsInf: elementwise((ctx) => {
    const neg = attrNum(ctx, 'detect_negative') !== 0, pos = attrNum(ctx, 'detect_positive') !== 0;
    return {
      scalar: (fn, a, t) => {
        if (!isFloatT(t)) return undefined;
        const o = ops(fn, t), m = fn.m, c = (x: number): Expr => o.const!(x as unknown as Expr);
        const p = pos ? o.eq!(a[0]!(), c(Infinity)) : fn.c32(0), n = neg ? o.eq!(a[0]!(), c(-Infinity)) : fn.c32(0);
        return m.i32.or(p, n);
      },
    };
  }, 1),
  Abs: elementwise(() => ({ vec: (fn, a) => V(fn).abs(a[0]!()), scalar: (fn, a, t) => (t === 'f32' ? undefined : isFloatT(t) ? ops(fn, t).abs!(a[0]!()) : fn.m.select(ops(fn, t).lt_s!(a[0]!(), zero(fn, t)), ops(fn, t).sub!(zero(fn, t), a[0]!()), a[0]!())) }), 1),
  Neg: elementwise(() => ({ vec: (fn, a) => V(fn).neg(a[0]!()), scalar: (fn, a, t) => (t === 'f32' ? undefined : isFloatT(t) ? ops(fn, t).neg!(a[0]!()) : ops(fn, t).sub!(zero(fn, t), a[0]!())) }), 1),
  Sqrt: sameOp('sqrt', (fn, a) => V(fn).sqrt(a[0]!()), true, 1),
  Ceil: sameOp('ceil', (fn, a) => V(fn).ceil(a[0]!()), true, 1),
  Floor: sameOp('floor', (fn, a) => V(fn).floor(a[0]!()), true, 1),
  Round: sameOp('nearest', (fn, a) => V(fn).nearest(a[0]!()), true, 1),
  Reciprocal: elementwise(() => ({ vec: (fn, a) => V(fn).div(splatF32(fn, 1), a[0]!()) }), 1),
  Relu: elementwise(() => relu, 1),
  Exp: vecOnly(expV), Log: vecOnly(logV), Erf: vecOnly(erfV), Tanh: vecOnly(tanhV), Sigmoid: vecOnly(sigmoidV),
  Softsign: vecOnly((fn, x) => { const t = fn.v128(); return fn.m.block(null, [fn.set(t, x), V(fn).div(fn.get(t), V(fn).add(splatF32(fn, 1), V(fn).abs(fn.get(t))))], binaryen.v128); }),
  Softplus: vecOnly((fn, x) => {
    const t = fn.v128();
    return fn.m.block(null, [fn.set(t, x), fn.m.v128.bitselect(fn.get(t), logV(fn, V(fn).add(splatF32(fn, 1), expV(fn, fn.get(t)))), V(fn).gt(fn.get(t), splatF32(fn, 20)))], binaryen.v128);
  }),
  LeakyRelu: elementwise((ctx) => {
    const alpha = attrNum(ctx, 'alpha');
    return { vec: (fn, a) => fn.m.v128.bitselect(a[0]!(), V(fn).mul(a[0]!(), splatF32(fn, alpha)), V(fn).gt(a[0]!(), splatF32(fn, 0))) };
  }, 1),
  ThresholdedRelu: elementwise((ctx) => {
    const alpha = attrNum(ctx, 'alpha');
    return { vec: (fn, a) => fn.m.v128.and(a[0]!(), V(fn).gt(a[0]!(), splatF32(fn, alpha))) };
  }, 1),
  HardSigmoid: elementwise((ctx) => {
    const alpha = attrNum(ctx, 'alpha'), beta = attrNum(ctx, 'beta');
    return { vec: (fn, a) => V(fn).max(splatF32(fn, 0), V(fn).min(splatF32(fn, 1), V(fn).add(V(fn).mul(a[0]!(), splatF32(fn, alpha)), splatF32(fn, beta)))) };
  }, 1),
  HardSwish: elementwise(() => ({
    vec: (fn, a) => V(fn).mul(a[0]!(), V(fn).max(splatF32(fn, 0), V(fn).min(splatF32(fn, 1), V(fn).add(V(fn).mul(a[0]!(), splatF32(fn, 1 / 6)), splatF32(fn, 0.5))))),
  }), 1),
  Clip: elementwise(clipOp, 1),
  Elu: elementwise((ctx) => {
    const alpha = attrNum(ctx, 'alpha');
    return { vec: (fn, a) => { const t = fn.v128(); return fn.m.block(null, [fn.set(t, a[0]!()), eluV(fn, () => fn.get(t), alpha)], binaryen.v128); } };
  }, 1),
  Selu: elementwise((ctx) => {
    const alpha = attrNum(ctx, 'alpha'), gamma = attrNum(ctx, 'gamma');
    return { vec: (fn, a) => { const t = fn.v128(); return fn.m.block(null, [fn.set(t, a[0]!()), V(fn).mul(splatF32(fn, gamma), eluV(fn, () => fn.get(t), alpha))], binaryen.v128); } };
  }, 1),
  Gelu: elementwise((ctx) => {
    const tanh = attrStr(ctx, 'approximate') === 'tanh';
    return {
      vec: (fn, a) => {
        if (tanh) return geluTanhV(fn, a[0]!());
        const v = V(fn), t = fn.v128(), x = (): Expr => fn.get(t);
        const inner = erfV(fn, v.mul(x(), splatF32(fn, Math.SQRT1_2)));
        return fn.m.block(null, [fn.set(t, a[0]!()), v.mul(v.mul(splatF32(fn, 0.5), x()), v.add(splatF32(fn, 1), inner))], binaryen.v128);
      },
    };
  }, 1),
  Mish: vecOnly((fn, x) => {
    const t = fn.v128(), v = V(fn);
    const sp = fn.m.v128.bitselect(fn.get(t), logV(fn, v.add(splatF32(fn, 1), expV(fn, fn.get(t)))), v.gt(fn.get(t), splatF32(fn, 20)));
    return fn.m.block(null, [fn.set(t, x), v.mul(fn.get(t), tanhV(fn, sp))], binaryen.v128);
  }),
  Celu: elementwise((ctx) => {
    const alpha = attrNum(ctx, 'alpha');
    return { vec: (fn, a) => { const t = fn.v128(); return fn.m.block(null, [fn.set(t, a[0]!()), V(fn).add(V(fn).max(splatF32(fn, 0), fn.get(t)), V(fn).min(splatF32(fn, 0), V(fn).mul(splatF32(fn, alpha), V(fn).sub(expV(fn, V(fn).div(fn.get(t), splatF32(fn, alpha))), splatF32(fn, 1)))))], binaryen.v128); } };
  }, 1),
  Shrink: elementwise((ctx) => {
    const bias = attrNum(ctx, 'bias'), lambd = attrNum(ctx, 'lambd');
    return {
      scalar: (fn, a, t) => {
        if (!isFloatT(t)) return undefined;
        const o = ops(fn, t), c = (x: number): Expr => o.const!(x as unknown as Expr), m = fn.m;
        return m.select(o.lt!(a[0]!(), c(-lambd)), o.add!(a[0]!(), c(bias)), m.select(o.gt!(a[0]!(), c(lambd)), o.sub!(a[0]!(), c(bias)), c(0)));
      },
    };
  }, 1),
  Sin: viaF64((fn, x) => sinCosF64(fn, x, false)),
  Cos: viaF64((fn, x) => sinCosF64(fn, x, true)),
  Tan: viaF64((fn, x) => { const t = fn.forType('f64'); return fn.m.block(null, [fn.set(t, x), fn.m.f64.div(sinCosF64(fn, fn.get(t), false), sinCosF64(fn, fn.get(t), true))], binaryen.f64); }),
  Sinh: vecOnly((fn, x) => { const t = fn.v128(), v = V(fn); return fn.m.block(null, [fn.set(t, x), v.mul(splatF32(fn, 0.5), v.sub(expV(fn, fn.get(t)), expV(fn, v.neg(fn.get(t)))))], binaryen.v128); }),
  Cosh: vecOnly((fn, x) => { const t = fn.v128(), v = V(fn); return fn.m.block(null, [fn.set(t, x), v.mul(splatF32(fn, 0.5), v.add(expV(fn, fn.get(t)), expV(fn, v.neg(fn.get(t)))))], binaryen.v128); }),
  IsNaN: elementwise(() => ({ scalar: (fn, a, t) => (isFloatT(t) ? ops(fn, t).ne!(a[0]!(), a[0]!()) : undefined) }), 1),
  Sign: elementwise(() => ({
    scalar: (fn, a, t) => {
      const o = ops(fn, t), m = fn.m;
      if (isFloatT(t)) { const s = m.i32.sub(o.gt!(a[0]!(), o.const!(0 as unknown as Expr)), o.lt!(a[0]!(), o.const!(0 as unknown as Expr))); return t === 'f32' ? m.f32.convert_s.i32(s) : m.f64.convert_s.i32(s); }
      const s = m.i32.sub(o.gt_s!(a[0]!(), zero(fn, t)), o.lt_s!(a[0]!(), zero(fn, t)));
      return t === 'i64' ? m.i64.extend_s(s) : s;
    },
  }), 1),
};

/** The standalone kernels: each formula through the elementwise engine. */
export const ELEMENTWISE: Readonly<Partial<Record<OpName, KernelGen>>> = Object.fromEntries(
  Object.entries(FORMULAS).map(([op, f]) => [op, engine((ctx) => f!.make(ctx), f!.arity)]));

/** The f32x4 formula of `op` for a node with these attributes and inputs, or undefined when it has none. */
export function vectorFormula(op: string, ctx: FormulaContext): ((fn: Fn, a: Args) => Expr) | undefined {
  return (FORMULAS as Readonly<Record<string, Formula | undefined>>)[op]?.make(ctx).vec;
}
