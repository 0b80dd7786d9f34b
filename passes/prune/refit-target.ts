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

/** The residual target of layer `n` in `g` (original graph), whose output has `size` channels on `axis`; undefined
 *  when its output does not reach an Add with a computed operand through per-channel affine ops only. */
export function residualTarget(g: Graph, n: Node, axis: number, size: number): ResidualTarget | undefined {
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
    } else if ((m.op === 'Add' || m.op === 'Mul') && m.inputs.length === 2) {
      const other = m.inputs[0] === v ? m.inputs[1]! : m.inputs[0]!;
      const t = constOf(g, other);
      if (!t) {
        if (m.op !== 'Add' || other === v || !sameDims(dimsOf(g, other), dims)) return undefined;
        // the Add itself: the layer is a residual branch
        return a.every((x) => Math.abs(x) > 1e-6 * Math.max(...a.map(Math.abs))) ? { sum: out, other, a, b } : undefined;
      }
      const f = perChannel(t, rank, axis, size);
      if (!f) return undefined;
      for (let c = 0; c < size; c++) {
        if (m.op === 'Add') b[c] = b[c]! + f(c);
        else { a[c] = a[c]! * f(c); b[c] = b[c]! * f(c); }
      }
    } else return undefined;
    v = out;
  }
  return undefined;
}
