// onnxc.FusedMatMul and onnxc.FusedGemm: a matrix product with its epilogue (bias Add, residual Add, activation)
// as one node. Reference: exactly MatMul/Gemm -> Add -> Add -> activation, each rounding where the unfused ops do.

import { ShapeError } from '../../ir/errors.js';
import type { Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import type { TensorType, ValueType } from '../../ir/types.js';
import type { RuntimeValue } from '../../ir/value.js';
import { matmulOps } from '../matmul.js';
import { attr, defineOp, type AnyOpDef, type ImportNode, type InferContext, type LegacyContext, type RunContext } from '../schema.js';
import { broadcastShapes, inType, input, optInType, optInput } from '../util.js';
import { mapBinary } from '../elementwise-kernel.js';
import { activationNodes, applyActivation, parseActivation } from './activation.js';

export const epilogueAttrs = {
  /** '' (none) or one of ACTIVATIONS in ./activation.ts. */
  activation: attr.string(''),
  activation_params: attr.floats([]),
};

const baseOp = (name: string): AnyOpDef => matmulOps.find((o) => o.op === name)!;

/** Addend i (bias or residual) must broadcast into Y without enlarging it: otherwise it is no epilogue of Y. */
function checkAddend(ctx: InferContext<unknown>, i: number, y: TensorType, what: string): void {
  const t = optInType(ctx, i);
  if (!t) return;
  if (t.dtype !== y.dtype) throw new ShapeError(`${what} has element type ${t.dtype}; Y has ${y.dtype}`);
  if (!t.shape || !y.shape) return;
  const b = broadcastShapes(y.shape, t.shape);
  if (b.length !== y.shape.length || b.some((d, k) => typeof d === 'number' && typeof y.shape![k] === 'number' && d !== y.shape![k])) {
    throw new ShapeError(`${what} [${t.shape.join(',')}] would enlarge Y [${y.shape.join(',')}]`);
  }
}

/** Infer the base product from inputs 0..nBase-1, then check the addends after it. */
export function inferFused(base: AnyOpDef, nBase: number, addends: readonly [number, string][]) {
  return (ctx: InferContext<{ activation: string; activation_params: readonly number[] }>): ValueType[] => {
    parseActivation(ctx.attrs.activation, ctx.attrs.activation_params);
    inType(ctx, 0);
    const baseCtx = { ...ctx, inputs: ctx.inputs.slice(0, nBase) } as unknown as InferContext<never>;
    const [y] = base.infer(baseCtx);
    for (const [i, what] of addends) checkAddend(ctx, i, y as TensorType, what);
    return [y!];
  };
}

export function runFused(base: AnyOpDef, nBase: number, addends: readonly number[]) {
  return (ctx: RunContext<{ activation: string; activation_params: readonly number[] }>): RuntimeValue[] => {
    const act = parseActivation(ctx.attrs.activation, ctx.attrs.activation_params);
    input(ctx, 0);
    const baseCtx = { ...ctx, inputs: ctx.inputs.slice(0, nBase) } as unknown as RunContext<never>;
    let y = base.run(baseCtx)[0] as Tensor;
    for (const i of addends) {
      const z = optInput(ctx, i);
      if (z) y = mapBinary(y, z, y.dtype, (p, q) => (p as number) + (q as number));
    }
    return [applyActivation(y, act, ctx.attrs.activation_params)];
  };
}

/** base node, then an Add per present addend, then the activation's nodes. */
export function decomposeFused(baseName: string, nBase: number, addends: readonly number[], baseAttrs: readonly string[]) {
  return (node: Node, ctx: LegacyContext): ImportNode[] => {
    const a = node.attrs;
    const act = parseActivation(a['activation']?.kind === 'string' ? a['activation'].value : '',
      a['activation_params']?.kind === 'floats' ? a['activation_params'].value : []);
    const params = a['activation_params']?.kind === 'floats' ? a['activation_params'].value : [];
    const attrs: ImportNode['attrs'] = {};
    for (const k of baseAttrs) if (a[k]) attrs[k] = a[k]!;
    const out: ImportNode[] = [];
    let y = ctx.freshName(`${node.name}_${baseName.toLowerCase()}`);
    const baseInputs = node.inputs.slice(0, nBase);
    while (baseInputs.length > 0 && baseInputs[baseInputs.length - 1] === '') baseInputs.pop();
    out.push({ name: ctx.freshName(`${node.name}_${baseName}`), op: baseName, inputs: baseInputs, outputs: [y], attrs });
    for (const i of addends) {
      const z = node.inputs[i];
      if (!z) continue;
      const s = ctx.freshName(`${node.name}_add${i}`);
      out.push({ name: ctx.freshName(`${node.name}_Add${i}`), op: 'Add', inputs: [y, z], outputs: [s], attrs: {} });
      y = s;
    }
    out.push(...activationNodes(act, params, y, node.outputs[0]!, node.name, ctx));
    return out;
  };
}

/** Y = act((A @ B + bias) + Z); MatMul's batching and 1-D promotion; bias and Z optional ('' to skip bias). */
export const fusedMatMulOp = defineOp({
  op: 'onnxc.FusedMatMul',
  attrs: epilogueAttrs,
  inputs: [2, 4],
  outputs: [1, 1],
  infer: inferFused(baseOp('MatMul'), 2, [[2, 'bias'], [3, 'Z']]),
  run: runFused(baseOp('MatMul'), 2, [2, 3]),
  decompose: decomposeFused('MatMul', 2, [2, 3], []),
});

/** Y = act(Gemm(A, B, C) + Z), Gemm's attributes as Gemm has them. */
export const fusedGemmOp = defineOp({
  op: 'onnxc.FusedGemm',
  attrs: { alpha: attr.float(1.0), beta: attr.float(1.0), transA: attr.int(0), transB: attr.int(0), ...epilogueAttrs },
  inputs: [2, 4],
  outputs: [1, 1],
  infer: inferFused(baseOp('Gemm'), 3, [[3, 'Z']]),
  run: runFused(baseOp('Gemm'), 3, [3]),
  decompose: decomposeFused('Gemm', 3, [3], ['alpha', 'beta', 'transA', 'transB']),
});

export const fusedMatMulOps: AnyOpDef[] = [fusedMatMulOp as unknown as AnyOpDef, fusedGemmOp as unknown as AnyOpDef];
