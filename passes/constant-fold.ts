// Constant folding: a deterministic node whose inputs are all constants is run once with its reference `run` and
// replaced by initializers; Shape and Size of statically shaped values fold too, which collapses shape
// subgraphs (Shape -> Gather -> Concat -> Reshape); with symbolic dims, the parts of those vectors that are static
// fold too (passes/shape-values.ts). Outputs larger than their inputs are bounded by a limit
// (option `fold-limit`, elements) so folding never bloats the model (Expand of a scalar to a huge tensor stays).

import { OnnxcError } from '../ir/errors.js';
import type { Graph, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { fromValues, roundToDType, sizeOf } from '../ir/tensor.js';
import type { ValueType } from '../ir/types.js';
import { isStaticShape, tensorType } from '../ir/types.js';
import { isTensor } from '../ir/value.js';
import { plainAttrs } from '../ops/attrs.js';
import { getOp } from '../ops/index.js';
import { inferGraph } from '../ops/infer-graph.js';
import { isDeterministic } from '../ops/traits.js';
import { hasSubgraphs, mapSubgraphs, rebuild } from './graph-util.js';
import { foldShapeValue, type ShapeScope } from './shape-values.js';
import type { PassContext } from './pass.js';
import { EXACT, definePass, numberOption } from './pass.js';

/** Default bound on a folded output's elements beyond the size of the node's constant inputs. */
export const DEFAULT_FOLD_LIMIT = 1 << 16;

interface FoldState {
  readonly limit: number;
  /** Set when a folded value's exact dims refine a symbolic recorded type, so types need re-inferring. */
  refined: boolean;
}

/** Re-inference can make more shapes static and so more Shape nodes foldable: repeat, a few rounds at most. */
const MAX_ROUNDS = 8;

export function foldConstants(graph: Graph, ctx: PassContext): Graph {
  let g = graph;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const state: FoldState = { limit: numberOption(ctx, 'fold-limit', DEFAULT_FOLD_LIMIT), refined: false };
    const next = foldIn(g, new Map(), state);
    if (next === g) break;
    g = state.refined ? inferGraph(next, { source: ctx.source }) : next;
    if (!state.refined) break;
  }
  return g;
}

function foldIn(graph: Graph, outer: ReadonlyMap<string, Tensor>, state: FoldState): Graph {
  const constants = new Map(outer);
  // An initializer that is also a graph input may be overridden by the caller: not a constant.
  for (const [k, t] of graph.initializers) if (!graph.inputs.includes(k)) constants.set(k, t);
  const outputs = new Set(graph.outputs);
  const inits = new Map(graph.initializers);
  const types = new Map<string, ValueType>();
  const nodes: Node[] = [];
  let changed = false;
  const shapes: ShapeScope = { constants, symbolic: new Map(), type: (name) => graph.types.get(name) };
  for (const node of graph.nodes) {
    const isOutput = outputs.size > 0 && node.outputs.some((o) => outputs.has(o));
    let folded = isOutput ? undefined : tryFold(node, graph, constants, state);
    if (folded === undefined && !isOutput && node.outputs.length === 1) {
      const sv = foldShapeValue(node, shapes);
      if (sv?.kind === 'identity') { nodes.push(sv.node); changed = true; state.refined = true; continue; }
      if (sv?.kind === 'constant') folded = [sv.value];
    }
    if (folded === undefined) {
      const n = mapSubgraphs(node, (s) => foldIn(s, constants, state));
      if (n !== node) changed = true;
      nodes.push(n);
      continue;
    }
    changed = true;
    node.outputs.forEach((name, i) => {
      const t = folded[i];
      if (name === '' || t === undefined) return;
      constants.set(name, t);
      inits.set(name, t);
      const exact = tensorType(t.dtype, t.dims);
      const recorded = graph.types.get(name);
      if (recorded?.kind === 'tensor' && !isStaticShape(recorded.shape)) state.refined = true;
      types.set(name, exact);
    });
  }
  return changed ? rebuild(graph, nodes, inits, types) : graph;
}

/** The node's output values when it can be folded, else undefined. */
function tryFold(node: Node, graph: Graph, constants: ReadonlyMap<string, Tensor>, state: FoldState): (Tensor | undefined)[] | undefined {
  if (!isDeterministic(node.op) || hasSubgraphs(node)) return undefined;
  const shapeFold = foldShapeOf(node, graph);
  if (shapeFold !== undefined) return [shapeFold];
  const inputs: (Tensor | undefined)[] = [];
  let inputElements = 0;
  for (const name of node.inputs) {
    if (name === '') { inputs.push(undefined); continue; }
    const c = constants.get(name);
    if (c === undefined) return undefined;
    inputs.push(c);
    inputElements += c.data.length;
  }
  const outTypes = node.outputs.map((o) => (o ? graph.types.get(o) : undefined));
  for (const t of outTypes) {
    if (t === undefined) continue;
    if (t.kind !== 'tensor' || !isStaticShape(t.shape)) return undefined;
    if (sizeOf(t.shape) > Math.max(state.limit, inputElements)) return undefined;
  }
  const def = getOp(node.op);
  if (!def) return undefined;
  let values;
  try {
    values = def.run({
      node, attrs: plainAttrs(def, node), inputs, numOutputs: node.outputs.length, outputTypes: outTypes,
      runSubgraph: () => { throw new Error('constant folding does not run subgraphs'); },
    });
  } catch (e) {
    // A node that fails on its constant inputs fails at run time too: leave it for the runtime to report.
    if (e instanceof OnnxcError || e instanceof Error) return undefined;
    throw e;
  }
  const out: (Tensor | undefined)[] = [];
  for (let i = 0; i < node.outputs.length; i++) {
    if (node.outputs[i] === '') { out.push(undefined); continue; }
    const v = values[i];
    const t = outTypes[i];
    if (v === undefined || !isTensor(v) || (t?.kind === 'tensor' && t.dtype !== v.dtype)) return undefined;
    out.push(roundToDType(v));
  }
  return out;
}

/** Shape / Size of a value whose shape is fully known. */
function foldShapeOf(node: Node, graph: Graph): Tensor | undefined {
  if (node.op !== 'Shape' && node.op !== 'Size') return undefined;
  const t = graph.types.get(node.inputs[0] ?? '');
  if (t?.kind !== 'tensor' || !isStaticShape(t.shape)) return undefined;
  const dims = t.shape;
  if (node.op === 'Size') return fromValues('int64', [], [sizeOf(dims)]);
  const a = plainAttrs(getOp('Shape')!, node) as { start?: number; end?: number };
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + dims.length : v, 0), dims.length);
  const start = clamp(a.start ?? 0);
  const end = clamp(a.end ?? dims.length);
  const picked = dims.slice(start, Math.max(start, end));
  return fromValues('int64', [picked.length], picked);
}

export const constantFold = definePass({
  name: 'constant-fold',
  summary: 'run deterministic nodes with constant inputs (and Shape/Size of static shapes) once, as initializers',
  requires: [],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph, ctx) => foldConstants(graph, ctx),
});
