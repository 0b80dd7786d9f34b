// one-hot-gather: a one-hot encoding multiplied by a constant matrix is a row lookup. Exporters write one_hot as
// Equal(x[..., 1], arange(K)) + Cast(to float) (jax2tf, Keras), and the embedding that follows as a MatMul with
// W [K, N]: magika spends a fifth of its time making a [2048, 257] matrix of zeros and ones and multiplying it.
//
//   y = MatMul(Cast(Equal(x, arange(K))), W)   ->   y = Gather(concat(W, zeros(1, N)), Clip(Squeeze(x, -1), -1, K))
//
// Exact: a row of the one-hot matrix times W adds W[i] to zeros (or, for an x outside [0, K), only zeros); the Clip
// sends every such x to the appended row of zeros (-1 reads the last row, K is the last row). Only when W has no
// infinity or NaN (0 * inf is NaN in every row of the original). Int32 labels take Clip; int64 labels (no backend
// has an int64 Clip) take Max(., -1) then Min(., K) in int64, only where the backend runs both on int64 (asked of
// the target when there is one), and Gather reads the int64 indices as they are.

import type { Graph, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { fromValues, makeTensor, toNumbers } from '../ir/tensor.js';
import type { ValueType } from '../ir/types.js';
import { GraphFacts } from './graph-facts.js';
import { NameSource, allNames, allNodeNames, mapAllSubgraphs, rebuild } from './graph-util.js';
import { EXACT, definePass } from './pass.js';

const FLOAT32 = 1;

type Label = 'int32' | 'int64';

interface Match { readonly x: string; readonly k: number; readonly w: Tensor; readonly dtype: Label }

/** K when `t` is arange(K) laid along its last axis (every other dim 1). */
function arangeLength(t: Tensor): number | undefined {
  const k = t.dims[t.dims.length - 1];
  if (k === undefined || k < 1 || t.dims.slice(0, -1).some((d) => d !== 1)) return undefined;
  const v = toNumbers(t);
  return v.every((x, i) => x === i) ? k : undefined;
}

function match(mm: Node, f: GraphFacts, int64: boolean): Match | undefined {
  if (mm.op !== 'MatMul' || mm.inputs.length !== 2) return undefined;
  const w = f.fixed(mm.inputs[1]!);
  if (!w || w.dtype !== 'float32' || w.dims.length !== 2) return undefined;
  const cast = f.producer.get(mm.inputs[0]!);
  const to = cast?.attrs['to'];
  if (cast?.op !== 'Cast' || to?.kind !== 'int' || to.value !== FLOAT32) return undefined;
  const eq = f.producer.get(cast.inputs[0]!);
  if (eq?.op !== 'Equal') return undefined;
  for (const [xi, ci] of [[0, 1], [1, 0]] as const) {
    const x = eq.inputs[xi]!, c = f.fixed(eq.inputs[ci]!);
    const xs = f.type(x)?.shape, dtype = f.type(x)?.dtype;
    if (!c || !(dtype === 'int32' || (int64 && dtype === 'int64')) || c.dtype !== dtype || f.fixed(x) !== undefined) continue;
    const k = arangeLength(c);
    // x [..., 1] against arange [1, .., 1, K] of no greater rank: Equal's output is x's shape with K last
    if (k === undefined || !xs || xs.length < c.dims.length || xs[xs.length - 1] !== 1 || w.dims[0] !== k) continue;
    if (!(w.data as Float32Array).every((v) => Number.isFinite(v))) return undefined;
    return { x, k, w, dtype };
  }
  return undefined;
}

/** W with a row of zeros appended: [K + 1, N]. */
function withZeroRow(w: Tensor): Tensor {
  const [k, n] = w.dims as [number, number];
  const data = new Float32Array((k + 1) * n);
  data.set(w.data as Float32Array);
  return makeTensor('float32', [k + 1, n], data);
}

/** The rewritten graph and the nodes it introduced for int64 labels (for the target to be asked about). */
function rewrite(graph: Graph, int64: boolean, added: [Node, Graph][]): Graph {
  const g = mapAllSubgraphs(graph, (s) => rewrite(s, int64, added));
  const f = new GraphFacts(g);
  const values = new NameSource(allNames(g));
  const nodeNames = new NameSource(allNodeNames(g));
  const inits = new Map(g.initializers);
  const types = new Map<string, ValueType>();
  const nodes: Node[] = [];
  let changed = g !== graph;
  const clamps: Node[] = [];
  for (const node of g.nodes) {
    const m = match(node, f, int64);
    if (!m) { nodes.push(node); continue; }
    changed = true;
    const xs = f.type(m.x)!.shape!;
    const name = (hint: string) => values.fresh(`${node.outputs[0]}_${hint}`);
    const axes = name('axes'), idx = name('index'), lo = name('lo'), hi = name('hi'), clipped = name('clipped'), table = name('table');
    inits.set(axes, fromValues('int64', [1], [xs.length - 1]));
    inits.set(lo, fromValues(m.dtype, [], [-1]));
    inits.set(hi, fromValues(m.dtype, [], [m.k]));
    inits.set(table, withZeroRow(m.w));
    const idxShape = xs.slice(0, -1);
    types.set(idx, { kind: 'tensor', dtype: m.dtype, shape: idxShape });
    types.set(clipped, { kind: 'tensor', dtype: m.dtype, shape: idxShape });
    for (const [k, t] of [[axes, inits.get(axes)!], [lo, inits.get(lo)!], [hi, inits.get(hi)!], [table, inits.get(table)!]] as const) {
      types.set(k, { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] });
    }
    const base = node.name;
    nodes.push({ name: nodeNames.fresh(`${base}_index`), op: 'Squeeze', inputs: [m.x, axes], outputs: [idx], attrs: {} });
    if (m.dtype === 'int32') {
      nodes.push({ name: nodeNames.fresh(`${base}_clip`), op: 'Clip', inputs: [idx, lo, hi], outputs: [clipped], attrs: {} });
    } else {
      const floor = name('floored');
      types.set(floor, { kind: 'tensor', dtype: 'int64', shape: idxShape });
      const clamp: Node[] = [
        { name: nodeNames.fresh(`${base}_floor`), op: 'Max', inputs: [idx, lo], outputs: [floor], attrs: {} },
        { name: nodeNames.fresh(`${base}_ceil`), op: 'Min', inputs: [floor, hi], outputs: [clipped], attrs: {} },
      ];
      nodes.push(...clamp);
      clamps.push(...clamp);
    }
    nodes.push({ name: base, op: 'Gather', inputs: [table, clipped], outputs: [...node.outputs], attrs: { axis: { kind: 'int', value: 0 } } });
  }
  if (!changed) return graph;
  const out = rebuild(g, nodes, inits, types);
  for (const n of clamps) added.push([n, out]);
  return out;
}

export const oneHotGather = definePass({
  name: 'one-hot-gather',
  summary: 'MatMul(Cast(Equal(x, arange(K))), W) with constant W -> Gather of W\'s rows (a zero row for x outside [0, K))',
  requires: ['typed'],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph, ctx) => {
    const has = (ops: readonly string[]): boolean => ops.every((op) => ctx.supportedOps?.has(op) ?? true);
    if (!has(['Squeeze', 'Clip', 'Gather'])) return graph;
    if (!has(['Max', 'Min'])) return rewrite(graph, false, []);
    const added: [Node, Graph][] = [];
    const out = rewrite(graph, true, added);
    // the int64 clamp's nodes only where the target runs them (a backend whose int64 is narrowed may not)
    const refused = ctx.target && added.some(([n, g]) => ctx.target!.refusal(n, g) !== undefined);
    return refused ? rewrite(graph, false, []) : out;
  },
});
