// What every opset rewrite shares: its type, and the small edits older forms need (attributes dropped, attributes
// moved into inputs). A rewrite sees the node as read, before attribute checks and defaults.

import { OnnxImportError } from '../../../ir/errors.js';
import type { Attr } from '../../../ir/graph.js';
import { fromValues } from '../../../ir/tensor.js';
import type { ImportNode, LegacyContext } from '../../../ops/schema.js';

/** Rewrites a node written against an older ai.onnx opset (`ctx.opset`) into the current form: attributes moved to
 *  inputs, changed defaults, changed semantics. May return several nodes; the first keeps the node's name. */
export type OpsetRewrite = (node: ImportNode, ctx: LegacyContext) => ImportNode[];

/** A copy of `node` without the named attributes (those older opsets had and the current form has not). */
export function dropAttrs(node: ImportNode, ...names: string[]): ImportNode {
  const attrs: Record<string, Attr> = { ...node.attrs };
  for (const n of names) delete attrs[n];
  return { ...node, attrs };
}

/** The rewrite of ops whose only change was losing opset 1-5's `consumed_inputs`. */
export const dropConsumedInputs: OpsetRewrite = (node) => [dropAttrs(node, 'consumed_inputs')];

/** Set input `index`, padding omitted inputs with ''. */
export function setInput(node: ImportNode, index: number, value: string): ImportNode {
  while (node.inputs.length < index) node.inputs.push('');
  node.inputs[index] = value;
  return node;
}

/** Move an `ints` attribute of an older opset form into input `index` as an int64 constant (the attribute,
 *  when absent, leaves the input omitted). Edits `node` in place and returns it. */
export function attrToInput(node: ImportNode, ctx: LegacyContext, name: string, index: number): ImportNode {
  const a = node.attrs[name];
  delete node.attrs[name];
  if (a === undefined) return node;
  let values: readonly number[];
  if (a.kind === 'ints') values = a.value;
  else if (a.kind === 'int') values = [a.value];
  else throw new OnnxImportError(`attribute ${name} must be ints, got ${a.kind}`);
  const t = fromValues('int64', [values.length], values.map((v) => BigInt(v)));
  return setInput(node, index, ctx.constant(t, `${node.name}_${name}`));
}
