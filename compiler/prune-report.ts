// What `onnxc prune` reports besides drift: per dense layer the output channels (or weight sparsity), parameters
// and FLOPs before and after, read from the two graphs; an eval set with expected outputs (test_data_set layout:
// input_K.pb and output_K.pb, or folders of them) and the accuracy/agreement of a model against them.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../ir/errors.js';
import type { Graph, Node } from '../ir/graph.js';
import { sizeOf, type Tensor } from '../ir/tensor.js';
import { isTensor, type RuntimeValue } from '../ir/value.js';
import { splitBatch, type Sample } from './calibrate-data.js';
import { readValueFile } from './onnx/tensor-proto.js';

export interface LayerRow {
  readonly node: string;
  readonly op: string;
  readonly channelsBefore: number;
  readonly channelsAfter: number;
  /** Fraction of the weight's elements that are zero after. */
  readonly sparsity: number;
  readonly paramsBefore: number;
  readonly paramsAfter: number;
  readonly flopsBefore: number;
  readonly flopsAfter: number;
}

const DENSE = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);
const intAttr = (n: Node, k: string, d: number): number => { const a = n.attrs[k]; return a?.kind === 'int' ? a.value : d; };
/** Dims of a value, symbolic ones counted as 1 (a batch of one). */
const dimsOf = (g: Graph, v: string): number[] => {
  const t = g.types.get(v);
  return t?.kind === 'tensor' && t.shape ? t.shape.map((d) => (typeof d === 'number' ? d : 1)) : [];
};

/** Multiply-adds x2 of a dense layer (0 for other nodes). */
export function nodeFlops(g: Graph, n: Node): number {
  const w = g.initializers.get(n.inputs[1] ?? '');
  const wd = w?.dims ?? dimsOf(g, n.inputs[1] ?? '');
  if (!DENSE.has(n.op) || wd.length < 2) return 0;
  const out = dimsOf(g, n.outputs[0]!);
  if (n.op === 'Conv') return 2 * sizeOf(out) * sizeOf(wd.slice(1));
  if (n.op === 'ConvTranspose') return 2 * sizeOf(dimsOf(g, n.inputs[0]!)) * sizeOf(wd.slice(1));
  if (n.op === 'Gemm') return 2 * sizeOf(out) * (intAttr(n, 'transB', 0) ? wd[1]! : wd[0]!);
  return 2 * sizeOf(out) * wd.at(-2)!;
}

const nonZero = (t: Tensor | undefined): number => {
  if (!t || t.dtype !== 'float32') return t ? t.data.length : 0;
  let nz = 0;
  for (const v of t.data as Float32Array) if (v !== 0) nz++;
  return nz;
};

/** One row per dense layer with a constant weight in `before`, matched by node name in `after`. */
export function layerRows(before: Graph, after: Graph): LayerRow[] {
  const byName = new Map(after.nodes.map((n) => [n.name, n]));
  const rows: LayerRow[] = [];
  for (const n of before.nodes) {
    const w = before.initializers.get(n.inputs[1] ?? '');
    if (!DENSE.has(n.op) || !w) continue;
    const m = byName.get(n.name);
    const w2 = m ? after.initializers.get(m.inputs[1] ?? '') : undefined;
    const outAxis = n.op === 'Conv' ? 0 : n.op === 'ConvTranspose' ? 1 : n.op === 'Gemm' && intAttr(n, 'transB', 0) ? 0 : w.dims.length - 1;
    const params = (g: Graph, x: Node | undefined): number => (x ? [x.inputs[1], x.inputs[2]].reduce((s, v) => s + nonZero(g.initializers.get(v ?? '')), 0) : 0);
    rows.push({
      node: n.name, op: n.op,
      channelsBefore: w.dims[outAxis]!, channelsAfter: w2?.dims[outAxis] ?? 0,
      sparsity: w2 ? 1 - nonZero(w2) / w2.data.length : 1,
      paramsBefore: params(before, n), paramsAfter: params(after, m),
      flopsBefore: nodeFlops(before, n), flopsAfter: m ? nodeFlops(after, m) : 0,
    });
  }
  return rows;
}

/** Non-zero float parameters of a graph (every float initializer). */
export function paramCount(g: Graph): number {
  let n = 0;
  for (const t of g.initializers.values()) if (t.dtype === 'float32') n += nonZero(t);
  return n;
}

export const totalFlops = (g: Graph): number => g.nodes.reduce((s, n) => s + nodeFlops(g, n), 0);

export interface EvalSet {
  readonly samples: Sample[];
  /** Per sample, the expected outputs when the set has output_K.pb files. */
  readonly expected?: RuntimeValue[][];
}

const isSet = (dir: string): boolean => readdirSync(dir).some((f) => /^input_\d+\.pb$/.test(f));

/** An eval set: like a calibration set, plus output_K.pb when every folder has them (split along the batch too). */
export function readEvalSet(dir: string, graph: Graph): EvalSet {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`eval folder '${dir}' does not exist`);
  const sets = isSet(dir) ? [dir] : readdirSync(dir).sort().map((f) => join(dir, f)).filter((p) => statSync(p).isDirectory() && isSet(p));
  if (sets.length === 0) throw new UsageError(`eval folder '${dir}' has no input_K.pb files (nor sub-folders with them)`);
  const samples: Sample[] = [], expected: RuntimeValue[][] = [];
  let withOutputs = true;
  for (const s of sets) {
    const ins = graph.inputs.map((name, k) => {
      const f = join(s, `input_${k}.pb`);
      if (!existsSync(f)) throw new UsageError(`eval set '${s}' has no input_${k}.pb for input '${name}'`);
      return readValueFile(f, graph.types.get(name));
    });
    const split = splitBatch(ins, graph, s);
    samples.push(...split);
    const files = graph.outputs.map((_, k) => join(s, `output_${k}.pb`));
    if (!withOutputs || !files.every((f) => existsSync(f))) { withOutputs = false; continue; }
    const outs = files.map((f) => readValueFile(f));
    for (let i = 0; i < split.length; i++) {
      expected.push(outs.map((o) => (split.length > 1 && isTensor(o) && o.dims[0] === split.length ? rowOf(o, i) : o)));
    }
  }
  return { samples, ...(withOutputs ? { expected } : {}) };
}

function rowOf(t: Tensor, i: number): Tensor {
  const n = t.data.length / t.dims[0]!;
  return { ...t, dims: [1, ...t.dims.slice(1)], data: t.data.slice(i * n, (i + 1) * n) as Tensor['data'] };
}

function argmaxRow(d: ArrayLike<number>, at: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (d[at + i]! > d[at + best]!) best = i;
  return best;
}

/** Per output with a class axis: the fraction of rows whose argmax matches the expected output's argmax (float
 *  expected outputs) or label (integer expected outputs, one per row). */
export function accuracy(g: Graph, expected: readonly RuntimeValue[][], got: readonly RuntimeValue[][]): Record<string, number> {
  const acc: Record<string, [number, number]> = {};
  expected.forEach((outs, s) => outs.forEach((e, k) => {
    const p = got[s]![k];
    if (!isTensor(e) || !isTensor(p) || p.dtype !== 'float32') return;
    const C = p.dims.at(-1) ?? 1, pd = p.data as Float32Array, rows = pd.length / C;
    if (C < 2) return;
    const r = acc[g.outputs[k]!] ?? [0, 0];
    for (let row = 0; row < rows; row++) {
      const want = e.dtype === 'float32' ? argmaxRow(e.data as Float32Array, row * C, C) : Number(e.data[row]);
      if (argmaxRow(pd, row * C, C) === want) r[0]++;
      r[1]++;
    }
    acc[g.outputs[k]!] = r;
  }));
  return Object.fromEntries(Object.entries(acc).map(([k, [n, d]]) => [k, n / d]));
}
