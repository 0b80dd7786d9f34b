// The activation epilogues of onnxc's fused ops (ops/fused/activation.ts) as f32x4 formulas, applied in registers
// before a kernel's store: each is the standard op's formula from the one table (elementwise-ops.ts).

import binaryen from 'binaryen';
import { assertNever } from '../../../ir/errors.js';
import { parseActivation, type Activation } from '../../../ops/fused/activation.js';
import { fromValues } from '../../../ir/tensor.js';
import { vectorFormula } from './elementwise-ops.js';
import type { VecEpilogue } from './gemm-core.js';
import type { PlanContext, TensorRef } from './types.js';

/** The node's activation attributes as an epilogue; undefined for none. */
export function activationOf(ctx: Pick<PlanContext, 'attrs'>): VecEpilogue | undefined {
  const name = typeof ctx.attrs['activation'] === 'string' ? ctx.attrs['activation'] : '';
  const params = Array.isArray(ctx.attrs['activation_params']) ? (ctx.attrs['activation_params'] as number[]) : [];
  return activationV(parseActivation(name, params), params);
}

/** The standard op (and attributes, and constant operands) each fused activation computes. */
function standardOf(act: Exclude<Activation, ''>, p: readonly number[]): { op: string; attrs: Record<string, unknown>; consts: readonly number[] } {
  switch (act) {
    case 'Relu': case 'Sigmoid': case 'HardSwish': case 'Tanh': return { op: act, attrs: {}, consts: [] };
    case 'LeakyRelu': return { op: 'LeakyRelu', attrs: { alpha: p[0] }, consts: [] };
    case 'Clip': return { op: 'Clip', attrs: {}, consts: [p[0]!, p[1]!] };
    case 'HardSigmoid': return { op: 'HardSigmoid', attrs: { alpha: p[0], beta: p[1] }, consts: [] };
    case 'Gelu': return { op: 'Gelu', attrs: { approximate: 'none' }, consts: [] };
    case 'GeluTanh': return { op: 'Gelu', attrs: { approximate: 'tanh' }, consts: [] };
    case 'SiLU': return { op: 'Swish', attrs: { alpha: 1 }, consts: [] };
    default: return assertNever(act, 'activation');
  }
}

/** An activation as the f32x4 formula of its standard op (elementwise-ops.ts FORMULAS): the unfused kernel's own
 *  arithmetic, so a fused node computes what its unfused chain computes on this backend. */
export function activationV(act: Activation, p: readonly number[]): VecEpilogue | undefined {
  if (act === '') return undefined;
  const { op, attrs, consts } = standardOf(act, p);
  const operand = (v: number, k: number): TensorRef => ({ name: `#${op}_${k}`, dtype: 'float32', dims: [], size: 1, ptr: { base: 0 }, constant: fromValues('float32', [], [v]) });
  const vec = vectorFormula(op, { attrs, inputs: [undefined, ...consts.map(operand)] });
  if (!vec) throw new Error(`no f32x4 formula for ${op} (fused activation ${act})`);
  // the formula may read its argument more than once: through a local, so the argument expression is used once
  return (fn, v) => {
    const t = fn.v128();
    return fn.m.block(null, [fn.set(t, v), vec(fn, [() => fn.get(t)])], binaryen.v128);
  };
}
