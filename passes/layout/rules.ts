// Which ops a layout passes through, as data. An op here computes the same thing on permuted data when its
// axis attributes and axis-indexed parameters are permuted too: rewrite() says how, for a layout p of its data.
// Ops not listed are layout-sensitive (Reshape, Flatten, MatMul, Gemm, Shape, ...): they get their input back in
// the logical layout.

import type { Attr, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { fromValues, toNumbers } from '../../ir/tensor.js';
import type { Dim } from '../../ir/types.js';
import type { Perm } from './perm.js';
import { dropAxes, invertPerm, permuteList, samePerm, storedAxis } from './perm.js';
import { toChannelsLast } from '../../ops/fused/permute.js';
import { allOps } from '../../ops/index.js';

export interface RuleFacts {
  /** The value of a constant input (initializer or Constant node), else undefined. */
  constant(name: string): Tensor | undefined;
  /** A value's logical shape, when its type records one. */
  shape?(name: string): readonly Dim[] | undefined;
}

export interface LayoutRewrite {
  /** Attributes to replace. */
  readonly attrs?: Readonly<Record<string, Attr>>;
  /** New values for parameter inputs (by input index), computed at compile time. */
  readonly params?: ReadonlyMap<number, Tensor>;
  /** The layout of each output. */
  readonly outputPerms: readonly Perm[];
}

export interface LayoutRule {
  readonly ops: readonly string[];
  /** Inputs that hold the data (broadcast together, all in layout p); the rest are parameters. */
  dataInputs(node: Node): readonly number[];
  /** The rewrite for data in layout p, or undefined when the node cannot follow p (non-constant parameters). */
  rewrite(node: Node, p: Perm, facts: RuleFacts): LayoutRewrite | undefined;
}

const allInputs = (node: Node): number[] => node.inputs.map((_, i) => i);
const first = (): number[] => [0];
const samePerms = (node: Node, p: Perm): LayoutRewrite => ({ outputPerms: node.outputs.map(() => p) });

const intAttr = (node: Node, name: string): number | undefined => {
  const a = node.attrs[name];
  return a?.kind === 'int' ? a.value : undefined;
};
const ints = (v: readonly number[]): Attr => ({ kind: 'ints', value: [...v] });
const int = (v: number): Attr => ({ kind: 'int', value: v });

/** An optional constant input, as numbers: undefined when absent, null when present but not constant. */
function constInput(node: Node, i: number, facts: RuleFacts): number[] | undefined | null {
  const name = node.inputs[i];
  if (name === undefined || name === '') return undefined;
  const c = facts.constant(name);
  return c === undefined ? null : toNumbers(c);
}

const like = (t: Tensor, values: readonly number[]): Tensor => fromValues(t.dtype, [values.length], values);

/** A parameter listing one entry per axis (scales, sizes, repeats) or two (pads, roi: begins then ends). */
function permutePerAxis(values: readonly number[], p: Perm): number[] | undefined {
  const r = p.length;
  if (values.length === r) return permuteList(values, p);
  if (values.length === 2 * r) return [...permuteList(values.slice(0, r), p), ...permuteList(values.slice(r), p)];
  return undefined;
}

/** Ops whose output element i depends only on input elements i (the `elementwise` trait), and Identity: their
 *  operands can be in any layout as long as all share it. */
const ELEMENTWISE = [...allOps().filter((d) => d.traits?.elementwise).map((d) => d.op), 'Identity'];

export const LAYOUT_RULES: readonly LayoutRule[] = [
  { ops: ELEMENTWISE, dataInputs: allInputs, rewrite: (node, p) => samePerms(node, p) },
  // Parameters are scalars (Clip bounds, Dropout ratio) or only lend a type (CastLike); Dropout's mask is data-shaped.
  { ops: ['Clip', 'Dropout', 'CastLike'], dataInputs: first, rewrite: (node, p) => samePerms(node, p) },
  {
    ops: ['Concat', 'Softmax', 'LogSoftmax', 'Hardmax'], dataInputs: allInputs,
    rewrite: (node, p) => ({ attrs: { axis: int(storedAxis(intAttr(node, 'axis') ?? -1, p)) }, outputPerms: node.outputs.map(() => p) }),
  },
  {
    ops: ['Split'], dataInputs: first,
    rewrite: (node, p) => ({ attrs: { axis: int(storedAxis(intAttr(node, 'axis') ?? 0, p)) }, outputPerms: node.outputs.map(() => p) }),
  },
  {
    ops: ['ArgMax', 'ArgMin'], dataInputs: first,
    rewrite(node, p) {
      const axis = intAttr(node, 'axis') ?? 0;
      const logical = axis < 0 ? axis + p.length : axis;
      const out = intAttr(node, 'keepdims') === 0 ? dropAxes(p, new Set([logical])) : p;
      return { attrs: { axis: int(storedAxis(axis, p)) }, outputPerms: [out] };
    },
  },
  {
    ops: ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
      'ReduceLogSumExp', 'ReduceSumSquare'],
    dataInputs: first,
    rewrite(node, p, facts) {
      const axes = constInput(node, 1, facts);
      if (axes === null) return undefined;
      const r = p.length;
      const noop = intAttr(node, 'noop_with_empty_axes') === 1;
      const all = axes === undefined || axes.length === 0;
      if (all && noop) return samePerms(node, p);
      const logical = all ? p.map((_, i) => i) : axes.map((a) => (a < 0 ? a + r : a));
      const out = intAttr(node, 'keepdims') === 0 ? dropAxes(p, new Set(logical)) : p;
      if (all) return { outputPerms: [out] };
      const t = facts.constant(node.inputs[1]!)!;
      return { params: new Map([[1, like(t, logical.map((a) => storedAxis(a, p)))]]), outputPerms: [out] };
    },
  },
  {
    ops: ['Pad'], dataInputs: first,
    rewrite(node, p, facts) {
      const axes = constInput(node, 3, facts);
      if (axes === null) return undefined;
      if (axes !== undefined) {
        const t = facts.constant(node.inputs[3]!)!;
        return { params: new Map([[3, like(t, axes.map((a) => storedAxis(a, p)))]]), outputPerms: [p] };
      }
      const pads = constInput(node, 1, facts);
      const permuted = pads ? permutePerAxis(pads, p) : undefined;
      if (!permuted) return undefined;
      return { params: new Map([[1, like(facts.constant(node.inputs[1]!)!, permuted)]]), outputPerms: [p] };
    },
  },
  {
    // Starts/ends/steps follow `axes`; only the axes are remapped (made explicit when omitted).
    ops: ['Slice'], dataInputs: first,
    rewrite(node, p, facts) {
      const starts = facts.constant(node.inputs[1] ?? '');
      const axes = constInput(node, 3, facts);
      if (starts === undefined || axes === null) return undefined;
      const logical = axes ?? toNumbers(starts).map((_, i) => i);
      return { params: new Map([[3, like(starts, logical.map((a) => storedAxis(a, p)))]]), outputPerms: [p] };
    },
  },
  {
    ops: ['Resize'], dataInputs: first,
    rewrite(node, p, facts) {
      const axesAttr = node.attrs['axes'];
      if (axesAttr?.kind === 'ints' && axesAttr.value.length > 0) {
        return { attrs: { axes: ints(axesAttr.value.map((a) => storedAxis(a, p))) }, outputPerms: [p] };
      }
      const params = new Map<number, Tensor>();
      for (const i of [1, 2, 3]) {
        const v = constInput(node, i, facts);
        if (v === null) return undefined;
        if (v === undefined || v.length === 0) continue;
        const permuted = permutePerAxis(v, p);
        if (!permuted) return undefined;
        params.set(i, like(facts.constant(node.inputs[i]!)!, permuted));
      }
      return { params, outputPerms: [p] };
    },
  },
  {
    ops: ['Tile'], dataInputs: first,
    rewrite(node, p, facts) {
      const reps = constInput(node, 1, facts);
      if (!reps || reps.length !== p.length) return undefined;
      return { params: new Map([[1, like(facts.constant(node.inputs[1]!)!, permuteList(reps, p))]]), outputPerms: [p] };
    },
  },
  { ops: ['Squeeze'], dataInputs: first, rewrite: (node, p, facts) => squeezeRule(node, p, facts) },
  { ops: ['Unsqueeze'], dataInputs: first, rewrite: (node, p, facts) => unsqueezeRule(node, p, facts) },
  { ops: ['Reshape'], dataInputs: first, rewrite: (node, p, facts) => reshapeRule(node, p, facts) },
];

/** Squeeze's output layout: the squeezed (size-1) axes dropped from p. */
function squeezeRule(node: Node, p: Perm, facts: RuleFacts): LayoutRewrite | undefined {
  const axes = constInput(node, 1, facts);
  if (!axes || axes.length === 0) return undefined;
  const logical = axes.map((a) => (a < 0 ? a + p.length : a));
  const t = facts.constant(node.inputs[1]!)!;
  return { params: new Map([[1, like(t, logical.map((a) => storedAxis(a, p)))]]), outputPerms: [dropAxes(p, new Set(logical))] };
}

/** Unsqueeze's output layout: p with the new size-1 axes placed where they make a channels-last layout when one
 *  can be had (magika: [N,C,L] stored NLC, unsqueezed to [N,C,L,1], is NHWC), else each before its logical
 *  successor. Stored order of the old axes is kept, so the stored Unsqueeze moves no data. */
export function unsqueezePerm(p: Perm, axes: readonly number[]): number[] | undefined {
  const rank = p.length + axes.length;
  const added = axes.map((a) => (a < 0 ? a + rank : a)).sort((x, y) => x - y);
  if (new Set(added).size !== added.length || added.some((a) => a < 0 || a >= rank)) return undefined;
  const isNew = new Set(added);
  // output logical axis of each input logical axis
  const outAxis: number[] = [];
  for (let o = 0; o < rank; o++) if (!isNew.has(o)) outAxis.push(o);
  const oldOrder = p.map((a) => outAxis[a]!);
  const cl = toChannelsLast(rank);
  if (samePerm(cl.filter((a) => !isNew.has(a)), oldOrder)) return cl;
  const q = [...oldOrder];
  for (const a of added) {
    const next = q.indexOf(a + 1);
    const prev = q.indexOf(a - 1);
    q.splice(next >= 0 ? next : prev + 1, 0, a);
  }
  return q;
}

function unsqueezeRule(node: Node, p: Perm, facts: RuleFacts): LayoutRewrite | undefined {
  const axes = constInput(node, 1, facts);
  if (!axes || axes.length === 0) return undefined;
  const q = unsqueezePerm(p, axes);
  if (!q) return undefined;
  const rank = q.length;
  const stored = axes.map((a) => (a < 0 ? a + rank : a)).sort((x, y) => x - y).map((a) => q.indexOf(a));
  return { params: new Map([[1, like(facts.constant(node.inputs[1]!)!, stored)]]), outputPerms: [q] };
}

/** For a Reshape that only merges runs of adjacent axes, the input axes of each output axis; undefined for any other
 *  Reshape (splits, reorders, unit axes coming or going, sizes it cannot prove equal). */
export function mergeGroups(from: readonly Dim[], to: readonly Dim[]): number[][] | undefined {
  const groups: number[][] = [];
  let i = 0;
  for (const d of to) {
    if (i >= from.length) return undefined;
    if (typeof d !== 'number') {
      if (from[i] !== d) return undefined;
      groups.push([i++]);
      continue;
    }
    const g: number[] = [];
    let prod = 1;
    while (i < from.length && typeof from[i] === 'number' && (g.length === 0 || prod < d)) {
      prod *= from[i] as number;
      g.push(i++);
    }
    // a trailing unit axis after an exact product would be a unit axis dropped: not a pure merge
    if (prod !== d || g.length === 0) return undefined;
    groups.push(g);
  }
  return i === from.length ? groups : undefined;
}

/** A Reshape merging runs of axes that lie side by side, in order, in storage too: the stored data is the
 *  merged tensor in a permuted layout (Conv -> Reshape [N, C, H*W] -> Transpose in ViT/SVTR patch embeddings). */
function reshapeRule(node: Node, p: Perm, facts: RuleFacts): LayoutRewrite | undefined {
  const inShape = facts.shape?.(node.inputs[0]!), outShape = facts.shape?.(node.outputs[0]!);
  const target = facts.constant(node.inputs[1] ?? '');
  if (!inShape || !outShape || !target || intAttr(node, 'allowzero') === 1) return undefined;
  const groups = mergeGroups(inShape, outShape);
  if (!groups) return undefined;
  const pos = invertPerm(p);
  if (!groups.every((g) => g.every((a, k) => k === 0 || pos[a] === pos[g[k - 1]!]! + 1))) return undefined;
  const q = groups.map((g, j) => [pos[g[0]!]!, j] as const).sort((x, y) => x[0] - y[0]).map(([, j]) => j);
  const dims = q.map((j) => outShape[j]!);
  const symbolic = dims.filter((d) => typeof d !== 'number').length;
  if (symbolic > 1 || dims.some((d) => d === 0)) return undefined;
  return { params: new Map([[1, like(target, dims.map((d) => (typeof d === 'number' ? d : -1)))]]), outputPerms: [q] };
}

const BY_OP = new Map<string, LayoutRule>();
for (const r of LAYOUT_RULES) for (const op of r.ops) BY_OP.set(op, r);

export function layoutRule(op: string): LayoutRule | undefined {
  return BY_OP.get(op);
}
