// Symbolic shape values: small integer tensors being computed from shapes (Shape -> Gather -> Concat -> Reshape)
// tracked element by element as numbers or symbolic dims, so `batch` and `seq` survive data-dependent reshapes.
// The rules are a table by op; each returns undefined when it cannot say.

import type { Node } from '../ir/graph.js';
import type { Dim, ValueType } from '../ir/types.js';

export interface SymbolicInputs {
  /** Symbolic value of input i (0-D as a one-element array), or undefined. */
  value(i: number): readonly Dim[] | undefined;
  /** Rank of input i's value (0 for scalars), when known. */
  rank(i: number): number | undefined;
  /** Static type of input i. */
  type(i: number): ValueType | undefined;
  attrInt(name: string): number | undefined;
  attrInts(name: string): readonly number[] | undefined;
}

type Rule = (node: Node, x: SymbolicInputs) => Dim[] | undefined;

function combine(a: Dim, b: Dim, op: string, f: (x: number, y: number) => number): Dim {
  if (typeof a === 'number' && typeof b === 'number') return f(a, b);
  if (op === '*' && (a === 1 || b === 1)) return a === 1 ? b : a;
  if ((op === '+' || op === '-') && b === 0) return a;
  if (op === '/' && b === 1) return a;
  return `${paren(a)}${op}${paren(b)}`;
}
const paren = (d: Dim): string => (typeof d === 'string' && /[-+*/]/.test(d) ? `(${d})` : String(d));

function elementwise(op: string, f: (x: number, y: number) => number): Rule {
  return (_n, x) => {
    const a = x.value(0), b = x.value(1);
    if (!a || !b) return undefined;
    if (a.length !== b.length && a.length !== 1 && b.length !== 1) return undefined;
    const len = Math.max(a.length, b.length);
    return Array.from({ length: len }, (_, i) => combine(a[a.length === 1 ? 0 : i]!, b[b.length === 1 ? 0 : i]!, op, f));
  };
}

const RULES: Record<string, Rule> = {
  Shape: (_n, x) => {
    const t = x.type(0);
    if (t?.kind !== 'tensor' || t.shape === undefined) return undefined;
    const r = t.shape.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const start = clamp(x.attrInt('start') ?? 0);
    const end = clamp(x.attrInt('end') ?? r);
    return t.shape.slice(start, Math.max(start, end));
  },
  Identity: (_n, x) => x.value(0)?.slice(),
  Cast: (_n, x) => x.value(0)?.slice(),
  Unsqueeze: (_n, x) => x.value(0)?.slice(),
  Squeeze: (_n, x) => x.value(0)?.slice(),
  Reshape: (_n, x) => x.value(0)?.slice(),
  Concat: (n, x) => {
    const out: Dim[] = [];
    for (let i = 0; i < n.inputs.length; i++) {
      const v = x.value(i);
      if (!v) return undefined;
      out.push(...v);
    }
    return out;
  },
  Gather: (_n, x) => {
    const data = x.value(0), idx = x.value(1);
    if (!data || !idx || x.rank(0) !== 1) return undefined;
    const out: Dim[] = [];
    for (const i of idx) {
      if (typeof i !== 'number') return undefined;
      const j = i < 0 ? i + data.length : i;
      if (j < 0 || j >= data.length) return undefined;
      out.push(data[j]!);
    }
    return out;
  },
  Slice: (_n, x) => {
    const data = x.value(0), starts = x.value(1), ends = x.value(2);
    const axes = x.value(3), steps = x.value(4);
    if (!data || !starts || !ends || starts.length !== 1 || ends.length !== 1) return undefined;
    if (axes && !(axes.length === 1 && (axes[0] === 0 || axes[0] === -1))) return undefined;
    const step = steps ? steps[0] : 1;
    const s = starts[0], e = ends[0];
    if (typeof s !== 'number' || typeof e !== 'number' || step !== 1) return undefined;
    const n = data.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    return data.slice(clamp(s), Math.max(clamp(s), clamp(e)));
  },
  Mul: elementwise('*', (a, b) => a * b),
  Add: elementwise('+', (a, b) => a + b),
  Sub: elementwise('-', (a, b) => a - b),
  Div: elementwise('/', (a, b) => Math.trunc(a / b)),
};

/** The symbolic value of a node's first output, or undefined when no rule applies. */
export function symbolicValue(node: Node, x: SymbolicInputs): Dim[] | undefined {
  const rule = RULES[node.op];
  return rule ? rule(node, x) : undefined;
}
