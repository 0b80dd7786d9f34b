// WebGPU has no 64-bit integers. A model's int64 inputs (token ids, masks) are stored as int32: the runtime checks
// every fed value fits in int32 (else an 'input-range' error naming the input), so the narrowed value is exact, and
// this rewrite passes it on to the consumers whose result cannot tell int32 from int64 operands: Gather's indices,
// Cast to any type, Shape/Size, and views (Reshape, (Un)Squeeze, Flatten, Identity), whose outputs are narrowed in
// turn. Any other consumer reads an int64 copy (a Cast back), which the backend then refuses with its reason.

import { onnxCode } from '../../ir/dtype.js';
import type { Graph, Node } from '../../ir/graph.js';
import type { ValueType } from '../../ir/types.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { inferGraph } from '../../ops/infer-graph.js';

const VIEWS = new Set(['Reshape', 'Unsqueeze', 'Squeeze', 'Flatten', 'Identity']);
/** Ops whose input `k` may be int32 instead of int64 with the same result. */
const INDEX_INPUT: Readonly<Record<string, number>> = { Gather: 1, GatherElements: 1, GatherND: 1 };
const INT64 = onnxCode('int64');

const isInt64 = (t: ValueType | undefined): boolean => t?.kind === 'tensor' && t.dtype === 'int64';

/** `g` with its int64 inputs declared int32 and the narrowing passed on; `narrowed` lists those inputs. */
export function narrowInt64Inputs(g: Graph, source?: string): { graph: Graph; narrowed: string[] } {
  const isOut = (v: string): boolean => g.outputs.includes(v);
  // (an int64 value the graph gives back keeps its type: outputs are declared)
  const narrowed = g.inputs.filter((n) => isInt64(g.types.get(n)) && !isOut(n));
  if (narrowed.length === 0) return { graph: g, narrowed };
  const types = new Map(g.types);
  const narrow = new Set<string>();
  const setInt32 = (v: string): void => {
    const t = g.types.get(v);
    if (t?.kind === 'tensor') types.set(v, { ...t, dtype: 'int32' }); else types.delete(v);
    narrow.add(v);
  };
  for (const n of narrowed) setInt32(n);
  const taken = new Set<string>([...g.types.keys(), ...g.nodes.flatMap((n) => n.outputs)]);
  const nodeNames = new Set(g.nodes.map((n) => n.name));
  const fresh = (base: string, used: Set<string>): string => { let s = base, i = 0; while (used.has(s)) s = `${base}_${++i}`; used.add(s); return s; };
  const wide = new Map<string, string>();
  const nodes: Node[] = [];
  const widen = (v: string): string => {
    let w = wide.get(v);
    if (w === undefined) {
      w = fresh(`${v}__int64`, taken);
      wide.set(v, w);
      nodes.push({ name: fresh(`${v}/widen_int64`, nodeNames), op: 'Cast', inputs: [v], outputs: [w], attrs: withDefaults(getOp('Cast')!, { to: { kind: 'int', value: INT64 } }) });
    }
    return w;
  };
  for (const n of g.nodes) {
    const uses = n.inputs.map((v, k) => (v !== '' && narrow.has(v) ? k : -1)).filter((k) => k >= 0);
    if (uses.length === 0) { nodes.push(n); continue; }
    const only = (k: number): boolean => uses.length === 1 && uses[0] === k;
    if (INDEX_INPUT[n.op] !== undefined && only(INDEX_INPUT[n.op]!)) { nodes.push(n); continue; }
    if (n.op === 'Shape' || n.op === 'Size') { nodes.push(n); continue; }
    if (n.op === 'Cast' && n.attrs.to?.kind === 'int' && n.attrs.to.value === INT64 && !isOut(n.outputs[0]!)) {
      // a cast back to int64 is the narrowed value itself
      nodes.push({ ...n, op: 'Identity', attrs: {} });
      setInt32(n.outputs[0]!);
      continue;
    }
    if (n.op === 'Cast' && !(n.attrs.to?.kind === 'int' && n.attrs.to.value === INT64)) { nodes.push(n); continue; }
    if (VIEWS.has(n.op) && only(0) && !isOut(n.outputs[0]!)) { nodes.push(n); setInt32(n.outputs[0]!); continue; }
    nodes.push({ ...n, inputs: n.inputs.map((v, k) => (uses.includes(k) ? widen(v) : v)) });
  }
  for (const [v, w] of wide) { const t = g.types.get(v); if (t) types.set(w, { ...t, dtype: 'int64' } as ValueType); }
  return { graph: inferGraph({ ...g, nodes, types }, { source }), narrowed };
}
