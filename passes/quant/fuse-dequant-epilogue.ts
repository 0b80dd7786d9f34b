// fuse-dequant-epilogue: the activation after an onnxc.DequantMatMul joins its epilogue (as fuse-matmul-epilogue does
// for MatMul/Gemm), directly or through a Reshape (GPT-2's Conv1D: Reshape -> Gemm -> Reshape -> Gelu). Runs after
// fuse-gelu, so a decomposed Gelu is already one node. Exact: the op's reference applies the same activation.

import type { Node } from '../../ir/graph.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { matchActivation } from '../fusion/epilogue.js';
import { applyRules, type Rule } from '../fusion/rewrite.js';
import { definePass, EXACT } from '../pass.js';

const withAct = (n: Node, act: NonNullable<ReturnType<typeof matchActivation>>, out: string): Node => ({
  ...n, outputs: [out],
  attrs: withDefaults(getOp(n.op)!, { ...n.attrs, activation: { kind: 'string', value: act.act }, activation_params: { kind: 'floats', value: act.params } }),
});

const rule: Rule = (n, { index: ix, names }) => {
  if (n.op !== 'onnxc.DequantMatMul' || (n.attrs['activation']?.kind === 'string' && n.attrs['activation'].value !== '')) return undefined;
  const y = n.outputs[0]!;
  const act = matchActivation(ix, y);
  if (act) return { remove: new Set([n, ...act.nodes]), replacement: withAct(n, act, act.out) };
  const reshape = ix.soleReader(y);
  if (reshape?.op !== 'Reshape' || reshape.inputs[0] !== y) return undefined;
  const after = matchActivation(ix, reshape.outputs[0]!);
  if (!after) return undefined;
  const z = names.fresh(`${y}_act`);
  return {
    remove: new Set([n, reshape, ...after.nodes]),
    before: [withAct(n, after, z)],
    replacement: { ...reshape, attrs: withDefaults(getOp('Reshape')!, reshape.attrs), inputs: [z, ...reshape.inputs.slice(1)], outputs: [after.out] },
    types: new Map([[z, ix.graph.types.get(y)!]]),
  };
};

export const fuseDequantEpilogue = definePass({
  name: 'fuse-dequant-epilogue',
  summary: 'an activation after onnxc.DequantMatMul (directly or through a Reshape) into its epilogue',
  requires: ['typed'],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph) => applyRules(graph, [rule]),
});
