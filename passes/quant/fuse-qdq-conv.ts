// fuse-qdq-conv: the QDQ form of an integer conv, DequantizeLinear(x_q) and DequantizeLinear(w_q) -> Conv (bias a
// DequantizeLinear of int32 or a float constant) [-> Relu | Clip] -> QuantizeLinear, becomes one onnxc.QConv
// (QLinearConv's semantics: int32 accumulation, one float32 requantisation, the Relu/Clip as a clamp of the
// quantised value), so the weight stays int8 and a backend runs an integer kernel; and
// DequantizeLinear(a) + DequantizeLinear(b) -> QuantizeLinear becomes onnxc.QLinearAdd (exact: the same float32
// steps). Runs before constant folding, which would widen the weights back to float32. Per-tensor activations,
// per-tensor or per-output-channel weights; other forms stay as they are.

import type { Graph, Node } from '../../ir/graph.js';
import { intRange } from '../../ir/dtype.js';
import { makeTensor, toNumbers, type Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { roundHalfEven } from '../../ops/quant-util.js';
import { allNames, NameSource, namesRead } from '../graph-util.js';
import { definePass } from '../pass.js';

const num = (n: Node, k: string, d: number): number => {
  const a = n.attrs[k];
  return a?.kind === 'int' || a?.kind === 'float' ? a.value : d;
};
const f32 = Math.fround;

interface Index {
  readonly producer: Map<string, Node>;
  readonly readers: Map<string, Node[]>;
  readonly outputs: Set<string>;
  readonly inits: ReadonlyMap<string, Tensor>;
}

/** A per-tensor quantisation (scale and zero point constants of one element) of a DQ or Q node. */
interface PerTensor { readonly scale: string; readonly zp: string; readonly s: number; readonly z: number; readonly dtype: 'int8' | 'uint8' }

function perTensor(ix: Index, n: Node, dataType: string | undefined, names: NameSource, inits: Map<string, Tensor>): PerTensor | undefined {
  if (num(n, 'block_size', 0) !== 0) return undefined;
  const s = ix.inits.get(n.inputs[1] ?? ''), zpName = n.inputs[2] ?? '';
  const zp = zpName ? ix.inits.get(zpName) : undefined;
  if (!s || s.dtype !== 'float32' || s.data.length !== 1 || (zpName && !zp)) return undefined;
  const dtype = zp ? zp.dtype : dataType;
  if (dtype !== 'int8' && dtype !== 'uint8') return undefined;
  if (zp && zp.data.length !== 1) return undefined;
  let zpOut = zpName;
  if (!zp) { zpOut = names.fresh(`${n.inputs[1]}_zero`); inits.set(zpOut, makeTensor(dtype, [])); }
  return { scale: n.inputs[1]!, zp: zpOut, s: s.data[0] as number, z: zp ? toNumbers(zp)[0]! : 0, dtype };
}

/** The single reader of `v` (not a graph output), or undefined. */
function onlyReader(ix: Index, v: string): Node | undefined {
  const r = ix.readers.get(v) ?? [];
  return r.length === 1 && !ix.outputs.has(v) ? r[0] : undefined;
}

/** The QuantizeLinear that ends the conv at `out`, through an optional Relu/Clip (as a clamp [lo, hi] in float). */
function endOf(ix: Index, out: string): { q: Node; lo: number; hi: number } | undefined {
  let n = onlyReader(ix, out), lo = -Infinity, hi = Infinity;
  if (n && (n.op === 'Relu' || n.op === 'Clip')) {
    if (n.op === 'Relu') lo = 0;
    else {
      const bound = (i: number): number | undefined | null => {
        const name = n!.inputs[i];
        if (!name) return undefined;
        const t = ix.inits.get(name);
        return t && t.data.length === 1 ? (toNumbers(t)[0] ?? null) : null;
      };
      const a = bound(1), b = bound(2);
      if (a === null || b === null) return undefined;
      lo = a ?? -Infinity; hi = b ?? Infinity;
    }
    n = onlyReader(ix, n.outputs[0]!);
  }
  if (!n || n.op !== 'QuantizeLinear' || num(n, 'saturate', 1) !== 1 || num(n, 'precision', 0) !== 0 || num(n, 'output_dtype', 0) !== 0) return undefined;
  return { q: n, lo, hi };
}

/** The weight DQ's constants: q [M, C/g, ...] 8-bit, scale of 1 or M (axis 0), zero point (all zero for int8). */
function weightOf(ix: Index, dq: Node | undefined): { q: string; scale: Tensor; zp: Tensor; M: number } | undefined {
  if (!dq || dq.op !== 'DequantizeLinear' || num(dq, 'block_size', 0) !== 0) return undefined;
  const q = ix.inits.get(dq.inputs[0]!), s = ix.inits.get(dq.inputs[1]!), zpName = dq.inputs[2] ?? '';
  const zp = zpName ? ix.inits.get(zpName) : undefined;
  if (!q || !s || (zpName && !zp) || (q.dtype !== 'int8' && q.dtype !== 'uint8') || s.dtype !== 'float32' || q.dims.length < 3) return undefined;
  const M = q.dims[0]!, rank = q.dims.length;
  if (s.data.length !== 1 && !(s.data.length === M && s.dims.length === 1 && (num(dq, 'axis', 1) + rank) % rank === 0)) return undefined;
  const scale = makeTensor('float32', [M], new Float32Array(M).map((_, m) => s.data[s.data.length === 1 ? 0 : m] as number));
  const z = zp ? toNumbers(zp) : [0];
  const zpT = makeTensor(q.dtype, [M]);
  for (let m = 0; m < M; m++) (zpT.data as Int8Array)[m] = z[z.length === 1 ? 0 : m]!;
  return { q: dq.inputs[0]!, scale, zp: zpT, M };
}

/** The bias as QLinearConv's int32 B (scale x_scale * w_scale[m]), or null when it is not a constant form. */
function biasOf(ix: Index, name: string | undefined, sx: number, sw: Float32Array): Tensor | undefined | null {
  if (!name) return undefined;
  let real: number[] | undefined;
  const c = ix.inits.get(name);
  if (c && c.dtype === 'float32') real = Array.from(c.data as Float32Array);
  const dq = ix.producer.get(name);
  if (!c && dq?.op === 'DequantizeLinear' && num(dq, 'block_size', 0) === 0) {
    const q = ix.inits.get(dq.inputs[0]!), s = ix.inits.get(dq.inputs[1]!), zp = dq.inputs[2] ? ix.inits.get(dq.inputs[2]) : undefined;
    if (!q || !s || (dq.inputs[2] && !zp) || q.dtype !== 'int32' || s.dtype !== 'float32') return null;
    const qs = toNumbers(q), ss = toNumbers(s), zs = zp ? toNumbers(zp) : [0];
    if ((ss.length !== 1 && ss.length !== qs.length) || (zs.length !== 1 && zs.length !== qs.length)) return null;
    const at = (a: number[], i: number): number => a[a.length === 1 ? 0 : i]!;
    // an int32 bias already at scale x_scale * w_scale (what every quantiser writes) is taken as it is
    if (qs.every((_, m) => at(zs, m) === 0 && at(ss, m) === f32(sx * sw[m]!))) return makeTensor('int32', [qs.length], Int32Array.from(qs));
    real = qs.map((v, m) => f32(f32(v - at(zs, m)) * at(ss, m)));
  }
  if (!real || real.length !== sw.length) return null;
  const out = new Int32Array(real.length);
  for (let m = 0; m < real.length; m++) {
    const v = roundHalfEven(real[m]! / f32(sx * sw[m]!));
    if (!(Math.abs(v) < 2 ** 31)) return null;
    out[m] = v;
  }
  return makeTensor('int32', [out.length], out);
}

export function fuseQdqConv(graph: Graph, source?: string): Graph {
  const ix: Index = { producer: new Map(), readers: new Map(), outputs: new Set(graph.outputs), inits: graph.initializers };
  for (const n of graph.nodes) {
    for (const o of n.outputs) if (o) ix.producer.set(o, n);
    for (const v of namesRead(n)) { const r = ix.readers.get(v) ?? []; r.push(n); ix.readers.set(v, r); }
  }
  const names = new NameSource(allNames(graph));
  const inits = new Map(graph.initializers);
  const replace = new Map<Node, Node | null>();
  const typeOf = (v: string): string | undefined => { const t = graph.types.get(v); return t?.kind === 'tensor' ? t.dtype : undefined; };
  const constant = (hint: string, t: Tensor): string => { const k = names.fresh(hint); inits.set(k, t); return k; };

  for (const n of graph.nodes) {
    if (n.op === 'Conv') {
      const dqx = ix.producer.get(n.inputs[0]!);
      if (!dqx || dqx.op !== 'DequantizeLinear') continue;
      const x = perTensor(ix, dqx, typeOf(dqx.inputs[0]!), names, inits);
      const w = weightOf(ix, ix.producer.get(n.inputs[1]!));
      const end = endOf(ix, n.outputs[0]!);
      if (!x || !w || !end || replace.has(end.q)) continue;
      const y = perTensor(ix, end.q, undefined, names, inits);
      if (!y) continue;
      const bias = biasOf(ix, n.inputs[2] || undefined, x.s, w.scale.data as Float32Array);
      if (bias === null) continue;
      // the Relu/Clip as a clamp of the quantised value (QuantizeLinear is monotone, so clamping commutes with it)
      const [lo, hi] = intRange(y.dtype);
      const qOf = (v: number): number => Math.min(hi, Math.max(lo, roundHalfEven(f32(v / y.s)) + y.z));
      const attrs = { ...n.attrs, ...(end.lo > -Infinity ? { qmin: { kind: 'int' as const, value: qOf(end.lo) } } : {}), ...(end.hi < Infinity ? { qmax: { kind: 'int' as const, value: qOf(end.hi) } } : {}) };
      const inputs = [dqx.inputs[0]!, x.scale, x.zp, w.q, constant(`${w.q}_scale`, w.scale), constant(`${w.q}_zero`, w.zp), y.scale, y.zp,
        ...(bias ? [constant(`${n.inputs[2]}_int32`, bias)] : [])];
      for (const m of ix.readers.get(n.outputs[0]!) ?? []) if (m !== end.q) replace.set(m, null);
      replace.set(end.q, null);
      replace.set(n, { name: n.name, op: 'onnxc.QConv', inputs, outputs: [end.q.outputs[0]!], attrs: withDefaults(getOp('onnxc.QConv')!, attrs) });
    } else if (n.op === 'Add') {
      const [da, db] = n.inputs.map((v) => ix.producer.get(v));
      if (da?.op !== 'DequantizeLinear' || db?.op !== 'DequantizeLinear') continue;
      const q = onlyReader(ix, n.outputs[0]!);
      if (!q || q.op !== 'QuantizeLinear' || num(q, 'saturate', 1) !== 1 || num(q, 'precision', 0) !== 0 || num(q, 'output_dtype', 0) !== 0) continue;
      const a = perTensor(ix, da, typeOf(da.inputs[0]!), names, inits), b = perTensor(ix, db, typeOf(db.inputs[0]!), names, inits);
      const y = perTensor(ix, q, undefined, names, inits);
      if (!a || !b || !y) continue;
      replace.set(q, null);
      replace.set(n, { name: n.name, op: 'onnxc.QLinearAdd', inputs: [da.inputs[0]!, a.scale, a.zp, db.inputs[0]!, b.scale, b.zp, y.scale, y.zp], outputs: [q.outputs[0]!], attrs: {} });
    }
  }
  if (replace.size === 0) return graph;
  let nodes = graph.nodes.flatMap((n) => { const r = replace.get(n); return r === undefined ? [n] : r === null ? [] : [r]; });
  // DequantizeLinears nothing reads any more go (a weight's, an activation's whose readers were all fused)
  for (let changed = true; changed;) {
    const read = new Set<string>(graph.outputs);
    for (const n of nodes) for (const v of namesRead(n)) read.add(v);
    const kept = nodes.filter((n) => n.op !== 'DequantizeLinear' || read.has(n.outputs[0]!));
    changed = kept.length !== nodes.length;
    nodes = kept;
  }
  const read = new Set<string>(graph.outputs);
  for (const n of nodes) for (const v of namesRead(n)) read.add(v);
  for (const k of [...inits.keys()]) if (!read.has(k) && !graph.inputs.includes(k)) inits.delete(k);
  return inferGraph({ ...graph, nodes, initializers: inits }, { source });
}

export const fuseQdqConvPass = definePass({
  name: 'fuse-qdq-conv',
  summary: 'QDQ Conv (DequantizeLinear x/w -> Conv [-> Relu/Clip] -> QuantizeLinear) as onnxc.QConv, QDQ Add as onnxc.QLinearAdd (weights stay int8)',
  requires: ['typed'],
  // QConv requantises the int32 sum once (QLinearConv), where the QDQ graph rounds in float32 per step
  properties: { semantics: { kind: 'range', tol: 2e-2 }, idempotent: true },
  produces: ['onnxc.QConv', 'onnxc.QLinearAdd'],
  run: (graph, ctx) => fuseQdqConv(graph, ctx.source),
});
