// fuse-attention: scaled dot-product attention on 4-D heads recognised as the standard Attention op (opset 23):
//   S = MatMul([Q * a], [Kt * b]) [* c | / c] [+ mask];  P = Softmax(S, last axis) [-> Where(IsNaN(P), 0, P)];
//   Y = MatMul(P, V)   ->   Y = Attention(Q, K, V, [mask]) {scale = a * b * c}
// with Q, K, V as [B, H, S, D] and Kt = K transposed on its last two axes. Exporter shapes matched:
//   GPT-2 (PyTorch, opset 17): Kt = Transpose(K', perm [0,2,3,1]) of the [B,S,H,D] view: one Transpose [0,2,1,3] of it;
//   BERT (torch.export, opset 18): sqrt(scale) on both Q and Kt, Kt = Reshape(Transpose(Reshape(K, [B*H,S,D]),
//   [0,2,1]), [B,H,D,S]), and Where(IsNaN) after Softmax (Attention gives fully masked rows zero weights, the
//   same); any other Kt: K = Transpose(Kt, [0,1,3,2]).
// Attention accumulates in double and rounds once, where the chain rounded after each op: a tolerance.

import type { Dim } from '../../ir/types.js';
import type { Node } from '../../ir/graph.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { definePass } from '../pass.js';
import { GraphIndex, otherOperand } from './match.js';
import { applyRules, type Rule } from './rewrite.js';

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
    const ms = mask === undefined ? undefined : shapeOf(ix, mask);
    if (!ms || ms.length > 4) return undefined;
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
  const attrs = withDefaults(getOp('Attention')!, { scale: { kind: 'float', value: Math.fround(scale * qScale * kScale) } });
  const types = new Map([...km.types].map(([k, sh]) => [k, { kind: 'tensor' as const, dtype: 'float32' as const, shape: sh }]));
  return {
    remove: new Set([...nodes, ...qNodes, ...kNodes, ...km.remove]),
    before: km.before,
    replacement: { name: pv.name, op: 'Attention', inputs: [q, km.k, v, ...(mask ? [mask] : [])], outputs: [pv.outputs[0]!], attrs },
    types,
  };
};

export const fuseAttention = definePass({
  name: 'fuse-attention',
  produces: ['Attention'],
  summary: 'recognise 4-D scaled dot-product attention (MatMul, scale, mask, Softmax, MatMul) as the standard Attention op',
  requires: ['typed'],
  // Scores, softmax and the weighted sum in double, rounded once.
  properties: { semantics: { kind: 'tolerance', rtol: 1e-4, atol: 1e-5 }, idempotent: true },
  run: (graph) => applyRules(graph, [attention]),
});
