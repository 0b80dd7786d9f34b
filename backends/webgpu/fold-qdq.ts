// QDQ models on WebGPU (which stores no 8-bit tensors): a QuantizeLinear whose every reader is a DequantizeLinear
// with the same constant scale and zero point is the round trip x -> (clip(round(x / s) + zp, qmin, qmax) - zp) * s,
// computed in float32 by standard elementwise ops (Round is half-to-even, as QuantizeLinear's rounding; the
// integer values are exact in float32), which the -O levels fuse into one kernel. DequantizeLinear of constant
// weights is folded at compile time by the lowering core; any other 8-bit value is refused per node as before.

import type { DType } from '../../ir/dtype.js';
import type { Graph, Node } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { inferGraph } from '../../ops/infer-graph.js';

const RANGE: Partial<Record<DType, readonly [number, number]>> = { int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535] };

const sameValues = (a: Tensor | undefined, b: Tensor | undefined): boolean =>
  a !== undefined && b !== undefined && a.dtype === b.dtype && a.dims.join() === b.dims.join() && Array.from(a.data as ArrayLike<number>).every((v, i) => v === (b.data as ArrayLike<number>)[i]);

/** `g` with each quantize/dequantize round trip on a run-time value computed in float32. */
export function foldQdq(g: Graph, source?: string): Graph {
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) if (v) readers.set(v, [...(readers.get(v) ?? []), n]);
  const names = new Set<string>([...g.types.keys(), ...g.nodes.flatMap((n) => n.outputs)]);
  const nodeNames = new Set(g.nodes.map((n) => n.name));
  const fresh = (base: string, used: Set<string>): string => { let s = base, i = 0; while (used.has(s)) s = `${base}_${++i}`; used.add(s); return s; };
  const inits = new Map(g.initializers);
  const replaced = new Map<string, Node[]>(); // Q node name -> its float32 chain
  const dropped = new Set<string>(); // DQ node names folded into a chain
  const alias = new Map<string, string>(); // DQ output -> chain output
  for (const q of g.nodes) {
    if (q.op !== 'QuantizeLinear' || g.initializers.has(q.inputs[0]!)) continue;
    const [x, sName, zName] = q.inputs;
    const s = g.initializers.get(sName!), z = zName ? g.initializers.get(zName) : undefined;
    const qt = g.types.get(q.outputs[0]!);
    const range = qt?.kind === 'tensor' ? RANGE[qt.dtype] : undefined;
    const xt = g.types.get(x!);
    if (!s || s.dtype !== 'float32' || !range || (zName && !z) || q.attrs.block_size?.value || xt?.kind !== 'tensor' || !xt.shape) continue;
    if (s.dims.length > 1 || (s.dims.length === 1 && s.dims[0] !== 1 && q.attrs.axis?.kind !== 'int')) continue;
    const dqs = readers.get(q.outputs[0]!) ?? [];
    if (dqs.length === 0 || g.outputs.includes(q.outputs[0]!)) continue;
    const ok = dqs.every((d) => d.op === 'DequantizeLinear' && d.inputs[0] === q.outputs[0] && sameValues(g.initializers.get(d.inputs[1]!), s)
      && (z ? sameValues(g.initializers.get(d.inputs[2] ?? ''), z) : !d.inputs[2]) && !d.attrs.block_size?.value
      && (s.dims.length === 0 || d.attrs.axis?.value === q.attrs.axis?.value));
    if (!ok) continue;
    // per-axis scales broadcast along their axis
    const rank = xt.shape.length;
    const axis = s.dims.length === 1 && s.dims[0] !== 1 ? (((q.attrs.axis!.value as number) % rank) + rank) % rank : -1;
    const shape = axis < 0 ? [] : Array.from({ length: rank }, (_, k) => (k === axis ? s.dims[0]! : 1));
    const constant = (hint: string, values: ArrayLike<number>): string => {
      const n = fresh(`${q.name}/${hint}`, names);
      inits.set(n, makeTensor('float32', shape, Float32Array.from(values)) as Tensor);
      return n;
    };
    const scale = constant('scale', s.data as Float32Array);
    const zero = constant('zero_point', z ? Array.from(z.data as ArrayLike<number>, Number) : new Array<number>(s.data.length).fill(0));
    const lo = fresh(`${q.name}/qmin`, names), hi = fresh(`${q.name}/qmax`, names);
    inits.set(lo, makeTensor('float32', [], Float32Array.of(range[0]!)) as Tensor);
    inits.set(hi, makeTensor('float32', [], Float32Array.of(range[1]!)) as Tensor);
    const chain: Node[] = [];
    let v = x!;
    const step = (op: string, inputs: string[]): void => {
      const out = fresh(`${q.name}/${op.toLowerCase()}`, names);
      chain.push({ name: fresh(`${q.name}/${op}`, nodeNames), op, inputs, outputs: [out], attrs: withDefaults(getOp(op)!, {}) });
      v = out;
    };
    step('Div', [v, scale]); step('Round', [v]); step('Add', [v, zero]); step('Clip', [v, lo, hi]); step('Sub', [v, zero]); step('Mul', [v, scale]);
    replaced.set(q.name, chain);
    for (const d of dqs) { dropped.add(d.name); alias.set(d.outputs[0]!, v); }
  }
  if (replaced.size === 0) return g;
  const rename = (v: string): string => alias.get(v) ?? v;
  const nodes = g.nodes.flatMap((n) => replaced.get(n.name) ?? (dropped.has(n.name) ? [] : [{ ...n, inputs: n.inputs.map(rename) }]));
  // a folded DequantizeLinear whose output the graph returns: an Identity keeps the output's name
  for (const [dqOut, chainOut] of alias) {
    if (g.outputs.includes(dqOut)) nodes.push({ name: fresh(`${dqOut}/identity`, nodeNames), op: 'Identity', inputs: [chainOut], outputs: [dqOut], attrs: {} });
  }
  const types = new Map(g.types);
  for (const n of g.nodes) if (replaced.has(n.name) || dropped.has(n.name)) for (const o of n.outputs) if (!g.outputs.includes(o)) types.delete(o);
  return inferGraph({ ...g, nodes, initializers: inits, types }, { source });
}

