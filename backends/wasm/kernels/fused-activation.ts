// The activation epilogues of onnxc's fused ops (ops/fused/activation.ts) as f32x4 formulas, applied in registers
// before a kernel's store. Each formula matches the standard op's wasm kernel (elementwise-ops.ts), so a fused
// node computes what its unfused chain computes on this backend.

import binaryen from 'binaryen';
import { assertNever } from '../../../ir/errors.js';
import { parseActivation, type Activation } from '../../../ops/fused/activation.js';
import type { Expr, Fn } from '../fn.js';
import { erfV, sigmoidV, splatF32, tanhV } from '../math.js';
import type { VecEpilogue } from './gemm-core.js';
import type { PlanContext } from './types.js';

/** The node's activation attributes as an epilogue; undefined for none. */
export function activationOf(ctx: Pick<PlanContext, 'attrs'>): VecEpilogue | undefined {
  const name = typeof ctx.attrs['activation'] === 'string' ? ctx.attrs['activation'] : '';
  const params = Array.isArray(ctx.attrs['activation_params']) ? (ctx.attrs['activation_params'] as number[]) : [];
  return activationV(parseActivation(name, params), params);
}

export function activationV(act: Activation, p: readonly number[]): VecEpilogue | undefined {
  // every formula reads its argument through a local, so the argument expression is used once
  const withX = (f: (fn: Fn, x: () => Expr) => Expr): VecEpilogue => (fn, v) => {
    const t = fn.v128();
    return fn.m.block(null, [fn.set(t, v), f(fn, () => fn.get(t))], binaryen.v128);
  };
  const c = (fn: Fn, x: number): Expr => splatF32(fn, x);
  switch (act) {
    case '': return undefined;
    case 'Relu': return (fn, v) => fn.m.f32x4.max(v, c(fn, 0));
    case 'LeakyRelu': return withX((fn, x) => fn.m.v128.bitselect(x(), fn.m.f32x4.mul(x(), c(fn, p[0]!)), fn.m.f32x4.gt(x(), c(fn, 0))));
    // Clip as the Clip kernel does: max with the lower bound, then min with the upper
    case 'Clip': return (fn, v) => fn.m.f32x4.min(fn.m.f32x4.max(v, c(fn, p[0]!)), c(fn, p[1]!));
    case 'Sigmoid': return (fn, v) => sigmoidV(fn, v);
    case 'HardSigmoid': return (fn, v) => fn.m.f32x4.max(c(fn, 0), fn.m.f32x4.min(c(fn, 1), fn.m.f32x4.add(fn.m.f32x4.mul(v, c(fn, p[0]!)), c(fn, p[1]!))));
    case 'HardSwish': return withX((fn, x) => { const V = fn.m.f32x4; return V.mul(x(), V.max(c(fn, 0), V.min(c(fn, 1), V.add(V.mul(x(), c(fn, 1 / 6)), c(fn, 0.5))))); });
    case 'Tanh': return (fn, v) => tanhV(fn, v);
    case 'Gelu': return withX((fn, x) => { const V = fn.m.f32x4; return V.mul(V.mul(c(fn, 0.5), x()), V.add(c(fn, 1), erfV(fn, V.mul(x(), c(fn, Math.SQRT1_2))))); });
    case 'GeluTanh': return withX((fn, x) => {
      const V = fn.m.f32x4;
      const inner = tanhV(fn, V.mul(c(fn, Math.sqrt(2 / Math.PI)), V.add(x(), V.mul(c(fn, 0.044715), V.mul(x(), V.mul(x(), x()))))));
      return V.mul(V.mul(c(fn, 0.5), x()), V.add(c(fn, 1), inner));
    });
    case 'SiLU': return withX((fn, x) => fn.m.f32x4.mul(x(), sigmoidV(fn, x())));
    default: return assertNever(act, 'activation');
  }
}
