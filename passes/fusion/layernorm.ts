// fuse-layernorm / fuse-rmsnorm: the decomposed normalisations exporters write (PyTorch before opset 17, Keras,
// hand-written RMSNorm in LLaMA-style models) recognised as standard LayerNormalization (opset 17) and
// RMSNormalization (opset 23):
//   LayerNorm: m = ReduceMean(x); d = x - m; v = ReduceMean(d^2 | d*d); s = Sqrt(v + eps); n = d / s | d * (1/s)
//              [* gamma] [+ beta]
//   RMSNorm:   v = ReduceMean(x^2 | x*x); s = Sqrt(v + eps); n = x / s | x * (1/s) [* gamma]
// ReduceMean axes must be the trailing axes; gamma/beta constants varying only along them. The fused ops keep
// statistics in double and round once, where the chain rounded at every step: a tolerance.
// Not matched: tf2onnx's E[x^2] - E[x]^2 variance form (magika), whose cancellation the fused op does not reproduce.

import type { Graph, Node } from '../../ir/graph.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { definePass } from '../pass.js';
import { GraphIndex, otherOperand } from './match.js';
import { applyRules, type Rewrite, type Rule } from './rewrite.js';

const rankOf = (g: Graph, v: string): number | undefined => {
  const t = g.types.get(v);
  return t?.kind === 'tensor' && t.shape ? t.shape.length : undefined;
};

/** The first normalised axis when `rm` is a keepdims ReduceMean of `x` over its trailing axes. */
function trailingMean(ix: GraphIndex, rm: Node | undefined, x: string): number | undefined {
  if (rm?.op !== 'ReduceMean' || rm.inputs[0] !== x) return undefined;
  const r = rankOf(ix.graph, x);
  const keep = rm.attrs['keepdims'];
  const axesT = rm.inputs[1] ? ix.constant(rm.inputs[1]) : undefined;
  if (r === undefined || (keep?.kind === 'int' && keep.value === 0) || !axesT) return undefined;
  const axes = [...(axesT.data as BigInt64Array)].map((a) => (Number(a) + r) % r).sort((a, b) => a - b);
  if (axes.length === 0 || axes.some((a, i) => a !== r - axes.length + i)) return undefined;
  return r - axes.length;
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

function ones(n: number): Tensor {
  return fromValues('float32', [n], new Array<number>(n).fill(1));
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
  names: { fresh(h: string): string },
): Rewrite | undefined {
  const r = rankOf(ix.graph, x)!;
  const xt = ix.graph.types.get(x);
  if (xt?.kind !== 'tensor' || xt.dtype !== 'float32') return undefined;
  const group = [...body];
  let out = n;
  const scale = affineStep(ix, n, 'Mul', axis, r);
  if (scale) { group.push(scale[0]); out = scale[0].outputs[0]!; }
  const bias = op === 'LayerNormalization' && scale ? affineStep(ix, out, 'Add', axis, r) : undefined;
  if (bias) { group.push(bias[0]); out = bias[0].outputs[0]!; }
  const inits = new Map<string, Tensor>();
  let scaleName = scale?.[1];
  if (!scaleName) {
    // Scale is required by both ops: a ones vector over the normalised axes (only when their size is static).
    const size = normalisedSize(ix.graph, x, axis);
    if (size === undefined || axis !== r - 1) return undefined;
    scaleName = names.fresh(`${group[0]!.name}_ones`);
    inits.set(scaleName, ones(size));
  }
  const root = group[group.length - 1]!;
  return { remove: new Set(group), replacement: normNode(op, root, [x, scaleName, ...(bias ? [bias[1]] : [])], out, axis - r, eps), initializers: inits };
}

const layerNorm: Rule = (mean, { index: ix, names }) => {
  if (mean.op !== 'ReduceMean') return undefined;
  const x = mean.inputs[0]!;
  const axis = trailingMean(ix, mean, x);
  const sub = ix.soleReader(mean.outputs[0]!);
  if (axis === undefined || sub?.op !== 'Sub' || sub.inputs[0] !== x || sub.inputs[1] !== mean.outputs[0]) return undefined;
  const d = sub.outputs[0]!;
  const readers = ix.readers.get(d) ?? [];
  if (ix.outputs.has(d) || readers.length !== 2) return undefined;
  const sq = readers.find((n) => squares(ix, n, d));
  if (!sq || !ix.singleUse(sq.outputs[0]!)) return undefined;
  const varNode = ix.soleReader(sq.outputs[0]!);
  if (trailingMean(ix, varNode, sq.outputs[0]!) !== axis) return undefined;
  const norm = normalise(ix, varNode!.outputs[0]!, d);
  if (!norm || !readers.includes(norm.nodes[norm.nodes.length - 1]!)) return undefined;
  return finish(ix, 'LayerNormalization', x, axis, [mean, sub, sq, varNode!, ...norm.nodes], norm.eps, norm.out, names);
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
  summary: 'recognise decomposed layer normalisation (ReduceMean, Sub, Pow, Sqrt, Div, scale, bias) as LayerNormalization',
  requires: ['typed'],
  properties: { semantics: NORM_TOLERANCE, idempotent: true },
  run: (graph) => applyRules(graph, [layerNorm]),
});

export const fuseRmsnorm = definePass({
  name: 'fuse-rmsnorm',
  produces: ['RMSNormalization'],
  summary: 'recognise decomposed RMS normalisation (Pow, ReduceMean, Add eps, Sqrt, Div, scale) as RMSNormalization',
  requires: ['typed'],
  properties: { semantics: NORM_TOLERANCE, idempotent: true },
  run: (graph) => applyRules(graph, [rmsNorm]),
});
