// prune-channels: structured pruning. Whole output channels of Conv/ConvTranspose/Gemm/MatMul layers go, with
// everything that depends on them (groups.ts finds the tied channel spaces, slice.ts cuts every weight), ranked by
// importance.ts, and the layers that lost input channels are re-fitted by least squares against the original
// model's activations (refit.ts) when the context carries calibration data, then the whole pruned model is distilled
// towards the original's outputs (distil.ts; with prune-sparsity, prune-distil=0 turns it off). It does nothing unless told how much
// to prune: prune-sparsity=S (S of the prunable channels in all: with calibration data spread over the spaces by
// their measured sensitivity, allocate.ts; prune-allocation=uniform, or without data: S of every space) or
// prune-ratios=SPACE=R;... (per space, what the drift budget of `onnxc prune` hands it).

import { UsageError } from '../../ir/errors.js';
import type { Graph, Node } from '../../ir/graph.js';
import { definePass, numberOption, type CalibrationData, type PassContext } from '../pass.js';
import { allocateBySensitivity, type AllocationResult } from './allocate.js';
import { channelGraph, type ChannelGraph, type Space } from './groups.js';
import { channelScores, CRITERIA, keepCount, lostShare, topChannels, type Criterion } from './importance.js';
import { refitLayers, type RefitReport, type RefitTarget } from './refit.js';
import { reconstructionScores } from './select-obs.js';
import { applySelection, keptOf } from './slice.js';
import { distil, DISTIL_DEFAULTS, type DistilReport } from './distil.js';

export interface SpacePlan {
  readonly name: string;
  readonly size: number;
  readonly kept: number;
  readonly producers: readonly string[];
  /** Share of squared importance dropped (the local cost). */
  readonly lost: number;
  readonly blocked?: string;
}

export interface ChannelPruneResult {
  readonly graph: Graph;
  readonly spaces: readonly SpacePlan[];
  readonly refits: readonly RefitReport[];
  readonly criterion: Criterion;
  /** The dependency graph of the input and the kept channels per pruned space (tests check the result against it). */
  readonly channels: ChannelGraph;
  readonly selection: ReadonlyMap<number, readonly number[]>;
  /** With prune-allocation=sensitivity (the default with calibration data and one prune-sparsity): the measured
   *  cost curves and the kept counts they chose. */
  readonly allocation?: AllocationResult;
  /** The whole-model correction after the re-fit (prune-distil, distil.ts), when it ran. */
  readonly distil?: DistilReport;
}

function criterionOf(ctx: PassContext): Criterion {
  // with calibration data to run, reconstruction-aware (it falls back to activation-aware where it cannot measure)
  const c = ctx.options.get('prune-criterion') ?? (ctx.calibrationData ? 'reconstruction' : ctx.calibration ? 'activation' : 'l1');
  if (!(CRITERIA as readonly string[]).includes(c)) throw new UsageError(`option prune-criterion=${c}: expected one of ${CRITERIA.join(', ')}`);
  return c as Criterion;
}

/** `prune-ratios=conv1=0.5;conv2=0.25` (space names are their first producer's node name). */
export function parseRatios(s: string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const part of (s ?? '').split(';').map((x) => x.trim()).filter(Boolean)) {
    const at = part.lastIndexOf('=');
    const r = Number(part.slice(at + 1));
    if (at <= 0 || !(r >= 0 && r < 1)) throw new UsageError(`option prune-ratios: '${part}' is not SPACE=R with 0 <= R < 1`);
    m.set(part.slice(0, at), r);
  }
  return m;
}

function sparsityOf(ctx: PassContext): number | undefined {
  const v = ctx.options.get('prune-sparsity');
  if (v === undefined) return undefined;
  const s = Number(v);
  if (!(s >= 0 && s < 1)) throw new UsageError(`option prune-sparsity=${v}: expected a fraction 0 <= S < 1`);
  return s;
}

/** Node names or op types left whole (prune-exclude=Gemm,conv7). */
function excludedBy(ctx: PassContext): (n: Node) => boolean {
  const list = new Set((ctx.options.get('prune-exclude') ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  return (n) => list.has(n.name) || list.has(n.op);
}

/** The channel-dependency graph and every space's importance (for the drift budget's local costs). */
export function analyseChannels(g: Graph, ctx: PassContext): { cg: ChannelGraph; scores: Map<number, Float64Array>; criterion: Criterion } {
  const cg = channelGraph(g, excludedBy(ctx));
  const criterion = criterionOf(ctx);
  const scores = new Map<number, Float64Array>();
  // reconstruction-aware where it can measure the consumers (select-obs.ts), activation-aware elsewhere
  const recon = criterion === 'reconstruction' && ctx.calibrationData ? reconstructionScores(g, cg, ctx.calibrationData) : undefined;
  for (const s of cg.spaces) {
    if (!s.blocked) scores.set(s.id, recon?.get(s.id) ?? channelScores(g, cg, s, criterion === 'reconstruction' ? 'activation' : criterion, ctx.calibration));
  }
  return { cg, scores, criterion };
}

export function pruneChannels(g: Graph, ctx: PassContext): ChannelPruneResult {
  const sparsity = sparsityOf(ctx), ratios = parseRatios(ctx.options.get('prune-ratios'));
  const { cg, scores, criterion } = analyseChannels(g, ctx);
  const multiple = numberOption(ctx, 'prune-multiple', 1);
  const refit = (ctx.options.get('prune-refit') ?? '1') !== '0';
  // the selection and re-fit of any kept counts per space (the allocation measures single spaces through it)
  const pruneKept = (keep: ReadonlyMap<number, number>, data: CalibrationData | undefined): { graph: Graph; sel: Map<number, number[]>; refits: RefitReport[] } => {
    const sel = new Map<number, number[]>();
    for (const [id, k] of keep) if (k < cg.spaces.find((s) => s.id === id)!.size) sel.set(id, topChannels(scores.get(id)!, k));
    const sliced = applySelection(g, cg, sel, ctx.source);
    if (sliced === g || !refit || !data) return { graph: sliced, sel, refits: [] };
    // the layers whose input lost channels; their own output channels kept are what they are fitted to
    const targets: RefitTarget[] = cg.consumers
      .filter((n) => keptOf(cg.layouts.get(n.inputs[0]!), sel))
      .map((n) => ({ node: n.name, ...(keptOf(cg.layouts.get(n.outputs[0]!), sel) ? { outKept: keptOf(cg.layouts.get(n.outputs[0]!), sel)! } : {}) }));
    const r = refitLayers(g, sliced, targets, data, {
      ridge: numberOption(ctx, 'prune-ridge', 1e-3),
      positions: numberOption(ctx, 'prune-positions', 64),
      seed: numberOption(ctx, 'prune-seed', 1),
      residual: (ctx.options.get('prune-residual-target') ?? '1') !== '0',
    });
    return { graph: r.graph, sel, refits: r.reports };
  };
  const open = cg.spaces.filter((s) => !s.blocked);
  let keep = new Map(open.map((s) => [s.id, keepCount(s.size, ratios.get(s.name) ?? sparsity ?? 0, multiple)]));
  let allocation: AllocationResult | undefined;
  const allocate = ctx.options.get('prune-allocation') ?? 'sensitivity';
  if (allocate !== 'sensitivity' && allocate !== 'uniform') throw new UsageError(`option prune-allocation=${allocate}: expected sensitivity or uniform`);
  if (allocate === 'sensitivity' && sparsity !== undefined && ratios.size === 0 && ctx.calibrationData) {
    allocation = allocateBySensitivity(g, cg, sparsity, multiple, ctx.calibrationData, (k, data) => pruneKept(k, refit ? data : undefined).graph);
    if (allocation) keep = allocation.kept;
  }
  const kept = pruneKept(keep, ctx.calibrationData);
  const { sel, refits } = kept;
  let graph = kept.graph, distilled: DistilReport | undefined;
  // the whole-model correction runs on the final selection only (not on the allocation's single-space probes)
  // by default with prune-sparsity; prune-ratios (what `onnxc prune --max-drift` searches over, one prune per try)
  // distils only when asked (prune-distil=1)
  const distilOn = (ctx.options.get('prune-distil') ?? (ratios.size === 0 ? '1' : '0')) !== '0';
  if (refit && ctx.calibrationData && graph !== g && distilOn) {
    const d = distil(g, graph, ctx.calibrationData, {
      epochs: numberOption(ctx, 'prune-distil-epochs', DISTIL_DEFAULTS.epochs),
      rate: numberOption(ctx, 'prune-distil-rate', DISTIL_DEFAULTS.rate),
      seed: numberOption(ctx, 'prune-seed', DISTIL_DEFAULTS.seed),
    });
    graph = d.graph; distilled = d.report;
  }
  const spaces: SpacePlan[] = cg.spaces.map((s: Space) => {
    const base = { name: s.name, size: s.size, producers: s.producers.map((p) => p.name) };
    if (s.blocked) return { ...base, kept: s.size, lost: 0, blocked: s.blocked };
    const kept = sel.get(s.id) ?? Array.from({ length: s.size }, (_, i) => i);
    return { ...base, kept: kept.length, lost: lostShare(scores.get(s.id)!, kept) };
  });
  return { graph, spaces, refits, criterion, channels: cg, selection: sel, ...(allocation ? { allocation } : {}), ...(distilled ? { distil: distilled } : {}) };
}

export const pruneChannelsPass = definePass({
  name: 'prune-channels',
  summary: 'structured pruning: remove whole channels (tied groups together), re-fit the next layer by least squares on calibration data',
  requires: ['typed'],
  // removing channels bounds nothing elementwise: what is declared is that outputs keep their scale (checked by
  // test/prune on generated CNNs at 50%); `onnxc prune` measures the real drift on the calibration and eval sets
  properties: { semantics: { kind: 'range', tol: 1 }, idempotent: false },
  run: (g, ctx) => pruneChannels(g, ctx).graph,
});
