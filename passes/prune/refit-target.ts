// What a re-fitted layer should reproduce when its output is one operand of a residual Add. Fitting the layer to
// its own original output leaves the other operand's error (the shortcut, itself pruned and re-fitted) in the sum;
// fitting it to (original sum - pruned shortcut) lets the branch absorb that error too, as He et al. 2017 do for
// ResNets. Between the layer and the Add may sit per-channel affine ops (BatchNormalization, Mul/Add by a
// per-channel constant); their a·z + b is inverted to bring the target back to the layer's own output.

import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { channelConstAxis, constOf } from './groups.js';

export interface ResidualTarget {
  /** The Add's output (the target, in the original graph) and its other operand (read in the pruned graph). */
  readonly sum: string;
  readonly other: string;
  /** Per original output channel: sum = a·z + b + other, z the layer's output. */
  readonly a: Float64Array;
  readonly b: Float64Array;
}

const floatAttr = (n: Node, k: string, d: number): number => { const a = n.attrs[k]; return a?.kind === 'float' ? a.value : d; };
const dimsOf = (g: Graph, v: string): readonly (number | string)[] | undefined => { const t = g.types.get(v); return t?.kind === 'tensor' ? t.shape : undefined; };
const sameDims = (a: readonly (number | string)[] | undefined, b: readonly (number | string)[] | undefined): boolean =>
  !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);

/** A per-channel (or uniform) constant's value at channel c. */
function perChannel(t: Tensor, rank: number, axis: number, size: number): ((c: number) => number) | undefined {
  if (t.dtype !== 'float32') return undefined;
  const at = channelConstAxis(t, rank, axis, size), d = t.data as Float32Array;
  if (at === undefined) return undefined;
  return at === 'uniform' ? () => d[0]! : (c) => d[c]!;
}

interface Walk { readonly a: Float64Array; readonly b: Float64Array; readonly stop: Node; readonly v: string; readonly readers: ReadonlyMap<string, Node[]> }

/** From layer `n`'s output through per-channel affine ops (a·z + b) to the first other node reading it (its single
 *  reader, same dims), or undefined. */
function affineWalk(g: Graph, n: Node, axis: number, size: number): Walk | undefined {
  const readers = new Map<string, Node[]>();
  for (const m of g.nodes) for (const v of m.inputs) if (v) (readers.get(v) ?? readers.set(v, []).get(v)!).push(m);
  const a = new Float64Array(size).fill(1), b = new Float64Array(size);
  let v = n.outputs[0]!;
  const dims = dimsOf(g, v), rank = dims?.length ?? 0;
  for (let hops = 0; hops < 4; hops++) {
    const rs = readers.get(v) ?? [];
    if (rs.length !== 1 || g.outputs.includes(v)) return undefined;
    const m = rs[0]!, out = m.outputs[0];
    if (!out || !sameDims(dimsOf(g, out), dims)) return undefined;
    if (m.op === 'BatchNormalization' && m.inputs[0] === v && axis === 1 && m.outputs.slice(1).every((o) => !o)) {
      const [sc, bi, mean, vr] = [1, 2, 3, 4].map((i) => constOf(g, m.inputs[i]));
      if (![sc, bi, mean, vr].every((t) => t?.dtype === 'float32' && t.data.length === size)) return undefined;
      const eps = floatAttr(m, 'epsilon', 1e-5);
      for (let c = 0; c < size; c++) {
        const k = (sc!.data as Float32Array)[c]! / Math.sqrt((vr!.data as Float32Array)[c]! + eps);
        a[c] = a[c]! * k;
        b[c] = (b[c]! - (mean!.data as Float32Array)[c]!) * k + (bi!.data as Float32Array)[c]!;
      }
    } else if ((m.op === 'Add' || m.op === 'Mul') && m.inputs.length === 2 && constOf(g, m.inputs[0] === v ? m.inputs[1]! : m.inputs[0]!)) {
      const f = perChannel(constOf(g, m.inputs[0] === v ? m.inputs[1]! : m.inputs[0]!)!, rank, axis, size);
      if (!f) return undefined;
      for (let c = 0; c < size; c++) {
        if (m.op === 'Add') b[c] = b[c]! + f(c);
        else { a[c] = a[c]! * f(c); b[c] = b[c]! * f(c); }
      }
    } else return { a, b, stop: m, v, readers };
    v = out;
  }
  return undefined;
}

/** The residual target of layer `n` in `g` (original graph), whose output has `size` channels on `axis`; undefined
 *  when its output does not reach an Add with a computed operand through per-channel affine ops only. */
export function residualTarget(g: Graph, n: Node, axis: number, size: number): ResidualTarget | undefined {
  const w = affineWalk(g, n, axis, size);
  if (!w || w.stop.op !== 'Add' || w.stop.inputs.length !== 2) return undefined;
  const { a, b, stop: m, v } = w, out = m.outputs[0]!;
  const other = m.inputs[0] === v ? m.inputs[1]! : m.inputs[0]!;
  if (other === v || !sameDims(dimsOf(g, other), dimsOf(g, v))) return undefined;
  return a.every((x) => Math.abs(x) > 1e-6 * Math.max(...a.map(Math.abs))) ? { sum: out, other, a, b } : undefined;
}

/** A layer whose output reaches a Relu through per-channel affine ops (and, with `res`, its residual Add): the Relu
 *  reads a·z + b (+ the Add's other operand). Where the original model's value there is <= 0 the Relu zeroes it, so
 *  a re-fit need only keep the pruned value on the same side (refit.ts' ReLU-aware targets). */
export interface ReluGate { readonly a: Float64Array; readonly b: Float64Array }

export function reluGate(g: Graph, n: Node, axis: number, size: number, res: ResidualTarget | undefined): ReluGate | undefined {
  const w = affineWalk(g, n, axis, size);
  if (!w) return undefined;
  let stop = w.stop, v = w.v;
  if (res) {
    if (stop.op !== 'Add' || stop.outputs[0] !== res.sum) return undefined;
    v = res.sum;
    const rs = w.readers.get(v) ?? [];
    if (rs.length !== 1 || g.outputs.includes(v)) return undefined;
    stop = rs[0]!;
  }
  if (stop.op !== 'Relu' || stop.inputs[0] !== v) return undefined;
  if (!w.a.every((x) => x !== 0 && Number.isFinite(x))) return undefined;
  return { a: res ? res.a : w.a, b: res ? res.b : w.b };
}
