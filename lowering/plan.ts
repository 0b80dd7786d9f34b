// planLowering: a prepared graph and a backend's kernel table -> where everything lives. Views share their root's
// buffer; every other run-time value and each kernel's scratch is a buffer alive from its defining step to its last
// reader (graph inputs from step 0, outputs to the end); the arena is planned with the backend's alignment and
// limits; the weights region holds, in order, what kernels pre-pack, then the constants they read, then constant
// outputs. The backend's `emit` only turns this into code.

import { OnnxcError, UnsupportedOpError, UsageError } from '../ir/errors.js';
import type { Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { sizeOf } from '../ir/tensor.js';
import { plainAttrs } from '../ops/attrs.js';
import { getOp } from '../ops/index.js';
import type { Backend } from './backend.js';
import { alignUp, planArena, type ArenaPlan, type BufferReq } from './buffer-plan.js';
import { nodeFreeVars } from './free-vars.js';
import type { PreparedGraph } from './prepare.js';
import type { KernelPlanning, PlanContext, ValueRef } from './protocol.js';
import { prepareBody } from './subgraph.js';
import { UnsupportedNodesError, unsupportedNodes } from './support.js';
import { WeightsLayout, tensorBytes } from './weights.js';

/** Where a value lives: an arena offset, a weights offset, or nowhere (a constant no kernel reads). */
export type Place = { readonly region: 'arena'; readonly offset: number } | { readonly region: 'weights'; readonly offset: number } | { readonly region: 'none' };

/** A constant a kernel pre-packed, placed in the weights region. */
export interface PackedRef extends ValueRef { readonly offset: number; readonly constant: Tensor }

export interface PlannedNode<K> {
  readonly node: Node;
  readonly index: number;
  readonly kernel: K;
  readonly attrs: Readonly<Record<string, unknown>>;
  /** A view whose output shares its input's buffer: the backend emits no code for it. */
  readonly view: boolean;
  /** Arena offset of the kernel's scratch, when it asked for any. */
  readonly scratch?: { readonly offset: number; readonly bytes: number };
  readonly packed: readonly PackedRef[];
  /** The plans of the subgraphs the kernel runs (KernelPlanning.bodies), in the order it declared them. */
  readonly bodies?: readonly LoweringPlan<ValueRef, K>[];
}

export interface LoweringPlan<R extends ValueRef = ValueRef, K = KernelPlanning<PlanContext<R>>> {
  readonly prepared: PreparedGraph;
  readonly source: string;
  readonly nodes: readonly PlannedNode<K>[];
  readonly arena: ArenaPlan;
  readonly weights: WeightsLayout;
  /** The value a name shares its buffer with (itself unless it is a view's output). */
  rootOf(name: string): string;
  placeOf(name: string): Place;
  /** A value with its static type and compile-time value. */
  valueRef(name: string): ValueRef;
  /** A body's declared inputs (the prepared graph's inputs also list the outer values it reads). */
  readonly inputs?: readonly string[];
}

export function planLowering<R extends ValueRef, K extends KernelPlanning<PlanContext<R>>>(backend: Backend<R, K>, prepared: PreparedGraph): LoweringPlan<R, K> {
  const unsupported = unsupportedNodes(backend, prepared);
  if (unsupported.length) throw new UnsupportedNodesError(unsupported, backend.name, prepared.source);
  return planGraph(backend, prepared, { weights: new WeightsLayout(backend.capabilities.weightAlign), key: '', base: () => 0 });
}

/** Where a graph is planned: the weights region it shares with its enclosing graphs, the prefix its constants are
 *  keyed by there, the start of its arena region (a body's: inside its node's scratch, known once the enclosing
 *  arena is planned), and for a body the run-time values of enclosing graphs it reads. */
interface PlanEnv {
  readonly weights: WeightsLayout;
  readonly key: string;
  base(): number;
  readonly outer?: { readonly names: ReadonlySet<string>; placeOf(name: string): Place };
}

function planGraph<R extends ValueRef, K extends KernelPlanning<PlanContext<R>>>(backend: Backend<R, K>, prepared: PreparedGraph, env: PlanEnv, bodyInputs?: readonly string[]): LoweringPlan<R, K> {
  const { source, constants } = prepared;
  const g = prepared.graph;
  const nodes = prepared.nodes;
  const kernels = nodes.map((n) => (backend.kernels as Record<string, K>)[n.op]!);
  const outerNames = env.outer?.names ?? new Set<string>();
  const weights = env.weights;

  // --- views share their root's buffer
  const root = new Map<string, string>();
  const rootOf = (v: string): string => root.get(v) ?? v;
  nodes.forEach((n, k) => {
    if (!kernels[k]!.alias || constants.has(n.inputs[0]!)) return;
    const extra = n.outputs.slice(1).filter((o) => o !== '');
    if (extra.some((o) => nodes.some((m) => m.inputs.includes(o)) || g.outputs.includes(o))) {
      throw new UnsupportedOpError(`optional outputs of ${n.op} are not supported by the ${backend.name} backend`, { model: source, node: n.name, op: n.op });
    }
    root.set(n.outputs[0]!, rootOf(n.inputs[0]!));
  });

  // --- liveness: steps 1..nodes.length are the nodes, 0 the inputs, nodes.length + 1 the outputs. A body's
  // inputs stay alive to the end: a Loop rewrites them from the outputs after each iteration.
  const first = new Map<string, number>(), last = new Map<string, number>(), definer = new Map<string, string>();
  const touch = (v: string, s: number): void => { const r = rootOf(v); if (!constants.has(r)) last.set(r, Math.max(last.get(r) ?? 0, s)); };
  for (const i of g.inputs) { first.set(i, 0); last.set(i, 0); }
  for (const i of bodyInputs ?? []) last.set(i, nodes.length + 1);
  const freeOf = nodes.map((n) => nodeFreeVars(n));
  nodes.forEach((n, k) => {
    n.inputs.forEach((i) => { if (i) touch(i, k + 1); });
    // what a node's subgraphs read stays alive while it runs
    for (const v of freeOf[k]!) touch(v, k + 1);
    n.outputs.forEach((o) => { if (o && !root.has(o)) { first.set(o, k + 1); last.set(o, k + 1); definer.set(o, n.name); } });
  });
  for (const o of g.outputs) touch(o, nodes.length + 1);
  // carried state: the input and the output's buffer both live for the whole run (their roles swap between runs)
  for (const [i, o] of carryPairs(prepared, rootOf)) for (const v of [i, rootOf(o)]) { first.set(v, 0); last.set(v, nodes.length + 1); }
  const bytesOf = (name: string): number => {
    const t = prepared.tensorType(name);
    return sizeOf(t.dims) * elementBytes(t.dtype);
  };
  const reqs: BufferReq[] = [];
  for (const [v, f] of first) if (!constants.has(v) && !outerNames.has(v)) reqs.push({ id: v, bytes: bytesOf(v), first: f, last: last.get(v) ?? f, node: definer.get(v) });

  // --- what kernels decide before addresses exist
  const attrsOf = nodes.map((n) => { const def = getOp(n.op); return def ? plainAttrs(def, n) : {}; });
  const planCtx = (n: Node, k: number): PlanContext<R> => ({
    node: n, attrs: attrsOf[k]!, site: { model: source, node: n.name, op: n.op },
    inputs: n.inputs.map((i) => (i ? backend.planRef(prepared.valueRef(i)) : undefined)),
    outputs: n.outputs.map((o) => (o ? backend.planRef(prepared.valueRef(o)) : undefined)),
  });
  const withSite = <T>(n: Node, f: () => T): T => {
    try { return f(); } catch (e) { if (e instanceof OnnxcError) throw e.at({ model: source, node: n.name, op: n.op }); throw e; }
  };
  const ctxs = nodes.map((n, k) => planCtx(n, k));
  const ownScratch = nodes.map((n, k) => { const kg = kernels[k]!; return kg.scratch ? withSite(n, () => kg.scratch!(ctxs[k]!)) : 0; });
  const packed = nodes.map((n, k) => { const kg = kernels[k]!; return kg.prepack ? withSite(n, () => kg.prepack!(ctxs[k]!)) : []; });
  // --- subgraphs: each body planned on its own, its arena after the kernel's scratch (the branches of an If are
  // never alive together, so they share that region)
  const align = backend.capabilities.buffers.align;
  let placeOfHere: (name: string) => Place = () => { throw new Error('placeOf before planning'); };
  const bodies = nodes.map((n, k) => {
    const kg = kernels[k]!;
    if (!kg.bodies) return [];
    const specs = withSite(n, () => kg.bodies!(ctxs[k]!));
    return specs.map((spec, j) => withSite(n, () => {
      const body = prepareBody(spec, prepared, source);
      const bodyBase = (): number => env.base() + arena.offsets.get(`#scratch${k}`)! + alignUp(ownScratch[k]!, align);
      return planGraph(backend, body.prepared, {
        weights, key: `${env.key}${n.name}/${j}/`, base: bodyBase, outer: { names: body.outer, placeOf: (name) => placeOfHere(name) },
      }, body.inputs);
    }));
  });
  const scratch = nodes.map((_, k) => {
    const b = bodies[k]!;
    return b.length ? alignUp(ownScratch[k]!, align) + Math.max(...b.map((p) => p.arena.arenaBytes)) : ownScratch[k]!;
  });
  scratch.forEach((b, k) => { if (b > 0) reqs.push({ id: `#scratch${k}`, bytes: b, first: k + 1, last: k + 1, node: nodes[k]!.name }); });
  const arena = planArena(reqs, backend.capabilities.buffers, source);

  // --- weights: pre-packed tensors, then the constants kernels (and subgraphs) read, then constant outputs
  const packedRefs = packed.map((ts, k) => ts.map((t, j): PackedRef => ({
    name: `#packed${k}_${j}`, dtype: t.dtype, dims: t.dims, size: sizeOf(t.dims), offset: weights.place(tensorBytes(t)), constant: t,
  })));
  const placeConstant = (name: string): void => { if (constants.has(rootOf(name)) && !outerNames.has(rootOf(name))) weights.constant(env.key + rootOf(name), constants.get(rootOf(name))!); };
  nodes.forEach((n, k) => {
    const skip = new Set(kernels[k]!.unread?.(ctxs[k]!) ?? []);
    n.inputs.forEach((i, j) => { if (i && !skip.has(j)) placeConstant(i); });
    for (const v of freeOf[k]!) placeConstant(v);
  });
  for (const o of g.outputs) placeConstant(o);

  const placeOf = (name: string): Place => {
    const r = rootOf(name);
    if (outerNames.has(r)) return env.outer!.placeOf(r);
    if (constants.has(r)) {
      const w = weights.offsetOf(env.key + r);
      return w === undefined ? { region: 'none' } : { region: 'weights', offset: w };
    }
    const off = arena.offsets.get(r);
    if (off === undefined) throw new OnnxcError(`value '${name}' has no buffer (internal planning error)`, { model: source });
    return { region: 'arena', offset: env.base() + off };
  };
  placeOfHere = placeOf;
  const planned = nodes.map((n, k): PlannedNode<K> => ({
    node: n, index: k, kernel: kernels[k]!, attrs: attrsOf[k]!,
    view: kernels[k]!.alias === true && rootOf(n.outputs[0]!) !== n.outputs[0],
    // a body's base is known once the enclosing arena is planned: read it when the backend emits
    ...(ownScratch[k]! > 0 ? { scratch: { get offset() { return env.base() + arena.offsets.get(`#scratch${k}`)!; }, bytes: ownScratch[k]! } } : {}),
    packed: packedRefs[k]!,
    ...(bodies[k]!.length ? { bodies: bodies[k]! } : {}),
  }));
  return { prepared, source, nodes: planned, arena, weights, rootOf, placeOf, valueRef: (name) => prepared.valueRef(name), ...(bodyInputs ? { inputs: bodyInputs } : {}) };
}

/** The carried state pairs of a top-level graph, checked: an input that takes values, an output computed at run
 *  time (not a constant or another input), the same type; no buffer in two pairs. */
export function carryPairs(prepared: PreparedGraph, rootOf: (name: string) => string): [string, string][] {
  const pairs = Object.entries(prepared.carry ?? {});
  const g = prepared.graph, used = new Set<string>();
  const fail = (msg: string): never => { throw new UsageError(`carry ${msg}`, { model: prepared.source }); };
  for (const [i, o] of pairs) {
    if (!g.inputs.includes(i)) fail(`'${i}': not an input that takes values at run time`);
    if (!g.outputs.includes(o)) fail(`'${i}=${o}': '${o}' is not an output`);
    const r = rootOf(o);
    if (prepared.constants.has(r) || g.inputs.includes(r)) fail(`'${i}=${o}': '${o}' is a constant or an input, not a state computed by the model`);
    const a = prepared.tensorType(i), b = prepared.tensorType(o);
    if (a.dtype !== b.dtype || a.dims.join() !== b.dims.join()) fail(`'${i}=${o}': ${a.dtype}[${a.dims.join(',')}] and ${b.dtype}[${b.dims.join(',')}] differ`);
    for (const v of [i, r]) { if (used.has(v)) fail(`'${i}=${o}': a buffer in two pairs`); used.add(v); }
  }
  return pairs;
}

/** Bytes per element as stored (ONNX raw data; 16-bit floats as their bits; 4- and 2-bit integers a byte each). */
export function elementBytes(dtype: ValueRef['dtype']): number {
  switch (dtype) {
    case 'float64': case 'int64': case 'uint64': return 8;
    case 'float32': case 'int32': case 'uint32': return 4;
    case 'int16': case 'uint16': case 'float16': case 'bfloat16': return 2;
    case 'int8': case 'uint8': case 'bool': case 'int4': case 'uint4': case 'int2': case 'uint2': return 1;
    case 'string': throw new UnsupportedOpError(`string tensors have no byte layout`);
  }
}
