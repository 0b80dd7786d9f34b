// `onnxc quantize`: calibrate (when the mode needs it or a calibration set is given), run one compression pass,
// and measure what it cost against the float model on the calibration set (and an eval set): size before/after,
// per-output drift, top-1 agreement, the weights with the lowest SQNR. With a drift budget, the worst layers are
// kept in float until the outputs' drift on the calibration set is under it.

import { UsageError } from '../ir/errors.js';
import type { Graph, Model } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { isTensor, type RuntimeValue } from '../ir/value.js';
import { runGraph } from '../backends/reference/interpreter.js';
import { defaultContext, type Pass } from '../passes/pass.js';
import { getPass } from '../passes/index.js';
import type { CalibrationStats } from '../passes/quant/calibration.js';
import type { CalibrationMethod } from '../passes/quant/ranges.js';
import { allocateWidths, linearLayers } from '../passes/quant/allocate.js';
import { calibrate, type CalibrationResult } from './calibrate.js';
import type { Sample } from './calibrate-data.js';
import { exportModel } from './onnx/export.js';
import { wasmO3Backend } from './compile.js';

export type QuantMode = 'static' | 'dynamic' | 'weights-int8' | 'weights-int4' | 'fp16';
export const QUANT_MODES: readonly QuantMode[] = ['static', 'dynamic', 'weights-int8', 'weights-int4', 'fp16'];

export interface QuantizeOptions {
  readonly mode: QuantMode;
  readonly method?: CalibrationMethod;
  readonly perChannel?: boolean;
  readonly blockSize?: number;
  /** static: 7-bit weights in [-64, 63] (onnxruntime's reduce_range), which the relaxed-SIMD int8 dot takes. */
  readonly reduceRange?: boolean;
  /** Op types or node names left in float. */
  readonly exclude?: readonly string[];
  readonly maxDrift?: number;
  /** weights-int4: choose each MatMul/Gemm layer's width by measuring it alone (passes/quant/allocate.ts; default true). */
  readonly allocate?: boolean;
  readonly progress?: (done: number, total: number) => void;
}

export interface LayerError { readonly weight: string; readonly sqnrDb: number }

export interface SetReport {
  readonly samples: number;
  /** Per output: max over samples of max |q - f| / max |f|. */
  readonly drift: Record<string, number>;
  /** Per output with a class axis (last dim > 1): fraction of rows whose argmax agrees. */
  readonly top1: Record<string, number>;
}

export interface QuantizeReport {
  readonly mode: QuantMode;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly calibration?: { readonly samples: number; readonly backend: string; readonly ms: number };
  readonly calibrationSet: SetReport;
  readonly evalSet?: SetReport;
  readonly worstLayers: readonly LayerError[];
  readonly keptFloat: readonly string[];
  /** weights-int4: the measured per-layer widths (quant-layer-bits), '' when uniform. */
  readonly layerBits?: string;
}

const PASS_OF: Record<QuantMode, string> = {
  static: 'quantize-static', dynamic: 'quantize-dynamic', 'weights-int8': 'quantize-weights', 'weights-int4': 'quantize-weights', fp16: 'convert-float16',
};

function passOptions(o: QuantizeOptions, exclude: readonly string[], layerBits = ''): Map<string, string> {
  const m = new Map<string, string>();
  if (layerBits) m.set('quant-layer-bits', layerBits);
  if (o.mode === 'weights-int4') m.set('quant-bits', '4');
  if (o.blockSize !== undefined) m.set('quant-block-size', String(o.blockSize));
  if (o.perChannel !== undefined) m.set('quant-per-channel', o.perChannel ? '1' : '0');
  if (o.method) m.set('quant-method', o.method);
  if (o.reduceRange) m.set('quant-weight-bits', '7');
  if (exclude.length) m.set(o.mode === 'fp16' ? 'fp16-keep' : 'quant-exclude', exclude.join(','));
  return m;
}

/** Runs a graph on samples: the wasm backend after -O3 (what compile deploys), else the reference interpreter. */
export function runner(model: Model): (s: Sample) => RuntimeValue[] {
  const prepared = wasmO3Backend.prepare(model);
  let useRef = false;
  return (s) => {
    if (!useRef) {
      try { return prepared.run(s); } catch { useRef = true; }
    }
    return runGraph(model.graph, s, { source: model.info.source });
  };
}

export function compareSets(g: Graph, want: readonly RuntimeValue[][], got: readonly RuntimeValue[][]): SetReport {
  const drift: Record<string, number> = {}, agree: Record<string, [number, number]> = {};
  want.forEach((outs, s) => outs.forEach((w, k) => {
    const q = got[s]![k], name = g.outputs[k]!;
    if (!isTensor(w) || !isTensor(q) || w.dtype !== 'float32') return;
    const a = w.data as Float32Array, b = q.data as Float32Array;
    let err = 0, mag = 0;
    for (let i = 0; i < a.length; i++) { err = Math.max(err, Math.abs(a[i]! - b[i]!)); mag = Math.max(mag, Math.abs(a[i]!)); }
    drift[name] = Math.max(drift[name] ?? 0, mag === 0 ? err : err / mag);
    const C = w.dims.at(-1) ?? 1;
    if (C > 1) {
      const r = agree[name] ?? [0, 0];
      for (let row = 0; row < a.length / C; row++) { if (argmax(a, row * C, C) === argmax(b, row * C, C)) r[0]++; r[1]++; }
      agree[name] = r;
    }
  }));
  return { samples: want.length, drift, top1: Object.fromEntries(Object.entries(agree).map(([k, [n, d]]) => [k, n / d])) };
}

function argmax(d: Float32Array, at: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (d[at + i]! > d[at + best]!) best = i;
  return best;
}

/** SQNR of every weight a DequantizeLinear reads, against the float initializer it replaced (by name prefix). */
export function weightSqnr(before: Graph, after: Graph): LayerError[] {
  const out: LayerError[] = [];
  for (const n of after.nodes) {
    if (n.op !== 'DequantizeLinear') continue;
    const q = after.initializers.get(n.inputs[0]!), w = before.initializers.get(n.name.replace(/\/dequantize(_\d+)?$/, ''));
    if (!q || !w || w.dtype !== 'float32') continue;
    // float16-stored scales are a Cast of a constant (passes/quant/f16-store.ts)
    const casts = after.nodes.filter((m) => m.op === 'Cast' && n.inputs.includes(m.outputs[0]!) && after.initializers.has(m.inputs[0]!));
    const [dq] = runGraph({ ...after, inputs: [], outputs: [n.outputs[0]!], nodes: [...casts, n] }, []) as Tensor[];
    const a = w.data as Float32Array, b = dq!.data as Float32Array;
    let sig = 0, noise = 0;
    for (let i = 0; i < a.length; i++) { sig += a[i]! * a[i]!; noise += (a[i]! - b[i]!) ** 2; }
    out.push({ weight: w === undefined ? n.name : n.name.replace(/\/dequantize(_\d+)?$/, ''), sqnrDb: noise === 0 ? Infinity : 10 * Math.log10(sig / noise) });
  }
  return out.sort((x, y) => x.sqnrDb - y.sqnrDb);
}

export interface QuantizeResult { readonly model: Model; readonly bytes: Uint8Array; readonly report: QuantizeReport }

export function quantizeModel(model: Model, samples: readonly Sample[], opts: QuantizeOptions, evalSamples?: readonly Sample[]): QuantizeResult {
  const pass: Pass | undefined = getPass(PASS_OF[opts.mode]);
  if (!pass) throw new UsageError(`mode '${opts.mode}' needs pass ${PASS_OF[opts.mode]}, which is not available`);
  if (samples.length === 0) throw new UsageError('quantize needs at least one calibration (or random) sample');
  if (opts.reduceRange && opts.mode !== 'static') throw new UsageError(`reduceRange (--reduce-range) applies to mode static (7-bit Conv/MatMul/Gemm weights), not ${opts.mode}`);
  // the weights modes round by GPTQ, which needs XᵀX of each MatMul/Gemm input (passes/quant/gptq.ts)
  const secondMoment = opts.mode.startsWith('weights-') ? weightInputs(model.graph) : undefined;
  const cal: CalibrationResult = calibrate(model, samples, { progress: opts.progress, ...(secondMoment ? { secondMoment } : {}) });
  const stats: CalibrationStats = cal.stats;
  const floatEval = evalSamples?.map(runner(model));
  const layerBits = opts.mode === 'weights-int4' && opts.allocate !== false ? probeWidths(model, pass, samples, cal, opts) : '';
  const attempt = (exclude: readonly string[]): { g: Graph; rep: SetReport } => {
    const g = pass.run(model.graph, defaultContext({ source: model.info.source, options: passOptions(opts, exclude, layerBits), calibration: stats }));
    const run = runner({ ...model, graph: g });
    return { g, rep: compareSets(g, cal.outputs, samples.map(run)) };
  };
  const exclude = [...(opts.exclude ?? [])];
  let { g, rep } = attempt(exclude);
  let worst = weightSqnr(model.graph, g);
  const keptFloat: string[] = [];
  // the drift budget: keep the worst-SQNR layers in float, doubling how many, until the drift fits
  const over = (r: SetReport): boolean => opts.maxDrift !== undefined && Object.values(r.drift).some((d) => d > opts.maxDrift!);
  for (let k = 1; over(rep) && keptFloat.length < worst.length; k *= 2) {
    const names = worst.slice(0, k).map((l) => consumerOf(model.graph, l.weight)).filter((n): n is string => n !== undefined);
    keptFloat.splice(0, keptFloat.length, ...names);
    ({ g, rep } = attempt([...exclude, ...names]));
  }
  worst = weightSqnr(model.graph, g);
  const out: Model = { ...model, graph: g };
  const bytes = exportModel(out);
  const evalRun = evalSamples && floatEval ? compareSets(g, floatEval, evalSamples.map(runner(out))) : undefined;
  return {
    model: out, bytes,
    report: {
      mode: opts.mode, bytesBefore: exportModel(model).length, bytesAfter: bytes.length,
      calibration: { samples: stats.samples, backend: stats.backend, ms: cal.ms },
      calibrationSet: rep, ...(evalRun ? { evalSet: evalRun } : {}), worstLayers: worst.slice(0, 5), keptFloat,
      ...(layerBits ? { layerBits } : {}),
    },
  };
}

/** Calibration samples each layer probe runs (the probes compile the model once per layer and width). */
const PROBE_SAMPLES = 16;
/** Largest count of linear-layer weights probed: the probes compile the whole model twice per layer (bert-tiny, 0.4M
 *  weights in 13 layers: about a minute at load 14; gpt2_tiny, 5M in 17: over 10 minutes, so it keeps uniform widths). */
const PROBE_MAX_WEIGHTS = 2 ** 21;

/** quant-layer-bits for weights-int4 (passes/quant/allocate.ts): every MatMul/Gemm layer quantised alone at 2 and at
 *  4 bits, its outputs' relative error power on the first PROBE_SAMPLES calibration samples against the whole 4-bit
 *  model's. */
function probeWidths(model: Model, pass: Pass, samples: readonly Sample[], cal: CalibrationResult, opts: QuantizeOptions): string {
  const block = opts.blockSize ?? 64, user = opts.exclude ?? [];
  const layers = linearLayers(model.graph, (name, op) => user.includes(name) || user.includes(op));
  const size = layers.reduce((n, l) => n + (model.graph.initializers.get(model.graph.nodes.find((x) => x.name === l)!.inputs[1]!)?.data.length ?? 0), 0);
  if (layers.length === 0 || block === 0 || size > PROBE_MAX_WEIGHTS) return '';
  const sub = samples.slice(0, PROBE_SAMPLES), want = cal.outputs.slice(0, PROBE_SAMPLES);
  const power = (extra: Record<string, string>, exclude: readonly string[]): number => {
    const o = passOptions(opts, [...user, ...exclude]);
    for (const [k, v] of Object.entries(extra)) o.set(k, v);
    const g = pass.run(model.graph, defaultContext({ source: model.info.source, options: o, calibration: cal.stats }));
    return errorPower(want, sub.map(runner({ ...model, graph: g })));
  };
  const total = power({}, []);
  const probes = layers.map((node) => {
    const others = [...layers.filter((l) => l !== node), 'Gather', 'Conv'];
    return { node, twoBit: power({ 'quant-layer-bits': `${node}=2/${block}` }, others), fourBit: power({}, others) };
  });
  return allocateWidths(probes, total, block);
}

/** Sum over float32 outputs of sum (q - f)^2 / sum f^2 over the samples. */
function errorPower(want: readonly RuntimeValue[][], got: readonly RuntimeValue[][]): number {
  const e: number[] = [], m: number[] = [];
  want.forEach((outs, s) => outs.forEach((w, k) => {
    const q = got[s]![k];
    if (!isTensor(w) || !isTensor(q) || w.dtype !== 'float32') return;
    const a = w.data as Float32Array, b = q.data as Float32Array;
    for (let i = 0; i < a.length; i++) { e[k] = (e[k] ?? 0) + (a[i]! - b[i]!) ** 2; m[k] = (m[k] ?? 0) + a[i]! ** 2; }
  }));
  return e.reduce((acc, v, k) => acc + (m[k]! > 0 ? v / m[k]! : 0), 0);
}

/** Widest MatMul input whose XᵀX is collected (K² doubles per value: 8 MB at 1024); wider layers round to nearest. */
const GPTQ_MAX_K = 1024;

/** Inputs of MatMul/Gemm nodes whose weight is a constant 2-D tensor with at most GPTQ_MAX_K inputs. */
function weightInputs(g: Graph): Set<string> {
  const out = new Set<string>();
  for (const n of g.nodes) {
    const w = n.op === 'MatMul' || n.op === 'Gemm' ? g.initializers.get(n.inputs[1] ?? '') : undefined;
    if (!w || w.dims.length !== 2) continue;
    const tb = n.op === 'Gemm' && n.attrs['transB']?.kind === 'int' && n.attrs['transB'].value !== 0;
    if (w.dims[tb ? 1 : 0]! <= GPTQ_MAX_K) out.add(n.inputs[0]!);
  }
  return out;
}

/** The node that reads weight `w` (its name is what --exclude takes). */
function consumerOf(g: Graph, w: string): string | undefined {
  return g.nodes.find((n) => n.inputs.includes(w))?.name;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;

export function formatReport(r: QuantizeReport): string {
  const lines = [`mode ${r.mode}: ${mb(r.bytesBefore)} -> ${mb(r.bytesAfter)} (${(r.bytesBefore / r.bytesAfter).toFixed(2)}x smaller)`];
  if (r.calibration) lines.push(`calibration: ${r.calibration.samples} samples on ${r.calibration.backend} in ${(r.calibration.ms / 1000).toFixed(1)} s`);
  const set = (label: string, s: SetReport): void => {
    for (const [o, d] of Object.entries(s.drift)) lines.push(`${label} (${s.samples} samples) ${o}: drift ${d.toExponential(2)} of range${s.top1[o] !== undefined ? `, top-1 agreement ${pct(s.top1[o]!)}` : ''}`);
  };
  set('calibration set', r.calibrationSet);
  if (r.evalSet) set('eval set', r.evalSet);
  if (r.worstLayers.length) lines.push(`lowest weight SQNR: ${r.worstLayers.map((l) => `${l.weight} ${l.sqnrDb.toFixed(1)} dB`).join(', ')}`);
  if (r.keptFloat.length) lines.push(`kept in float for --max-drift: ${r.keptFloat.join(', ')}`);
  if (r.layerBits) lines.push(`measured layer widths (quant-layer-bits): ${r.layerBits}`);
  return lines.join('\n');
}
