// fuse-attention: scaled dot-product attention on 4-D heads recognised as the standard Attention op (opset 23):
//   S = MatMul([Q * a], [Kt * b]) [* c | / c] [+ mask];  P = Softmax(S, last axis) [-> Where(IsNaN(P), 0, P)];
//   Y = MatMul(P, V)   ->   Y = Attention(Q, K, V, [mask]) {scale = a * b * c}
// with Q, K, V as [B, H, S, D] and Kt = K transposed on its last two axes. Exporter shapes matched:
//   GPT-2 (PyTorch, opset 17): Kt = Transpose(K', perm [0,2,3,1]) of the [B,S,H,D] view: one Transpose [0,2,1,3] of it;
//   BERT (torch.export, opset 18): sqrt(scale) on both Q and Kt, Kt = Reshape(Transpose(Reshape(K, [B*H,S,D]),
//   [0,2,1]), [B,H,D,S]), and Where(IsNaN) after Softmax (Attention gives fully masked rows zero weights, the
//   same); any other Kt: K = Transpose(Kt, [0,1,3,2]).
// Attention accumulates in double and rounds once, where the chain rounded after each op: a tolerance.

import type { Dim, ValueType } from '../../ir/types.js';
import type { Attr, Node } from '../../ir/graph.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { definePass } from '../pass.js';
import { GraphIndex, otherOperand } from './match.js';
import { applyRules, type Rewrite, type Rule } from './rewrite.js';

const shapeOf = (ix: GraphIndex, v: string): readonly Dim[] | undefined => {
  const t = ix.graph.types.get(v);
  return t?.kind === 'tensor' && t.dtype === 'float32' ? t.shape : undefined;
};

const intsAttr = (n: Node, k: string): readonly number[] | undefined => {
  const a = n.attrs[k];
  return a?.kind === 'ints' ? a.value : undefined;
};

/** `v` optionally scaled by a constant scalar (single-use Mul): [unscaled value, factor, nodes]. */
function unscale(ix: GraphIndex, v: string): [string, number, Node[]] {
  const m = ix.producedBy(v, 'Mul');
  if (!m || !ix.singleUse(v)) return [v, 1, []];
  for (const [x, c] of [[m.inputs[0]!, m.inputs[1]!], [m.inputs[1]!, m.inputs[0]!]] as const) {
    const s = ix.scalar(c);
    if (s !== undefined && ix.scalar(x) === undefined) return [x, s, [m]];
  }
  return [v, 1, []];
}

interface KMatch { readonly k: string; readonly remove: Node[]; readonly before: Node[]; readonly types: Map<string, Dim[]> }

/** K ([B,H,L,D]) from Kt ([B,H,D,L]). */
function untransposeK(ix: GraphIndex, kt: string, hint: string, fresh: (h: string) => string): KMatch {
  const swap = [0, 1, 3, 2];
  const ktShape = shapeOf(ix, kt)!;
  const kShape = swap.map((i) => ktShape[i]!);
  const tr = ix.producedBy(kt, 'Transpose');
  if (tr && ix.singleUse(kt)) {
    const p = intsAttr(tr, 'perm') ?? [3, 2, 1, 0];
    const perm = swap.map((i) => p[i]!);
    if (perm.every((q, i) => q === i)) return { k: tr.inputs[0]!, remove: [tr], before: [], types: new Map() };
    const k = fresh(`${hint}_k`);
    const node: Node = { ...tr, inputs: [tr.inputs[0]!], outputs: [k], attrs: { perm: { kind: 'ints', value: perm } } };
    return { k, remove: [tr], before: [node], types: new Map([[k, kShape]]) };
  }
  // Reshape([B*H, D, L] <- Transpose [0,2,1] <- Reshape([B*H, L, D] <- K)): a swap of K's last two axes.
  const r2 = ix.producedBy(kt, 'Reshape');
  const t = r2 && ix.singleUse(kt) ? ix.producedBy(r2.inputs[0]!, 'Transpose') : undefined;
  const r1 = t && ix.singleUse(t.outputs[0]!) && (intsAttr(t, 'perm') ?? []).join() === '0,2,1' ? ix.producedBy(t.inputs[0]!, 'Reshape') : undefined;
  if (r1 && r2 && ix.singleUse(r1.outputs[0]!)) {
    const src = r1.inputs[0]!;
    const s = shapeOf(ix, src);
    const mid = shapeOf(ix, r1.outputs[0]!);
    if (s?.length === 4 && mid?.length === 3 && mid[1] === s[2] && mid[2] === s[3] && kShape.every((d, i) => d === s[i])) {
      return { k: src, remove: [r1, t!, r2], before: [], types: new Map() };
    }
  }
  const k = fresh(`${hint}_k`);
  const node: Node = { name: fresh(`${hint}_k_transpose`), op: 'Transpose', inputs: [kt], outputs: [k], attrs: { perm: { kind: 'ints', value: swap } } };
  return { k, remove: [], before: [node], types: new Map([[k, kShape]]) };
}

const attention: Rule = (pv, { index: ix, names }) => {
  if (pv.op !== 'MatMul' || shapeOf(ix, pv.outputs[0]!)?.length !== 4) return undefined;
  const [p, v] = [pv.inputs[0]!, pv.inputs[1]!];
  if (shapeOf(ix, v)?.length !== 4 || !ix.singleUse(p)) return undefined;
  const nodes: Node[] = [pv];
  // optional Where(IsNaN(P0), 0, P0)
  let probs = p;
  const where = ix.producedBy(p, 'Where');
  if (where) {
    const isnan = ix.producedBy(where.inputs[0]!, 'IsNaN');
    const p0 = where.inputs[2]!;
    const readers = ix.readers.get(p0) ?? [];
    if (!isnan || isnan.inputs[0] !== p0 || ix.scalar(where.inputs[1]!) !== 0 || !ix.singleUse(isnan.outputs[0]!) ||
        readers.length !== 2 || ix.outputs.has(p0)) return undefined;
    nodes.push(where, isnan);
    probs = p0;
  } else if (!ix.singleUse(p)) return undefined;
  const sm = ix.producedBy(probs, 'Softmax');
  const axis = sm?.attrs['axis'];
  if (!sm || (axis?.kind === 'int' && axis.value !== -1 && axis.value !== 3) || !ix.singleUse(sm.inputs[0]!)) return undefined;
  nodes.push(sm);
  let s = sm.inputs[0]!;
  // optional additive float mask
  let mask: string | undefined;
  const add = ix.producedBy(s, 'Add');
  if (add) {
    const [a0, a1] = [add.inputs[0]!, add.inputs[1]!];
    const fromMatmul = (x: string): boolean => ix.producedBy(x, 'MatMul', 'Mul', 'Div') !== undefined && ix.singleUse(x);
    const scores = fromMatmul(a0) ? a0 : fromMatmul(a1) ? a1 : undefined;
    if (!scores) return undefined;
    mask = otherOperand(add, scores);
    // Attention pads a mask shorter than the keys with -inf, where Add broadcasts it: only a mask as long as the
    // keys (and of rank 1 to 4) means the same
    const ms = mask === undefined ? undefined : shapeOf(ix, mask);
    const keys = shapeOf(ix, add.outputs[0]!)?.at(-1);
    if (!ms || ms.length === 0 || ms.length > 4 || keys === undefined || ms.at(-1) !== keys) return undefined;
    nodes.push(add);
    s = scores;
  }
  // optional scale on the scores
  let scale = 1;
  const sc = ix.producedBy(s, 'Mul', 'Div');
  if (sc) {
    if (!ix.singleUse(s)) return undefined;
    const c = sc.op === 'Div' ? ix.scalar(sc.inputs[1]!) : ix.scalar(otherOperand(sc, sc.inputs[0]!) ?? '') ?? ix.scalar(sc.inputs[0]!);
    if (c === undefined || c === 0) return undefined;
    scale = sc.op === 'Div' ? 1 / c : c;
    s = sc.op === 'Div' ? sc.inputs[0]! : ix.scalar(sc.inputs[0]!) === undefined ? sc.inputs[0]! : sc.inputs[1]!;
    nodes.push(sc);
  }
  const qk = ix.producedBy(s, 'MatMul');
  if (!qk || !ix.singleUse(s)) return undefined;
  nodes.push(qk);
  const [q, qScale, qNodes] = unscale(ix, qk.inputs[0]!);
  const [kt, kScale, kNodes] = unscale(ix, qk.inputs[1]!);
  if (shapeOf(ix, q)?.length !== 4 || shapeOf(ix, kt)?.length !== 4) return undefined;
  const km = untransposeK(ix, kt, pv.name, (h) => names.fresh(h));
  const scaleAttr = { scale: { kind: 'float' as const, value: Math.fround(scale * qScale * kScale) } };
  const remove = new Set([...nodes, ...qNodes, ...kNodes, ...km.remove]);
  const flat = headsFlat(ix, pv, q, km, v, mask, remove, (h) => names.fresh(h));
  if (flat) return flat(scaleAttr);
  const attrs = withDefaults(getOp('Attention')!, scaleAttr);
  const types = new Map([...km.types].map(([k, sh]) => [k, { kind: 'tensor' as const, dtype: 'float32' as const, shape: sh }]));
  return {
    remove,
    before: km.before,
    replacement: { name: pv.name, op: 'Attention', inputs: [q, km.k, v, ...(mask ? [mask] : [])], outputs: [pv.outputs[0]!], attrs },
    types,
  };
};

const HEADS_PERM = '0,2,1,3';
const tensorT = (shape: readonly Dim[]): ValueType => ({ kind: 'tensor', dtype: 'float32', shape });

/** The [B, S, H, D] tensor whose Transpose [0,2,1,3] is `v` (single use), with that Transpose. */
function headsSource(ix: GraphIndex, v: string): { src: string; node: Node } | undefined {
  const tr = ix.producedBy(v, 'Transpose');
  if (!tr || !ix.singleUse(v) || (intsAttr(tr, 'perm') ?? []).join() !== HEADS_PERM) return undefined;
  const sh = shapeOf(ix, tr.inputs[0]!);
  return sh?.length === 4 && sh.every((d) => typeof d === 'number') ? { src: tr.inputs[0]!, node: tr } : undefined;
}

/** The 3-D form (Attention on [B, S, H*D] with q_num_heads/kv_num_heads) when Q, K and V are heads split out of
 *  [B, S, H, D] by Transpose [0,2,1,3] and the output is put back by one: the usual export (GPT-2, BERT, ViT).
 *  The transposes go (Reshapes, which move no data, take their place) and the kernel reads the projections in
 *  place. Undefined when any of the four is missing. */
function headsFlat(ix: GraphIndex, pv: Node, q: string, km: KMatch, v: string, mask: string | undefined, remove: Set<Node>,
  fresh: (h: string) => string): ((scale: Record<string, Attr>) => Rewrite) | undefined {
  const out = ix.soleReader(pv.outputs[0]!);
  if (!out || out.op !== 'Transpose' || (intsAttr(out, 'perm') ?? []).join() !== HEADS_PERM || ix.outputs.has(pv.outputs[0]!)) return undefined;
  const qs = headsSource(ix, q), vs = headsSource(ix, v);
  // K: the Transpose untransposeK would add, or one already in the graph
  const pending = km.before.length === 1 && km.before[0]!.op === 'Transpose' && (intsAttr(km.before[0]!, 'perm') ?? []).join() === HEADS_PERM ? km.before[0]! : undefined;
  const ks = pending ? { src: pending.inputs[0]!, node: undefined } : km.before.length === 0 ? headsSource(ix, km.k) : undefined;
  if (!qs || !ks || !vs) return undefined;
  const kShape = shapeOf(ix, ks.src);
  if (kShape?.length !== 4 || !kShape.every((d) => typeof d === 'number')) return undefined;
  const qShape = shapeOf(ix, qs.src)!, vShape = shapeOf(ix, vs.src)!, yShape = shapeOf(ix, out.outputs[0]!);
  if (yShape?.length !== 4) return undefined;
  const before: Node[] = [], types = new Map<string, ValueType>(), inits = new Map<string, Tensor>();
  const dropped = [qs.node, vs.node, out, ...(ks.node ? [ks.node] : [])];
  const shapes = new Map<string, string>();
  const shapeConst = (dims: readonly number[]): string => {
    let name = shapes.get(dims.join());
    if (!name) {
      name = fresh(`${pv.name}_shape`);
      shapes.set(dims.join(), name);
      inits.set(name, fromValues('int64', [dims.length], dims));
    }
    return name;
  };
  /** [B, S, H, D] as [B, S, H*D]: the Reshape it came from when there is one, else a new Reshape. */
  const flatten = (src: string, sh: readonly Dim[], hint: string): string => {
    const [b, sq, h, d] = sh as number[];
    const r = ix.producedBy(src, 'Reshape');
    const from = r && ix.singleUse(src) ? shapeOf(ix, r.inputs[0]!) : undefined;
    if (r && from?.length === 3 && from[0] === b && from[1] === sq && from[2] === h! * d!) { dropped.push(r); return r.inputs[0]!; }
    const name = fresh(`${pv.name}_${hint}3`);
    before.push({ name: fresh(`${pv.name}_${hint}_flat`), op: 'Reshape', inputs: [src, shapeConst([b!, sq!, h! * d!])], outputs: [name], attrs: withDefaults(getOp('Reshape')!, {}) });
    types.set(name, tensorT([b!, sq!, h! * d!]));
    return name;
  };
  const q3 = flatten(qs.src, qShape, 'q'), k3 = flatten(ks.src, kShape, 'k'), v3 = flatten(vs.src, vShape, 'v');
  const [yb, ys, yh, yd] = yShape as number[];
  const y3 = fresh(`${pv.name}_y3`);
  types.set(y3, tensorT([yb!, ys!, yh! * yd!]));
  return (scale) => {
    const attrs = withDefaults(getOp('Attention')!, { ...scale, q_num_heads: { kind: 'int', value: qShape[2] as number }, kv_num_heads: { kind: 'int', value: kShape[2] as number } });
    before.push({ name: pv.name, op: 'Attention', inputs: [q3, k3, v3, ...(mask ? [mask] : [])], outputs: [y3], attrs });
    return {
      remove: new Set([...remove, ...dropped]),
      before,
      replacement: { name: out.name, op: 'Reshape', inputs: [y3, shapeConst(yShape as number[])], outputs: [out.outputs[0]!], attrs: withDefaults(getOp('Reshape')!, {}) },
      types,
      initializers: inits,
    };
  };
}

export const fuseAttention = definePass({
  name: 'fuse-attention',
  produces: ['Attention'],
  summary: 'recognise 4-D scaled dot-product attention (MatMul, scale, mask, Softmax, MatMul) as the standard Attention op',
  requires: ['typed'],
  // Scores, softmax and the weighted sum in double, rounded once.
  properties: { semantics: { kind: 'tolerance', rtol: 1e-4, atol: 1e-5 }, idempotent: true },
  run: (graph) => applyRules(graph, [attention]),
});
