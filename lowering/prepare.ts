// prepareForLowering: the one step between the pass pipeline and a backend. Fixed inputs become constants, every
// input shape is made concrete and the graph re-inferred, then every value computable without the inputs (Shape,
// Size, nodes whose inputs are all constants) is evaluated with the ops' reference `run`, and the run-time node
// list is pruned to what the outputs need. Backend-neutral: no kernel table is consulted.

import { OnnxcError, ShapeError } from '../ir/errors.js';
import { limits } from '../ir/limits.js';
import type { Graph, Node } from '../ir/graph.js';
import { makeTensor, sizeOf, type Tensor } from '../ir/tensor.js';
import { isStaticShape, type Dim, type TensorType, type ValueType } from '../ir/types.js';
import { isTensor } from '../ir/value.js';
import { checkInputShape } from '../backends/reference/input-check.js';
import { plainAttrs } from '../ops/attrs.js';
import { getOp } from '../ops/index.js';
import { inferGraph } from '../ops/infer-graph.js';
import { isDeterministic } from '../ops/traits.js';
import { nodeFreeVars } from './free-vars.js';
import type { ValueRef } from './protocol.js';
import type { InputStructure, IoLayouts } from './sequences.js';

export interface ShapeOptions {
  /** Sizes of symbolic dims (`--dim batch=2`). */
  readonly dims?: Readonly<Record<string, number>>;
  /** Concrete input shapes by input name (e.g. from the inputs being run); wins over `dims`. */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
  /** Small integer inputs to specialise on (shape-like operands: pads, target shapes): treated as constants,
   *  recorded in the artifact, checked at run time. */
  readonly fixedInputs?: Readonly<Record<string, Tensor>>;
  /** Model name for messages. */
  readonly source?: string;
  /** State pairs carried from run to run (input -> output, same type): both buffers are kept for the whole run,
   *  so a backend can swap their roles between runs instead of copying (wasm: `run_swapped`). */
  readonly carry?: Readonly<Record<string, string>>;
  /** The structure of each sequence or optional input (length, element shapes, presence): such models are
   *  lowered to tensors for this structure (lowering/sequences.ts). */
  readonly structures?: Readonly<Record<string, InputStructure>>;
}

/** The graph with its fixed inputs turned into initializers (the artifact still lists them, from the original). */
export function withFixedInputs(graph: Graph, fixed: Readonly<Record<string, Tensor>> = {}): Graph {
  if (Object.keys(fixed).length === 0) return graph;
  return { ...graph, inputs: graph.inputs.filter((n) => !fixed[n]), initializers: new Map([...graph.initializers, ...Object.entries(fixed)]) };
}

/** A copy of `g` with every input shape concrete, re-inferred so every value is static (where shapes do not depend
 *  on input values). */
export function specialize(g: Graph, opts: ShapeOptions): Graph {
  const types = new Map(g.types);
  for (const name of g.inputs) {
    const t = g.types.get(name);
    if (!t || t.kind !== 'tensor' || !t.shape) continue;
    const given = opts.inputShapes?.[name];
    if (given) checkInputShape(name, t, undefined, given, opts.source);
    const shape: Dim[] = given ? [...given] : t.shape.map((d) => (typeof d === 'string' && opts.dims?.[d] !== undefined ? opts.dims[d]! : d));
    const missing = shape.find((d) => typeof d === 'string');
    if (missing !== undefined) throw new ShapeError(`input '${name}' has symbolic dim '${missing}'; give its size (--dim ${missing}=N)`, { model: opts.source });
    types.set(name, { kind: 'tensor', dtype: t.dtype, shape });
  }
  // drop inferred types of node outputs so stale symbolic dims do not pin the new ones
  const keep = new Set([...g.inputs, ...g.initializers.keys(), ...g.outputs]);
  for (const k of [...types.keys()]) if (!keep.has(k)) types.delete(k);
  for (const o of g.outputs) if (!g.inputs.includes(o) && !g.initializers.has(o)) types.delete(o);
  return inferGraph({ ...g, types }, { source: opts.source });
}

/** A graph ready for a kernel table: static where it can be, constants known, run-time nodes in order. */
export interface PreparedGraph {
  /** The specialised graph (fixed inputs are initializers here). */
  readonly graph: Graph;
  readonly source: string;
  /** The model's inputs in order, fixed ones included (an artifact lists them all). */
  readonly inputs: readonly string[];
  /** Inputs fixed at compile time (now constants), by name. */
  readonly fixed: Readonly<Record<string, Tensor>>;
  /** State pairs carried from run to run (ShapeOptions.carry). */
  readonly carry?: Readonly<Record<string, string>>;
  /** How sequence and optional inputs/outputs were laid out as tensors (set only for such models). */
  readonly layouts?: IoLayouts;
  /** Run-time nodes in order, pruned to what the outputs need. */
  readonly nodes: readonly Node[];
  /** Every value known at compile time. */
  readonly constants: ReadonlyMap<string, Tensor>;
  /** The static type of a value, or undefined when it is not a tensor of static shape. */
  staticType(name: string): { dtype: TensorType['dtype']; dims: number[] } | undefined;
  /** The static type of a value; a ShapeError when it has none (callers that lower, after support was checked). */
  tensorType(name: string): { dtype: TensorType['dtype']; dims: number[] };
  /** The value as kernels see it before memory is planned. */
  valueRef(name: string): ValueRef;
}

export function prepareForLowering(graph0: Graph, opts: ShapeOptions = {}): PreparedGraph {
  const source = opts.source ?? graph0.name;
  const g = specialize(withFixedInputs(graph0, opts.fixedInputs), { ...opts, source });
  return staticEval(g, source, { inputs: graph0.inputs, fixed: opts.fixedInputs ?? {}, ...(opts.carry ? { carry: opts.carry } : {}) });
}

/** The model's interface as declared, before fixed inputs became constants. */
export interface DeclaredInputs {
  readonly inputs: readonly string[];
  readonly fixed: Readonly<Record<string, Tensor>>;
  readonly carry?: Readonly<Record<string, string>>;
  readonly layouts?: IoLayouts;
}

/** Compile-time evaluation of a specialised graph (exported for tests; prepareForLowering is the entry point). */
export function staticEval(g: Graph, source: string, declared: DeclaredInputs = { inputs: g.inputs, fixed: {} }): PreparedGraph {
  const constants = new Map<string, Tensor>(g.initializers);
  const staticType = (name: string): { dtype: TensorType['dtype']; dims: number[] } | undefined => {
    const t = g.types.get(name);
    if (!t || t.kind !== 'tensor' || !isStaticShape(t.shape)) return undefined;
    return { dtype: t.dtype, dims: [...t.shape] };
  };
  const tensorType = (name: string): { dtype: TensorType['dtype']; dims: number[] } => {
    const s = staticType(name);
    if (s) return s;
    const t = g.types.get(name);
    if (!t || t.kind !== 'tensor') throw new ShapeError(`value '${name}' is not a tensor; lowering handles tensors only`, { model: source });
    throw new ShapeError(`value '${name}' has shape [${t.shape?.join(',') ?? '?'}]; lowering needs static shapes (give --dim NAME=VALUE)`, { model: source });
  };
  const live: Node[] = [];
  for (const node of g.nodes) {
    const site = { model: source, node: node.name, op: node.op };
    const def = getOp(node.op);
    // an op onnxc does not know stays a run-time node: the support check reports it with the others
    if (!def) { live.push(node); continue; }
    const hasGraph = Object.values(node.attrs).some((a) => a.kind === 'graph' || a.kind === 'graphs');
    if (node.op === 'Shape' || node.op === 'Size') {
      const x = staticType(node.inputs[0]!);
      if (x) {
        const out = node.op === 'Size' ? [x.dims.reduce((a, b) => a * b, 1)] : shapeSlice(x.dims, plainAttrs(def, node) as { start?: number; end?: number });
        const t = makeTensor('int64', node.op === 'Size' ? [] : [out.length]);
        out.forEach((v, i) => { t.data[i] = BigInt(v); });
        constants.set(node.outputs[0]!, t);
        continue;
      }
    }
    const allConst = node.inputs.every((n) => n === '' || constants.has(n));
    if (allConst && !hasGraph && isDeterministic(node.op)) {
      try {
        const outs = def.run({
          node, attrs: plainAttrs(def, node), inputs: node.inputs.map((n) => (n ? constants.get(n) : undefined)),
          numOutputs: node.outputs.length, outputTypes: node.outputs.map((o) => (o ? g.types.get(o) : undefined)),
          runSubgraph: () => { throw new Error('no subgraphs in compile-time evaluation'); },
        });
        node.outputs.forEach((o, i) => { const v = outs[i]; if (o && v !== undefined && isTensor(v)) constants.set(o, v); });
        continue;
      } catch (e) {
        if (e instanceof OnnxcError) throw e.at(site);
        throw e;
      }
    }
    live.push(node);
  }
  // keep the nodes the outputs need
  const needed = new Set(g.outputs);
  const kept: Node[] = [];
  for (let i = live.length - 1; i >= 0; i--) {
    const n = live[i]!;
    if (n.outputs.some((o) => o && needed.has(o))) {
      kept.push(n);
      for (const x of n.inputs) if (x) needed.add(x);
      // what its subgraphs read from this graph is needed too
      for (const x of nodeFreeVars(n)) needed.add(x);
    }
  }
  kept.reverse();
  const pinned = pinLoopTrips(g, kept, constants);
  if (pinned) return staticEval(inferGraph(pinned, { source }), source, declared);
  const valueRef = (name: string): ValueRef => {
    const t = tensorType(name);
    return { name, dtype: t.dtype, dims: t.dims, size: sizeOf(t.dims), constant: constants.get(name) };
  };
  return { graph: g, source, inputs: declared.inputs, fixed: declared.fixed, ...(declared.carry ? { carry: declared.carry } : {}), ...(declared.layouts ? { layouts: declared.layouts } : {}), nodes: kept, constants, staticType, tensorType, valueRef };
}

/** A Loop whose trip count is known at compile time and whose scan outputs lack only their leading (iteration) dim
 *  gets those outputs typed with the trip count, so they can be planned; the backend's Loop must then stop the run
 *  (wasm: a trap naming the node) when its condition ends the loop sooner, since the shape would depend on it. */
function pinLoopTrips(g: Graph, nodes: readonly Node[], constants: ReadonlyMap<string, Tensor>): Graph | undefined {
  let types: Map<string, ValueType> | undefined;
  for (const n of nodes) {
    const M = n.op === 'Loop' && n.inputs[0] ? constants.get(n.inputs[0]) : undefined;
    if (!M || M.data.length !== 1) continue;
    const trips = Number(M.data[0]);
    if (!(trips >= 0 && trips <= limits.maxLoopIterations)) continue;
    const carried = Math.max(0, n.inputs.length - 2);
    n.outputs.forEach((o, j) => {
      const t = o && j >= carried ? g.types.get(o) : undefined;
      if (t?.kind !== 'tensor' || !t.shape || typeof t.shape[0] !== 'string' || !isStaticShape(t.shape.slice(1))) return;
      types ??= new Map(g.types);
      types.set(o, { ...t, shape: [trips, ...t.shape.slice(1)] });
    });
  }
  return types ? { ...g, types } : undefined;
}

function shapeSlice(dims: readonly number[], a: { start?: number; end?: number }): number[] {
  const r = dims.length;
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  return dims.slice(clamp(a.start ?? 0), clamp(a.end ?? r));
}
