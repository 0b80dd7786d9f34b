// Symbolic shape values for constant-fold: small integer vectors computed from shapes (Shape -> Gather -> Concat)
// tracked element by element as numbers or named dims (ops/symbolic.ts rules), so that
//   - a vector whose elements are all numbers folds to a constant even when the tensor it came from has symbolic
//     dims (Shape(x)[2] of x: [batch, seq, 128] is 128);
//   - Equal of two tracked vectors folds when every element is decided: equal numbers or the same dim name, or a dim
//     name against a negative number (dims are >= 0), which is how exporters write `expand(-1)`:
//     Where(Equal(shape, -1), 1, shape);
//   - Where with a constant condition picks element-wise between tracked vectors;
//   - Expand(x, s) whose tracked s cannot change x's shape (each element 1 or x's own dim) is an Identity.

import type { Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { fromValues, getNumber } from '../ir/tensor.js';
import type { Dim, ValueType } from '../ir/types.js';
import { symbolicValue } from '../ops/symbolic.js';

/** What a node rewrites to: constants for its outputs, or an Identity of its first input. */
export type ShapeFold = { readonly kind: 'constant'; readonly value: Tensor } | { readonly kind: 'identity'; readonly node: Node };

export interface ShapeScope {
  readonly constants: ReadonlyMap<string, Tensor>;
  readonly symbolic: Map<string, readonly Dim[]>;
  type(name: string): ValueType | undefined;
}

const INT = new Set(['int64', 'int32']);

/** Numbers of a 0-D/1-D integer constant, or its tracked symbolic value. */
function valueOf(name: string, s: ShapeScope): readonly Dim[] | undefined {
  const c = s.constants.get(name);
  if (c) return INT.has(c.dtype) && c.dims.length <= 1 ? Array.from({ length: c.data.length }, (_, k) => getNumber(c, k)) : undefined;
  return s.symbolic.get(name);
}

/** Decided equality of two dims, or undefined. */
function dimEqual(a: Dim, b: Dim): boolean | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (typeof a === 'string' && typeof b === 'string') return a === b ? true : undefined;
  const n = (typeof a === 'number' ? a : b) as number;
  return n < 0 ? false : undefined;
}

/** Element i of a vector broadcast to `len` (length-1 vectors repeat). */
const at = (v: readonly Dim[], i: number): Dim => v[v.length === 1 ? 0 : i]!;

/** The fold of `node` from tracked values, recording its own tracked value in `s.symbolic`; undefined when none. */
export function foldShapeValue(node: Node, s: ShapeScope): ShapeFold | undefined {
  const out = node.outputs[0];
  const t = out ? s.type(out) : undefined;
  if (!out || t?.kind !== 'tensor' || !t.shape || t.shape.length > 1 || t.shape.some((d) => typeof d !== 'number')) {
    return node.op === 'Expand' ? expandIdentity(node, s) : undefined;
  }
  const dims = t.shape as number[];
  const len = dims.length === 0 ? 1 : dims[0]!;
  if (node.op === 'Equal' && t.dtype === 'bool') {
    const a = valueOf(node.inputs[0]!, s), b = valueOf(node.inputs[1]!, s);
    if (!a || !b || (a.length !== len && a.length !== 1) || (b.length !== len && b.length !== 1)) return undefined;
    const eq = Array.from({ length: len }, (_, i) => dimEqual(at(a, i), at(b, i)));
    return eq.every((e) => e !== undefined) ? { kind: 'constant', value: fromValues('bool', dims, eq as boolean[]) } : undefined;
  }
  if (!INT.has(t.dtype)) return undefined;
  let v: readonly Dim[] | undefined;
  if (node.op === 'Where') {
    const c = s.constants.get(node.inputs[0]!);
    const a = valueOf(node.inputs[1]!, s), b = valueOf(node.inputs[2]!, s);
    if (c && c.dtype === 'bool' && a && b && [c.data.length, a.length, b.length].every((n) => n === len || n === 1)) {
      v = Array.from({ length: len }, (_, i) => (c.data[c.data.length === 1 ? 0 : i] ? at(a, i) : at(b, i)));
    }
  } else {
    v = symbolicValue(node, {
      value: (i) => (node.inputs[i] ? valueOf(node.inputs[i]!, s) : undefined),
      rank: (i) => { const ti = node.inputs[i] ? s.type(node.inputs[i]!) : undefined; return ti?.kind === 'tensor' ? ti.shape?.length : undefined; },
      type: (i) => (node.inputs[i] ? s.type(node.inputs[i]!) : undefined),
      attrInt: (name) => { const a = node.attrs[name]; return a?.kind === 'int' ? a.value : undefined; },
      attrInts: (name) => { const a = node.attrs[name]; return a?.kind === 'ints' ? a.value : undefined; },
    });
  }
  if (!v || v.length !== len) return undefined;
  if (v.every((d) => typeof d === 'number')) return { kind: 'constant', value: fromValues(t.dtype, dims, t.dtype === 'int64' ? (v as number[]).map(BigInt) : v as number[]) };
  s.symbolic.set(out, v);
  return undefined;
}

function expandIdentity(node: Node, s: ShapeScope): ShapeFold | undefined {
  const x = s.type(node.inputs[0] ?? '');
  const shape = valueOf(node.inputs[1] ?? '', s);
  if (x?.kind !== 'tensor' || !x.shape || !shape || shape.length > x.shape.length) return undefined;
  const xs = x.shape.slice(x.shape.length - shape.length);
  const keeps = shape.every((d, i) => d === 1 || dimEqual(d, xs[i]!) === true);
  return keeps ? { kind: 'identity', node: { name: node.name, op: 'Identity', inputs: [node.inputs[0]!], outputs: [node.outputs[0]!], attrs: {} } } : undefined;
}
