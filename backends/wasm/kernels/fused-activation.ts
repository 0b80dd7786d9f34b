// The activation epilogues of onnxc's fused ops (ops/fused/activation.ts) as f32x4 formulas, applied in registers
// before a kernel's store: each is the standard op's formula from the one table (elementwise-ops.ts).

import binaryen from '../binaryen.js';
import { parseActivation, standardActivation, type Activation } from '../../../ops/fused/activation.js';
import { fromValues } from '../../../ir/tensor.js';
import type { Expr, Fn } from '../fn.js';
import { splatF32 } from '../math.js';
import { isRelaxed, vmax, vmin } from '../relaxed.js';
import type { Args } from './elementwise.js';
import { vectorFormula } from './elementwise-ops.js';
import type { VecEpilogue } from './gemm-core.js';
import type { PlanContext, TensorRef } from './types.js';

/** The node's activation attributes as an epilogue; undefined for none. */
export function activationOf(ctx: Pick<PlanContext, 'attrs'>): VecEpilogue | undefined {
  const name = typeof ctx.attrs['activation'] === 'string' ? ctx.attrs['activation'] : '';
  const params = Array.isArray(ctx.attrs['activation_params']) ? (ctx.attrs['activation_params'] as number[]) : [];
  return activationV(parseActivation(name, params), params);
}

/** An activation as the f32x4 formula of its standard op (elementwise-ops.ts FORMULAS): the unfused kernel's own
 *  arithmetic, so a fused node computes what its unfused chain computes on this backend. */
export function activationV(act: Activation, p: readonly number[]): VecEpilogue | undefined {
  if (act === '') return undefined;
  const formula = (op: string, attrs: Readonly<Record<string, unknown>>, consts: readonly number[] = []): ((fn: Fn, a: Args) => Expr) => {
    const operand = (v: number, k: number): TensorRef => ({ name: `#${op}_${k}`, dtype: 'float32', dims: [], size: 1, ptr: { base: 0 }, constant: fromValues('float32', [], [v]) });
    const vec = vectorFormula(op, { attrs, inputs: [undefined, ...consts.map(operand)] });
    if (!vec) throw new Error(`no f32x4 formula for ${op} (fused activation ${act})`);
    return vec;
  };
  let f: (fn: Fn, x: () => Expr) => Expr;
  if (act === 'SiLU') {
    // Sigmoid, then Mul by x: the pair the fusion replaced
    const sig = formula('Sigmoid', {}), mul = formula('Mul', {});
    f = (fn, x) => mul(fn, [x, () => sig(fn, [x])]);
  } else if (act === 'LeakyRelu' && p[0]! > 0) {
    f = leakyPositive(p[0]!);
  } else {
    const s = standardActivation(act, p);
    const attrs = Object.fromEntries(Object.entries(s.attrs).map(([k, a]) => [k, 'value' in a ? a.value : undefined]));
    const vec = formula(s.op, attrs, s.consts);
    f = (fn, x) => vec(fn, [x]);
  }
  // a relaxed module clamps with one maxps/minps (relaxed.ts vmax); NaN and -0 inputs are the engine's choice there
  const clamp = act === 'Relu' ? { lo: 0 } : act === 'Clip' ? { lo: p[0]!, hi: p[1]! } : undefined;
  // the formula may read its argument more than once: through a local, so the argument expression is used once
  const apply = (fn: Fn, v: Expr): Expr => {
    if (clamp && isRelaxed(fn)) {
      const lo = vmax(fn, v, splatF32(fn, clamp.lo));
      return clamp.hi === undefined ? lo : vmin(fn, lo, splatF32(fn, clamp.hi));
    }
    const t = fn.v128();
    return fn.m.block(null, [fn.set(t, v), f(fn, () => fn.get(t))], binaryen.v128);
  };
  return Object.assign(apply, { heavy: HEAVY.has(act) });
}

/** The activations the GEMM core applies in a pass after the products (gemm-core.ts actPass), not in its tiles:
 *  the GELUs gained 5-7% there; SiLU, Sigmoid and Tanh gained 1-2% or lost (measured in gemm-core.ts). */
const HEAVY: ReadonlySet<Activation> = new Set<Activation>(['GeluTanh', 'Gelu']);

/** LeakyRelu with alpha > 0 as one multiply and one pmax (alpha <= 1) or pmin (alpha >= 1), one maxps/minps each in
 *  V8, where the table's formula (x > 0 ? x : alpha * x, elementwise-ops.ts) is a compare and a bitselect: the same
 *  bits. pmax(alpha*x, x) is x when alpha*x < x, else alpha*x; with 0 < alpha <= 1, alpha*x < x exactly when x > 0
 *  (x > 0: alpha*x <= x, equal only where the formula's two sides agree; x <= 0 or NaN: not less, alpha*x as the
 *  formula takes; a tiny x rounding alpha*x to a zero keeps x's sign, as the formula's product does). alpha >= 1 is
 *  the mirror with pmin. alpha = 0 is left to the formula (0 * inf is NaN where the formula keeps +inf). Inside a
 *  conv's output transform the compare and bitselect made the fused LeakyRelu dearer than a separate pass. */
function leakyPositive(alpha: number): (fn: Fn, x: () => Expr) => Expr {
  return (fn, x) => {
    const ax = fn.m.f32x4.mul(x(), splatF32(fn, alpha));
    return alpha <= 1 ? fn.m.f32x4.pmax(ax, x()) : fn.m.f32x4.pmin(ax, x());
  };
}
