// Helpers for the conv/pool/resize op tests: tensors from plain arrays, and inference alone on symbolic types.

import { expect } from 'vitest';
import type { DType } from '../../ir/dtype.js';
import type { Attr, Node } from '../../ir/graph.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import type { ValueType } from '../../ir/types.js';
import { getOp } from '../../ops/index.js';
import { opsetRewrite } from '../../compiler/onnx/opsets/index.js';
import { plainAttrs, withDefaults } from '../../ops/attrs.js';
import type { ImportNode, LegacyContext } from '../../ops/schema.js';
import { out, runOp } from '../helpers/run-op.js';

export const t = (dtype: DType, dims: number[], v: ArrayLike<number | bigint | string>): Tensor => fromValues(dtype, dims, v);
export const f32 = (dims: number[], v: ArrayLike<number>): Tensor => t('float32', dims, v);
export const i64 = (v: number[]): Tensor => t('int64', [v.length], v);
export const vals = (x: Tensor): number[] => Array.from(x.data as ArrayLike<number>, Number);
export const run1 = (op: string, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {}): Tensor => out(runOp(op, inputs, attrs));

export function close(got: readonly number[], want: readonly number[], digits = 5): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g, `element ${i}`).toBeCloseTo(want[i]!, digits));
}

/** Run only inference with the given input types; `constants` are inputs whose values are known. */
export function inferOnly(
  op: string, inputs: (ValueType | undefined)[], attrs: Record<string, Attr> = {},
  constants: Record<number, Tensor> = {}, numOutputs?: number,
): ValueType[] {
  const def = getOp(op)!;
  const n = numOutputs ?? def.outputs[0];
  const node: Node = {
    name: `infer_${op}`, op, inputs: inputs.map((v, i) => (v === undefined ? '' : `in${i}`)),
    outputs: Array.from({ length: n }, (_, i) => `out${i}`), attrs: withDefaults(def, attrs),
  };
  let fresh = 0;
  return def.infer({
    node, attrs: plainAttrs(def, node), inputs, numOutputs: n,
    constant: (i) => constants[i],
    shapeValue: (i) => (constants[i] ? vals(constants[i]!) : undefined),
    inferSubgraph: () => { throw new Error('no subgraphs'); },
    freshDim: () => `?${fresh++}`,
  });
}

/** Apply the importer's opset rewrite of the node's op as the importer would for `opset`; constants it adds are returned too. */
export function legacy(node: ImportNode, opset: number): { nodes: ImportNode[]; constants: Map<string, Tensor> } {
  const constants = new Map<string, Tensor>();
  const ctx: LegacyContext = {
    opset,
    freshName: (h) => `${h}_fresh`,
    constant: (tensor, h) => { const name = `${h ?? 'c'}_${constants.size}`; constants.set(name, tensor); return name; },
  };
  const rewrite = opsetRewrite(node.op);
  return { nodes: rewrite ? rewrite(node, ctx) : [node], constants };
}
