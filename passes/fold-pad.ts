// fold-pad-conv: an explicit zero Pad of a Conv's spatial axes becomes the Conv's own padding. tf2onnx writes TF's
// SAME padding of strided convs this way, paddle2onnx its `padding` layers, some PyTorch exports ZeroPad2d: each
// Pad is a full copy of the activation (7% of a three-conv stack here) that the conv's border handling does for free.
//
//   y = Conv(Pad(x, pads=[0, 0, t, l, 0, 0, b, r]), W)   ->   y = Conv(x, W) {pads += [t, l, b, r]}   (Pad removed)
//
// Exact: the padded taps multiply zeros, which add nothing to the sum; so only with a constant W free of infinities
// and NaNs (0 * inf is NaN), mode `constant` with value 0, no padding of the batch or channel axes, pads >= 0, and
// a Conv without auto_pad (or VALID, which is pads of 0).

import type { Attr, Graph, Node } from '../ir/graph.js';
import { toNumbers } from '../ir/tensor.js';
import { GraphFacts } from './graph-facts.js';
import { mapAllSubgraphs, rebuild } from './graph-util.js';
import { EXACT, definePass } from './pass.js';

const ints = (a: Attr | undefined): readonly number[] | undefined => (a?.kind === 'ints' ? a.value : undefined);

/** The per-axis [begins, ends] of a zero constant Pad over a rank-`rank` tensor, or undefined. */
function zeroPads(pad: Node, rank: number, f: GraphFacts): { begin: number[]; end: number[] } | undefined {
  const mode = pad.attrs['mode'];
  if (mode !== undefined && !(mode.kind === 'string' && mode.value === 'constant')) return undefined;
  const padsT = f.fixed(pad.inputs[1]);
  if (!padsT) return undefined;
  const value = pad.inputs[2] ? f.fixed(pad.inputs[2]) : undefined;
  if (pad.inputs[2] && (!value || !toNumbers(value).every((v) => v === 0))) return undefined;
  const raw = toNumbers(padsT);
  let axes = Array.from({ length: rank }, (_, i) => i);
  if (pad.inputs[3]) {
    const a = f.fixed(pad.inputs[3]);
    if (!a) return undefined;
    axes = toNumbers(a).map((x) => (x < 0 ? x + rank : x));
  }
  if (raw.length !== 2 * axes.length) return undefined;
  const begin = new Array<number>(rank).fill(0), end = new Array<number>(rank).fill(0);
  axes.forEach((a, k) => { begin[a]! += raw[k]!; end[a]! += raw[k + axes.length]!; });
  return begin.every((v) => v >= 0) && end.every((v) => v >= 0) ? { begin, end } : undefined;
}

function fold(conv: Node, f: GraphFacts): Node | undefined {
  if (conv.op !== 'Conv') return undefined;
  const pad = f.producer.get(conv.inputs[0]!);
  if (pad?.op !== 'Pad' || !f.singleUse(conv.inputs[0]!)) return undefined;
  const rank = f.rank(pad.inputs[0]!);
  const w = f.fixed(conv.inputs[1]);
  if (rank === undefined || rank < 3 || !w || !(w.dtype === 'float32' || w.dtype === 'float64')) return undefined;
  if (!(w.data as Float32Array | Float64Array).every((v) => Number.isFinite(v))) return undefined;
  const auto = conv.attrs['auto_pad'];
  if (auto?.kind === 'string' && auto.value !== 'NOTSET' && auto.value !== 'VALID') return undefined;
  const p = zeroPads(pad, rank, f);
  if (!p || p.begin[0] !== 0 || p.end[0] !== 0 || p.begin[1] !== 0 || p.end[1] !== 0) return undefined;
  const sp = rank - 2;
  const old = auto?.kind === 'string' && auto.value === 'VALID' ? undefined : ints(conv.attrs['pads']);
  const base = old && old.length === 2 * sp ? old : new Array<number>(2 * sp).fill(0);
  const pads = [...base.slice(0, sp).map((v, a) => v + p.begin[a + 2]!), ...base.slice(sp).map((v, a) => v + p.end[a + 2]!)];
  return {
    ...conv, inputs: [pad.inputs[0]!, ...conv.inputs.slice(1)],
    attrs: { ...conv.attrs, auto_pad: { kind: 'string', value: 'NOTSET' }, pads: { kind: 'ints', value: pads } },
  };
}

function run(graph: Graph): Graph {
  const g = mapAllSubgraphs(graph, run);
  const f = new GraphFacts(g);
  let changed = g !== graph;
  // the folded Pads, read by nothing now: dropped here, not left for dce, so the value they read has its true
  // reader count for the fusions that follow
  const folded = new Set<Node>();
  const nodes = g.nodes.map((n) => {
    const m = fold(n, f);
    if (m) { changed = true; folded.add(f.producer.get(n.inputs[0]!)!); }
    return m ?? n;
  });
  return changed ? rebuild(g, nodes.filter((n) => !folded.has(n))) : graph;
}

export const foldPadConv = definePass({
  name: 'fold-pad-conv',
  summary: 'a zero Pad of a Conv\'s spatial axes becomes the Conv\'s pads (tf2onnx SAME padding, ZeroPad2d)',
  requires: ['typed'],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph) => run(graph),
});
