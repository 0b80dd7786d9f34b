// fuse-matmul-epilogue: MatMul -> [Add bias] -> [Add residual] -> [activation] becomes one onnxc.FusedMatMul, and
// Gemm -> [Add residual] -> [activation] one onnxc.FusedGemm. Exact: the fused reference rounds after the product,
// after each Add and after the activation, as the unfused ops do (ops/fused/matmul.ts).
// Exporter shapes matched: PyTorch Linear on 3-D input (MatMul + Add(bias), BERT/MiniLM, then Gelu or the residual
// Add), tf2onnx Dense (MatMul + AddV2), and GPT-2's Conv1D written as Reshape -> Gemm -> Reshape -> [Add residual]
// -> [Gelu]: an Add and activation after a Reshape of the Gemm move into the Gemm (elementwise ops commute with
// Reshape; the residual, of the Add's own shape, is reshaped to the Gemm's).

import type { Node } from '../../ir/graph.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { sameType, type TensorType } from '../../ir/types.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { EXACT, definePass } from '../pass.js';
import { matchActivation } from './epilogue.js';
import { GraphIndex, otherOperand } from './match.js';
import { applyRules, type Rewrite, type Rule } from './rewrite.js';

const FLOAT = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/** The Add reading `v` (single use) whose other operand does not enlarge v: [add, the other operand]. */
function epilogueAdd(ix: GraphIndex, v: string): [Node, string] | undefined {
  const add = ix.soleReader(v);
  if (add?.op !== 'Add') return undefined;
  const other = otherOperand(add, v);
  const tv = ix.graph.types.get(v);
  const ta = ix.graph.types.get(add.outputs[0]!);
  if (other === undefined || other === v || !tv || !ta || !sameType(tv, ta)) return undefined;
  return [add, other];
}

function fused(root: Node, op: 'onnxc.FusedMatMul' | 'onnxc.FusedGemm', inputs: string[], out: string, act: ReturnType<typeof matchActivation>): Node {
  const attrs = withDefaults(getOp(op)!, {
    ...root.attrs,
    activation: { kind: 'string', value: act?.act ?? '' },
    activation_params: { kind: 'floats', value: act?.params ?? [] },
  });
  while (inputs.length > 2 && inputs[inputs.length - 1] === '') inputs.pop();
  return { name: root.name, op, inputs, outputs: [out], attrs };
}

function isFloat(ix: GraphIndex, v: string): boolean {
  const t = ix.graph.types.get(v);
  return t?.kind === 'tensor' && FLOAT.has(t.dtype);
}

const matmulEpilogue: Rule = (mm, { index: ix }) => {
  if (mm.op !== 'MatMul' || !isFloat(ix, mm.outputs[0]!)) return undefined;
  const group: Node[] = [mm];
  const addends: string[] = [];
  let v = mm.outputs[0]!;
  for (let k = 0; k < 2; k++) {
    const hit = epilogueAdd(ix, v);
    if (!hit) break;
    group.push(hit[0]); addends.push(hit[1]); v = hit[0].outputs[0]!;
  }
  const act = matchActivation(ix, v);
  if (act) group.push(...act.nodes);
  if (group.length === 1) return undefined;
  const inputs = [mm.inputs[0]!, mm.inputs[1]!, addends[0] ?? '', addends[1] ?? ''];
  return { remove: new Set(group), replacement: fused(mm, 'onnxc.FusedMatMul', inputs, act ? act.out : v, act) };
};

const gemmEpilogue: Rule = (gemm, { index: ix, names }): Rewrite | undefined => {
  if (gemm.op !== 'Gemm' || !isFloat(ix, gemm.outputs[0]!)) return undefined;
  const y = gemm.outputs[0]!;
  const base = [gemm.inputs[0]!, gemm.inputs[1]!, gemm.inputs[2] ?? ''];
  const add = epilogueAdd(ix, y);
  const direct = matchActivation(ix, add ? add[0].outputs[0]! : y);
  if (add || direct) {
    const group = [gemm, ...(add ? [add[0]] : []), ...(direct?.nodes ?? [])];
    const out = direct ? direct.out : add![0].outputs[0]!;
    return { remove: new Set(group), replacement: fused(gemm, 'onnxc.FusedGemm', [...base, add?.[1] ?? ''], out, direct) };
  }
  // Gemm -> Reshape -> [Add residual] -> [activation]: Reshape(residual) -> FusedGemm -> Reshape. GPT-2's Conv1D
  // (the residual Add after each projection, in the model's 3-D shape) and its GELU.
  const reshape = ix.soleReader(y);
  if (reshape?.op !== 'Reshape' || reshape.inputs[0] !== y) return undefined;
  const yType = ix.graph.types.get(y)!;
  const res = yType.kind === 'tensor' && yType.shape?.every((d) => typeof d === 'number') ? residualAdd(ix, reshape.outputs[0]!) : undefined;
  const act = matchActivation(ix, res ? res[0].outputs[0]! : reshape.outputs[0]!);
  if (!act && !res) return undefined;
  const z = names.fresh(`${y}_act`);
  const before: Node[] = [], types = new Map([[z, yType]]), initializers = new Map<string, Tensor>();
  let residual = '';
  if (res) {
    // the residual in the Gemm's 2-D shape: a Reshape, which moves no data
    const shape = names.fresh(`${y}_shape`), dims = (yType as TensorType).shape as number[];
    residual = names.fresh(`${res[1]}_2d`);
    initializers.set(shape, fromValues('int64', [dims.length], dims));
    before.push({ name: names.fresh(`${reshape.name}_residual`), op: 'Reshape', inputs: [res[1], shape], outputs: [residual], attrs: withDefaults(getOp('Reshape')!, {}) });
    types.set(residual, yType);
  }
  before.push(fused(gemm, 'onnxc.FusedGemm', [...base, residual], z, act));
  return {
    remove: new Set([gemm, reshape, ...(res ? [res[0]] : []), ...(act?.nodes ?? [])]),
    before,
    replacement: { ...reshape, attrs: withDefaults(getOp('Reshape')!, reshape.attrs), inputs: [z, ...reshape.inputs.slice(1)], outputs: [act ? act.out : res![0].outputs[0]!] },
    types,
    initializers,
  };
};

/** epilogueAdd, when the other operand also has the Add's static type (no broadcast, so it can be reshaped as v
 *  is): [add, the other operand]. */
function residualAdd(ix: GraphIndex, v: string): [Node, string] | undefined {
  const hit = epilogueAdd(ix, v);
  const to = hit && ix.graph.types.get(hit[1]), ta = hit && ix.graph.types.get(hit[0].outputs[0]!);
  if (!hit || !to || !ta || !sameType(to, ta) || ta.kind !== 'tensor' || !ta.shape?.every((d) => typeof d === 'number')) return undefined;
  return hit;
}

export const fuseMatmulEpilogue = definePass({
  name: 'fuse-matmul-epilogue',
  summary: 'fold bias and residual Adds and an activation after a MatMul/Gemm into onnxc.FusedMatMul/FusedGemm',
  requires: ['typed'],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph) => applyRules(graph, [matmulEpilogue, gemmEpilogue]),
});
