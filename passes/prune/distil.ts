// Whole-model correction after the layer-by-layer re-fit (prune-distil): each re-fit matches one layer's output on
// its own, with 1-2% error per layer, and on a residual network those errors compound through the blocks (the
// digits ResNet kept its calibration accuracy but lost 2.7 points on new inputs). So the pruned model's weights
// (Conv/Gemm/MatMul weights and biases) then take a few epochs of Adam steps towards the ORIGINAL model's logits
// (the input of a final Softmax, else the output itself): knowledge distillation with the unpruned model as
// teacher. The teacher labels any input, so besides the calibration samples the steps see mixtures of two of them
// (mixup): new inputs every epoch, which keeps a few hundred samples from being memorised. One calibration sample
// in HOLD is held out; the weights of the epoch with the least held-out error are kept, and none when no epoch
// beats the re-fit. Models with an op distil-ops.ts has no gradient for, or too costly for plain loops (budget
// below), are left as the re-fit made them.

import type { Graph, Node } from '../../ir/graph.js';
import { makeTensor } from '../../ir/tensor.js';
import { prng } from '../../ir/random.js';
import { isTensor, type RuntimeValue } from '../../ir/value.js';
import type { CalibrationData } from '../pass.js';
import { fromTensor, kernelOf, type Kernel, type T } from './distil-ops.js';
import { denseMacs } from './allocate.js';
import { constOf } from './groups.js';

export interface DistilOptions {
  readonly epochs: number;
  /** Adam step size. */
  readonly rate: number;
  readonly seed: number;
}
export const DISTIL_DEFAULTS: DistilOptions = { epochs: 80, rate: 3e-4, seed: 1 };

export interface DistilReport {
  /** Why nothing was done. */
  readonly skipped?: string;
  /** Held-out error of the logits, Σ (z - t)² / Σ (t - mean t)², after the re-fit and after distillation. */
  readonly before?: number;
  readonly after?: number;
  /** Epochs run and the one kept (0: the re-fit's weights). */
  readonly epochs?: number;
  readonly kept?: number;
  readonly params?: number;
}

/** Multiply-adds allowed for all steps (forward + backward ~ 3 forwards per example); plain JS loops run ~1e9/s. */
const BUDGET = 4e10;
/** Fewest epochs worth running; held out: one sample in HOLD; examples per Adam step. */
const MIN_EPOCHS = 4, HOLD = 5, BATCH = 8;
/** Share of the examples that are mixtures of two calibration samples. */
const MIX = 0.5;

interface Step { readonly node: Node; readonly kernel: Kernel }

/** The values the loss reads: the input of each output's final Softmax/LogSoftmax, else the output. */
function logitsOf(g: Graph): string[] {
  return g.outputs.map((o) => {
    const p = g.nodes.find((n) => n.outputs[0] === o);
    return p && (p.op === 'Softmax' || p.op === 'LogSoftmax') ? p.inputs[0]! : o;
  });
}

/** Row length of the softmax over the last axis that output o applies to its logits, or undefined (no softmax). */
function softmaxRows(g: Graph, o: string): number | undefined {
  const p = g.nodes.find((n) => n.outputs[0] === o);
  if (!p || (p.op !== 'Softmax' && p.op !== 'LogSoftmax')) return undefined;
  const t = g.types.get(o), dims = t?.kind === 'tensor' ? t.shape : undefined, ax = p.attrs['axis'];
  const axis = ax?.kind === 'int' ? ax.value : -1, last = dims?.at(-1);
  return dims && typeof last === 'number' && (axis === -1 || axis === dims.length - 1) ? last : undefined;
}

/** Temperature of the distillation loss on softmax outputs (Hinton et al.: softened targets carry the ranking of
 *  the unlikely classes too). */
const TEMPERATURE = 2;

/** T² KL(softmax(t/T) || softmax(z/T)) over rows of `len`, added into `grad` as its gradient in z times `w`. */
function klLoss(z: Float64Array, t: Float64Array, len: number, grad: Float64Array | undefined, w: number): number {
  let loss = 0;
  const p = new Float64Array(len), q = new Float64Array(len);
  for (let r = 0; r < z.length; r += len) {
    const soft = (x: Float64Array, out: Float64Array): number => {
      let m = -Infinity, s = 0;
      for (let i = 0; i < len; i++) m = Math.max(m, x[r + i]! / TEMPERATURE);
      for (let i = 0; i < len; i++) s += (out[i] = Math.exp(x[r + i]! / TEMPERATURE - m));
      for (let i = 0; i < len; i++) out[i]! /= s;
      return m + Math.log(s);
    };
    soft(z, p); soft(t, q);
    for (let i = 0; i < len; i++) {
      if (q[i]! > 0) loss += TEMPERATURE ** 2 * q[i]! * (Math.log(q[i]!) - Math.log(Math.max(p[i]!, 1e-300)));
      if (grad) grad[r + i]! += w * TEMPERATURE * (p[i]! - q[i]!);
    }
  }
  return loss;
}

/** Nodes needed for `want`, in graph order. */
function needed(g: Graph, want: readonly string[]): Node[] {
  const need = new Set(want), out: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!n.outputs.some((o) => o && need.has(o))) continue;
    out.push(n);
    for (const v of n.inputs) if (v) need.add(v);
  }
  return out.reverse();
}

export function distil(orig: Graph, pruned: Graph, data: CalibrationData, opts: DistilOptions = DISTIL_DEFAULTS): { graph: Graph; report: DistilReport } {
  const skip = (why: string): { graph: Graph; report: DistilReport } => ({ graph: pruned, report: { skipped: why } });
  const logits = logitsOf(pruned);
  if (logits.some((v, i) => v !== logitsOf(orig)[i])) return skip('outputs differ from the original model');
  const samples = data.samples;
  if (samples.length < 2 * HOLD) return skip(`${samples.length} calibration samples`);
  const steps: Step[] = [];
  for (const node of needed(pruned, logits)) {
    const kernel = kernelOf(pruned, node);
    if (typeof kernel === 'string') return skip(kernel);
    steps.push({ node, kernel });
  }
  // trainable: float32 weights and biases of Conv/Gemm/MatMul read by that node alone
  const readers = new Map<string, number>();
  for (const n of pruned.nodes) for (const v of n.inputs) if (v) readers.set(v, (readers.get(v) ?? 0) + 1);
  const params = new Map<string, T>();
  for (const { node } of steps) {
    if (node.op !== 'Conv' && node.op !== 'Gemm' && node.op !== 'MatMul') continue;
    for (const v of node.inputs.slice(1)) {
      const t = constOf(pruned, v);
      if (v && t?.dtype === 'float32' && readers.get(v) === 1 && !pruned.outputs.includes(v)) params.set(v, fromTensor(t));
    }
  }
  if (params.size === 0) return skip('no trainable weights');
  const consts = new Map<string, T>();
  for (const { node } of steps) for (const v of node.inputs) { const t = v && !params.has(v) ? constOf(pruned, v) : undefined; if (t?.dtype === 'float32') consts.set(v!, fromTensor(t)); }
  const inputOf = (s: readonly RuntimeValue[]): Map<string, T> | undefined => {
    const env = new Map<string, T>();
    for (const [i, name] of pruned.inputs.entries()) {
      const x = s[i];
      if (!isTensor(x) || x.dtype !== 'float32') return undefined;
      env.set(name, fromTensor(x));
    }
    return env;
  };
  const value = (env: Map<string, T>, v: string): T => env.get(v) ?? params.get(v) ?? consts.get(v)!;
  const forward = (env: Map<string, T>, saved?: Map<Node, Int32Array>): void => {
    for (const { node, kernel } of steps) {
      const r = kernel.forward(node.inputs.map((v) => (v ? value(env, v) : undefined)) as T[]);
      env.set(node.outputs[0]!, r.out);
      if (saved && r.saved) saved.set(node, r.saved);
    }
  };
  const held = samples.filter((_, k) => k % HOLD === HOLD - 1), train = samples.filter((_, k) => k % HOLD !== HOLD - 1);
  // the cost from the graph's shapes first (a large model is skipped without a single run in plain loops)
  const macs = denseMacs(pruned);
  const epochs = Math.min(opts.epochs, Math.floor(BUDGET / Math.max(1, 3 * macs * train.length)));
  if (epochs < MIN_EPOCHS) return skip(`too costly (${(macs / 1e6).toFixed(1)}M multiply-adds a sample)`);
  const first = inputOf(samples[0]!);
  if (!first) return skip('inputs are not float32');
  try { forward(first); } catch (e) { return skip(e instanceof Error ? e.message : String(e)); }
  // the teacher: the original model's logits, on any input
  const teacherGraph: Graph = { ...orig, outputs: logits };
  const teacher = (s: readonly RuntimeValue[]): Float64Array[] => data.run(teacherGraph, s).map((t) => Float64Array.from((t as { data: Float32Array }).data));
  const heldT = held.map(teacher);
  // the error's scale: the spread of the teacher's logits over the held-out samples (per output, summed)
  const scale = logits.map((_, j) => {
    const ys = heldT.map((t) => t[j]!), n = ys[0]!.length, mean = new Float64Array(n);
    for (const y of ys) for (let i = 0; i < n; i++) mean[i]! += y[i]! / ys.length;
    let s = 0;
    for (const y of ys) for (let i = 0; i < n; i++) s += (y[i]! - mean[i]!) ** 2;
    return Math.max(s / ys.length, 1e-12);
  });
  const rows = pruned.outputs.map((o) => softmaxRows(pruned, o));
  /** The loss of output j (KL on a softmax output, squared error over the teacher's spread elsewhere); its gradient
   *  times w added into grad. */
  const lossOf = (j: number, z: Float64Array, t: Float64Array, grad?: Float64Array, w = 1): number => {
    if (rows[j] !== undefined) return klLoss(z, t, rows[j]!, grad, w);
    let e = 0;
    for (let i = 0; i < z.length; i++) { e += (z[i]! - t[i]!) ** 2 / scale[j]!; if (grad) grad[i]! += (w * 2 * (z[i]! - t[i]!)) / scale[j]!; }
    return e;
  };
  const heldError = (): number => {
    let e = 0;
    held.forEach((s, k) => {
      const env = inputOf(s)!;
      forward(env);
      logits.forEach((v, j) => { e += lossOf(j, env.get(v)!.data, heldT[k]![j]!); });
    });
    return e / held.length;
  };
  const names = [...params.keys()];
  const m1 = names.map((v) => new Float64Array(params.get(v)!.data.length)), m2 = names.map((v) => new Float64Array(params.get(v)!.data.length));
  const grads = names.map((v) => new Float64Array(params.get(v)!.data.length));
  const rand = prng(opts.seed >>> 0);
  const mix = (a: readonly RuntimeValue[], b: readonly RuntimeValue[], l: number): RuntimeValue[] => a.map((x, i) => {
    const y = b[i];
    if (!isTensor(x) || !isTensor(y) || x.dtype !== 'float32' || x.data.length !== y.data.length) return x;
    const xd = x.data as Float32Array, yd = y.data as Float32Array;
    return makeTensor('float32', x.dims, Float32Array.from(xd, (v, e) => l * v + (1 - l) * yd[e]!));
  });
  const before = heldError();
  let best = before, bestAt = 0, t = 0, ran = 0;
  let bestParams = names.map((v) => Float64Array.from(params.get(v)!.data));
  for (let epoch = 1; epoch <= epochs; epoch++) {
    ran = epoch;
    const order = train.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [order[i], order[j]] = [order[j]!, order[i]!]; }
    for (let b0 = 0; b0 < order.length; b0 += BATCH) {
      const batch = order.slice(b0, b0 + BATCH);
      for (const gr of grads) gr.fill(0);
      for (const i of batch) {
        // half the examples a calibration sample, half a mixture of two
        const s = rand() >= MIX ? train[i]! : mix(train[i]!, train[Math.floor(rand() * train.length)]!, rand());
        const target = teacher(s), env = inputOf(s)!, saved = new Map<Node, Int32Array>();
        forward(env, saved);
        backward(env, saved, target, batch.length);
      }
      t++;
      // cosine decay over the planned steps: late steps settle instead of wandering around the fit
      const rate = opts.rate * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, t / (epochs * Math.ceil(train.length / BATCH)))));
      names.forEach((_, p) => {
        const w = params.get(names[p]!)!.data, g = grads[p]!, a = m1[p]!, v = m2[p]!;
        const c1 = 1 - 0.9 ** t, c2 = 1 - 0.999 ** t;
        for (let i = 0; i < w.length; i++) {
          a[i] = 0.9 * a[i]! + 0.1 * g[i]!;
          v[i] = 0.999 * v[i]! + 0.001 * g[i]! * g[i]!;
          w[i]! -= (rate * a[i]! / c1) / (Math.sqrt(v[i]! / c2) + 1e-8);
        }
      });
    }
    const e = heldError();
    if (e < best) { best = e; bestAt = epoch; bestParams = names.map((v) => Float64Array.from(params.get(v)!.data)); }
  }

  function backward(env: Map<string, T>, saved: Map<Node, Int32Array>, target: Float64Array[], n: number): void {
    const d = new Map<string, Float64Array>();
    logits.forEach((v, j) => {
      const z = env.get(v)!.data, g = d.get(v) ?? new Float64Array(z.length);
      lossOf(j, z, target[j]!, g, 1 / n);
      d.set(v, g);
    });
    for (let s = steps.length - 1; s >= 0; s--) {
      const { node, kernel } = steps[s]!, dy = d.get(node.outputs[0]!);
      if (!dy) continue;
      const x = node.inputs.map((v) => (v ? value(env, v) : undefined)) as T[];
      const need = node.inputs.map((v) => !!v && (params.has(v) || (!consts.has(v) && !pruned.inputs.includes(v))));
      const gs = kernel.backward(x, env.get(node.outputs[0]!)!, saved.get(node), dy, need);
      node.inputs.forEach((v, i) => {
        const g = gs[i];
        if (!v || !g) return;
        const p = names.indexOf(v);
        const acc = p >= 0 ? grads[p]! : d.get(v);
        if (acc) for (let e = 0; e < g.length; e++) acc[e]! += g[e]!;
        else d.set(v, g);
      });
    }
  }

  const report: DistilReport = { before, after: best, epochs: ran, kept: bestAt, params: names.reduce((a, v) => a + params.get(v)!.data.length, 0) };
  if (bestAt === 0) return { graph: pruned, report };
  const inits = new Map(pruned.initializers);
  names.forEach((v, p) => inits.set(v, makeTensor('float32', pruned.initializers.get(v)!.dims, Float32Array.from(bestParams[p]!))));
  return { graph: { ...pruned, initializers: inits }, report };
}
