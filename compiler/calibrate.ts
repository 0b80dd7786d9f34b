// Calibration: run a model on a calibration set and collect typed statistics of every float value for the
// compression passes (PassContext.calibration). The wasm backend runs the model with every float intermediate
// exposed as an extra output (one compile, then one run per sample); the reference interpreter, with a value hook,
// is the fallback for models the wasm backend cannot lower. Observers see every value of every sample, so passes
// that need more than statistics (pruning's least-squares re-fit) collect their own.

import { OnnxcError } from '../ir/errors.js';
import type { Graph, Model } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { isTensor, type RuntimeValue } from '../ir/value.js';
import { runGraph } from '../backends/reference/interpreter.js';
import { ValueAccumulator, type CalibrationStats } from '../passes/quant/calibration.js';
import type { Sample } from './calibrate-data.js';
import { wasmBackend } from './compile.js';

/** Sees every float value of every sample (graph inputs included), in graph order. */
export interface CalibrationObserver {
  onValue(name: string, value: Tensor, sample: number): void;
}

export interface CalibrateOptions {
  /** 'auto' (default): wasm, else reference when the wasm backend cannot lower the model. */
  readonly backend?: 'auto' | 'wasm' | 'reference';
  /** Called after each sample (the CLI draws a progress line on a TTY). */
  readonly progress?: (done: number, total: number) => void;
  readonly observers?: readonly CalibrationObserver[];
  /** Only these values (default: every float32 value). */
  readonly only?: ReadonlySet<string>;
  /** Values whose second moment X^T X along the last axis is collected too (ValueStats.secondMoment; C^2 doubles
   *  each, so opt-in: pruning's reconstruction asks for its layers' inputs, passes/prune/weights.ts). */
  readonly secondMoment?: ReadonlySet<string>;
}

export interface CalibrationResult {
  readonly stats: CalibrationStats;
  /** The model's outputs per sample (the float reference the compression reports compare with). */
  readonly outputs: readonly RuntimeValue[][];
  /** Wall time in ms. */
  readonly ms: number;
}

/** Ops whose input 0 is channels-first (NCHW): its per-channel statistics run along axis 1, else the last axis. */
const CHANNELS_FIRST = new Set(['Conv', 'ConvTranspose', 'BatchNormalization', 'InstanceNormalization', 'MaxPool', 'AveragePool',
  'GlobalAveragePool', 'GlobalMaxPool', 'LpPool', 'ConvInteger', 'QLinearConv']);

/** The float32 values worth calibrating (graph inputs and node outputs), with their channel axis. */
export function calibratedValues(g: Graph, only?: ReadonlySet<string>): Map<string, number | undefined> {
  const axis = new Map<string, number | undefined>();
  const consumers = new Map<string, string[]>();
  for (const n of g.nodes) n.inputs.forEach((i) => { if (i) consumers.set(i, [...(consumers.get(i) ?? []), n.op]); });
  const consider = (v: string): void => {
    const t = g.types.get(v);
    if (!v || t?.kind !== 'tensor' || t.dtype !== 'float32' || g.initializers.has(v) || (only && !only.has(v))) return;
    const rank = t.shape?.length ?? 0;
    const cf = (consumers.get(v) ?? []).some((op) => CHANNELS_FIRST.has(op));
    // images are NCHW in ONNX: rank 4-5 values have their channels on axis 1 whoever reads them
    axis.set(v, rank < 2 ? undefined : cf || rank >= 4 ? 1 : rank - 1);
  };
  g.inputs.forEach(consider);
  for (const n of g.nodes) n.outputs.forEach(consider);
  return axis;
}

export function calibrate(model: Model, samples: readonly Sample[], opts: CalibrateOptions = {}): CalibrationResult {
  const t0 = performance.now();
  const g = model.graph;
  const values = calibratedValues(g, opts.only);
  const acc = new Map([...values].map(([v, ax]) => [v, new ValueAccumulator(ax, opts.secondMoment?.has(v) ?? false)]));
  const seen = (name: string, t: Tensor, k: number): void => {
    const a = acc.get(name);
    if (!a) return;
    a.add(t);
    for (const o of opts.observers ?? []) o.onValue(name, t, k);
  };
  const outputs: RuntimeValue[][] = [];
  let backend = opts.backend === 'reference' ? 'reference' : 'wasm';
  const runWasm = backend === 'wasm' ? wasmRunner(model, [...values.keys()]) : undefined;
  if (!runWasm) {
    if (opts.backend === 'wasm') throw new OnnxcError(`the wasm backend cannot run '${model.info.source ?? g.name}' for calibration`);
    backend = 'reference';
  }
  samples.forEach((sample, k) => {
    let outs: RuntimeValue[] | undefined;
    if (runWasm) {
      const r = runWasm(sample, k === 0);
      if (r) {
        g.inputs.forEach((name, i) => { const v = sample[i]; if (isTensor(v)) seen(name, v, k); });
        r.extra.forEach((t, name) => seen(name, t, k));
        g.outputs.forEach((name, i) => { const v = r.outputs[i]; if (isTensor(v) && v.dtype === 'float32') seen(name, v, k); });
        outs = r.outputs;
      } else backend = 'reference';
    }
    if (!outs) {
      g.inputs.forEach((name, i) => { const v = sample[i]; if (isTensor(v)) seen(name, v, k); });
      outs = runGraph(g, sample, {
        source: model.info.source,
        onNode: (n, vs) => n.outputs.forEach((o, i) => { const v = vs[i]; if (o && isTensor(v) && v.dtype === 'float32') seen(o, v, k); }),
      });
    }
    outputs.push(outs);
    opts.progress?.(k + 1, samples.length);
  });
  const stats = new Map();
  for (const [v, a] of acc) { const r = a.result(); if (r) stats.set(v, r); }
  return { stats: { samples: samples.length, backend, values: stats }, outputs, ms: performance.now() - t0 };
}

type WasmRun = (sample: Sample, first: boolean) => { outputs: RuntimeValue[]; extra: Map<string, Tensor> } | undefined;

/** A runner on the wasm backend with `values` as extra outputs, or undefined when it cannot lower the model (the
 *  first sample's compile failing sends every sample to the reference interpreter). */
function wasmRunner(model: Model, values: readonly string[]): WasmRun | undefined {
  const g = model.graph;
  const extra = values.filter((v) => !g.outputs.includes(v) && !g.inputs.includes(v));
  const exposed: Model = { ...model, graph: { ...g, outputs: [...g.outputs, ...extra] } };
  const prepared = wasmBackend.prepare(exposed);
  let broken = false;
  return (sample, first) => {
    if (broken) return undefined;
    let outs: RuntimeValue[];
    try {
      outs = prepared.run(sample);
    } catch (e) {
      // only a lowering failure on the first sample falls back; a failure later is a real error
      if (first && e instanceof OnnxcError) { broken = true; return undefined; }
      throw e;
    }
    const m = new Map<string, Tensor>();
    extra.forEach((v, i) => { const t = outs[g.outputs.length + i]; if (isTensor(t)) m.set(v, t); });
    return { outputs: outs.slice(0, g.outputs.length), extra: m };
  };
}

/** A progress callback drawing `label done/total` on stderr when it is a terminal (nothing otherwise). */
export function ttyProgress(label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total) => {
    process.stderr.write(`\r${label} ${done}/${total}${done === total ? '\n' : ''}`);
  };
}
