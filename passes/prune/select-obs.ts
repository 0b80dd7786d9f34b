// Reconstruction-aware channel selection (criterion `reconstruction`): which channels of a space to drop so that
// the layers reading them can best be re-fitted, taking the correlation between channels into account (two
// redundant channels: one can go at almost no cost, which an rms x norm score cannot see). For every consumer of
// the space, the normal equations H = XᵀX of its input features on the calibration set (original model); then
// channels are eliminated greedily, cheapest first, by the group form of Optimal Brain Surgeon: removing feature
// group G from a least-squares fit Θ costs tr(Θ_Gᵀ (H⁻¹_GG)⁻¹ Θ_G) and the others absorb it by
// Θ -= H⁻¹_{:G} (H⁻¹_GG)⁻¹ Θ_G (ThiNet and He et al. 2017 select for reconstruction in the same spirit). A channel's
// score is the root of the cumulative cost when it went, so keeping the top k is keeping the last k eliminated.
// Spaces read by a layer with no re-fit form, or too costly to measure (budget below), are left to `activation`.

import type { Graph, Node } from '../../ir/graph.js';
import { prng } from '../../ir/random.js';
import { isTensor, type RuntimeValue } from '../../ir/value.js';
import type { CalibrationData } from '../pass.js';
import { cholesky, inverseFromCholesky } from './linalg.js';
import type { ChannelGraph } from './groups.js';
import { layerForm, type LayerForm } from './refit-rows.js';

/** Multiply-adds allowed for accumulating the normal equations of every consumer (rows x F² / 2, summed). */
const BUDGET = 3e9;
/** Positions sampled per calibration sample and consumer. */
const POSITIONS = 32;
/** Ridge added to H (relative to its mean diagonal), so that H is invertible with correlated or dead features. */
const RIDGE = 1e-3;

interface Use { readonly node: Node; readonly form: LayerForm; readonly offset: number; readonly per: number }

/** Input channel -> feature groups of a consumer: channel i of its input is features [i*per, (i+1)*per). */
function perChannel(n: Node, g: Graph, inner: number | undefined): number {
  const w = g.initializers.get(n.inputs[1]!)!;
  return n.op === 'Conv' || n.op === 'ConvTranspose' ? w.dims.slice(2).reduce((a, b) => a * b, 1) : inner ?? 1;
}

/** Results by graph and sample list (the drift budget prunes the same graph at several ratios). */
const memo = new WeakMap<Graph, WeakMap<object, Map<string, Map<number, Float64Array>>>>();

/** Scores per space id for the spaces it could measure (the others: absent). */
export function reconstructionScores(g: Graph, cg: ChannelGraph, data: CalibrationData, seed = 1): Map<number, Float64Array> {
  const key = `${seed};${cg.spaces.map((s) => `${s.name}:${s.size}:${s.blocked ? 1 : 0}`).join(',')};${cg.consumers.map((n) => n.name).join(',')}`;
  const bySamples = memo.get(g) ?? memo.set(g, new WeakMap()).get(g)!;
  const byKey = bySamples.get(data.samples) ?? bySamples.set(data.samples, new Map()).get(data.samples)!;
  const hit = byKey.get(key);
  if (hit) return hit;
  const out = measure(g, cg, data, seed);
  byKey.set(key, out);
  return out;
}

function measure(g: Graph, cg: ChannelGraph, data: CalibrationData, seed: number): Map<number, Float64Array> {
  const uses = new Map<number, Use[]>();
  const unfit = new Set<number>();
  for (const n of cg.consumers) {
    const l = cg.layouts.get(n.inputs[0]!)!;
    const form = layerForm(g, n);
    let off = 0;
    for (const s of l.segments) {
      if (typeof form === 'string') unfit.add(s.space);
      else (uses.get(s.space) ?? uses.set(s.space, []).get(s.space)!).push({ node: n, form, offset: off, per: perChannel(n, g, l.inner) });
      off += s.size;
    }
  }
  for (const s of unfit) uses.delete(s);
  for (const s of cg.spaces) if (s.blocked) uses.delete(s.id);
  const consumers = [...new Set([...uses.values()].flat().map((u) => u.node))];
  if (consumers.length === 0 || data.samples.length === 0) return new Map();
  const rows = data.samples.length * POSITIONS;
  const cost = consumers.reduce((s, n) => { const f = (layerForm(g, n) as LayerForm).width; return s + rows * f * f / 2; }, 0);
  if (cost > BUDGET) return new Map();
  const H = normalMatrices(g, consumers, data, seed);
  const out = new Map<number, Float64Array>();
  for (const [space, us] of uses) {
    const size = cg.spaces.find((s) => s.id === space)!.size;
    out.set(space, eliminate(g, us, H, size));
  }
  return out;
}

/** XᵀX of every consumer's input features (bias column included) at seeded positions, original model. */
function normalMatrices(g: Graph, consumers: readonly Node[], data: CalibrationData, seed: number): Map<string, Float64Array> {
  const forms = consumers.map((n) => layerForm(g, n) as LayerForm);
  const H = new Map(consumers.map((n, i) => [n.name, new Float64Array(forms[i]!.width ** 2)]));
  const probe: Graph = { ...g, outputs: consumers.flatMap((n) => [n.inputs[0]!, n.outputs[0]!]) };
  data.samples.forEach((sample, k) => {
    const outs = data.run(probe, sample);
    consumers.forEach((n, i) => {
      const x = outs[2 * i], y = outs[2 * i + 1], form = forms[i]!, F = form.width, h = H.get(n.name)!;
      if (!isTensor(x) || !isTensor(y) || x.dtype !== 'float32') return;
      const total = form.positions(y.dims), r = prng((seed * 7919 + i * 104_729 + k) >>> 0);
      const n_ = Math.min(total, POSITIONS);
      for (let t = 0; t < n_; t++) {
        const f = form.features(x, total <= POSITIONS ? t : Math.floor(r() * total), y.dims);
        for (let a = 0; a < F; a++) {
          const fa = f[a]!;
          if (fa === 0) continue;
          for (let b = a; b < F; b++) h[a * F + b]! += fa * f[b]!;
        }
      }
    });
  });
  for (const h of H.values()) {
    const F = Math.round(Math.sqrt(h.length));
    for (let a = 0; a < F; a++) for (let b = a + 1; b < F; b++) h[b * F + a] = h[a * F + b]!;
  }
  return H;
}

/** Inverse of a symmetric positive-definite matrix (after adding the ridge), by Cholesky. */
function spdInverse(h: Float64Array, F: number): Float64Array | undefined {
  let tr = 0;
  for (let i = 0; i < F; i++) tr += h[i * F + i]!;
  const a = Float64Array.from(h), lambda = Math.max(RIDGE * tr / F, 1e-12);
  for (let i = 0; i < F; i++) a[i * F + i]! += lambda;
  const L = cholesky(a, F);
  return L ? inverseFromCholesky(L, F) : undefined;
}

/** Inverse of a small symmetric matrix (Gauss-Jordan; the groups are a kernel's taps or a flatten block). */
function smallInverse(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a), inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    for (let k = 0; k < n; k++) { [m[c * n + k], m[p * n + k]] = [m[p * n + k]!, m[c * n + k]!]; [inv[c * n + k], inv[p * n + k]] = [inv[p * n + k]!, inv[c * n + k]!]; }
    const d = m[c * n + c]! || 1e-300;
    for (let k = 0; k < n; k++) { m[c * n + k]! /= d; inv[c * n + k]! /= d; }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c]!;
      if (f === 0) continue;
      for (let k = 0; k < n; k++) { m[r * n + k]! -= f * m[c * n + k]!; inv[r * n + k]! -= f * inv[c * n + k]!; }
    }
  }
  return inv;
}

interface Fit { readonly F: number; readonly M: number; readonly inv: Float64Array; readonly theta: Float64Array; readonly scale: number; readonly use: Use }

/** Greedy elimination of the space's channels over all its consumers; returns each channel's score. */
function eliminate(g: Graph, us: readonly Use[], H: ReadonlyMap<string, Float64Array>, size: number): Float64Array {
  const fits: Fit[] = [];
  for (const u of us) {
    const F = u.form.width, M = u.form.outputs, h = H.get(u.node.name)!, inv = spdInverse(h, F);
    if (!inv) continue;
    const theta = u.form.prior(g);
    // ||Y||² = tr(Θᵀ H Θ): each consumer's cost counts relative to its own output
    let yy = 0;
    for (let a = 0; a < F; a++) for (let b = 0; b < F; b++) { const x = h[a * F + b]!; if (x) for (let m = 0; m < M; m++) yy += theta[a * M + m]! * x * theta[b * M + m]!; }
    fits.push({ F, M, inv, theta, scale: yy > 0 ? 1 / yy : 1, use: u });
  }
  const score = new Float64Array(size);
  const alive = new Set(Array.from({ length: size }, (_, c) => c));
  let total = 0;
  while (alive.size > 0) {
    let best = -1, bestCost = Infinity;
    for (const c of alive) {
      let cost = 0;
      for (const f of fits) cost += f.scale * groupCost(f, c);
      if (cost < bestCost) { bestCost = cost; best = c; }
    }
    total += Math.max(0, bestCost);
    score[best] = Math.sqrt(total) + 1e-12 * (size - alive.size);
    alive.delete(best);
    for (const f of fits) removeGroup(f, best);
  }
  return score;
}

const groupOf = (f: Fit, c: number): number[] => Array.from({ length: f.use.per }, (_, i) => (f.use.offset + c) * f.use.per + i);

/** tr(Θ_Gᵀ (H⁻¹_GG)⁻¹ Θ_G) for the features of channel c. */
function groupCost(f: Fit, c: number): number {
  const G = groupOf(f, c), n = G.length, { F, M, inv, theta } = f;
  const sub = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sub[i * n + j] = inv[G[i]! * F + G[j]!]!;
  const s = smallInverse(sub, n);
  let cost = 0;
  for (let m = 0; m < M; m++) {
    for (let i = 0; i < n; i++) {
      const ti = theta[G[i]! * M + m]!;
      if (ti === 0) continue;
      for (let j = 0; j < n; j++) cost += ti * s[i * n + j]! * theta[G[j]! * M + m]!;
    }
  }
  return cost;
}

/** Θ -= H⁻¹_{:G} (H⁻¹_GG)⁻¹ Θ_G and H⁻¹ -= H⁻¹_{:G} (H⁻¹_GG)⁻¹ H⁻¹_{G:} (the group's features then read as zero). */
function removeGroup(f: Fit, c: number): void {
  const G = groupOf(f, c), n = G.length, { F, M, inv, theta } = f;
  const sub = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sub[i * n + j] = inv[G[i]! * F + G[j]!]!;
  const s = smallInverse(sub, n);
  // K = H⁻¹_{:G} S  (F x n)
  const K = new Float64Array(F * n);
  for (let a = 0; a < F; a++) for (let j = 0; j < n; j++) { let v = 0; for (let i = 0; i < n; i++) v += inv[a * F + G[i]!]! * s[i * n + j]!; K[a * n + j] = v; }
  const tG = G.map((gi) => theta.slice(gi * M, (gi + 1) * M));
  const rows = G.map((gi) => inv.slice(gi * F, (gi + 1) * F));
  for (let a = 0; a < F; a++) {
    for (let j = 0; j < n; j++) {
      const k = K[a * n + j]!;
      if (k === 0) continue;
      const t = tG[j]!, r = rows[j]!;
      for (let m = 0; m < M; m++) theta[a * M + m]! -= k * t[m]!;
      for (let b = 0; b < F; b++) inv[a * F + b]! -= k * r[b]!;
    }
  }
  for (const gi of G) { for (let m = 0; m < M; m++) theta[gi * M + m] = 0; for (let b = 0; b < F; b++) { inv[gi * F + b] = 0; inv[b * F + gi] = 0; } }
}
