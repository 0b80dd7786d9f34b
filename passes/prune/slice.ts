// Applying a channel selection: every weight, bias and per-channel constant that touches a pruned space is sliced
// to the kept channels (producers on their output axis, consumers on their input axis, depthwise convs, norms and
// channel-wise Mul/Add constants on theirs; a Reshape's shape constant that names the channel count is rewritten).
// Sliced constants get fresh names (a constant may be shared); the result is re-inferred.

import type { Graph, Node } from '../../ir/graph.js';
import { attrInt } from '../../ir/graph.js';
import { makeTensor, stridesOf, type Tensor } from '../../ir/tensor.js';
import type { ValueType } from '../../ir/types.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { allNames, NameSource, namesRead } from '../graph-util.js';
import { channelConstAxis, constOf, denseForm, isDepthwise, layoutWidth, paramAxis, type ChannelGraph, type Layout } from './groups.js';

/** Kept channel indices (sorted) per pruned space id; spaces not in the map keep every channel. */
export type Selection = ReadonlyMap<number, readonly number[]>;

/** The kept indices along a value's channel axis, or undefined when none of its spaces is pruned. */
export function keptOf(l: Layout | undefined, sel: Selection): number[] | undefined {
  if (!l || !l.segments.some((s) => sel.has(s.space))) return undefined;
  const out: number[] = [], inner = l.inner ?? 1;
  let off = 0;
  const push = (c: number): void => { for (let j = 0; j < inner; j++) out.push(c * inner + j); };
  for (const s of l.segments) {
    const k = sel.get(s.space);
    if (k) for (const i of k) push(off + i); else for (let i = 0; i < s.size; i++) push(off + i);
    off += s.size;
  }
  return out;
}

/** `t` restricted to indices `idx` along `axis`. */
export function sliceAxis(t: Tensor, axis: number, idx: readonly number[]): Tensor {
  const dims = [...t.dims];
  const inner = stridesOf(t.dims)[axis]!, outer = t.dims.slice(0, axis).reduce((a, b) => a * b, 1), n = t.dims[axis]!;
  dims[axis] = idx.length;
  const src = t.data as Float32Array, dst = new (src.constructor as Float32ArrayConstructor)(outer * idx.length * inner);
  for (let o = 0, w = 0; o < outer; o++) {
    for (const i of idx) { dst.set(src.subarray((o * n + i) * inner, (o * n + i + 1) * inner), w); w += inner; }
  }
  return makeTensor(t.dtype, dims, dst as never);
}

/** The graph with the selection applied (the same graph when it prunes nothing). */
export function applySelection(g: Graph, cg: ChannelGraph, sel: Selection, source?: string): Graph {
  if (sel.size === 0) return g;
  const names = new NameSource(allNames(g));
  const inits = new Map(g.initializers);
  const made = new Map<string, string>(), replaced = new Set<string>();
  const sliced = (name: string, cuts: readonly { axis: number; idx: readonly number[] | undefined }[]): string => {
    const real = cuts.filter((c) => c.idx);
    if (real.length === 0) return name;
    const key = `${name}|${real.map((c) => `${c.axis}:${c.idx!.join(',')}`).join('|')}`;
    let out = made.get(key);
    if (!out) {
      let t = g.initializers.get(name)!;
      for (const c of real) t = sliceAxis(t, c.axis, c.idx!);
      out = names.fresh(`${name}_pruned`);
      inits.set(out, t);
      made.set(key, out);
    }
    replaced.add(name);
    return out;
  };
  const nodes = g.nodes.map((n): Node => {
    const inL = n.inputs[0] ? cg.layouts.get(n.inputs[0]) : undefined, outL = n.outputs[0] ? cg.layouts.get(n.outputs[0]) : undefined;
    const inKept = keptOf(inL, sel), outKept = keptOf(outL, sel);
    if (!inKept && !outKept) return n;
    const inputs = [...n.inputs];
    const attrs = { ...n.attrs };
    const dense = denseForm(g, n);
    if (dense) {
      const consumer = cg.consumers.includes(n);
      inputs[1] = sliced(n.inputs[1]!, [{ axis: dense.outAxis, idx: outKept }, { axis: dense.inAxis, idx: consumer ? inKept : undefined }]);
      const b = constOf(g, n.inputs[2]);
      if (b && outKept) {
        const ax = n.op === 'Gemm' ? channelConstAxis(b, 2, 1, dense.weight.dims[dense.outAxis]!) : 0;
        if (typeof ax === 'number') inputs[2] = sliced(n.inputs[2]!, [{ axis: ax, idx: outKept }]);
      }
    } else if (isDepthwise(g, n) && inKept) {
      inputs[1] = sliced(n.inputs[1]!, [{ axis: 0, idx: inKept }]);
      if (n.inputs[2]) inputs[2] = sliced(n.inputs[2], [{ axis: 0, idx: inKept }]);
      attrs['group'] = attrInt(inKept.length);
    } else if (n.op === 'Reshape' && outKept && outL) {
      const s = constOf(g, n.inputs[1]);
      if (s && s.dims.length === 1 && Number(s.data[1]) === layoutWidth(outL)) {
        const data = BigInt64Array.from(s.data as BigInt64Array);
        data[1] = BigInt(outKept.length);
        const name = names.fresh(`${n.inputs[1]}_pruned`);
        inits.set(name, makeTensor('int64', s.dims, data));
        inputs[1] = name;
        replaced.add(n.inputs[1]!);
      }
    } else {
      // per-channel constants (norm parameters, PRelu slopes, channel-wise Mul/Add operands) follow the channels
      const l = outL ?? inL!, kept = outKept ?? inKept!, c = l.segments.reduce((a, x) => a + x.size, 0);
      n.inputs.forEach((v, i) => {
        const t = constOf(g, v);
        if (!t || t.dtype !== 'float32') return;
        const ax = paramAxis(n, i, t, l, c);
        if (typeof ax === 'number') inputs[i] = sliced(v, [{ axis: ax, idx: kept }]);
      });
    }
    // rewritten nodes carry every attribute (as the importer leaves them), whatever their input had
    return { ...n, inputs, attrs: withDefaults(getOp(n.op)!, attrs) };
  });
  // the originals of sliced constants go when nothing reads them any more
  const read = new Set(nodes.flatMap((n) => namesRead(n)));
  for (const o of g.outputs) read.add(o);
  for (const k of replaced) if (!read.has(k)) inits.delete(k);
  const types = new Map<string, ValueType>();
  for (const i of g.inputs) types.set(i, g.types.get(i)!);
  return inferGraph({ ...g, nodes, initializers: inits, types }, { source });
}
