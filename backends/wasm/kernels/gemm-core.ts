// The one matrix-multiply loop nest shared by MatMul, Gemm and Conv (after im2col): C = alpha*A*B (+ bias),
// float32, vectorised over N when B's rows are contiguous. Register blocking and packing come later; the
// interface (strided operands, dynamic bases) is what they plug into.

import type { Expr, Fn, Local } from '../fn.js';
import { hsum as _hsum, LANES } from '../simd.js';
import { splatF32 } from '../math.js';

/** A float32 matrix operand: static base, optional dynamic byte offset (a local), element strides. */
export interface MatOperand {
  readonly base: number;
  readonly dyn?: Local;
  /** Elements between rows and between columns (0 for a broadcast axis). */
  readonly rs: number;
  readonly cs: number;
}

export interface GemmSpec {
  readonly M: number; readonly N: number; readonly K: number;
  readonly a: MatOperand; readonly b: MatOperand; readonly c: MatOperand;
  readonly alpha?: number;
  /** Added after scaling: c += beta * bias[m, n] (Gemm's C, Conv's per-channel bias as rs=1, cs=0). */
  readonly bias?: MatOperand;
  readonly beta?: number;
}

export function gemm(fn: Fn, s: GemmSpec): Expr {
  const m = fn.m, V = m.f32x4;
  const { M, N, K } = s;
  if (M === 0 || N === 0) return m.nop();
  const mi = fn.i32(), ni = fn.i32(), ki = fn.i32(), acc = fn.v128(), accS = fn.f32();
  const alpha = s.alpha ?? 1, beta = s.beta ?? 1;
  // element address of op[r, c] with r, c as i32 expressions
  const addr = (op: MatOperand, r: () => Expr, c: () => Expr): { base: number; dyn: Expr } => {
    const terms: Expr[] = [];
    if (op.rs) terms.push(op.rs === 1 ? r() : m.i32.mul(r(), fn.c32(op.rs)));
    if (op.cs) terms.push(op.cs === 1 ? c() : m.i32.mul(c(), fn.c32(op.cs)));
    let e = terms.length === 0 ? fn.c32(0) : terms.length === 1 ? terms[0]! : m.i32.add(terms[0]!, terms[1]!);
    e = m.i32.shl(e, fn.c32(2));
    if (op.dyn) e = m.i32.add(e, fn.get(op.dyn));
    return { base: op.base, dyn: e };
  };
  const g = (l: Local) => () => fn.get(l);
  const vecN = s.b.cs === 1 && s.c.cs === 1 ? N - (N % LANES) : 0;
  const kLoopV = (): Expr => fn.loop(ki, 0, K, () => [
    fn.set(acc, V.add(fn.get(acc), V.mul(V.splat(fn.load('float32', addr(s.a, g(mi), g(ki)))), fn.loadV(addr(s.b, g(ki), g(ni)))))),
  ]);
  const kLoopS = (): Expr => fn.loop(ki, 0, K, () => [
    fn.set(accS, m.f32.add(fn.get(accS), m.f32.mul(fn.load('float32', addr(s.a, g(mi), g(ki))), fn.load('float32', addr(s.b, g(ki), g(ni)))))),
  ]);
  const finishV = (): Expr => {
    let v = alpha === 1 ? fn.get(acc) : V.mul(fn.get(acc), splatF32(fn, alpha));
    if (s.bias) {
      const bv = s.bias.cs === 1 ? fn.loadV(addr(s.bias, g(mi), g(ni))) : V.splat(fn.load('float32', addr(s.bias, g(mi), g(ni))));
      v = V.add(v, beta === 1 ? bv : V.mul(bv, splatF32(fn, beta)));
    }
    return fn.storeV(addr(s.c, g(mi), g(ni)), v);
  };
  const finishS = (): Expr => {
    let v = alpha === 1 ? fn.get(accS) : m.f32.mul(fn.get(accS), fn.cf32(alpha));
    if (s.bias) {
      const bv = fn.load('float32', addr(s.bias, g(mi), g(ni)));
      v = m.f32.add(v, beta === 1 ? bv : m.f32.mul(bv, fn.cf32(beta)));
    }
    return fn.store('float32', addr(s.c, g(mi), g(ni)), v);
  };
  return fn.loop(mi, 0, M, () => [
    fn.loop(ni, 0, vecN, () => [fn.set(acc, V.splat(fn.cf32(0))), kLoopV(), finishV()], LANES),
    fn.loop(ni, vecN, N, () => [fn.set(accS, fn.cf32(0)), kLoopS(), finishS()]),
  ]);
}
void _hsum;
