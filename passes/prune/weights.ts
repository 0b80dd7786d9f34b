// prune-weights: one-shot unstructured or N:M (2:4, 4:8 along the input dim) pruning of MatMul/Gemm weights (Conv
// and Gather tables as options), activation-aware (Wanda: |W_rk| * ||x_k|| per output row, ||x_k|| from the
// calibration's per-channel energy; plain magnitude without calibration), with an optional SparseGPT-style
// re-fit of the kept weights on the calibration second moment (weights-obs.ts; from CalibrationStats when the caller
// collected it, else from PassContext.calibrationData, running the model once per sample). Only initializer values change:
// the graph keeps its nodes, so the pruned model is standard ONNX, and the compiler stores it compressed.
//
// Options (PassContext.options, strings; `pruneWeightsOptions` reads them, `pruneWeights` takes them typed):
//   prune-sparsity=S (0..1; unstructured), prune-pattern=2:4|4:8 (N:M; sparsity M-N/M), prune-reconstruct=1,
//   prune-exclude=OP|NODE,..., prune-conv=1 (Conv weights too), prune-embeddings=1 (Gather tables too, at the
//   layers' sparsity, unstructured also under N:M; off by default: the tables' error goes straight into the
//   residual stream, and on bert-tiny the tables at 35% give 3-5x the relative L2 error of the layers alone at 50%
//   or 2:4, argmax agreement 1-1.5 points lower (gpt2_tiny: no measurable change)), prune-embeddings=0.35: the
//   tables at their own sparsity; ranked, when the caller gives calibration runs (PassContext.calibrationData), all
//   tables together by |W| times sqrt(1 + how often the calibration reads the row) (weights-gather.ts; Wanda's
//   score for a one-hot input), else by magnitude per row (prune-embeddings-score=magnitude forces that);
//   prune-embeddings=fp16: the tables rounded to float16 values instead, which the compiler stores at half the
//   bytes), prune-damp=X (reconstruction's lambda as a fraction of mean diag(X^T X), default 0.01).
// Without prune-sparsity or prune-pattern the pass does nothing.

import { OnnxcError, UsageError } from '../../ir/errors.js';
import type { Graph, Node } from '../../ir/graph.js';
import { f16Round } from '../../ir/float16.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { freeNames, subgraphsIn } from '../graph-util.js';
import { isTensor } from '../../ir/value.js';
import { definePass, type CalibrationData, type PassContext } from '../pass.js';
import { ValueAccumulator, type CalibrationStats, type SecondMoment } from '../quant/calibration.js';
import { satisfies, wandaMask, type PruneTarget, type RowView } from './weights-mask.js';
import { obsPrune } from './weights-obs.js';
import { rowReads, tableMasks } from './weights-gather.js';

export interface PruneWeightsOptions {
  /** Fraction of each row removed (unstructured); ignored when `pattern` is set (N:M removes (M-N)/M). */
  readonly sparsity: number;
  readonly pattern?: '2:4' | '4:8';
  /** Re-fit the kept weights on the calibration second moment (needs CalibrationStats with secondMoment). */
  readonly reconstruct: boolean;
  /** Op types or node names left alone. */
  readonly exclude?: readonly string[];
  readonly conv?: boolean;
  /** Gather tables (embeddings) too; default false. They hold 40% and 26% of gpt2_tiny's and bert-tiny's weights
   *  (weights.bin 0.72x / 0.65x of dense at 50% or 2:4 with them dense, 0.594x / 0.572x with them at 35%), but on
   *  bert-tiny that raises the relative L2 error 3-5x (bench/prune-weights.ts): an opt-in trade. */
  readonly embeddings?: boolean;
  /** With `embeddings`: the Gather tables' own sparsity, unstructured whatever the pattern (a lookup gains nothing
   *  from N:M), so that the tables the output is most sensitive to can be pruned less than the layers; default the
   *  layers' (N:M: (M-N)/M). With row reads it is the share of all the tables' weights (ranked together). */
  readonly embeddingSparsity?: number;
  /** Instead of pruning the Gather tables, round them to float16 values (relative error <= 2^-11 per weight), which
   *  the compiler then stores as float16 bits at half the bytes (lowering/f16-weights.ts): the tables shrink without
   *  the drift that pruning them costs. Pruning composed with a quantisation, reported as such. */
  readonly embeddingFp16?: boolean;
  /** How the tables' weights are ranked: 'reads' (default when the caller gives calibration runs: all tables
   *  together by |W| times sqrt(1 + how often the calibration reads the row), weights-gather.ts) or 'magnitude'
   *  (|W| per row, each row at the tables' sparsity). */
  readonly embeddingScore?: 'reads' | 'magnitude';
  readonly damp?: number;
}

export interface PrunedLayer {
  readonly node: string;
  readonly op: string;
  readonly weight: string;
  readonly params: number;
  /** Zeros after pruning (those already zero included). */
  readonly zeros: number;
  /** 'wanda' (|W| * ||x||), 'magnitude' (no activation statistics for it), 'sparsegpt' (re-fitted), 'fp16' (a table
   *  rounded to float16 values, not pruned: embeddingFp16). */
  readonly method: 'wanda' | 'magnitude' | 'sparsegpt' | 'fp16';
  /** Why a cheaper method was used than asked for. */
  readonly note?: string;
}

export interface PruneWeightsResult {
  readonly graph: Graph;
  readonly layers: readonly PrunedLayer[];
  /** Weights a prunable node reads that were left dense, and why. */
  readonly skipped: readonly { readonly node: string; readonly weight: string; readonly reason: string }[];
}

/** How a node's weight is pruned: its view as rows x K, and the activation it multiplies (with the axis). */
interface Use {
  readonly node: Node;
  readonly weight: string;
  readonly view: RowView;
  /** The activation whose last axis is K (MatMul/Gemm), or Conv's NCHW input; undefined for Gather. */
  readonly x?: string;
  /** Conv: elements of each input channel in a row (kh*kw) and input channels per group; rows per group. */
  readonly conv?: { readonly spatial: number; readonly cinPerGroup: number; readonly rowsPerGroup: number };
}

const constFloat = (g: Graph, name: string | undefined): Tensor | undefined => {
  const t = name ? g.initializers.get(name) : undefined;
  return t && t.dtype === 'float32' && !g.inputs.includes(name!) ? t : undefined;
};
const intAttr = (n: Node, k: string, d: number): number => { const a = n.attrs[k]; return a?.kind === 'int' ? a.value : d; };

function useOf(g: Graph, n: Node, o: PruneWeightsOptions): Use | undefined {
  if (n.op === 'Gather') {
    const t = constFloat(g, n.inputs[0]);
    if (!t || t.dims.length !== 2 || intAttr(n, 'axis', 0) !== 0 || o.embeddings !== true) return undefined;
    return { node: n, weight: n.inputs[0]!, view: { rows: t.dims[0]!, K: t.dims[1]!, rowStride: t.dims[1]!, kStride: 1 } };
  }
  const w = constFloat(g, n.inputs[1]);
  if (!w) return undefined;
  const weight = n.inputs[1]!;
  if (n.op === 'MatMul' && w.dims.length === 2) return { node: n, weight, x: n.inputs[0], view: { rows: w.dims[1]!, K: w.dims[0]!, rowStride: 1, kStride: w.dims[1]! } };
  if (n.op === 'Gemm' && w.dims.length === 2) {
    const view = intAttr(n, 'transB', 0) ? { rows: w.dims[0]!, K: w.dims[1]!, rowStride: w.dims[1]!, kStride: 1 } : { rows: w.dims[1]!, K: w.dims[0]!, rowStride: 1, kStride: w.dims[1]! };
    // with transA the activation's last axis is M, not K: no statistics to use
    return { node: n, weight, view, ...(intAttr(n, 'transA', 0) ? {} : { x: n.inputs[0] }) };
  }
  if (n.op === 'Conv' && w.dims.length >= 3 && o.conv) {
    const [cout, cinG] = w.dims as [number, number];
    const spatial = w.dims.slice(2).reduce((a, b) => a * b, 1), group = intAttr(n, 'group', 1);
    return { node: n, weight, x: n.inputs[0], view: { rows: cout, K: cinG * spatial, rowStride: cinG * spatial, kStride: 1 }, conv: { spatial, cinPerGroup: cinG, rowsPerGroup: cout / group } };
  }
  return undefined;
}

/** Every prunable weight with its one use; weights read elsewhere too (a second node, a subgraph, a graph output)
 *  stay dense. */
function prunable(g: Graph, o: PruneWeightsOptions): { uses: Use[]; skipped: { node: string; weight: string; reason: string }[] } {
  const exclude = new Set(o.exclude ?? []);
  const readers = new Map<string, number>();
  for (const n of g.nodes) {
    for (const v of n.inputs) if (v) readers.set(v, (readers.get(v) ?? 0) + 1);
    for (const sub of subgraphsIn(n)) for (const v of freeNames(sub)) readers.set(v, (readers.get(v) ?? 0) + 2);
  }
  for (const v of g.outputs) readers.set(v, (readers.get(v) ?? 0) + 2);
  const uses: Use[] = [], skipped: { node: string; weight: string; reason: string }[] = [];
  for (const n of g.nodes) {
    if (exclude.has(n.op) || exclude.has(n.name)) continue;
    const u = useOf(g, n, o);
    if (!u) continue;
    if (readers.get(u.weight) !== 1) { skipped.push({ node: n.name, weight: u.weight, reason: 'the weight has other readers' }); continue; }
    uses.push(u);
  }
  return { uses, skipped };
}

export function targetOf(o: PruneWeightsOptions): PruneTarget {
  if (o.pattern) { const [n, m] = o.pattern.split(':').map(Number) as [number, number]; return { kind: 'nm', nm: { n, m } }; }
  return { kind: 'unstructured', sparsity: o.sparsity };
}

/** The values whose second moment reconstruction needs (CalibrateOptions.secondMoment): MatMul/Gemm inputs. */
export function pruneWeightsInputs(g: Graph, o: PruneWeightsOptions): Set<string> {
  return new Set(prunable(g, o).uses.filter((u) => u.x && !u.conv).map((u) => u.x!));
}

/** ||x_k|| per row and input of a use, from the calibration statistics, or undefined (magnitude pruning). */
function activationNorm(u: Use, g: Graph, cal: CalibrationStats | undefined): ((r: number, k: number) => number) | undefined {
  const s = u.x ? cal?.values.get(u.x) : undefined;
  if (!s) return undefined;
  const t = g.types.get(u.x!);
  const rank = t?.kind === 'tensor' ? t.shape?.length ?? 0 : 0;
  if (u.conv) {
    const c = s.channels;
    if (!c || c.axis !== 1 || c.sumSq.length !== u.conv.cinPerGroup * (u.view.rows / u.conv.rowsPerGroup)) return undefined;
    const { spatial, cinPerGroup, rowsPerGroup } = u.conv;
    return (r, k) => Math.sqrt(c.sumSq[Math.floor(r / rowsPerGroup) * cinPerGroup + Math.floor(k / spatial)]!);
  }
  const c = s.channels;
  if (c && c.axis === rank - 1 && c.sumSq.length === u.view.K) return (_r, k) => Math.sqrt(c.sumSq[k]!);
  const m = s.secondMoment;
  if (m && m.size === u.view.K) return (_r, k) => Math.sqrt(m.gram[k * m.size + k]!);
  return undefined;
}

/** X^T X of each value in `xs` over the calibration samples, running the graph with them as its outputs: for a
 *  caller that calibrated without CalibrateOptions.secondMoment (the pass then collects what it needs itself). */
function secondMoments(g: Graph, xs: readonly string[], data: CalibrationData): Map<string, SecondMoment> {
  const acc = xs.map(() => new ValueAccumulator(undefined, true));
  const probe: Graph = { ...g, outputs: [...xs] };
  for (const s of data.samples) data.run(probe, s).forEach((v, i) => { if (isTensor(v) && v.dtype === 'float32') acc[i]!.add(v); });
  const out = new Map<string, SecondMoment>();
  xs.forEach((x, i) => { const m = acc[i]!.result()?.secondMoment; if (m) out.set(x, m); });
  return out;
}

export function pruneWeights(g: Graph, o: PruneWeightsOptions, cal?: CalibrationStats, source?: string, data?: CalibrationData): PruneWeightsResult {
  const layerTarget = targetOf(o);
  const { uses, skipped } = prunable(g, o);
  const moments = new Map<string, SecondMoment>();
  for (const u of uses) { const m = u.x && !u.conv ? cal?.values.get(u.x)?.secondMoment : undefined; if (m) moments.set(u.x!, m); }
  if (o.reconstruct && data) {
    const missing = [...new Set(uses.filter((u) => u.x && !u.conv && !moments.has(u.x)).map((u) => u.x!))];
    if (missing.length) for (const [x, m] of secondMoments(g, missing, data)) moments.set(x, m);
  }
  // the tables: unstructured whatever the pattern (a lookup gains nothing from N:M), ranked together by |W| and how
  // often the calibration reads each row when it was run (weights-gather.ts), else by magnitude per row
  const tableSparsity = o.embeddingSparsity ?? (layerTarget.kind === 'nm' ? 1 - layerTarget.nm.n / layerTarget.nm.m : o.sparsity);
  const tables = uses.filter((u) => u.node.op === 'Gather');
  let tableKeep: Map<string, Uint8Array> | undefined;
  if (data && tables.length && o.embeddingScore !== 'magnitude') {
    const reads = rowReads(g, tables.map((u) => u.node), data);
    const ts = tables.map((u) => { const t = g.initializers.get(u.weight)!; return { w: t.data as Float32Array, H: t.dims[1]!, reads: reads.get(u.node.name)! }; });
    const masks = tableMasks(ts, tableSparsity);
    tableKeep = new Map(tables.map((u, i) => [u.weight, masks[i]!]));
  }
  const inits = new Map(g.initializers);
  const layers: PrunedLayer[] = [];
  for (const u of uses) {
    const t = g.initializers.get(u.weight)!;
    const w = t.data as Float32Array;
    const target: PruneTarget = u.node.op === 'Gather' ? { kind: 'unstructured', sparsity: tableSparsity } : layerTarget;
    const joint = tableKeep?.get(u.weight);
    if (target.kind === 'nm' && u.view.K % target.nm.m !== 0) {
      skipped.push({ node: u.node.name, weight: u.weight, reason: `${u.view.K} inputs are not a multiple of ${target.nm.m}` });
      continue;
    }
    if (!joint && satisfies(w, u.view, target)) continue;
    const norm = joint ? undefined : activationNorm(u, g, cal);
    let out: Float32Array | undefined, method: PrunedLayer['method'] = norm || joint ? 'wanda' : 'magnitude', note: string | undefined;
    if (joint) { out = w.map((v, i) => (joint[i] ? v : 0)); note = 'ranked with the other tables by |W| and row reads'; }
    else if (o.reconstruct) {
      const m = u.x && !u.conv ? moments.get(u.x) : undefined;
      if (m && m.size === u.view.K) {
        try {
          out = obsPrune(w, u.view, target, m.gram, o.damp ?? 0.01);
          method = 'sparsegpt';
        } catch (e) {
          throw new OnnxcError(`prune-weights: cannot re-fit '${u.weight}': ${(e as Error).message}`, { model: source, node: u.node.name, op: u.node.op });
        }
      } else note = u.conv ? 'no re-fit for Conv (it needs the im2col second moment)' : u.x ? `no second moment of '${u.x}' in the calibration` : 'no activation to re-fit on';
    }
    if (!out) {
      const keep = wandaMask(w, u.view, target, norm);
      out = w.map((v, i) => (keep[i] ? v : 0));
    }
    let zeros = 0;
    for (let i = 0; i < out.length; i++) if (out[i] === 0) zeros++;
    inits.set(u.weight, makeTensor('float32', t.dims, out));
    layers.push({ node: u.node.name, op: u.node.op, weight: u.weight, params: out.length, zeros, method, ...(note ? { note } : {}) });
  }
  if (o.embeddingFp16) {
    for (const u of prunable(g, { ...o, embeddings: true }).uses) {
      if (u.node.op !== 'Gather') continue;
      const t = inits.get(u.weight)!, out = (t.data as Float32Array).map(f16Round);
      inits.set(u.weight, makeTensor('float32', t.dims, out));
      layers.push({ node: u.node.name, op: u.node.op, weight: u.weight, params: out.length, zeros: out.filter((v) => v === 0).length, method: 'fp16' });
    }
  }
  return { graph: layers.length ? { ...g, initializers: inits } : g, layers, skipped };
}

/** The typed options from a pass context's string options; undefined when neither sparsity nor pattern is set. */
export function pruneWeightsOptions(ctx: PassContext): PruneWeightsOptions | undefined {
  const get = (k: string): string | undefined => ctx.options.get(`prune-${k}`);
  const flag = (k: string): boolean => { const v = get(k); return v === '1' || v === 'true' || v === 'yes'; };
  const s = get('sparsity'), p = get('pattern');
  if (s === undefined && p === undefined) return undefined;
  if (p !== undefined && p !== '2:4' && p !== '4:8') throw new UsageError(`option prune-pattern=${p}: expected 2:4 or 4:8`);
  const sparsity = s === undefined ? 0.5 : Number(s);
  if (!(sparsity >= 0 && sparsity < 1)) throw new UsageError(`option prune-sparsity=${s}: expected a fraction in [0, 1)`);
  const damp = get('damp') === undefined ? undefined : Number(get('damp'));
  if (damp !== undefined && !(damp > 0)) throw new UsageError(`option prune-damp=${get('damp')}: expected a positive number`);
  // prune-embeddings=1: the tables as the layers; a fraction below 1 (0.3): the tables at that sparsity
  const e = get('embeddings'), embeddingSparsity = e !== undefined && /^0?\.\d+$|^0$/.test(e) ? Number(e) : undefined;
  if (e !== undefined && embeddingSparsity === undefined && !/^(1|0|true|false|yes|no|fp16)$/.test(e)) throw new UsageError(`option prune-embeddings=${e}: expected a sparsity in [0, 1), 1 (the layers'), or fp16`);
  const score = get('embeddings-score');
  if (score !== undefined && score !== 'reads' && score !== 'magnitude') throw new UsageError(`option prune-embeddings-score=${score}: expected reads or magnitude`);
  const exclude = (get('exclude') ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  return {
    sparsity, reconstruct: flag('reconstruct'), conv: flag('conv'), embeddings: flag('embeddings') || embeddingSparsity !== undefined,
    ...(e === 'fp16' ? { embeddingFp16: true } : {}), ...(score ? { embeddingScore: score } : {}),
    ...(embeddingSparsity !== undefined ? { embeddingSparsity } : {}),
    ...(p ? { pattern: p } : {}), ...(exclude.length ? { exclude } : {}), ...(damp !== undefined ? { damp } : {}),
  };
}

export const pruneWeightsPass = definePass({
  name: 'prune-weights',
  summary: 'one-shot unstructured or 2:4/4:8 weight pruning of MatMul/Gemm (Conv, Gather tables: options), Wanda scores, optional SparseGPT re-fit',
  requires: ['typed'],
  // pruning removes information: a bound is declared for the generated graphs' checks and `diff`, not a promise
  // on every model (drift is measured and reported per model; a no-op without prune-sparsity/prune-pattern)
  properties: { semantics: { kind: 'range', tol: 1 }, idempotent: true },
  run(g, ctx) {
    const o = pruneWeightsOptions(ctx);
    return o ? pruneWeights(g, o, ctx.calibration, ctx.source, ctx.calibrationData).graph : g;
  },
});
