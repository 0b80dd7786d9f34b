// fold-conv-affine: a per-channel scale (and shift) after a Conv folded into its constant weight and bias. tf2onnx
// and paddle2onnx leave a BatchNorm they could not fuse as Mul + Add by [C, 1, 1] constants (and Keras' Rescaling /
// per-channel gains come out as a bare Mul): an elementwise pass over the activation each (5% of a conv stack here)
// that the conv does for free in its weights.
//
//   y = Add(Mul(Conv(x, W, B), s), t)   ->   y = Conv(x, W * s, B * s + t)      (the Add optional; s, t per output
//                                                                               channel or scalar, either operand)
//
// The new constants are computed in double and rounded once; the conv then sums rounded products of W * s where the
// original rounded the sum, then scaled: a tolerance, as fuse-batchnorm's.

import type { Graph, Node } from '../ir/graph.js';
import { getNumber, makeTensor, type Tensor } from '../ir/tensor.js';
import type { ValueType } from '../ir/types.js';
import { GraphFacts } from './graph-facts.js';
import { NameSource, allNames, mapAllSubgraphs, rebuild } from './graph-util.js';
import { definePass } from './pass.js';

/** Per-output-channel values of a constant broadcast against a rank-`rank` conv output with `m` channels: every
 *  dim 1 but the channel dim (1 or m). Undefined for anything else or a non-finite value. */
function perChannel(t: Tensor | undefined, rank: number, m: number): number[] | undefined {
  if (!t || t.dtype !== 'float32' || t.dims.length > rank) return undefined;
  const dims = [...new Array<number>(rank - t.dims.length).fill(1), ...t.dims];
  if (dims.some((d, i) => d !== 1 && !(i === 1 && d === m))) return undefined;
  const v = Array.from({ length: m }, (_, c) => getNumber(t, dims[1] === 1 ? 0 : c));
  return v.every((x) => Number.isFinite(x)) ? v : undefined;
}

/** The other operand of a binary Mul/Add reading `name`. */
const other = (n: Node, name: string): string | undefined => (n.inputs.length !== 2 ? undefined : n.inputs[0] === name ? n.inputs[1] : n.inputs[0]);

interface Fold { conv: Node; last: Node; removed: Node[]; w: Tensor; b?: Tensor }

function match(conv: Node, f: GraphFacts): Fold | undefined {
  if (conv.op !== 'Conv' || conv.outputs.length !== 1) return undefined;
  const w = f.initializer(conv.inputs[1]), b0 = conv.inputs[2] ? f.initializer(conv.inputs[2]) : undefined;
  const rank = f.rank(conv.outputs[0]!);
  if (!w || w.dtype !== 'float32' || (conv.inputs[2] && (!b0 || b0.dtype !== 'float32')) || rank === undefined) return undefined;
  const m = w.dims[0]!;
  const mul = f.soleReader(conv.outputs[0]!);
  const s = mul?.op === 'Mul' ? perChannel(f.initializer(other(mul, conv.outputs[0]!)), rank, m) : undefined;
  if (!mul || !s) return undefined;
  const add = f.soleReader(mul.outputs[0]!);
  const t = add?.op === 'Add' ? perChannel(f.initializer(other(add, mul.outputs[0]!)), rank, m) : undefined;
  const per = w.data.length / m;
  const wd = new Float32Array(w.data.length);
  for (let i = 0; i < wd.length; i++) wd[i] = (w.data as Float32Array)[i]! * s[Math.floor(i / per)]!;
  const bd = Float32Array.from({ length: m }, (_, c) => (b0 ? getNumber(b0, c) : 0) * s[c]! + (t ? t[c]! : 0));
  if (!wd.every((v) => Number.isFinite(v)) || !bd.every((v) => Number.isFinite(v))) return undefined;
  const last = t ? add! : mul;
  const b = b0 || t ? makeTensor('float32', [m], bd) : undefined;
  return { conv, last, removed: t ? [mul, add!] : [mul], w: makeTensor('float32', [...w.dims], wd), ...(b ? { b } : {}) };
}

function run(graph: Graph): Graph {
  const g = mapAllSubgraphs(graph, run);
  const f = new GraphFacts(g);
  const names = new NameSource(allNames(g));
  const inits = new Map(g.initializers);
  const folds = new Map<Node, Fold>();
  const removed = new Set<Node>();
  for (const n of g.nodes) {
    const m = match(n, f);
    if (m) { folds.set(m.last, m); removed.add(n); for (const r of m.removed) if (r !== m.last) removed.add(r); }
  }
  if (folds.size === 0) return graph === g ? graph : g;
  // the conv moves to where its last absorbed node was (every input it reads is defined before that)
  const types = new Map<string, ValueType>();
  const nodes = g.nodes.filter((n) => !removed.has(n)).map((n) => {
    const m = folds.get(n);
    if (!m) return n;
    const w = names.fresh(`${m.conv.inputs[1]}_scaled`), b = m.b ? names.fresh(`${m.conv.name}_bias`) : undefined;
    for (const [k, t] of [[w, m.w], [b, m.b]] as const) {
      if (k === undefined || t === undefined) continue;
      inits.set(k, t);
      types.set(k, { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] });
    }
    return { ...m.conv, inputs: [m.conv.inputs[0]!, w, ...(b ? [b] : [])], outputs: [...m.last.outputs] };
  });
  return rebuild(g, nodes, inits, types);
}

export const foldConvAffine = definePass({
  name: 'fold-conv-affine',
  summary: 'Conv -> Mul by a per-channel constant (-> Add of one) folded into the Conv\'s weight and bias',
  requires: ['typed'],
  properties: { semantics: { kind: 'tolerance', rtol: 1e-4, atol: 1e-5 }, idempotent: true },
  run: (graph) => run(graph),
});
