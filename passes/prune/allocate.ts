// Sensitivity-based allocation of a global channel budget (prune-allocation=sensitivity): removing S of every space
// treats a residual stream, whose channels every block reads and writes, like a block's inner conv, whose channels
// one layer reads. Measured on the digits ResNet (models/train-cnn.ts): 50% of one residual space alone costs 1.7
// points of accuracy, 50% of one inner conv 0.1. So each prunable space is pruned alone at a few ratios, through the
// same selection and re-fit as the real run, and the drift of the model's outputs on the calibration set is its
// cost curve; then the same number of channels as S of every space (the budget stays honest: S of the prunable
// channels go) is spread over the spaces to minimise the summed cost (exact knapsack over channel counts, costs
// interpolated between the measured ratios), under a FLOPs floor: the result must also remove S of the dense
// multiply-adds, so that channels moved to cheap layers do not buy accuracy with speed. Costly models (the runs
// exceed a budget) and budgets no allocation meets keep the uniform ratio.

import type { Graph } from '../../ir/graph.js';
import { isTensor, type RuntimeValue } from '../../ir/value.js';
import type { CalibrationData } from '../pass.js';
import { constOf, denseForm, isDepthwise, type ChannelGraph, type Space } from './groups.js';
import { keepCount } from './importance.js';

/** Ratios each space is measured at (alone). */
export const STEPS = [0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875] as const;
/** Multiply-adds allowed for all sensitivity runs (model MACs x samples x runs per measurement x measurements). */
const BUDGET = 1.5e11;
/** Model runs per measurement: the re-fit's original and staged runs, and the drift run. */
const RUNS_PER = 3;
/** Fewest calibration samples worth measuring on. */
const MIN_SAMPLES = 32;

export interface SpaceCurve { readonly space: number; readonly name: string; readonly removed: readonly number[]; readonly cost: readonly number[] }
export interface AllocationResult {
  /** Channels kept per space id. */
  readonly kept: Map<number, number>;
  readonly curves: readonly SpaceCurve[];
  /** Samples the drift was measured on. */
  readonly samples: number;
  /** Weight of the FLOPs term that brought the multiply-adds under (1 - S) of the model's (0: not needed). */
  readonly lambda: number;
}

const dimsOf = (g: Graph, v: string): number[] | undefined => {
  const t = g.types.get(v);
  return t?.kind === 'tensor' && t.shape ? t.shape.map((d) => (typeof d === 'number' ? d : 1)) : undefined;
};

/** Multiply-adds of one run of the dense layers (symbolic dims counted as 1). */
export function denseMacs(g: Graph): number {
  let s = 0;
  for (const n of g.nodes) {
    const f = denseForm(g, n), out = n.outputs[0] ? dimsOf(g, n.outputs[0]) : undefined;
    if (!f || !out) continue;
    const w = f.weight.dims.reduce((a, b) => a * b, 1) / f.weight.dims[f.outAxis]!;
    s += out.reduce((a, b) => a * b, 1) * w;
  }
  return s;
}

/** Multiply-adds of the dense and depthwise layers when space id s keeps kept.get(s) of its channels. */
export function keptMacs(g: Graph, cg: ChannelGraph, kept: ReadonlyMap<number, number>): number {
  const size = new Map(cg.spaces.map((sp) => [sp.id, sp.size]));
  const share = (v: string | undefined): number => {
    const l = v ? cg.layouts.get(v) : undefined;
    if (!l) return 1;
    const all = l.segments.reduce((a, x) => a + x.size, 0);
    return l.segments.reduce((a, x) => a + (kept.get(x.space) ?? size.get(x.space) ?? x.size) * (x.size / (size.get(x.space) ?? x.size)), 0) / all;
  };
  let s = 0;
  for (const n of g.nodes) {
    const out = n.outputs[0] ? dimsOf(g, n.outputs[0]) : undefined;
    if (!out) continue;
    const f = denseForm(g, n), w = constOf(g, n.inputs[1]);
    if (f) {
      const per = f.weight.dims.reduce((a, b) => a * b, 1) / f.weight.dims[f.outAxis]!;
      s += out.reduce((a, b) => a * b, 1) * per * share(n.outputs[0]) * (cg.consumers.includes(n) ? share(n.inputs[0]) : 1);
    } else if (w && isDepthwise(g, n)) {
      s += out.reduce((a, b) => a * b, 1) * w.dims.slice(2).reduce((a, b) => a * b, 1) * share(n.inputs[0]);
    }
  }
  return s;
}

/** Σ ||pruned - original||² / Σ ||original - mean||² over every float output (mean over samples, per element). */
function driftOf(want: readonly RuntimeValue[][], got: readonly RuntimeValue[][]): number {
  let total = 0;
  want[0]!.forEach((_, k) => {
    const ys = want.map((o) => o[k]), qs = got.map((o) => o[k]);
    if (!ys.every((y) => isTensor(y) && y.dtype === 'float32')) return;
    const n = (ys[0] as { data: Float32Array }).data.length;
    if (!ys.every((y) => (y as { data: Float32Array }).data.length === n)) return;
    const mean = new Float64Array(n);
    for (const y of ys) { const d = (y as { data: Float32Array }).data; for (let i = 0; i < n; i++) mean[i]! += d[i]! / ys.length; }
    let err = 0, spread = 0;
    ys.forEach((y, s) => {
      const a = (y as { data: Float32Array }).data, q = qs[s];
      const b = isTensor(q) && q.data.length === n ? (q.data as Float32Array) : undefined;
      for (let i = 0; i < n; i++) {
        spread += (a[i]! - mean[i]!) ** 2;
        err += b ? (a[i]! - b[i]!) ** 2 : a[i]! ** 2;
      }
    });
    total += spread > 0 ? err / spread : err;
  });
  return total;
}

/** Per space, the cheapest removal counts under the budget: knapsack over exact channel counts. */
export function spread(curves: readonly SpaceCurve[], sizes: ReadonlyMap<number, number>, budget: number, multiple: number,
  bonus: (space: number, removed: number) => number = () => 0): Map<number, number> | undefined {
  const INF = Number.POSITIVE_INFINITY;
  // options per space: every removal count d whose kept count is allowed, its cost interpolated (monotone)
  const options = curves.map((c) => {
    const size = sizes.get(c.space)!, xs = [0, ...c.removed], ys = [0, ...c.cost];
    for (let i = 1; i < ys.length; i++) ys[i] = Math.max(ys[i]!, ys[i - 1]!);
    const out: { d: number; cost: number }[] = [];
    for (let d = 0; d <= xs.at(-1)!; d++) {
      const k = size - d;
      if (multiple > 1 && d > 0 && k % multiple !== 0) continue;
      let i = 1;
      while (i < xs.length - 1 && xs[i]! < d) i++;
      const x0 = xs[i - 1]!, x1 = xs[i]!;
      const cost = x1 === x0 ? ys[i]! : ys[i - 1]! + ((ys[i]! - ys[i - 1]!) * (d - x0)) / (x1 - x0);
      out.push({ d, cost: cost - bonus(c.space, d) });
    }
    return out;
  });
  let best = new Float64Array(budget + 1).fill(INF);
  best[0] = 0;
  const picks: Int32Array[] = [];
  for (const opts of options) {
    const next = new Float64Array(budget + 1).fill(INF), pick = new Int32Array(budget + 1).fill(-1);
    for (let j = 0; j <= budget; j++) {
      if (best[j] === INF) continue;
      for (const o of opts) {
        const t = j + o.d;
        if (t > budget) break;
        const c = best[j]! + o.cost;
        if (c < next[t]!) { next[t] = c; pick[t] = o.d; }
      }
    }
    picks.push(pick);
    best = next;
  }
  if (best[budget] === INF) return undefined;
  const out = new Map<number, number>();
  for (let i = curves.length - 1, j = budget; i >= 0; i--) {
    const d = picks[i]![j]!;
    out.set(curves[i]!.space, sizes.get(curves[i]!.space)! - d);
    j -= d;
  }
  return out;
}

/** Channels kept per prunable space for `sparsity` of all their channels, or undefined when too costly to measure.
 *  `prune(kept, data)` prunes the spaces given (kept counts by space id) as the real run would, re-fit included. */
export function allocateBySensitivity(g: Graph, cg: ChannelGraph, sparsity: number, multiple: number, data: CalibrationData,
  prune: (kept: ReadonlyMap<number, number>, data: CalibrationData) => Graph): AllocationResult | undefined {
  const open = cg.spaces.filter((s: Space) => !s.blocked);
  if (open.length < 2 || data.samples.length === 0) return undefined;
  const budget = open.reduce((a, s) => a + s.size - keepCount(s.size, sparsity, multiple), 0);
  if (budget === 0) return undefined;
  const measurements = open.length * STEPS.length;
  const perSample = denseMacs(g) * RUNS_PER * measurements;
  const n = Math.min(data.samples.length, Math.floor(BUDGET / Math.max(1, perSample)));
  if (n < Math.min(MIN_SAMPLES, data.samples.length)) return undefined;
  // an even spread over the calibration set when only some samples fit the budget
  const samples = n === data.samples.length ? data.samples : Array.from({ length: n }, (_, i) => data.samples[Math.floor((i * data.samples.length) / n)]!);
  const sub: CalibrationData = { samples, run: (gr, x) => data.run(gr, x) };
  const want = samples.map((s) => data.run(g, s));
  const curves: SpaceCurve[] = open.map((s) => {
    const removed: number[] = [], cost: number[] = [];
    for (const r of STEPS) {
      const k = keepCount(s.size, r, multiple), d = s.size - k;
      if (d === 0 || removed.includes(d)) continue;
      const pg = prune(new Map([[s.id, k]]), sub);
      removed.push(d);
      cost.push(driftOf(want, samples.map((x) => data.run(pg, x))));
    }
    return { space: s.id, name: s.name, removed, cost };
  });
  // the FLOPs floor: moving channels to cheap layers must still remove S of the multiply-adds; each space's removal
  // earns lambda x the share of multiply-adds its layers hold (separable estimate), lambda raised until it does
  const sizes = new Map(open.map((s) => [s.id, s.size])), full = new Map<number, number>();
  const before = keptMacs(g, cg, full), cap = before * (1 - sparsity);
  const held = new Map(open.map((s) => [s.id, (before - keptMacs(g, cg, new Map([[s.id, 0]]))) / Math.max(1, before)]));
  for (const lambda of [0, ...Array.from({ length: 12 }, (_, i) => 1e-4 * 3 ** i)]) {
    const kept = spread(curves, sizes, budget, multiple, (id, d) => (lambda * held.get(id)! * d) / sizes.get(id)!);
    if (kept && keptMacs(g, cg, kept) <= cap) return { kept, curves, samples: n, lambda };
  }
  return undefined;
}
