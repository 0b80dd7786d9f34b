// `onnxc prune`: calibrate, prune (prune-channels, or prune-weights for the weights and 2:4 modes, by name from the
// registry), and measure what it cost against the unpruned model: per layer channels/sparsity, params and FLOPs,
// per-output drift and top-1 agreement on the calibration and eval sets. With a drift budget, the channel ratios
// come from the layers' measured local cost (share of activation-weighted importance removed, on the calibration
// set): one threshold on that cost sets every layer's ratio, bisected until the outputs' drift fits.

import { UsageError } from '../ir/errors.js';
import type { Graph, Model } from '../ir/graph.js';
import type { RuntimeValue } from '../ir/value.js';
import { runGraph } from '../backends/reference/interpreter.js';
import { getPass } from '../passes/index.js';
import { defaultContext, type CalibrationData, type PassContext } from '../passes/pass.js';
import { analyseChannels, pruneChannels, type SpacePlan } from '../passes/prune/index.js';
import { keepCount, lostShare, topChannels } from '../passes/prune/importance.js';
import type { RefitReport } from '../passes/prune/refit.js';
import type { DistilReport } from '../passes/prune/distil.js';
import { calibrate } from './calibrate.js';
import type { Sample } from './calibrate-data.js';
import { compareSets, runner, type SetReport } from './calibrate-quantize.js';
import { wasmBackend } from './compile.js';
import { exportModel } from './onnx/export.js';
import { accuracy, layerRows, paramCount, totalFlops, type EvalSet, type LayerRow } from './prune-report.js';

export type PruneMode = 'channels' | 'weights' | '2:4';
export const PRUNE_MODES: readonly PruneMode[] = ['channels', 'weights', '2:4'];

export interface PruneOptions {
  readonly mode: PruneMode;
  readonly sparsity?: number;
  readonly maxDrift?: number;
  readonly exclude?: readonly string[];
  /** Re-fit (channels) / reconstruct (weights) on the calibration set; default true. */
  readonly refit?: boolean;
  readonly criterion?: string;
  /** Weights modes: prune-weights' prune-embeddings value (a sparsity for the Gather tables, or fp16). */
  readonly embeddings?: string;
  readonly progress?: (done: number, total: number) => void;
}

export interface PruneReport {
  readonly mode: PruneMode;
  readonly refit: boolean;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly paramsBefore: number;
  readonly paramsAfter: number;
  readonly flopsBefore: number;
  readonly flopsAfter: number;
  readonly calibration: { readonly samples: number; readonly backend: string; readonly ms: number };
  readonly layers: readonly LayerRow[];
  readonly spaces?: readonly SpacePlan[];
  readonly refits?: readonly RefitReport[];
  /** The whole-model distillation after the re-fit (channels), when it was tried. */
  readonly distil?: DistilReport;
  readonly calibrationSet: SetReport;
  readonly evalSet?: SetReport & { readonly accuracyBefore?: Record<string, number>; readonly accuracyAfter?: Record<string, number> };
  /** With --max-drift: the cost threshold reached and the drift it gave. */
  readonly budget?: { readonly threshold: number; readonly drift: number; readonly tries: number };
}

export interface PruneResult { readonly model: Model; readonly bytes: Uint8Array; readonly report: PruneReport }

/** Calibration samples with a runner for any graph: the wasm backend (each graph compiled once), else the reference. */
export function calibrationData(samples: readonly Sample[], source?: string): CalibrationData {
  const prepared = new WeakMap<Graph, ((x: readonly RuntimeValue[]) => RuntimeValue[]) | 'reference'>();
  return {
    samples,
    run(graph, inputs) {
      let p = prepared.get(graph);
      if (p === undefined) {
        try {
          const w = wasmBackend.prepare({ graph, info: { source } });
          const first = w.run(inputs);
          prepared.set(graph, (x) => w.run(x));
          return first;
        } catch {
          p = 'reference';
          prepared.set(graph, p);
        }
      }
      return p === 'reference' ? runGraph(graph, inputs, { source }) : p(inputs);
    },
  };
}

const worst = (r: SetReport): number => Math.max(0, ...Object.values(r.drift));

export function pruneModel(model: Model, samples: readonly Sample[], opts: PruneOptions, evalSet?: EvalSet): PruneResult {
  if (samples.length === 0) throw new UsageError('prune needs at least one calibration sample');
  if (opts.sparsity !== undefined && opts.maxDrift !== undefined) throw new UsageError('give one of --sparsity S and --max-drift X, not both');
  if (opts.mode !== '2:4' && opts.sparsity === undefined && opts.maxDrift === undefined) throw new UsageError(`--mode ${opts.mode} needs --sparsity S or --max-drift X`);
  const g0 = model.graph, source = model.info.source;
  const cal = calibrate(model, samples, { progress: opts.progress });
  const refit = opts.refit ?? true;
  const base = new Map<string, string>([['prune-refit', refit ? '1' : '0'], ['prune-reconstruct', refit ? '1' : '0']]);
  if (opts.exclude?.length) base.set('prune-exclude', opts.exclude.join(','));
  if (opts.criterion) base.set('prune-criterion', opts.criterion);
  if (opts.mode === '2:4') base.set('prune-pattern', '2:4');
  if (opts.embeddings) base.set('prune-embeddings', opts.embeddings);
  const ctxWith = (extra: Record<string, string>): PassContext => defaultContext({
    source, options: new Map([...base, ...Object.entries(extra)]), calibration: cal.stats, calibrationData: calibrationData(samples, source),
  });
  const measure = (g: Graph): SetReport => compareSets(g, cal.outputs, samples.map(runner({ ...model, graph: g })));
  let graph: Graph, spaces: readonly SpacePlan[] | undefined, refits: readonly RefitReport[] | undefined, budget: PruneReport['budget'];
  let distil: DistilReport | undefined;
  if (opts.mode === 'channels') {
    const run = (extra: Record<string, string>): Graph => {
      const r = pruneChannels(g0, ctxWith(extra));
      ({ spaces, refits } = r);
      distil = r.distil;
      return r.graph;
    };
    if (opts.sparsity !== undefined) graph = run({ 'prune-sparsity': String(opts.sparsity) });
    else ({ graph, budget } = channelBudget(g0, ctxWith({}), opts.maxDrift!, (ratios) => run({ 'prune-ratios': ratios }), measure));
  } else {
    const pass = getPass('prune-weights');
    if (!pass) throw new UsageError(`--mode ${opts.mode} needs the prune-weights pass, which this build does not have`);
    const run = (s: number): Graph => pass.run(g0, ctxWith(opts.mode === '2:4' ? {} : { 'prune-sparsity': String(s) }));
    if (opts.sparsity !== undefined || opts.mode === '2:4') graph = run(opts.sparsity ?? 0.5);
    else {
      // one global sparsity, bisected: the largest whose drift fits
      let lo = 0, hi = 0.95, best: Graph = g0, tries = 0, drift = 0;
      for (; tries < 7; tries++) {
        const mid = (lo + hi) / 2, g = run(mid), d = worst(measure(g));
        if (d <= opts.maxDrift!) { lo = mid; best = g; drift = d; } else hi = mid;
      }
      graph = best;
      budget = { threshold: lo, drift, tries };
    }
  }
  const rep = measure(graph);
  const out: Model = { ...model, graph };
  const bytes = exportModel(out);
  let evalRep: PruneReport['evalSet'];
  if (evalSet) {
    const before = evalSet.samples.map(runner(model)), after = evalSet.samples.map(runner(out));
    evalRep = {
      ...compareSets(graph, before, after),
      ...(evalSet.expected ? { accuracyBefore: accuracy(g0, evalSet.expected, before), accuracyAfter: accuracy(graph, evalSet.expected, after) } : {}),
    };
  }
  return {
    model: out, bytes,
    report: {
      mode: opts.mode, refit, bytesBefore: exportModel(model).length, bytesAfter: bytes.length,
      paramsBefore: paramCount(g0), paramsAfter: paramCount(graph), flopsBefore: totalFlops(g0), flopsAfter: totalFlops(graph),
      calibration: { samples: cal.stats.samples, backend: cal.stats.backend, ms: cal.ms },
      layers: layerRows(g0, graph), ...(spaces ? { spaces } : {}), ...(refits ? { refits } : {}), ...(distil ? { distil } : {}),
      calibrationSet: rep, ...(evalRep ? { evalSet: evalRep } : {}), ...(budget ? { budget } : {}),
    },
  };
}

/** The drift budget for channels: each space's ratio is the largest step (of 1/8) whose local cost is under one
 *  threshold; the threshold is bisected (in log scale) for the largest whose outputs' drift fits `maxDrift`. */
function channelBudget(g: Graph, ctx: PassContext, maxDrift: number, prune: (ratios: string) => Graph, measure: (g: Graph) => SetReport):
  { graph: Graph; budget: NonNullable<PruneReport['budget']> } {
  const { cg, scores } = analyseChannels(g, ctx);
  const steps = [1, 2, 3, 4, 5, 6, 7].map((k) => k / 8);
  const costs = cg.spaces.filter((s) => !s.blocked).map((s) => {
    const sc = scores.get(s.id)!;
    return { name: s.name, at: steps.map((r) => ({ r, cost: lostShare(sc, topChannels(sc, keepCount(s.size, r))) })) };
  });
  const ratiosAt = (t: number): string => costs.map((c) => {
    const ok = c.at.filter((x) => x.cost <= t);
    return ok.length ? `${c.name}=${ok.at(-1)!.r}` : '';
  }).filter(Boolean).join(';');
  let lo = -5, hi = 0, best = { graph: g, threshold: 0, drift: 0 }, tries = 0;
  for (; tries < 7; tries++) {
    const mid = (lo + hi) / 2, ratios = ratiosAt(10 ** mid);
    if (!ratios) { lo = mid; continue; }
    const pruned = prune(ratios), d = worst(measure(pruned));
    if (d <= maxDrift) { lo = mid; best = { graph: pruned, threshold: 10 ** mid, drift: d }; } else hi = mid;
  }
  return { graph: best.graph, budget: { threshold: best.threshold, drift: best.drift, tries } };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const big = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(2)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));

export function formatPruneReport(r: PruneReport): string {
  const lines = [
    `prune ${r.mode}${r.refit ? '' : ' (no re-fit)'}: params ${big(r.paramsBefore)} -> ${big(r.paramsAfter)}, FLOPs ${big(r.flopsBefore)} -> ${big(r.flopsAfter)} (${(r.flopsBefore / Math.max(1, r.flopsAfter)).toFixed(2)}x fewer), ONNX ${(r.bytesBefore / 1e6).toFixed(2)} MB -> ${(r.bytesAfter / 1e6).toFixed(2)} MB`,
    `calibration: ${r.calibration.samples} samples on ${r.calibration.backend} in ${(r.calibration.ms / 1000).toFixed(1)} s`,
  ];
  const w = Math.max(4, ...r.layers.map((l) => l.node.length));
  lines.push(`${'layer'.padEnd(w)}  op             ${r.mode === 'channels' ? 'channels ' : 'sparsity '}  params            FLOPs`);
  for (const l of r.layers) {
    const what = r.mode === 'channels' ? `${l.channelsBefore}->${l.channelsAfter}` : pct(l.sparsity);
    lines.push(`${l.node.padEnd(w)}  ${l.op.padEnd(13)}  ${what.padEnd(9)}  ${`${big(l.paramsBefore)}->${big(l.paramsAfter)}`.padEnd(16)}  ${big(l.flopsBefore)}->${big(l.flopsAfter)}`);
  }
  for (const f of r.refits ?? []) {
    const held = f.heldOut ? `; held-out ${f.heldOut.before.toExponential(2)} -> ${f.heldOut.after.toExponential(2)}, ${f.ridge === undefined ? 'sliced weights kept' : `ridge ${f.ridge}`}` : '';
    lines.push(f.skipped ? `re-fit ${f.node}: skipped (${f.skipped})` : `re-fit ${f.node}: ${f.rows} rows x ${f.features} features, relative error ${f.errorBefore.toExponential(2)} -> ${f.errorAfter.toExponential(2)}${held}`);
  }
  const d = r.distil;
  if (d) {
    lines.push(d.skipped ? `distillation: skipped (${d.skipped})`
      : `distillation: ${d.epochs} epochs over ${d.params} parameters, held-out logit error ${d.before!.toExponential(2)} after the re-fit -> ${d.after!.toExponential(2)}${d.kept ? ` (epoch ${d.kept} kept)` : ' (the re-fit kept: no epoch did better)'}`);
  }
  const set = (label: string, s: SetReport): void => {
    for (const [o, d] of Object.entries(s.drift)) lines.push(`${label} (${s.samples} samples) ${o}: drift ${d.toExponential(2)} of range${s.top1[o] !== undefined ? `, top-1 agreement ${pct(s.top1[o]!)}` : ''}`);
  };
  set('calibration set', r.calibrationSet);
  if (r.evalSet) {
    set('eval set', r.evalSet);
    for (const [o, a] of Object.entries(r.evalSet.accuracyAfter ?? {})) lines.push(`eval set ${o}: accuracy against output_K.pb ${pct(r.evalSet.accuracyBefore?.[o] ?? NaN)} unpruned -> ${pct(a)} pruned`);
  }
  if (r.budget) lines.push(`--max-drift: cost threshold ${r.budget.threshold.toExponential(2)} after ${r.budget.tries} tries, drift ${r.budget.drift.toExponential(2)}`);
  return lines.join('\n');
}
