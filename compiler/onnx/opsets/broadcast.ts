// Import-time rewrites shared by the elementwise family: opset 1-6 binary ops with `broadcast`/`axis` (B aligned at
// `axis` of A rather than numpy-style at the end) become numpy broadcasts by reshaping B with trailing 1s.

import { OnnxImportError } from '../../../ir/errors.js';
import { attrInt, type Attr } from '../../../ir/graph.js';
import { fromValues, scalar } from '../../../ir/tensor.js';
import type { ImportNode, LegacyContext } from '../../../ops/schema.js';
import { dropAttrs } from './common.js';

function intAttr(node: ImportNode, name: string): number | undefined {
  const a: Attr | undefined = node.attrs[name];
  if (a === undefined) return undefined;
  if (a.kind !== 'int') throw new OnnxImportError(`attribute ${name} must be an int, got ${a.kind}`, { node: node.name, op: node.op });
  return a.value;
}

/** Opset < 7 binary ops: drop `consumed_inputs`, and turn `broadcast=1, axis=k` into an explicit reshape of B that
 *  numpy broadcasting then aligns exactly as the old rule did. */
export function legacyBroadcast(node: ImportNode, ctx: LegacyContext): ImportNode[] {
  const broadcast = intAttr(node, 'broadcast') ?? 0;
  const axis = intAttr(node, 'axis');
  const base = dropAttrs(node, 'consumed_inputs', 'broadcast', 'axis');
  if (broadcast === 0 || axis === undefined || node.inputs.length < 2) return [base];
  const { nodes, value } = alignAt(node.inputs[0]!, node.inputs[1]!, axis, node.name, ctx);
  return [...nodes, { ...base, inputs: [node.inputs[0]!, value, ...base.inputs.slice(2)] }];
}

/** Nodes reshaping `b` to b.shape ++ [1]*max(0, rank(a) - axis - rank(b)), so that numpy broadcasting lines b's
 *  first dim up with a's dim `axis` (the rule of opset < 7 broadcasts and of PRelu < 7's per-channel slope). */
export function alignAt(a: string, b: string, axis: number, hint: string, ctx: LegacyContext): { nodes: ImportNode[]; value: string } {
  const n = (op: string, inputs: string[], what: string, attrs: Record<string, Attr> = {}): ImportNode => ({
    name: ctx.freshName(`${hint}_${what}`), op, inputs, outputs: [ctx.freshName(`${hint}_${what}`)], attrs,
  });
  const out = (x: ImportNode): string => x.outputs[0]!;
  const shapeB = n('Shape', [b], 'shape_b');
  const rankB = n('Size', [out(shapeB)], 'rank_b');
  const nodes: ImportNode[] = [shapeB, rankB];
  let lead: string; // rank(a) - axis, as an int64 scalar
  if (axis >= 0) {
    const shapeA = n('Shape', [a], 'shape_a');
    const rankA = n('Size', [out(shapeA)], 'rank_a');
    const minus = n('Sub', [out(rankA), ctx.constant(scalar('int64', BigInt(axis)), `${hint}_axis`)], 'lead');
    nodes.push(shapeA, rankA, minus);
    lead = out(minus);
  } else {
    lead = ctx.constant(scalar('int64', BigInt(-axis)), `${hint}_lead`);
  }
  const tail = n('Sub', [lead, out(rankB)], 'tail');
  const clamped = n('Max', [out(tail), ctx.constant(scalar('int64', 0n), `${hint}_zero`)], 'tail_clamped');
  const tail1 = n('Unsqueeze', [out(clamped), ctx.constant(fromValues('int64', [1], [0n]), `${hint}_axes`)], 'tail1');
  const ones = n('ConstantOfShape', [out(tail1)], 'ones', { value: { kind: 'tensor', value: fromValues('int64', [1], [1n]) } });
  const shape = n('Concat', [out(shapeB), out(ones)], 'new_shape', { axis: attrInt(0) });
  const reshaped = n('Reshape', [b, out(shape)], 'b');
  nodes.push(tail, clamped, tail1, ones, shape, reshaped);
  return { nodes, value: out(reshaped) };
}
