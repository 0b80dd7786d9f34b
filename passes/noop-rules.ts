// The no-op rules of `remove-noops`, as data: each names a node whose first output equals one of its inputs.
// A rule only says "output 0 is value v"; removing the node and forwarding the value is the pass's job.

import { dtypeFromOnnx } from '../ir/dtype.js';
import type { Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { toNumbers } from '../ir/tensor.js';
import type { Dim, ValueType } from '../ir/types.js';

export interface NoopFacts {
  type(name: string): ValueType | undefined;
  /** The value of a name when it is a known constant (initializer or Constant node). */
  constant(name: string): Tensor | undefined;
  /** The node that produces a name in this graph, if any. */
  producer(name: string): Node | undefined;
  /** True when something reads the name or it is a graph output. */
  used(name: string): boolean;
}

export interface NoopRule {
  readonly name: string;
  readonly op: string;
  /** The value output 0 equals (usually input 0), or undefined when the node is not a no-op. */
  match(node: Node, facts: NoopFacts): string | undefined;
}

const shapeOf = (t: ValueType | undefined): readonly Dim[] | undefined => (t?.kind === 'tensor' ? t.shape : undefined);

/** Same rank and the same dims, where equal symbols count as equal (a symbol names one run-time size). */
function sameShape(a: ValueType | undefined, b: ValueType | undefined): boolean {
  const x = shapeOf(a);
  const y = shapeOf(b);
  return x !== undefined && y !== undefined && x.length === y.length && x.every((d, i) => d === y[i]) &&
    a?.kind === 'tensor' && b?.kind === 'tensor' && a.dtype === b.dtype;
}

const outputShapeIsInputShape = (node: Node, f: NoopFacts): string | undefined =>
  sameShape(f.type(node.inputs[0]!), f.type(node.outputs[0]!)) ? node.inputs[0] : undefined;

function intsOf(node: Node, attr: string): readonly number[] | undefined {
  const a = node.attrs[attr];
  return a?.kind === 'ints' ? a.value : undefined;
}

/** The permutation a Transpose applies (default: reversed axes). */
function perm(node: Node, f: NoopFacts): readonly number[] | undefined {
  const p = intsOf(node, 'perm');
  if (p !== undefined && p.length > 0) return p;
  const rank = shapeOf(f.type(node.inputs[0]!))?.length;
  return rank === undefined ? undefined : [...Array(rank).keys()].reverse();
}

const isIdentityPerm = (p: readonly number[]): boolean => p.every((v, i) => v === i);

export const NOOP_RULES: readonly NoopRule[] = [
  { name: 'identity', op: 'Identity', match: (node) => node.inputs[0] },
  {
    // Inference mode: no training_mode input, or a constant false one; the mask must be unused.
    name: 'dropout-inference', op: 'Dropout',
    match(node, f) {
      const mask = node.outputs[1];
      if (mask !== undefined && mask !== '' && f.used(mask)) return undefined;
      const tm = node.inputs[2];
      if (tm === undefined || tm === '') return node.inputs[0];
      const c = f.constant(tm);
      return c !== undefined && c.data.length === 1 && Number(c.data[0]) === 0 ? node.inputs[0] : undefined;
    },
  },
  { name: 'reshape-same-shape', op: 'Reshape', match: outputShapeIsInputShape },
  { name: 'expand-same-shape', op: 'Expand', match: outputShapeIsInputShape },
  { name: 'transpose-identity', op: 'Transpose', match: (node, f) => { const p = perm(node, f); return p && isIdentityPerm(p) ? node.inputs[0] : undefined; } },
  {
    // Transpose(Transpose(x, p), q) with p then q the identity is x; the inner Transpose is left to DCE.
    name: 'transpose-inverse-pair', op: 'Transpose',
    match(node, f) {
      const inner = f.producer(node.inputs[0]!);
      if (inner?.op !== 'Transpose') return undefined;
      const p = perm(inner, f);
      const q = perm(node, f);
      if (!p || !q || p.length !== q.length) return undefined;
      // out[i] = mid[q[i]] = x[p[q[i]]]
      return q.every((qi, i) => p[qi] === i) ? inner.inputs[0] : undefined;
    },
  },
  {
    name: 'cast-same-type', op: 'Cast',
    match(node, f) {
      const t = f.type(node.inputs[0]!);
      const to = node.attrs['to'];
      return t?.kind === 'tensor' && to?.kind === 'int' && dtypeFromOnnxSafe(to.value) === t.dtype ? node.inputs[0] : undefined;
    },
  },
  {
    // With step 1 an output as long as the input along every axis must be the whole input.
    name: 'slice-whole', op: 'Slice',
    match(node, f) {
      const steps = node.inputs[4];
      if (steps !== undefined && steps !== '') {
        const c = f.constant(steps);
        if (c === undefined || !toNumbers(c).every((s) => s === 1)) return undefined;
      }
      return outputShapeIsInputShape(node, f);
    },
  },
  {
    name: 'pad-zero', op: 'Pad',
    match(node, f) {
      const pads = node.inputs[1];
      const c = pads ? f.constant(pads) : undefined;
      return c !== undefined && toNumbers(c).every((p) => p === 0) && sameShape(f.type(node.inputs[0]!), f.type(node.outputs[0]!)) ? node.inputs[0] : undefined;
    },
  },
  { name: 'concat-single', op: 'Concat', match: (node) => (node.inputs.length === 1 ? node.inputs[0] : undefined) },
];

function dtypeFromOnnxSafe(code: number): string | undefined {
  try { return dtypeFromOnnx(code); } catch { return undefined; }
}
