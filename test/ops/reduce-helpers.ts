// Helpers for the reduce/normalization/matmul/signal op tests: tensors, attributes, symbolic inference and
// legacy rewrites without the importer.

import { expect } from 'vitest';
import type { Attr } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { fromValues, toNumbers } from '../../ir/tensor.js';
import type { DType } from '../../ir/dtype.js';
import type { Dim, ValueType } from '../../ir/types.js';
import { getOp } from '../../ops/index.js';
import { opsetRewrite } from '../../compiler/onnx/opsets/index.js';
import type { ImportNode, InferContext } from '../../ops/schema.js';
import { plainAttrs } from '../../ops/attrs.js';
import { completeAttrs } from '../helpers/run-op.js';

export const f32 = (dims: number[], v: number[]): Tensor => fromValues('float32', dims, v);
export const f64 = (dims: number[], v: number[]): Tensor => fromValues('float64', dims, v);
export const f16 = (dims: number[], v: number[]): Tensor => fromValues('float16', dims, v);
export const i64 = (v: (number | bigint)[], dims = [v.length]): Tensor => fromValues('int64', dims, v.map((x) => BigInt(x)));
export const i32 = (dims: number[], v: number[]): Tensor => fromValues('int32', dims, v);
export const int = (value: number): Attr => ({ kind: 'int', value });
export const flt = (value: number): Attr => ({ kind: 'float', value });
export const ints = (value: number[]): Attr => ({ kind: 'ints', value });
export const str = (value: string): Attr => ({ kind: 'string', value });
export const vals = (t: Tensor): number[] => toNumbers(t);
export const T = (dtype: DType, shape?: Dim[]): ValueType => (shape ? { kind: 'tensor', dtype, shape } : { kind: 'tensor', dtype });
export const shapeOf = (t: ValueType | undefined): readonly Dim[] | undefined => (t?.kind === 'tensor' ? t.shape : undefined);

/** Element-wise closeness (relative 1e-5 or absolute 1e-6), NaN equal to NaN. */
export function expectClose(actual: Tensor | number[], expected: number[], tol = 1e-5): void {
  const a = Array.isArray(actual) ? actual : vals(actual);
  expect(a.length, 'element count').toBe(expected.length);
  a.forEach((v, i) => {
    const e = expected[i]!;
    if (Number.isNaN(e)) expect(v, `element ${i}`).toBeNaN();
    else if (!Number.isFinite(e)) expect(v, `element ${i}`).toBe(e);
    else expect(Math.abs(v - e), `element ${i}: ${v} vs ${e}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e)));
  });
}

/** Infer with symbolic input types; constants by input index. */
export function inferTypes(op: string, inputs: (ValueType | undefined)[], consts: Record<number, Tensor> = {},
  attrs: Record<string, Attr> = {}, numOutputs?: number): ValueType[] {
  const def = getOp(op)!;
  const full = completeAttrs(def, attrs);
  let n = 0;
  const node = { name: 'n', op, inputs: inputs.map((v, i) => (v ? `i${i}` : '')), outputs: ['o'], attrs: full };
  const ctx: InferContext<never> = {
    node,
    attrs: plainAttrs(def, node) as never,
    inputs,
    constant: (i) => consts[i],
    shapeValue: () => undefined,
    numOutputs: numOutputs ?? def.outputs[0],
    inferSubgraph: () => [],
    freshDim: () => `?${n++}`,
  };
  return def.infer(ctx as never);
}

/** Apply the importer's opset rewrite of `op` at `opset`; returns the nodes and the constants it added. */
export function legacy(op: string, node: Partial<ImportNode>, opset: number): { nodes: ImportNode[]; consts: Map<string, Tensor> } {
  const consts = new Map<string, Tensor>();
  const full: ImportNode = { name: 'n', op, inputs: ['x'], outputs: ['y'], attrs: {}, ...node };
  const rewrite = opsetRewrite(op);
  const nodes = rewrite ? rewrite(full, {
    opset, freshName: (h) => `${h}_fresh`,
    constant: (t, h) => { const name = `${h ?? 'c'}_${consts.size}`; consts.set(name, t); return name; },
  }) : [full];
  return { nodes, consts };
}
