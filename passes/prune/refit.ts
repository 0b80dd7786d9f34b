// Reconstruction after channel pruning (channel pruning with least-squares reconstruction, He et al. 2017): each
// layer that lost input channels is re-fitted so that, on the calibration set, its output matches the ORIGINAL
// model's output at the same layer. Layers go in graph order and read their inputs from the pruned model with every
// earlier layer already re-fitted, so each fit also absorbs the error of the ones before it. Targets are sampled at
// a few seeded output positions per sample; the fit is ridge regression towards the sliced weights, solved by
// Cholesky in Float64. The pruned graph is run stage by stage (between two re-fitted layers), each stage once per
// sample, so the whole re-fit costs about one run of the model plus one of the original.

import type { Graph } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { prng } from '../../ir/random.js';
import { isTensor, type RuntimeValue } from '../../ir/value.js';
import { allNames, NameSource, namesRead } from '../graph-util.js';
import type { CalibrationData } from '../pass.js';
import { constOf } from './groups.js';
import { ridgeSolve } from './linalg.js';
import { addRow, chooseRidge, HOLD, normalRows, residual, sumRows } from './ridge-select.js';
import { layerForm, type LayerForm } from './refit-rows.js';
import { residualTarget, type ResidualTarget } from './refit-target.js';

export interface RefitOptions {
  /** Ridge strength relative to the mean diagonal of XᵀX. */
  readonly ridge: number;
  /** Output positions sampled per sample and layer. */
  readonly positions: number;
  readonly seed: number;
  /** Fit residual branches to the original sum less the pruned shortcut (default true). */
  readonly residual?: boolean;
}

export interface RefitTarget {
  /** Node name (the same in the original and the pruned graph). */
  readonly node: string;
  /** Output channels kept (indices into the original output), undefined: all. */
  readonly outKept?: readonly number[];
}

export interface RefitReport {
  readonly node: string;
  readonly rows: number;
  readonly features: number;
  /** ||Y - XΘ||² / ||Y||² on the calibration rows with the sliced weights, and after the re-fit. */
  readonly errorBefore: number;
  readonly errorAfter: number;
  /** Why the layer was not re-fitted. */
  readonly skipped?: string;
  /** Ridge strength used (relative to the mean diagonal of XᵀX); absent: the held-out samples preferred the sliced
   *  weights, which were kept. */
  readonly ridge?: number;
  /** When the ridge was chosen on held-out samples: their relative error with the sliced weights and with the fit. */
  readonly heldOut?: { readonly before: number; readonly after: number };
  /** Fitted to a residual Add's original sum less its other operand in the pruned model (refit-target.ts). */
  readonly residual?: string;
}

const tensorOut = (v: RuntimeValue | undefined, what: string): Tensor => {
  if (!isTensor(v) || v.dtype !== 'float32') throw new Error(`internal: re-fit expected a float32 tensor for ${what}`);
  return v;
};

/** Deterministic positions for (layer j, sample k): all of them when there are few. */
function positionsFor(j: number, k: number, total: number, want: number, seed: number): number[] {
  if (total <= want) return Array.from({ length: total }, (_, i) => i);
  const rand = prng((seed * 1_000_003 + j * 7919 + k * 104_729) >>> 0);
  const picked = new Set<number>();
  while (picked.size < want) picked.add(Math.floor(rand() * total));
  return [...picked].sort((a, b) => a - b);
}

export function refitLayers(orig: Graph, pruned: Graph, targets: readonly RefitTarget[], data: CalibrationData, opts: RefitOptions):
  { graph: Graph; reports: RefitReport[] } {
  const reports: RefitReport[] = [];
  const index = new Map(pruned.nodes.map((n, i) => [n.name, i]));
  const todo: { t: RefitTarget; form: LayerForm; res?: ResidualTarget }[] = [];
  const producedAt = new Map<string, number>();
  pruned.nodes.forEach((n, i) => { for (const o of n.outputs) if (o) producedAt.set(o, i); });
  for (const t of [...targets].sort((a, b) => index.get(a.node)! - index.get(b.node)!)) {
    const n = pruned.nodes[index.get(t.node)!]!;
    const form = layerForm(pruned, n);
    if (typeof form === 'string') { reports.push({ node: t.node, rows: 0, features: 0, errorBefore: NaN, errorAfter: NaN, skipped: form }); continue; }
    const res = opts.residual === false ? undefined : residualOf(orig, t.node);
    // the other operand must already be computed (in the pruned model) when this layer is fitted
    const ready = res && (pruned.inputs.includes(res.other) || (producedAt.get(res.other) ?? Infinity) < index.get(t.node)!);
    todo.push({ t, form, ...(ready ? { res } : {}) });
  }
  if (todo.length === 0 || data.samples.length === 0) return { graph: pruned, reports };
  // targets: the original layer outputs (or residual sums) at the sampled positions, kept channels only
  const origOut: Graph = { ...orig, outputs: todo.map(({ t, res }) => res?.sum ?? orig.nodes.find((n) => n.name === t.node)!.outputs[0]!) };
  const ys: Float64Array[][] = todo.map(() => []);
  const outDims: (readonly number[])[][] = todo.map(() => []);
  data.samples.forEach((sample, k) => {
    const outs = data.run(origOut, sample);
    todo.forEach(({ t, form }, j) => {
      const y = tensorOut(outs[j], `${t.node}'s output`);
      outDims[j]![k] = y.dims;
      const total = form.positions(y.dims);
      for (const p of positionsFor(j, k, total, opts.positions, opts.seed)) ys[j]!.push(form.target(y, p, t.outKept));
    });
  });
  // the pruned graph, stage by stage
  let cur = pruned;
  const names = new NameSource(allNames(pruned));
  const lastUse = new Map<string, number>();
  pruned.nodes.forEach((n, i) => { for (const v of namesRead(n)) lastUse.set(v, i); });
  const envs: Map<string, RuntimeValue>[] = data.samples.map((s) => new Map(pruned.inputs.map((name, i) => [name, s[i]!])));
  let from = 0;
  todo.forEach(({ t, form, res }, j) => {
    const at = index.get(t.node)!;
    runStage(cur, from, at, lastUse, envs, data);
    from = at;
    const F = form.width, M = form.outputs;
    // samples k % HOLD === HOLD - 1 form the held-out fold that picks the ridge strength when rows are few
    const folds = [normalRows(F, M), normalRows(F, M)];
    let rows = 0;
    envs.forEach((env, k) => {
      const x = tensorOut(env.get(cur.nodes[at]!.inputs[0]!), `${t.node}'s input`);
      const pos = positionsFor(j, k, form.positions(outDims[j]![k]!), opts.positions, opts.seed);
      const acc = folds[envs.length >= HOLD && k % HOLD === HOLD - 1 ? 1 : 0]!;
      const other = res ? tensorOut(env.get(res.other), `${t.node}'s residual operand`) : undefined;
      pos.forEach((p, r) => addRow(acc, form.features(x, p, outDims[j]![k]!), other ? branchTarget(ys[j]![rows + r]!, form.target(other, p, undefined), res!, t.outKept) : ys[j]![rows + r]!));
      rows += pos.length;
    });
    const all = sumRows(folds[0]!, folds[1]!);
    const prior = form.prior(cur);
    const pick = chooseRidge(folds[0]!, folds[1]!, prior, opts.ridge);
    const theta = pick.ridge === undefined ? prior : ridgeSolve(all.xtx, all.xty, prior, F, M, pick.ridge);
    const before = residual(all, prior), after = residual(all, theta);
    // a fit that does worse on its own rows (a degenerate case) keeps the sliced weights
    if (after <= before && theta !== prior) cur = form.write(cur, theta, (h) => names.fresh(h));
    reports.push({
      node: t.node, rows, features: F, errorBefore: before, errorAfter: Math.min(before, after),
      ...(pick.ridge !== undefined ? { ridge: pick.ridge } : {}), ...(pick.heldOut ? { heldOut: pick.heldOut } : {}),
      ...(res ? { residual: res.other } : {}),
    });
  });
  return { graph: cur, reports };
}

/** The residual target of node `name` of the original graph (its output channels on axis 1 for Conv, last otherwise). */
function residualOf(orig: Graph, name: string): ResidualTarget | undefined {
  const n = orig.nodes.find((x) => x.name === name)!;
  const t = orig.types.get(n.outputs[0]!);
  const dims = t?.kind === 'tensor' ? t.shape : undefined;
  if (!dims) return undefined;
  const axis = n.op.startsWith('Conv') ? 1 : dims.length - 1, size = dims[axis];
  return typeof size === 'number' ? residualTarget(orig, n, axis, size) : undefined;
}

/** (sum - other - b) / a per kept channel: what the layer's own output should be for the sum to match. */
function branchTarget(sum: Float64Array, other: Float64Array, res: ResidualTarget, kept: readonly number[] | undefined): Float64Array {
  const out = new Float64Array(sum.length);
  for (let m = 0; m < sum.length; m++) {
    const c = kept ? kept[m]! : m;
    out[m] = (sum[m]! - other[m]! - res.b[c]!) / res.a[c]!;
  }
  return out;
}

/** Runs nodes [from, to) of `g` on every sample's environment; keeps only values read at `to` or later. */
function runStage(g: Graph, from: number, to: number, lastUse: ReadonlyMap<string, number>, envs: Map<string, RuntimeValue>[], data: CalibrationData): void {
  if (to <= from) return;
  const nodes = g.nodes.slice(from, to);
  const defined = new Set(nodes.flatMap((n) => n.outputs.filter(Boolean)));
  const reads = [...new Set(nodes.flatMap((n) => namesRead(n)))];
  const inputs = reads.filter((v) => !defined.has(v) && !constOf(g, v));
  const inits = new Map(reads.filter((v) => constOf(g, v)).map((v) => [v, g.initializers.get(v)!]));
  const outputs = [...defined].filter((v) => (lastUse.get(v) ?? -1) >= to || g.outputs.includes(v));
  if (outputs.length === 0) return;
  const types = new Map([...inputs, ...inits.keys(), ...defined].filter((v) => g.types.has(v)).map((v) => [v, g.types.get(v)!]));
  const stage: Graph = { name: `${g.name}_stage_${from}`, inputs, outputs, nodes, initializers: inits, types };
  for (const env of envs) {
    const outs = data.run(stage, inputs.map((v) => env.get(v)!));
    outputs.forEach((v, i) => env.set(v, outs[i]!));
    for (const v of [...env.keys()]) if ((lastUse.get(v) ?? -1) < to && !g.outputs.includes(v)) env.delete(v);
  }
}

