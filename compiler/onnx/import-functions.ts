// Inlining model-local functions (FunctionProto) at the protobuf level: each call becomes the function's body
// with its values renamed uniquely, its formal inputs/outputs bound to the call's, and attribute references
// (`ref_attr_name`) bound to the call's attributes or the function's defaults. Calls nest; recursion is refused.

import { LimitError, OnnxImportError } from '../../ir/errors.js';
import { limits } from '../../ir/limits.js';
import type { AttributeProtoMsg, FunctionProtoMsg, GraphProtoMsg, NodeProtoMsg, OperatorSetId } from './proto.js';
import { int64ToNumber, patch } from './proto.js';

/** A node ready for conversion, with the ai.onnx opset it was written against (a function may import its own). */
export interface ExpandedNode {
  readonly node: NodeProtoMsg;
  readonly opset: number;
}

export interface InlineContext {
  /** A value name unused anywhere in the model. */
  freshName(hint: string): string;
  /** Counts every node produced, so a function-call explosion stops early. */
  countNode(): void;
  /** Most nodes a graph may have after inlining. */
  readonly maxNodes: number;
}

export const isOnnxDomain = (d: string | undefined): boolean => !d || d === 'ai.onnx';

const keyOf = (domain: string, name: string, overload: string): string =>
  `${isOnnxDomain(domain) ? '' : domain}::${name}::${overload ?? ''}`;

/** The ai.onnx version in an opset_import list, or undefined. */
export function onnxOpset(imports: readonly OperatorSetId[], what: string): number | undefined {
  let v: number | undefined;
  for (const o of imports) if (isOnnxDomain(o.domain)) v = int64ToNumber(o.version, `${what} ai.onnx opset version`);
  return v;
}

export class FunctionTable {
  private readonly byKey = new Map<string, FunctionProtoMsg>();
  constructor(functions: readonly FunctionProtoMsg[]) {
    for (const f of functions) {
      const k = keyOf(f.domain, f.name, f.overload);
      if (this.byKey.has(k)) throw new OnnxImportError(`function ${f.domain}::${f.name} is defined twice`);
      this.byKey.set(k, f);
    }
  }
  private readonly sizes = new Map<string, number>();
  get size(): number { return this.byKey.size; }

  /** How many nodes `nodes` become once every call is inlined (subgraphs count as one node), computed
   *  without inlining, so a call tree that doubles at each level is refused before any work. */
  expandedSize(nodes: readonly NodeProtoMsg[], visiting: Set<string> = new Set()): number {
    let total = 0;
    for (const n of nodes) {
      const f = this.lookup(n);
      if (f === undefined) { total += 1; continue; }
      const key = keyOf(f.domain, f.name, f.overload);
      let size = this.sizes.get(key);
      if (size === undefined) {
        if (visiting.has(key)) throw new OnnxImportError(`function ${f.domain}::${f.name} calls itself`);
        visiting.add(key);
        size = this.expandedSize(f.node, visiting);
        visiting.delete(key);
        this.sizes.set(key, size);
      }
      total += size;
      // stop summing early: sizes can overflow doubles after ~1000 doublings
      if (total > Number.MAX_SAFE_INTEGER / 4) return total;
    }
    return total;
  }
  lookup(n: NodeProtoMsg): FunctionProtoMsg | undefined {
    return this.byKey.size ? this.byKey.get(keyOf(n.domain, n.op_type, n.overload)) : undefined;
  }
}

/** Replace calls of model-local functions in `nodes` by their bodies, recursively. */
export function expandNodes(
  nodes: readonly NodeProtoMsg[], opset: number, funcs: FunctionTable, ctx: InlineContext, stack: readonly string[] = [],
): ExpandedNode[] {
  if (stack.length === 0 && funcs.size > 0) {
    const size = funcs.expandedSize(nodes);
    if (size > ctx.maxNodes) throw new LimitError(`inlining functions would give ${size} nodes, past the limit maxNodes=${ctx.maxNodes}`, { limit: 'maxNodes', value: size });
  }
  const out: ExpandedNode[] = [];
  for (const n of nodes) {
    const f = funcs.lookup(n);
    if (f === undefined) { ctx.countNode(); out.push({ node: n, opset }); continue; }
    const key = keyOf(f.domain, f.name, f.overload);
    if (stack.includes(key)) throw new OnnxImportError(`function ${f.domain}::${f.name} calls itself (via ${stack.join(' -> ')})`);
    if (stack.length >= limits.maxCallDepth) {
      throw new LimitError(`function calls nest deeper than the limit maxCallDepth=${limits.maxCallDepth}`, { limit: 'maxCallDepth', value: stack.length + 1 });
    }
    const body = inlineCall(n, f, ctx);
    const fOpset = onnxOpset(f.opset_import, `function ${f.name}`) ?? opset;
    out.push(...expandNodes(body, fOpset, funcs, ctx, [...stack, key]));
  }
  return out;
}

/** The body of `f` specialised to one call site. */
function inlineCall(call: NodeProtoMsg, f: FunctionProtoMsg, ctx: InlineContext): NodeProtoMsg[] {
  const prefix = call.name || `${f.name}`;
  if (call.input.length > f.input.length) {
    throw new OnnxImportError(`call of function ${f.name} has ${call.input.length} inputs, the function takes ${f.input.length}`);
  }
  if (call.output.length > f.output.length) {
    throw new OnnxImportError(`call of function ${f.name} has ${call.output.length} outputs, the function gives ${f.output.length}`);
  }
  const rename = new Map<string, string>();
  f.input.forEach((formal, i) => rename.set(formal, call.input[i] ?? ''));
  f.output.forEach((formal, i) => {
    const actual = call.output[i];
    rename.set(formal, actual ? actual : ctx.freshName(`${prefix}/${formal}`));
  });
  for (const n of f.node) {
    for (const o of n.output) if (o && !rename.has(o)) rename.set(o, ctx.freshName(`${prefix}/${o}`));
  }
  const given = new Map<string, AttributeProtoMsg>();
  for (const a of f.attribute_proto) given.set(a.name, a);
  for (const a of call.attribute) {
    if (!f.attribute.includes(a.name) && !f.attribute_proto.some((p) => p.name === a.name)) {
      throw new OnnxImportError(`call of function ${f.name} sets attribute '${a.name}', which the function does not declare`);
    }
    given.set(a.name, a);
  }
  const value = (name: string): string => (name === '' ? '' : rename.get(name) ?? name);
  return f.node.map((n, k) => substNode(n, `${prefix}/${n.name || `${n.op_type}_${k}`}`, value, given, ctx));
}

function substNode(
  n: NodeProtoMsg, name: string, value: (v: string) => string, given: ReadonlyMap<string, AttributeProtoMsg>, ctx: InlineContext,
): NodeProtoMsg {
  const attribute: AttributeProtoMsg[] = [];
  for (const a of n.attribute) {
    if (a.ref_attr_name) {
      const bound = given.get(a.ref_attr_name);
      // an unset reference leaves the attribute unset, so the op's own default applies
      if (bound !== undefined) attribute.push(patch(bound, { name: a.name, ref_attr_name: '' }));
      continue;
    }
    if (a.g || a.graphs.length) {
      attribute.push(patch(a, {
        g: a.g ? substGraph(a.g, value, given, ctx) : a.g,
        graphs: a.graphs.map((g) => substGraph(g, value, given, ctx)),
      }));
      continue;
    }
    attribute.push(a);
  }
  return patch(n, { name, input: n.input.map(value), output: n.output.map(value), attribute });
}

/** A subgraph inside a function body: its own values get fresh names too (so two inlined copies never clash),
 *  and references to the function's values follow the call's renaming. */
function substGraph(g: GraphProtoMsg, outer: (v: string) => string, given: ReadonlyMap<string, AttributeProtoMsg>, ctx: InlineContext): GraphProtoMsg {
  const local = new Map<string, string>();
  const def = (v: string): void => { if (v && !local.has(v)) local.set(v, ctx.freshName(v)); };
  for (const vi of g.input) def(vi.name);
  for (const t of g.initializer) def(t.name);
  for (const n of g.node) for (const o of n.output) def(o);
  const value = (v: string): string => (v === '' ? '' : local.get(v) ?? outer(v));
  return patch(g, {
    input: g.input.map((vi) => patch(vi, { name: value(vi.name) })),
    output: g.output.map((vi) => patch(vi, { name: value(vi.name) })),
    value_info: g.value_info.map((vi) => patch(vi, { name: value(vi.name) })),
    initializer: g.initializer.map((t) => patch(t, { name: value(t.name) })),
    node: g.node.map((n) => substNode(n, n.name, value, given, ctx)),
  });
}
