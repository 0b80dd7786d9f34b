// Reading a calibration set: a folder in the test_data_set layout (input_K.pb, K in the model's input order) or a
// folder of such folders; a leading batch dim larger than the model declares is split into samples of one.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../ir/errors.js';
import type { Graph } from '../ir/graph.js';
import { makeTensor, sizeOf, type Tensor } from '../ir/tensor.js';
import { isTensor, type RuntimeValue } from '../ir/value.js';
import { readValueFile } from './onnx/tensor-proto.js';

/** One run of the model: a value per graph input, in order. */
export type Sample = readonly RuntimeValue[];

/** Upper bound on samples read (each is held in memory while calibrating). */
export const MAX_SAMPLES = 100_000;

const isSet = (dir: string): boolean => readdirSync(dir).some((f) => /^input_\d+\.pb$/.test(f));

/** Every sample under `dir`, in folder-name order. */
export function readCalibrationSet(dir: string, graph: Graph): Sample[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`calibration folder '${dir}' does not exist`);
  const sets = isSet(dir) ? [dir] : readdirSync(dir).sort().map((f) => join(dir, f)).filter((p) => statSync(p).isDirectory() && isSet(p));
  if (sets.length === 0) throw new UsageError(`calibration folder '${dir}' has no input_K.pb files (nor sub-folders with them)`);
  const out: Sample[] = [];
  for (const s of sets) {
    out.push(...splitBatch(readSet(s, graph), graph, s));
    if (out.length > MAX_SAMPLES) throw new UsageError(`calibration folder '${dir}' holds more than ${MAX_SAMPLES} samples`);
  }
  return out;
}

function readSet(dir: string, graph: Graph): RuntimeValue[] {
  return graph.inputs.map((name, k) => {
    const f = join(dir, `input_${k}.pb`);
    if (!existsSync(f)) throw new UsageError(`calibration set '${dir}' has no input_${k}.pb for input '${name}'`);
    return readValueFile(f, graph.types.get(name));
  });
}

/** Split along dim 0 when every input carries N > 1 rows there and the model declares that dim symbolic or 1. */
export function splitBatch(values: readonly RuntimeValue[], graph: Graph, where = 'calibration set'): Sample[] {
  const rows = values.map((v, k) => {
    const t = graph.types.get(graph.inputs[k]!);
    const declared = t?.kind === 'tensor' ? t.shape?.[0] : undefined;
    if (!isTensor(v) || v.dims.length === 0 || (typeof declared === 'number' && declared !== 1)) return undefined;
    return v.dims[0]!;
  });
  const n = rows[0];
  if (n === undefined || n <= 1 || rows.some((r) => r !== n)) return [values];
  if (values.some((v) => !isTensor(v))) throw new UsageError(`${where}: only tensor inputs can be split along the batch dim`);
  return Array.from({ length: n }, (_, i) => values.map((v) => row(v as Tensor, i)));
}

function row(t: Tensor, i: number): Tensor {
  const dims = [1, ...t.dims.slice(1)], n = sizeOf(dims);
  const data = t.data.slice(i * n, (i + 1) * n) as Tensor['data'];
  return makeTensor(t.dtype, dims, data as never);
}
