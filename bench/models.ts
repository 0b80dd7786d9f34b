// The models a benchmark runs: the folders of shared/models (found via $ONNXC_SHARED, default ../shared beside
// the repository), each with its .onnx file and the inputs of its first test data set, read in the model's order,
// and the models built in models/bench-models.ts (written to out/bench-models/NAME when asked for).

import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../ir/tensor.js';
import type { ValueType } from '../ir/types.js';
import { isTensor } from '../ir/value.js';
import { loadModel } from '../compiler/onnx/import.js';
import { readValueFile } from '../compiler/onnx/tensor-proto.js';
import { BENCH_MODELS, HELD_OUT_PROXIES, writeBenchModel } from '../models/bench-models.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function sharedRoot(): string {
  return resolve(process.env.ONNXC_SHARED ?? join(repo, '..', 'shared'));
}

export interface BenchModel {
  /** Folder name under shared/models (or the file's base name for a model given by path). */
  readonly name: string;
  readonly path: string;
  /** The first test_data_set_* folder, when there is one. */
  readonly dataSet?: string;
}

/** A model folder: its one .onnx file and its first test data set (sorted by name). */
function fromDir(dir: string, name: string): BenchModel | undefined {
  const files = readdirSync(dir).sort();
  const onnx = files.find((f) => f.endsWith('.onnx'));
  if (!onnx) return undefined;
  const ds = files.find((f) => f.startsWith('test_data_set') && statSync(join(dir, f)).isDirectory());
  return { name, path: join(dir, onnx), ...(ds ? { dataSet: join(dir, ds) } : {}) };
}

/** Every model of shared/models, or [] when the folder is absent. */
export function sharedModels(): BenchModel[] {
  const root = join(sharedRoot(), 'models');
  if (!existsSync(root)) return [];
  return readdirSync(root).sort().flatMap((name) => {
    const dir = join(root, name);
    if (!statSync(dir).isDirectory()) return [];
    const m = fromDir(dir, name);
    return m ? [m] : [];
  });
}

/** The names of the models built in models/bench-models.ts: the bench models, then the held-out proxies. */
export const BUILT_MODELS: readonly string[] = [...Object.keys(BENCH_MODELS), ...Object.keys(HELD_OUT_PROXIES)];

/** What a bare `npm run bench` runs: every shared model (none when the folder is absent), then every built model. */
export function defaultModels(): BenchModel[] {
  return [...sharedModels(), ...BUILT_MODELS.map((n) => resolveModel(n)!)];
}

/** Resolve a model argument: a shared model's folder name, a model built in models/bench-models.ts
 *  (BUILT_MODELS: written to out/bench-models/NAME), a folder, or an .onnx file. */
export function resolveModel(arg: string): BenchModel | undefined {
  const built = BENCH_MODELS[arg] ?? HELD_OUT_PROXIES[arg];
  if (built) {
    const dir = join(repo, 'out', 'bench-models', arg);
    writeBenchModel(built(), dir);
    return fromDir(dir, arg);
  }
  const shared = join(sharedRoot(), 'models', arg);
  if (existsSync(shared) && statSync(shared).isDirectory()) return fromDir(shared, arg);
  if (!existsSync(arg)) return undefined;
  if (statSync(arg).isDirectory()) return fromDir(arg, basename(resolve(arg)));
  const dir = dirname(arg);
  const m = fromDir(dir, basename(arg).replace(/\.onnx$/, ''));
  return m ? { ...m, path: arg } : undefined;
}

export interface ModelInputs {
  /** Graph input names in order, with the tensors of the data set. */
  readonly names: readonly string[];
  readonly feeds: Readonly<Record<string, Tensor>>;
  readonly outputNames: readonly string[];
}

/** Read input_K.pb for the K-th of `names` (no model import: the memory probe keeps its baseline small). */
export function readFeeds(dataSet: string, names: readonly string[], types?: (name: string) => ValueType | undefined): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  names.forEach((name, k) => {
    const file = join(dataSet, `input_${k}.pb`);
    const v = readValueFile(file, types?.(name));
    if (!isTensor(v)) throw new Error(`${file}: only tensor inputs can be benchmarked`);
    feeds[name] = v;
  });
  return feeds;
}

/** The model's inputs from its data set (input_K.pb is the K-th graph input). */
export function readInputs(m: BenchModel): ModelInputs {
  if (!m.dataSet) throw new Error(`${m.name}: no test_data_set_* folder to take inputs from`);
  const model = loadModel(m.path, { noInfer: true });
  const names = model.graph.inputs.filter((n) => !model.graph.initializers.has(n));
  const feeds = readFeeds(m.dataSet, names, (n) => model.graph.types.get(n));
  return { names, feeds, outputNames: model.graph.outputs };
}
