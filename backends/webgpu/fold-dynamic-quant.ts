// Dynamically quantized models on WebGPU (which stores no 8-bit tensors), in float32 with the integer values exact:
// - DynamicQuantizeLinear(x) -> (y, scale, zp) becomes scale = hi == lo ? 1 : (hi - lo) / 255 (hi, lo: max/min of
//   x and 0), zp = clip(round(-lo / scale), 0, 255), y = clip(round(x / scale) + zp, 0, 255), when y and zp are read
//   only as MatMulInteger's A and a_zero_point;
// - MatMulInteger(y, W, zp, wzp) with constant W becomes MatMul(y - zp, W - wzp), when its int32 result is read
//   only by Casts to float32 (which become Identities). Products of 8-bit values summed in float32 are exact up to
//   2^24 and within 2^-24 relative past it;
// - DequantizeLinear(Gather(constant 8-bit table, ids)) becomes Gather(the table dequantized at compile time, ids).

import { onnxCode } from '../../ir/dtype.js';
import type { Graph, Node } from '../../ir/graph.js';
import { getNumber, makeTensor, type Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { inferGraph } from '../../ops/infer-graph.js';

const F32 = onnxCode('float32');
const scalar = (t: Tensor | undefined): number | undefined => (t && t.data.length === 1 ? getNumber(t, 0) : undefined);

export function foldDynamicQuant(g: Graph, source?: string): Graph {
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) if (v) readers.set(v, [...(readers.get(v) ?? []), n]);
  const read = (v: string): Node[] => readers.get(v) ?? [];
  const isOut = (v: string): boolean => g.outputs.includes(v);
  const names = new Set<string>([...g.types.keys(), ...g.nodes.flatMap((n) => n.outputs)]);
  const nodeNames = new Set(g.nodes.map((n) => n.name));
  const fresh = (base: string, used: Set<string>): string => { let s = base, i = 0; while (used.has(s)) s = `${base}_${++i}`; used.add(s); return s; };
  const inits = new Map(g.initializers);
  const constF32 = (hint: string, t: Tensor): string => { const n = fresh(hint, names); inits.set(n, t); return n; };
  const sc = (hint: string, v: number): string => constF32(hint, makeTensor('float32', [], Float32Array.of(v)) as Tensor);
  const replace = new Map<string, Node[]>(); // node name -> its replacement (empty: dropped)
  const mk = (at: string, op: string, inputs: string[], attrs: Record<string, number> = {}, out?: string): string => {
    const o = out ?? fresh(`${at}/${op.toLowerCase()}`, names);
    const tagged = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { kind: 'int' as const, value: v }]));
    replace.get(at)!.push({ name: fresh(`${at}/${op}`, nodeNames), op, inputs, outputs: [o], attrs: withDefaults(getOp(op)!, tagged) });
    return o;
  };

  // MatMulInteger with a constant B whose result only feeds Casts to float32
  const mmOk = (n: Node): boolean => n.op === 'MatMulInteger' && inits.has(n.inputs[1]!) && (!n.inputs[3] || scalar(inits.get(n.inputs[3])) !== undefined)
    && !isOut(n.outputs[0]!) && read(n.outputs[0]!).length > 0
    && read(n.outputs[0]!).every((c) => c.op === 'Cast' && c.attrs.to?.kind === 'int' && c.attrs.to.value === F32);
  for (const d of g.nodes) {
    if (d.op !== 'DynamicQuantizeLinear') continue;
    const [y, s, z] = d.outputs as [string, string, string];
    const ys = read(y), zs = read(z);
    if (isOut(y) || isOut(z) || ys.length === 0 || !ys.every((m) => mmOk(m) && m.inputs[0] === y && (m.inputs[2] ?? '') === z && m.inputs[1] !== y)
      || !zs.every((m) => ys.includes(m))) continue;
    replace.set(d.name, []);
    const x = d.inputs[0]!, zero = sc(`${d.name}/zero`, 0);
    const hi = mk(d.name, 'Max', [mk(d.name, 'ReduceMax', [x], { keepdims: 0 }), zero]);
    const lo = mk(d.name, 'Min', [mk(d.name, 'ReduceMin', [x], { keepdims: 0 }), zero]);
    const range = mk(d.name, 'Div', [mk(d.name, 'Sub', [hi, lo]), sc(`${d.name}/qmax`, 255)]);
    const scale = mk(d.name, 'Where', [mk(d.name, 'Equal', [hi, lo]), sc(`${d.name}/one`, 1), range], {}, s);
    const zp = mk(d.name, 'Clip', [mk(d.name, 'Round', [mk(d.name, 'Neg', [mk(d.name, 'Div', [lo, scale])])]), zero, sc(`${d.name}/max`, 255)]);
    const yq = mk(d.name, 'Clip', [mk(d.name, 'Add', [mk(d.name, 'Round', [mk(d.name, 'Div', [x, scale])]), zp]), zero, sc(`${d.name}/max2`, 255)]);
    const centered = mk(d.name, 'Sub', [yq, zp]);
    for (const m of ys) {
      if (replace.has(m.name)) continue;
      replace.set(m.name, []);
      const w = inits.get(m.inputs[1]!)!, wz = m.inputs[3] ? scalar(inits.get(m.inputs[3]))! : 0;
      const wf = constF32(`${m.inputs[1]}__f32`, makeTensor('float32', w.dims, Float32Array.from({ length: w.data.length }, (_, i) => getNumber(w, i) - wz)) as Tensor);
      const out = mk(m.name, 'MatMul', [centered, wf]);
      for (const c of read(m.outputs[0]!)) { replace.set(c.name, [{ ...c, op: 'Identity', inputs: [out], attrs: {} }]); }
    }
  }

  // DequantizeLinear of a Gather from a constant 8-bit table, per-tensor
  for (const dq of g.nodes) {
    if (dq.op !== 'DequantizeLinear') continue;
    const gather = g.nodes.find((n) => n.outputs[0] === dq.inputs[0]);
    const table = gather?.op === 'Gather' ? inits.get(gather.inputs[0]!) : undefined;
    const s = scalar(inits.get(dq.inputs[1]!)), z = dq.inputs[2] ? scalar(inits.get(dq.inputs[2])) : 0;
    if (!gather || !table || s === undefined || z === undefined || read(gather.outputs[0]!).length !== 1 || isOut(gather.outputs[0]!)) continue;
    const deq = constF32(`${gather.inputs[0]}__dequantized`, makeTensor('float32', table.dims, Float32Array.from({ length: table.data.length }, (_, i) => Math.fround((getNumber(table, i) - z) * s))) as Tensor);
    replace.set(gather.name, []);
    replace.set(dq.name, [{ ...gather, inputs: [deq, gather.inputs[1]!], outputs: [dq.outputs[0]!] }]);
  }
  if (replace.size === 0) return g;
  const nodes = g.nodes.flatMap((n) => replace.get(n.name) ?? [n]);
  const types = new Map(g.types);
  for (const n of g.nodes) if (replace.has(n.name)) for (const o of n.outputs) if (!isOut(o)) types.delete(o);
  // tables nothing reads any more
  const used = new Set(nodes.flatMap((n) => n.inputs));
  for (const k of [...inits.keys()]) if (!used.has(k) && !g.inputs.includes(k)) inits.delete(k);
  return inferGraph({ ...g, nodes, initializers: inits, types }, { source });
}
