// prune-weights on Gather tables (embeddings), activation-aware: a lookup is a MatMul of one-hot rows by the table,
// so the "input norm" Wanda weighs a weight by is how often its row is read. All the tables are ranked together by
// |W_vh| * sqrt(reads_v + 1) and the lowest fraction of their weights pruned, which minimises the squared error of
// the looked-up rows summed over the calibration's lookups plus one of every row (tables whose lookups are added, as
// bert's word, position and token-type embeddings are, add their errors): rows read often (frequent tokens; the
// positions every run reads; a 2-row token-type table) keep their weights, rarely read rows lose more. A per-column
// count, as for a MatMul, would round 30% of a 2-row table up to one row in two. The +1 (a read prior) keeps rows
// the calibration never read from being emptied on the evidence of a small set alone; still, positions past the
// calibration's sequence length lose more than the rest (calibrate at the longest length a model will run at).

import type { Graph, Node } from '../../ir/graph.js';
import { isTensor, type RuntimeValue } from '../../ir/value.js';
import type { CalibrationData } from '../pass.js';

/** Reads of each row of each Gather's table over the calibration samples, by node name: the indices come from the
 *  samples (a graph input), the initializers (a constant), or one run of the graph with them as outputs. */
export function rowReads(g: Graph, gathers: readonly Node[], data: CalibrationData): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  const probe = [...new Set(gathers.map((n) => n.inputs[1]!).filter((x) => !g.inputs.includes(x) && !g.initializers.has(x)))];
  const probed = probe.length ? data.samples.map((s) => data.run({ ...g, outputs: probe }, s)) : [];
  for (const n of gathers) {
    const V = g.initializers.get(n.inputs[0]!)!.dims[0]!, reads = new Float64Array(V), x = n.inputs[1]!;
    const add = (v: RuntimeValue | undefined): void => {
      if (!isTensor(v)) return;
      const d = v.data as ArrayLike<number | bigint>;
      for (let i = 0; i < d.length; i++) { const k = Number(d[i]!), r = k < 0 ? k + V : k; if (r >= 0 && r < V) reads[r]!++; }
    };
    const c = g.initializers.get(x);
    if (c) for (let s = 0; s < data.samples.length; s++) add(c);
    else if (g.inputs.includes(x)) for (const s of data.samples) add(s[g.inputs.indexOf(x)]);
    else for (const outs of probed) add(outs[probe.indexOf(x)]);
    out.set(n.name, reads);
  }
  return out;
}

/** Keep masks (1 = kept) of `tables`, ranked together: round(sparsity * all their weights) of the lowest
 *  |w| * sqrt(reads + 1) are pruned (ties to the earlier table and index, so the choice is deterministic). */
export function tableMasks(tables: readonly { readonly w: Float32Array; readonly H: number; readonly reads: Float64Array }[], sparsity: number): Uint8Array[] {
  const total = tables.reduce((s, t) => s + t.w.length, 0), score = new Float64Array(total);
  let o = 0;
  for (const { w, H, reads } of tables) for (let i = 0; i < w.length; i++) score[o++] = Math.abs(w[i]!) * Math.sqrt(reads[Math.floor(i / H)]! + 1);
  const count = Math.min(total, Math.max(0, Math.round(sparsity * total)));
  const thr = count ? Float64Array.from(score).sort()[count - 1]! : -1;
  // below the threshold: pruned; at it: pruned in order until the count is reached
  let below = 0;
  for (let i = 0; i < total; i++) if (score[i]! < thr) below++;
  let ties = count - below;
  o = 0;
  return tables.map(({ w }) => {
    const keep = new Uint8Array(w.length);
    for (let i = 0; i < w.length; i++, o++) keep[i] = score[o]! < thr || (score[o] === thr && ties-- > 0) ? 0 : 1;
    return keep;
  });
}
