// The elementwise formulas of the WebGPU backend, one table: each entry turns a node's attributes and constant
// inputs into a formula over WGSL values, written once for f32 and vec4<f32> (the kernel picks the width).
// The same formulas as backends/wasm/kernels/elementwise-ops.ts and the reference's ops.

import { toNumbers } from '../../../ir/tensor.js';
import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import type { OpName } from '../../../ops/op-names.js';
import { abs, add, atan2, clamp, div, expr, f32, math, max, min, mul, neg, pow, select, sub, vec4, type Expr, type FloatT } from '../wgsl/ast.js';

/** A formula over values of one float type; `k` makes a constant of that type. */
export type Formula = <T extends FloatT>(xs: readonly Expr<T>[], k: (x: number) => Expr<T>) => Expr<T>;
/** How many inputs the formula reads (the rest, like constant Clip bounds, are folded into it); `inputs` names
 *  them when they are not the first `arity` (Clip with a run-time max but no min). */
export interface ElemOp { readonly arity: number; readonly inputs?: readonly number[]; readonly formula: Formula }

/** The node inputs an ElemOp binds, in formula order. */
export const boundInputs = (op: ElemOp): readonly number[] => op.inputs ?? Array.from({ length: op.arity }, (_, i) => i);
type Entry = (ctx: PlanContext) => ElemOp | Refusal;

const num = (ctx: PlanContext, name: string): number => Number(ctx.attrs[name]);
const un = (f: Formula): Entry => () => ({ arity: 1, formula: f });
const bin2 = (f: Formula): Entry => () => ({ arity: 2, formula: f });
/** Every input (Max, Min, Sum, Mean take one or more). */
const variadic = (f: Formula): Entry => (ctx) => ({ arity: ctx.inputs.length, formula: f });

/** Lane-wise `cond ? a : b` for a condition computed per lane (x < 0 and the like). */
const where = <T extends FloatT>(x: Expr<T>, ltZero: Expr<T>, otherwise: Expr<T>): Expr<T> =>
  x.type === 'f32'
    ? select(expr('bool', { kind: 'bin', op: '<', a: x.node, b: f32(0).node }), ltZero, otherwise)
    : expr(x.type, { kind: 'call', fn: 'select', args: [otherwise.node, ltZero.node, { kind: 'bin', op: '<', a: x.node, b: vec4('f32', f32(0)).node }] });

const sigmoid: Formula = ([x], k) => div(k(1), add(k(1), math('exp', neg(x!))));
/** tanh through exp on a clamped argument: some drivers' tanh overflows to NaN past |x| ~ 44. */
const tanh: Formula = ([x], k) => {
  const e = math('exp', mul(k(2), clamp(x!, k(-15), k(15))));
  return div(sub(e, k(1)), add(e, k(1)));
};
const softplus: Formula = ([x], k) => add(max(x!, k(0)), math('log', add(k(1), math('exp', neg(abs(x!))))));
/** erf by Abramowitz-Stegun 7.1.26-style rational approximation with the |x| < 0.5 odd series, as wasm's erfV. */
const erf: Formula = ([x], k) => {
  const a = abs(x!), z = mul(a, a);
  const horner = (t: typeof a, cs: readonly number[]) => cs.slice(1).reduce((acc, c) => add(mul(acc, t), k(c)), k(cs[0]!));
  const series = [-1 / (5040 * 15), 1 / (720 * 13), -1 / (120 * 11), 1 / (24 * 9), -1 / (6 * 7), 1 / (2 * 5), -1 / 3, 1].map((c) => c * 2 / Math.sqrt(Math.PI));
  const ncoef = [0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223];
  const small = mul(horner(z, series), a);
  const t = div(k(1), add(k(1), mul(k(0.5), a)));
  const big = sub(k(1), mul(t, math('exp', sub(horner(t, ncoef), z))));
  const mag = x!.type === 'f32'
    ? select(expr('bool', { kind: 'bin', op: '<', a: a.node, b: f32(0.5).node }), small, big)
    : expr(x!.type, { kind: 'call', fn: 'select', args: [big.node, small.node, { kind: 'bin', op: '<', a: a.node, b: vec4('f32', f32(0.5)).node }] });
  return where(x!, neg(mag), mag);
};

/** Clip: constant bounds fold into the formula; run-time ones (a decomposition may compute them) are bound. */
function clipOp(ctx: PlanContext): ElemOp {
  type Bound = { readonly value: number } | { readonly input: number } | undefined;
  const bounds = [1, 2].map((i): Bound => {
    const r = ctx.inputs[i];
    if (!r) return undefined;
    return r.constant ? { value: toNumbers(r.constant)[0]! } : { input: i };
  });
  const bound = bounds.filter((b) => b && 'input' in b).map((b) => (b as { input: number }).input);
  return { arity: 1 + bound.length, inputs: [0, ...bound], formula: (xs, k) => {
    let y = xs[0]!;
    bounds.forEach((b, j) => {
      if (!b) return;
      const v = 'value' in b ? (Number.isFinite(b.value) ? k(b.value) : undefined) : xs[1 + bound.indexOf(b.input)]!;
      if (v) y = j === 0 ? max(y, v) : min(y, v);
    });
    return y;
  } };
}

function powOp(ctx: PlanContext): ElemOp {
  const e = ctx.inputs[1]?.constant;
  const c = e && e.data.length === 1 ? toNumbers(e)[0] : undefined;
  if (c === 2) return { arity: 1, formula: ([x]) => mul(x!, x!) };
  if (c === 1) return { arity: 1, formula: ([x]) => x! };
  if (c === 0.5) return { arity: 1, formula: ([x]) => math('sqrt', x!) };
  // WGSL's pow is undefined for x < 0: take |x|^y, negate for odd integer y, NaN for other y (as ONNX/C pow)
  return { arity: 2, formula: ([x, y], k) => {
    const p = pow(abs(x!), y!);
    const yInt = sub(y!, math('floor', y!));
    const odd = sub(k(1), mul(k(4), sub(mul(y!, k(0.5)), math('floor', mul(y!, k(0.5))))));
    // for x < 0: y integral -> p * (1 or -1 when odd), else NaN
    const signed = mul(p, select1(yInt, odd, k));
    return where(x!, signed, p);
  } };
}
/** 1 or -1 for integral y (odd: -1), NaN for fractional y, lane-wise. */
function select1<T extends FloatT>(frac: Expr<T>, odd: Expr<T>, k: (x: number) => Expr<T>): Expr<T> {
  const isFrac = (t: Expr<T>) => (t.type === 'f32' ? expr('bool', { kind: 'bin', op: '!=', a: t.node, b: f32(0).node }) : expr('vec4<bool>', { kind: 'bin', op: '!=', a: t.node, b: vec4('f32', f32(0)).node }));
  return expr(frac.type, { kind: 'call', fn: 'select', args: [odd.node, k(NaN).node, isFrac(frac).node] });
}

export const ELEMENTWISE: Readonly<Partial<Record<OpName, Entry>>> = {
  Add: bin2(([a, b]) => add(a!, b!)),
  Sub: bin2(([a, b]) => sub(a!, b!)),
  Mul: bin2(([a, b]) => mul(a!, b!)),
  Div: bin2(([a, b]) => div(a!, b!)),
  Max: variadic((xs) => xs.slice(1).reduce((acc, x) => max(acc, x), xs[0]!)),
  Min: variadic((xs) => xs.slice(1).reduce((acc, x) => min(acc, x), xs[0]!)),
  Sum: variadic((xs) => xs.slice(1).reduce((acc, x) => add(acc, x), xs[0]!)),
  Mean: variadic((xs, k) => div(xs.slice(1).reduce((acc, x) => add(acc, x), xs[0]!), k(xs.length))),
  PRelu: bin2(([x, s]) => where(x!, mul(x!, s!), x!)),
  Pow: powOp,
  Relu: un(([x], k) => max(x!, k(0))),
  Sigmoid: un(sigmoid),
  Tanh: un(tanh),
  Exp: un(([x]) => math('exp', x!)),
  Log: un(([x]) => math('log', x!)),
  Sqrt: un(([x]) => math('sqrt', x!)),
  Abs: un(([x]) => abs(x!)),
  Neg: un(([x]) => neg(x!)),
  Floor: un(([x]) => math('floor', x!)),
  Ceil: un(([x]) => math('ceil', x!)),
  Round: un(([x]) => math('round', x!)),
  Reciprocal: un(([x], k) => div(k(1), x!)),
  Sin: un(([x]) => math('sin', x!)),
  Cos: un(([x]) => math('cos', x!)),
  Tan: un(([x]) => math('tan', x!)),
  // through atan2: lavapipe's asin/acos are off by ~3e-4
  Asin: un(([x], k) => atan2(x!, math('sqrt', sub(k(1), mul(x!, x!))))),
  Acos: un(([x], k) => atan2(math('sqrt', sub(k(1), mul(x!, x!))), x!)),
  Atan: un(([x]) => math('atan', x!)),
  Sinh: un(([x], k) => mul(k(0.5), sub(math('exp', x!), math('exp', neg(x!))))),
  Cosh: un(([x], k) => mul(k(0.5), add(math('exp', x!), math('exp', neg(x!))))),
  Asinh: un(([x]) => math('asinh', x!)),
  Acosh: un(([x]) => math('acosh', x!)),
  Atanh: un(([x]) => math('atanh', x!)),
  Swish: (ctx) => { const a = Number(ctx.attrs['alpha'] ?? 1); return { arity: 1, formula: ([x], k) => mul(x!, sigmoid([mul(k(a), x!)], k)) }; },
  ThresholdedRelu: (ctx) => {
    const a = num(ctx, 'alpha');
    // x > alpha ? x : 0, written as x < alpha' with the where helper: (alpha - x) < 0
    return { arity: 1, formula: ([x], k) => where(sub(k(a), x!), x!, k(0)) };
  },
  Erf: un(erf),
  Softplus: un(softplus),
  Softsign: un(([x], k) => div(x!, add(k(1), abs(x!)))),
  Sign: un(([x]) => math('sign', x!)),
  Clip: clipOp,
  LeakyRelu: (ctx) => { const a = num(ctx, 'alpha'); return { arity: 1, formula: ([x], k) => where(x!, mul(x!, k(a)), x!) }; },
  Elu: (ctx) => { const a = num(ctx, 'alpha'); return { arity: 1, formula: ([x], k) => where(x!, mul(k(a), sub(math('exp', x!), k(1))), x!) }; },
  Selu: (ctx) => {
    const a = num(ctx, 'alpha'), g = num(ctx, 'gamma');
    return { arity: 1, formula: ([x], k) => mul(k(g), where(x!, mul(k(a), sub(math('exp', x!), k(1))), x!)) };
  },
  HardSigmoid: (ctx) => {
    const a = num(ctx, 'alpha'), b = num(ctx, 'beta');
    return { arity: 1, formula: ([x], k) => clamp(add(mul(k(a), x!), k(b)), k(0), k(1)) };
  },
  SwiGLU: (ctx) => { const a = Number(ctx.attrs['alpha'] ?? 1); return { arity: 2, formula: ([x, y], k) => mul(mul(x!, sigmoid([mul(k(a), x!)], k)), y!) }; },
  Shrink: (ctx) => {
    const l = Number(ctx.attrs['lambd'] ?? 0.5), bias = Number(ctx.attrs['bias'] ?? 0);
    // x < -l: x + bias; x > l: x - bias; else 0
    return { arity: 1, formula: ([x], k) => where(add(x!, k(l)), add(x!, k(bias)), where(sub(k(l), x!), sub(x!, k(bias)), k(0))) };
  },
  HardSwish: un(([x], k) => mul(x!, clamp(add(mul(k(1 / 6), x!), k(0.5)), k(0), k(1)))),
  Mish: un((xs, k) => mul(xs[0]!, tanh([softplus(xs, k)], k))),
  Gelu: (ctx) => {
    if (ctx.attrs['approximate'] === 'tanh') {
      return { arity: 1, formula: ([x], k) => mul(mul(k(0.5), x!), add(k(1), tanh([mul(k(Math.sqrt(2 / Math.PI)), add(x!, mul(k(0.044715), mul(x!, mul(x!, x!)))))], k))) };
    }
    return { arity: 1, formula: ([x], k) => mul(mul(k(0.5), x!), add(k(1), erf([mul(x!, k(Math.SQRT1_2))], k))) };
  },
};

/** The activation epilogue of onnxc's fused ops (ops/fused/activation.ts) as a formula of this table, or
 *  undefined for one it does not know. */
export function activationFormula(name: string, p: readonly number[]): Formula | undefined {
  const attrs = (a: Record<string, unknown>) => ({ attrs: a, inputs: [] }) as unknown as PlanContext;
  const fromTable = (op: OpName, a: Record<string, unknown> = {}): Formula => (ELEMENTWISE[op]!(attrs(a)) as ElemOp).formula;
  switch (name) {
    case '': return ([x]) => x!;
    case 'Relu': case 'Sigmoid': case 'HardSwish': case 'Tanh': return fromTable(name);
    case 'LeakyRelu': return fromTable('LeakyRelu', { alpha: p[0] });
    case 'HardSigmoid': return fromTable('HardSigmoid', { alpha: p[0], beta: p[1] });
    case 'Clip': return ([x], k) => min(max(x!, k(p[0]!)), k(p[1]!));
    case 'Gelu': return fromTable('Gelu', { approximate: 'none' });
    case 'GeluTanh': return fromTable('Gelu', { approximate: 'tanh' });
    case 'SiLU': return (xs, k) => mul(xs[0]!, sigmoid(xs, k));
    default: return undefined;
  }
}
