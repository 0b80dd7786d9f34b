// Which nodes a backend cannot lower, and why: every such node at once, each with a reason code (protocol.ts). The
// same check answers the pass pipeline's question "does the backend take this node?" (capabilities in the pass
// context), so decomposition and float16 upcasting are decided before lowering, never by catching an error.
// `coverage`-style reports call `unsupportedNodes` directly.

import { OnnxcError, ShapeError, UnsupportedOpError } from '../ir/errors.js';
import type { Graph, Node } from '../ir/graph.js';
import { sizeOf } from '../ir/tensor.js';
import { isStaticShape } from '../ir/types.js';
import { plainAttrs } from '../ops/attrs.js';
import { getOp } from '../ops/index.js';
import type { AnyBackend } from './backend.js';
import type { PreparedGraph } from './prepare.js';
import { bodyOutputRefusal, prepareBody } from './subgraph.js';
import type { KernelPlanning, PlanContext, Refusal, UnsupportedNode, ValueRef } from './protocol.js';

const is16 = (d: string): boolean => d === 'float16' || d === 'bfloat16';

/** How the check sees values: a ref when the value is a tensor of static shape, else why not. */
type Lookup = (name: string) => ValueRef | Refusal;

/** The refusal of `node` by `backend`, or undefined when it can lower it. `constantsKnown`: every compile-time
 *  value is known (after prepareForLowering), so a run-time operand a kernel must read is a real refusal. */
export function nodeRefusal(backend: AnyBackend, node: Node, lookup: Lookup, constantsKnown: boolean, source?: string): Refusal | undefined {
  const kernel = (backend.kernels as Record<string, KernelPlanning<PlanContext> | undefined>)[node.op];
  if (!kernel) return { reason: 'missing-kernel', detail: `op ${node.op} has no ${backend.name} kernel` };
  const caps = backend.capabilities;
  const refs = (names: readonly string[]): (ValueRef | undefined)[] | Refusal => {
    const out: (ValueRef | undefined)[] = [];
    for (const n of names) {
      if (!n) { out.push(undefined); continue; }
      const r = lookup(n);
      if ('reason' in r) return r;
      out.push(r);
    }
    return out;
  };
  const inputs = refs(node.inputs);
  if (!Array.isArray(inputs)) return inputs;
  const outputs = refs(node.outputs);
  if (!Array.isArray(outputs)) {
    // a control-flow node whose inputs are static but whose output is not: the shape depends on the branch taken or
    // on the number of iterations, i.e. on values computed at run time
    const control = Object.values(node.attrs).some((a) => a.kind === 'graph' || a.kind === 'graphs');
    return control && outputs.reason === 'dynamic-shape' ? { reason: 'data-dependent', detail: `${outputs.detail.replace(/; lowering needs.*$/, '')}: it depends on the branch taken or the number of iterations, known only at run time` } : outputs;
  }
  for (const r of [...inputs, ...outputs]) {
    if (!r) continue;
    if (!caps.dtypes.includes(r.dtype)) return { reason: 'dtype', dtype: r.dtype, detail: `the ${backend.name} backend has no ${r.dtype} tensors ('${r.name}')` };
    if (is16(r.dtype) && !caps.float16) return { reason: 'dtype', dtype: r.dtype, detail: `the ${backend.name} backend computes no ${r.dtype} ('${r.name}')` };
  }
  const bad = inputs[0];
  if (kernel.dtypes && bad && !kernel.dtypes.includes(bad.dtype)) {
    return { reason: 'dtype', dtype: bad.dtype, detail: `the ${backend.name} backend's ${node.op} kernel handles ${kernel.dtypes.join('/')}, not ${bad.dtype} ('${bad.name}')` };
  }
  if (constantsKnown) {
    for (const i of kernel.constInputs ?? []) {
      const r = inputs[i];
      if (r && r.constant === undefined) return { reason: 'data-dependent', detail: `input ${i} ('${r.name}') must be known at compile time` };
    }
  }
  if (!kernel.refuse) return undefined;
  const def = getOp(node.op);
  const site = { model: source, node: node.name, op: node.op };
  const ctx: PlanContext = {
    node, attrs: def ? plainAttrs(def, node) : {}, site,
    inputs: inputs.map((r) => (r ? backend.planRef(r) : undefined)), outputs: outputs.map((r) => (r ? backend.planRef(r) : undefined)),
  };
  try {
    return kernel.refuse(ctx);
  } catch (e) {
    if (e instanceof OnnxcError) throw e.at(site);
    throw e;
  }
}

/** Every run-time node of a prepared graph the backend cannot lower. */
export function unsupportedNodes(backend: AnyBackend, prepared: PreparedGraph): UnsupportedNode[] {
  const lookup: Lookup = (name) => {
    const t = prepared.staticType(name);
    if (t) return prepared.valueRef(name);
    const vt = prepared.graph.types.get(name);
    if (vt && vt.kind !== 'tensor') return { reason: 'dtype', detail: `value '${name}' is a ${vt.kind}; the ${backend.name} backend handles tensors only` };
    return { reason: 'dynamic-shape', detail: `value '${name}' has shape [${vt?.kind === 'tensor' ? vt.shape?.join(',') ?? '?' : '?'}]; lowering needs static shapes (give --dim NAME=VALUE or fix the inputs it depends on)` };
  };
  const out: UnsupportedNode[] = [];
  for (const n of prepared.nodes) {
    const r = nodeRefusal(backend, n, lookup, true, prepared.source);
    if (r) out.push({ node: n.name, op: n.op, ...r });
    else out.push(...bodyRefusals(backend, prepared, n));
  }
  return out;
}

/** The unsupported nodes of the subgraphs a kernel runs (each prepared with the types the kernel feeds it), and a
 *  `data-dependent` refusal of the node when a body's output shape is not the one it needs. */
function bodyRefusals(backend: AnyBackend, prepared: PreparedGraph, n: Node): UnsupportedNode[] {
  const kernel = (backend.kernels as Record<string, KernelPlanning<PlanContext> | undefined>)[n.op];
  if (!kernel?.bodies) return [];
  const def = getOp(n.op);
  const site = { model: prepared.source, node: n.name, op: n.op };
  const ctx: PlanContext = {
    node: n, attrs: def ? plainAttrs(def, n) : {}, site,
    inputs: n.inputs.map((i) => (i ? backend.planRef(prepared.valueRef(i)) : undefined)),
    outputs: n.outputs.map((o) => (o ? backend.planRef(prepared.valueRef(o)) : undefined)),
  };
  try {
    const out: UnsupportedNode[] = [];
    for (const [j, spec] of kernel.bodies(ctx).entries()) {
      const body = prepareBody(spec, prepared, prepared.source);
      const r = bodyOutputRefusal(spec, body, `${n.op} body ${j}`);
      if (r) return [{ node: n.name, op: n.op, ...r }];
      out.push(...unsupportedNodes(backend, body.prepared));
    }
    return out;
  } catch (e) {
    if (!(e instanceof OnnxcError)) throw e;
    return [{ node: n.name, op: n.op, reason: e instanceof ShapeError ? 'dynamic-shape' : 'form', detail: e.message }];
  }
}

/** The pass-time question, on a graph with types but before static evaluation (constants: initializers only). */
export function graphNodeRefusal(backend: AnyBackend, node: Node, graph: Graph): Refusal | undefined {
  const lookup: Lookup = (name) => {
    const t = graph.types.get(name);
    if (!t || t.kind !== 'tensor') return { reason: 'dtype', detail: `value '${name}' is not a tensor` };
    if (!isStaticShape(t.shape)) return { reason: 'dynamic-shape', detail: `value '${name}' has no static shape` };
    return { name, dtype: t.dtype, dims: [...t.shape], size: sizeOf(t.shape), constant: graph.initializers.get(name) };
  };
  return nodeRefusal(backend, node, lookup, false);
}

/** Every unsupported node of one compile, at once. A subclass of UnsupportedOpError (what callers catch); with one
 *  node it reads like that node's own error. */
export class UnsupportedNodesError extends UnsupportedOpError {
  constructor(readonly nodes: readonly UnsupportedNode[], backend: string, source?: string) {
    super(nodes.length === 1 ? nodes[0]!.detail
      : `${nodes.length} nodes cannot be lowered by the ${backend} backend:\n${nodes.map((n) => `  node '${n.node}' (${n.op}): ${n.reason}: ${n.detail}`).join('\n')}`,
    nodes.length === 1 ? { model: source, node: nodes[0]!.node, op: nodes[0]!.op } : { model: source });
  }
}
