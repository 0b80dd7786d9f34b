// fuse-layernorm / fuse-rmsnorm: the decomposed normalisations exporters write (PyTorch before opset 17, Keras,
// tf2onnx/jax2tf, hand-written RMSNorm in LLaMA-style models) recognised as standard LayerNormalization (opset 17)
// and RMSNormalization (opset 23):
//   LayerNorm: m = mean(x); d = x - m; v = mean(d^2 | d*d); s = Sqrt(v + eps); n = d / s | d * (1/s)
//              [* gamma] [+ beta]
//   LayerNorm, one-pass variance (jax2tf of flax LayerNorm, magika): m = mean(x); v = mean(x*x) - m*m
//              [Max(0, v)]; r = 1/Sqrt(v + eps) [* gamma]; n = (x - m) * r [+ beta]
//   RMSNorm:   v = mean(x^2 | x*x); s = Sqrt(v + eps); n = x / s | x * (1/s) [* gamma]
// mean(t) is ReduceMean(t), ReduceSum(t) * (1/N) or ReduceSum(t) / N (ReduceSumSquare(x) for the sum of squares),
// over the trailing axes of x, N their element count; keepdims=0 statistics may be brought back to rank by a
// Reshape to the keepdims shape anywhere along the chain; 1/Sqrt is Reciprocal(Sqrt), Div(1, Sqrt) or Pow(-0.5).
// gamma/beta constants varying only along the normalised axes. The fused ops keep statistics in double and round
// once, where the chain rounded at every step: a tolerance. For the one-pass variance the chain also loses about
// eps32 * mean^2 / var of relative precision to cancellation (the fused op's two-pass variance does not): within
// the tolerance for |mean| up to a few standard deviations (the property test goes to 4; near 28 the chain's error
// passes the tolerance at N = 8); further out the chain drifts and the fused result is the closer one.

import type { Graph, Node } from '../../ir/graph.js';
import type { Dim } from '../../ir/types.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { definePass } from '../pass.js';
import { GraphIndex, near, otherOperand } from './match.js';
import { applyRules, type Rewrite, type Rule } from './rewrite.js';

const rankOf = (g: Graph, v: string): number | undefined => {
  const t = g.types.get(v);
  return t?.kind === 'tensor' && t.shape ? t.shape.length : undefined;
};

/** The reduced axes of a Reduce* node (input or attribute), normalised, sorted; undefined when not constant. */
function reduceAxes(ix: GraphIndex, rd: Node, r: number): number[] | undefined {
  const attr = rd.attrs['axes'];
  let raw: number[] | undefined;
  if (rd.inputs[1]) {
    const t = ix.constant(rd.inputs[1]);
    raw = t ? [...(t.data as BigInt64Array)].map(Number) : undefined;
  } else if (attr?.kind === 'ints') raw = [...attr.value];
  return raw?.map((a) => (a + r) % r).sort((a, b) => a - b);
}

/** The first normalised axis when `rd` reduces `x` (op one of `ops`) over its trailing axes: [axis, keepdims]. */
function trailingReduce(ix: GraphIndex, rd: Node | undefined, x: string, ops: readonly string[]): [number, boolean] | undefined {
  if (!rd || !ops.includes(rd.op) || rd.inputs[0] !== x) return undefined;
  const r = rankOf(ix.graph, x);
  if (r === undefined) return undefined;
  const axes = reduceAxes(ix, rd, r);
  if (!axes || axes.length === 0 || axes.some((a, i) => a !== r - axes.length + i)) return undefined;
  const keep = rd.attrs['keepdims'];
  return [r - axes.length, !(keep?.kind === 'int' && keep.value === 0)];
}

/** The first normalised axis when `rm` is a keepdims ReduceMean of `x` over its trailing axes. */
function trailingMean(ix: GraphIndex, rm: Node | undefined, x: string): number | undefined {
  const t = trailingReduce(ix, rm, x, ['ReduceMean']);
  return t && t[1] ? t[0] : undefined;
}

interface Mean { axis: number; keep: boolean; nodes: Node[]; out: string }

/** A mean of `x` over its trailing axes starting at node `rd`: ReduceMean, or ReduceSum then Mul by 1/N or Div by N
 *  (N the static element count of those axes); with `squared`, of x*x: ReduceSumSquare(x) / N as well. */
function meanOf(ix: GraphIndex, rd: Node | undefined, x: string, squared = false): Mean | undefined {
  const t = trailingReduce(ix, rd, x, ['ReduceMean', 'ReduceSum', ...(squared ? ['ReduceSumSquare'] : [])]);
  if (!t) return undefined;
  const [axis, keep] = t;
  if (rd!.op === 'ReduceMean') return { axis, keep, nodes: [rd!], out: rd!.outputs[0]! };
  const count = normalisedSize(ix.graph, x, axis);
  const scale = ix.soleReader(rd!.outputs[0]!);
  if (count === undefined || !scale) return undefined;
  const s = rd!.outputs[0]!;
  const ok = scale.op === 'Mul' ? near(ix.scalar(otherOperand(scale, s) ?? ''), 1 / count, 1e-6)
    : scale.op === 'Div' && scale.inputs[0] === s && near(ix.scalar(scale.inputs[1]!), count, 1e-6);
  return ok ? { axis, keep, nodes: [rd!, scale], out: scale.outputs[0]! } : undefined;
}

/** The keepdims shape of x's statistics over axes >= axis, when x's shape is known. */
function keptShape(g: Graph, x: string, axis: number): Dim[] | undefined {
  const t = g.types.get(x);
  return t?.kind === 'tensor' && t.shape ? t.shape.map((d, k) => (k < axis ? d : 1)) : undefined;
}

/** Follows `v` through single-use Reshapes to the keepdims shape `kept` (undone keepdims=0), collecting them. */
function throughReshapes(ix: GraphIndex, v: string, kept: readonly Dim[], acc: Node[]): string {
  for (;;) {
    const n = ix.soleReader(v);
    const t = n?.op === 'Reshape' ? ix.graph.types.get(n.outputs[0]!) : undefined;
    if (t?.kind !== 'tensor' || !t.shape || t.shape.length !== kept.length || t.shape.some((d, k) => d !== kept[k])) return v;
    acc.push(n!);
    v = n!.outputs[0]!;
  }
}

/** `n` squares `v`: Pow(v, 2) or Mul(v, v). */
function squares(ix: GraphIndex, n: Node | undefined, v: string): boolean {
  if (n?.op === 'Mul') return n.inputs[0] === v && n.inputs[1] === v;
  return n?.op === 'Pow' && n.inputs[0] === v && ix.scalar(n.inputs[1]!) === 2;
}

/** From the variance `v`: Add eps -> Sqrt -> (Div of `num` | Reciprocal -> Mul with `num`). Returns the nodes, eps, output. */
function normalise(ix: GraphIndex, v: string, num: string): { nodes: Node[]; eps: number; out: string } | undefined {
  const add = ix.soleReader(v);
  const eps = add?.op === 'Add' ? ix.scalar(otherOperand(add, v) ?? '') : undefined;
  if (!add || eps === undefined || eps < 0) return undefined;
  const sqrt = ix.soleReader(add.outputs[0]!);
  if (sqrt?.op !== 'Sqrt') return undefined;
  const s = sqrt.outputs[0]!;
  const next = ix.soleReader(s);
  if (next?.op === 'Div' && next.inputs[0] === num && next.inputs[1] === s) return { nodes: [add, sqrt, next], eps, out: next.outputs[0]! };
  if (next?.op === 'Reciprocal') {
    const mul = ix.soleReader(next.outputs[0]!);
    if (mul?.op === 'Mul' && otherOperand(mul, next.outputs[0]!) === num) return { nodes: [add, sqrt, next, mul], eps, out: mul.outputs[0]! };
  }
  return undefined;
}

/** A constant operand of the `op` node reading `v` that varies only along axes >= axis: [node, constant name]. */
function affineStep(ix: GraphIndex, v: string, op: 'Mul' | 'Add', axis: number, r: number): [Node, string] | undefined {
  const n = ix.soleReader(v);
  if (n?.op !== op) return undefined;
  const c = otherOperand(n, v);
  const t = c === undefined ? undefined : ix.constant(c);
  if (!t || t.dims.length > r || t.dtype !== 'float32') return undefined;
  const lead = r - t.dims.length;
  if (t.dims.some((d, k) => k + lead < axis && d !== 1)) return undefined;
  return [n, c!];
}

function ones(dims: readonly number[]): Tensor {
  return fromValues('float32', dims, new Array<number>(dims.reduce((a, b) => a * b, 1)).fill(1));
}

function normNode(op: 'LayerNormalization' | 'RMSNormalization', root: Node, inputs: string[], out: string, axis: number, eps: number): Node {
  const attrs = withDefaults(getOp(op)!, { axis: { kind: 'int', value: axis }, epsilon: { kind: 'float', value: eps } });
  return { name: root.name, op, inputs, outputs: [out], attrs };
}

/** The trailing-axes element count of x, when static (for a ones scale). */
function normalisedSize(g: Graph, x: string, axis: number): number | undefined {
  const t = g.types.get(x);
  if (t?.kind !== 'tensor' || !t.shape) return undefined;
  const dims = t.shape.slice(axis);
  return dims.every((d) => typeof d === 'number') ? (dims as number[]).reduce((a, b) => a * b, 1) : undefined;
}

function finish(
  ix: GraphIndex, op: 'LayerNormalization' | 'RMSNormalization', x: string, axis: number, body: Node[], eps: number, n: string,
  names: { fresh(h: string): string }, preScale?: [Node, string],
): Rewrite | undefined {
  const r = rankOf(ix.graph, x)!;
  const xt = ix.graph.types.get(x);
  if (xt?.kind !== 'tensor' || xt.dtype !== 'float32') return undefined;
  const group = [...body];
  let out = n;
  let scale = preScale;
  if (!scale) {
    scale = affineStep(ix, n, 'Mul', axis, r);
    if (scale) { group.push(scale[0]); out = scale[0].outputs[0]!; }
  }
  const bias = op === 'LayerNormalization' && scale ? affineStep(ix, out, 'Add', axis, r) : undefined;
  if (bias) { group.push(bias[0]); out = bias[0].outputs[0]!; }
  // a scale or bias broadcast wider than x (or a statistic read back at another shape) is not the normalisation
  const ot = ix.graph.types.get(out);
  if (ot?.kind !== 'tensor' || !ot.shape || !xt.shape || ot.shape.length !== xt.shape.length || ot.shape.some((d, k) => d !== xt.shape![k])) return undefined;
  const inits = new Map<string, Tensor>();
  let scaleName = scale?.[1];
  if (!scaleName) {
    // Scale is required by both ops: ones over the normalised axes (only when their sizes are static).
    const dims = xt.shape?.slice(axis);
    if (!dims || !dims.every((dim) => typeof dim === 'number')) return undefined;
    scaleName = names.fresh(`${group[0]!.name}_ones`);
    inits.set(scaleName, ones(dims as number[]));
  }
  const root = group[group.length - 1]!;
  return { remove: new Set(group), replacement: normNode(op, root, [x, scaleName, ...(bias ? [bias[1]] : [])], out, axis - r, eps), initializers: inits };
}

/** The tail after a variance `v` (keepdims shape `kept`) to the normalised centred `d`: [Max(0, v)] -> Add eps ->
 *  Sqrt -> Div(d, .), or (Sqrt -> Reciprocal | Div(1, .)) | Pow(-0.5) -> [Mul gamma] -> Mul d, with Reshapes to `kept`
 *  anywhere between. Returns the nodes, eps, the normalised value and the gamma step if any. */
function rsqrtTail(
  ix: GraphIndex, v: string, d: string, kept: readonly Dim[], axis: number, r: number,
): { nodes: Node[]; eps: number; out: string; scale?: [Node, string] } | undefined {
  const nodes: Node[] = [];
  v = throughReshapes(ix, v, kept, nodes);
  const mx = ix.soleReader(v);
  // the chain clamps a cancelled E[x^2] - E[x]^2 at 0; the fused two-pass variance is never negative
  if (mx?.op === 'Max' && mx.inputs.length === 2 && ix.scalar(otherOperand(mx, v) ?? '') === 0) {
    nodes.push(mx);
    v = throughReshapes(ix, mx.outputs[0]!, kept, nodes);
  }
  const add = ix.soleReader(v);
  const eps = add?.op === 'Add' ? ix.scalar(otherOperand(add, v) ?? '') : undefined;
  if (!add || eps === undefined || !(eps >= 0)) return undefined;
  nodes.push(add);
  const e = throughReshapes(ix, add.outputs[0]!, kept, nodes);
  const root = ix.soleReader(e);
  let rs: string;
  if (root?.op === 'Pow' && root.inputs[0] === e && ix.scalar(root.inputs[1]!) === -0.5) {
    nodes.push(root);
    rs = root.outputs[0]!;
  } else if (root?.op === 'Sqrt') {
    nodes.push(root);
    const s = throughReshapes(ix, root.outputs[0]!, kept, nodes);
    const inv = ix.soleReader(s);
    if (inv?.op === 'Div' && inv.inputs[0] === d && inv.inputs[1] === s) return { nodes: [...nodes, inv], eps, out: inv.outputs[0]! };
    if (inv?.op !== 'Reciprocal' && !(inv?.op === 'Div' && inv.inputs[1] === s && ix.scalar(inv.inputs[0]!) === 1)) return undefined;
    nodes.push(inv);
    rs = inv.outputs[0]!;
  } else return undefined;
  rs = throughReshapes(ix, rs, kept, nodes);
  let mul = ix.soleReader(rs);
  let scale: [Node, string] | undefined;
  let from = rs;
  if (mul?.op === 'Mul' && otherOperand(mul, rs) !== d) {
    scale = affineStep(ix, rs, 'Mul', axis, r);
    if (!scale) return undefined;
    nodes.push(mul);
    from = mul.outputs[0]!;
    mul = ix.soleReader(from);
  }
  if (mul?.op !== 'Mul' || otherOperand(mul, from) !== d) return undefined;
  nodes.push(mul);
  return { nodes, eps, out: mul.outputs[0]!, scale };
}

const layerNorm: Rule = (rd, { index: ix, names }) => {
  const x = rd.inputs[0];
  const m = x === undefined ? undefined : meanOf(ix, rd, x);
  if (!m || !m.keep) return undefined;
  const axis = m.axis;
  const sub = ix.soleReader(m.out);
  if (sub?.op !== 'Sub' || sub.inputs[0] !== x || sub.inputs[1] !== m.out) return undefined;
  const d = sub.outputs[0]!;
  const readers = ix.readers.get(d) ?? [];
  if (ix.outputs.has(d) || readers.length !== 2) return undefined;
  const sq = readers.find((n) => squares(ix, n, d));
  if (!sq || !ix.singleUse(sq.outputs[0]!)) return undefined;
  const vm = meanOf(ix, ix.soleReader(sq.outputs[0]!), sq.outputs[0]!);
  if (!vm || vm.axis !== axis || !vm.keep) return undefined;
  const kept = keptShape(ix.graph, x!, axis);
  const norm: { nodes: Node[]; eps: number; out: string; scale?: [Node, string] } | undefined =
    normalise(ix, vm.out, d) ?? (kept && rsqrtTail(ix, vm.out, d, kept, axis, rankOf(ix.graph, x!)!));
  if (!norm || !readers.includes(norm.nodes[norm.nodes.length - 1]!)) return undefined;
  const scale = norm.scale;
  return finish(ix, 'LayerNormalization', x!, axis, [...m.nodes, sub, sq, ...vm.nodes, ...norm.nodes], norm.eps, norm.out, names, scale);
};

/** The one-pass variance form: the mean m of x is read by m*m (for E[x^2] - m^2) and, maybe through a Reshape undoing
 *  keepdims=0, by the centring x - m, whose only reader is the final Mul. */
const onePassLayerNorm: Rule = (rd, { index: ix, names }) => {
  const x = rd.inputs[0];
  const m = x === undefined ? undefined : meanOf(ix, rd, x);
  const r = x === undefined ? undefined : rankOf(ix.graph, x);
  if (!m || r === undefined || ix.outputs.has(m.out)) return undefined;
  const kept = keptShape(ix.graph, x!, m.axis);
  const readers = ix.readers.get(m.out) ?? [];
  if (!kept || readers.length !== 2) return undefined;
  const sqm = readers.find((n) => squares(ix, n, m.out));
  let centre = readers.find((n) => n !== sqm);
  if (!sqm || !centre || !ix.singleUse(sqm.outputs[0]!)) return undefined;
  const group: Node[] = [...m.nodes, sqm];
  let mk = m.out;
  if (centre.op === 'Reshape' && centre.inputs[0] === m.out) {
    const t = ix.graph.types.get(centre.outputs[0]!);
    if (t?.kind !== 'tensor' || !t.shape || t.shape.length !== kept.length || t.shape.some((dim, k) => dim !== kept[k])) return undefined;
    group.push(centre);
    mk = centre.outputs[0]!;
    const next = ix.soleReader(mk);
    if (!next) return undefined;
    centre = next;
  } else if (!m.keep) return undefined;
  if (centre.op !== 'Sub' || centre.inputs[0] !== x || centre.inputs[1] !== mk || !ix.singleUse(centre.outputs[0]!)) return undefined;
  group.push(centre);
  const d = centre.outputs[0]!;
  // var = E[x^2] - m^2, E[x^2] the mean (same axes, same keepdims) of x*x or ReduceSumSquare(x)
  const vsub = ix.soleReader(sqm.outputs[0]!);
  if (vsub?.op !== 'Sub' || vsub.inputs[1] !== sqm.outputs[0] || !ix.singleUse(vsub.inputs[0]!)) return undefined;
  const e2 = vsub.inputs[0]!;
  let ex2: Node[] | undefined;
  for (const n of ix.readers.get(x!) ?? []) {
    const sm = n.op === 'ReduceSumSquare' ? meanOf(ix, n, x!, true)
      : squares(ix, n, x!) && ix.singleUse(n.outputs[0]!) ? meanOf(ix, ix.soleReader(n.outputs[0]!), n.outputs[0]!) : undefined;
    if (sm && sm.out === e2 && sm.axis === m.axis && sm.keep === m.keep) ex2 = n.op === 'ReduceSumSquare' ? sm.nodes : [n, ...sm.nodes];
  }
  if (!ex2) return undefined;
  const tail = rsqrtTail(ix, vsub.outputs[0]!, d, kept, m.axis, r);
  if (!tail) return undefined;
  return finish(ix, 'LayerNormalization', x!, m.axis, [...group, ...ex2, vsub, ...tail.nodes], tail.eps, tail.out, names, tail.scale);
};

const rmsNorm: Rule = (sq, { index: ix, names }) => {
  if (sq.op !== 'Pow' && sq.op !== 'Mul') return undefined;
  const x = sq.inputs[0]!;
  if (!squares(ix, sq, x) || !ix.singleUse(sq.outputs[0]!)) return undefined;
  const varNode = ix.soleReader(sq.outputs[0]!);
  const axis = trailingMean(ix, varNode, sq.outputs[0]!);
  if (axis === undefined) return undefined;
  // x itself must not be a centred value of a LayerNorm (fuse-layernorm runs first and takes those)
  const norm = normalise(ix, varNode!.outputs[0]!, x);
  return norm && finish(ix, 'RMSNormalization', x, axis, [sq, varNode!, ...norm.nodes], norm.eps, norm.out, names);
};

// One rounding of double statistics in place of six to nine float32 steps.
const NORM_TOLERANCE = { kind: 'tolerance', rtol: 1e-4, atol: 1e-5 } as const;

export const fuseLayernorm = definePass({
  name: 'fuse-layernorm',
  produces: ['LayerNormalization'],
  summary: 'recognise decomposed layer normalisation (ReduceMean or ReduceSum/N, two-pass or E[x^2]-E[x]^2 variance, Sqrt, Div, scale, bias) as LayerNormalization',
  requires: ['typed'],
  properties: { semantics: NORM_TOLERANCE, idempotent: true },
  run: (graph) => applyRules(graph, [layerNorm, onePassLayerNorm]),
});

export const fuseRmsnorm = definePass({
  name: 'fuse-rmsnorm',
  produces: ['RMSNormalization'],
  summary: 'recognise decomposed RMS normalisation (Pow, ReduceMean, Add eps, Sqrt, Div, scale) as RMSNormalization',
  requires: ['typed'],
  properties: { semantics: NORM_TOLERANCE, idempotent: true },
  run: (graph) => applyRules(graph, [rmsNorm]),
});
