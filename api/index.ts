// The programmatic API (`import ... from 'onnxc'`): load, inspect, optimise, diff, compile and run models, with
// the typed OnnxcError family. Binaryen (and onnxruntime-node, for diff's check) load only inside the async
// functions that need them, so importing this module is cheap. The device runtime is `onnxc/runtime`.

import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { UsageError } from '../ir/errors.js';
import type { Model } from '../ir/graph.js';
import type { RuntimeValue } from '../ir/value.js';
import { summarizeModel, type ModelSummary } from '../compiler/inspect.js';
import { exportModel } from '../compiler/onnx/export.js';
import { importModel, loadModel as loadModelFile, type ImportOptions } from '../compiler/onnx/import.js';
import { randomInputs } from '../compiler/random-inputs.js';
import { encodeTensorProto, readValueFile } from '../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../ir/tensor.js';
import type { DiffReport } from '../compiler/diff.js';
import { formatDiff, type DiffFormat } from '../compiler/diff-format.js';
import { countNodes } from '../passes/manager.js';
import { runPortablePasses } from '../compiler/opt-portable.js';
import { parsePassList, pipelineForLevel, type OptLevel } from '../passes/pipelines.js';
import type { WasmManifest } from '../runtime/wasm/types.js';
import type { WebGpuManifest } from '../runtime/webgpu/types.js';

export type { Model, Graph, Node } from '../ir/graph.js';
export type { Tensor } from '../ir/tensor.js';
export type { DType } from '../ir/dtype.js';
export type { RuntimeValue } from '../ir/value.js';
export type { ModelSummary } from '../compiler/inspect.js';
export type { DiffReport, PassDiff, Drift } from '../compiler/diff.js';
export type { DiffFormat } from '../compiler/diff-format.js';
export type { OptLevel } from '../passes/pipelines.js';
export type { WasmManifest } from '../runtime/wasm/types.js';
export type { WebGpuManifest } from '../runtime/webgpu/types.js';
export type { QuantizeOptions, QuantizeResult, QuantizeReport, QuantMode } from '../compiler/calibrate-quantize.js';
export type { PruneOptions, PruneResult, PruneReport, PruneMode } from '../compiler/prune-model.js';
export {
  OnnxcError, OnnxImportError, ShapeError, UnsupportedOpError, UnsupportedTypeError, VerifyError, ParseError, KernelError,
  UsageError, LimitError, OracleError,
} from '../ir/errors.js';
export { BackendUnavailableError } from '../compiler/backends.js';
export { makeTensor } from '../ir/tensor.js';
export { printModel } from '../ir/text/index.js';
export { formatDiff };

export interface LoadOptions {
  /** Sizes for symbolic dims ({ batch: 1 }). */
  readonly dims?: Record<string, number>;
  /** The model's name in messages (default: the path). */
  readonly source?: string;
  /** Folder external data is read from, for bytes (a path's own folder is used for a path). */
  readonly baseDir?: string;
}

/** Read an ONNX model (a file path or the ModelProto bytes) into onnxc's typed IR, shapes inferred. */
export function loadModel(model: string | Uint8Array, opts: LoadOptions = {}): Model {
  const o: ImportOptions = { ...(opts.dims ? { dims: opts.dims } : {}), ...(opts.source ? { source: opts.source } : {}), ...(opts.baseDir ? { baseDir: opts.baseDir } : {}) };
  return typeof model === 'string' ? loadModelFile(model, o) : importModel(model, { source: '(bytes)', ...o });
}

/** The model as ONNX bytes (onnxc's own fused ops written back as standard ops). */
export function toOnnx(model: Model): Uint8Array {
  return exportModel(model);
}

/** A TensorProto file (the ONNX test-data layout's input_K.pb / output_K.pb) as a value. */
export function readTensor(path: string): RuntimeValue {
  return readValueFile(path);
}

/** A tensor as TensorProto bytes (for input_K.pb files). */
export function encodeTensor(t: Tensor, name: string): Uint8Array {
  return encodeTensorProto(t, name);
}

/** Seeded random inputs for a model, by position (symbolic dims sized by `dims`). */
export function randomModelInputs(model: Model, dims: Record<string, number> = {}, seed = 1): RuntimeValue[] {
  return randomInputs(model.graph, dims, seed);
}

/** Inputs, outputs, op histogram, parameter count and opsets (what `onnxc inspect` prints). */
export function inspect(model: Model): ModelSummary {
  return summarizeModel(model);
}

export interface PipelineOptions {
  /** -O level 0-3 (default 2 for optimize/diff, 3 for compile); ignored when `passes` is given. */
  readonly level?: OptLevel;
  /** An explicit pass list, e.g. ['constant-fold', 'dce'] (`onnxc opt --help` lists them). */
  readonly passes?: readonly string[];
  /** Pass options, e.g. { 'fold-limit': '4096' }. */
  readonly options?: Readonly<Record<string, string>>;
  /** Run the IR and op verifiers after every pass. */
  readonly verify?: boolean;
}

function passesFor(opts: PipelineOptions, defaultLevel: OptLevel) {
  return opts.passes !== undefined ? parsePassList(opts.passes.join(',')) : pipelineForLevel(opts.level ?? defaultLevel);
}

/** Run a pass pipeline, portable as `onnxc opt` is (passes that would leave onnxc's backend ops are skipped); the
 *  result can be written with toOnnx and run by onnxruntime. */
export function optimize(model: Model, opts: PipelineOptions = {}): Model {
  const { graph } = runPortablePasses(model.graph, passesFor(opts, 2), {
    ctx: { source: model.info.source, options: new Map(Object.entries(opts.options ?? {})) }, verify: opts.verify,
  });
  return { ...model, graph };
}

export { countNodes };

export interface DiffOptions extends PipelineOptions {
  /** Inputs by position; default seeded random inputs (sized by `dims`). */
  readonly inputs?: readonly RuntimeValue[];
  readonly dims?: Record<string, number>;
  readonly seed?: number;
  /** Also compare every named tensor that survives the passes. */
  readonly tensors?: boolean;
  /** Report the first pass whose drift exceeds this (relative to an output's max |value|). */
  readonly maxDrift?: number;
  /** Run the final model on onnxruntime-node too (an optional peer dependency; default false here). */
  readonly ort?: boolean;
}

/** Per pass: the IR change and the numeric drift of every output against the unoptimised model. */
export async function diff(model: Model, opts: DiffOptions = {}): Promise<DiffReport> {
  const { diffModel } = await import('../compiler/diff.js');
  const inputs = opts.inputs ?? randomInputs(model.graph, opts.dims ?? {}, opts.seed ?? 1);
  return diffModel(model, {
    passes: passesFor(opts, 2), inputs, ctx: { source: model.info.source ?? model.graph.name, options: new Map(Object.entries(opts.options ?? {})) },
    tensors: opts.tensors, ort: opts.ort ?? false, verify: opts.verify, ...(opts.maxDrift !== undefined ? { maxDrift: opts.maxDrift } : {}),
  });
}

export interface CompileOptions extends Omit<PipelineOptions, 'passes'> {
  readonly target?: 'wasm';
  /** Sizes for symbolic dims; every dim must be known at compile time. */
  readonly dims?: Record<string, number>;
  /** Input shapes by name (another way to fix symbolic dims). */
  readonly inputShapes?: Record<string, readonly number[]>;
  /** An explicit pass list instead of the -O level. */
  readonly passes?: readonly string[];
  /** Weights larger than this many bytes go to weights.bin (default 1 MiB). */
  readonly embedLimit?: number;
  /** Run Binaryen's optimiser (default true). */
  readonly optimize?: boolean;
}

/** Compile options for WebGPU (`target: 'webgpu'`): the pass pipeline and shapes, as for wasm. */
export interface WebGpuCompileOptions extends Omit<PipelineOptions, 'passes'> {
  readonly target: 'webgpu';
  readonly dims?: Record<string, number>;
  readonly inputShapes?: Record<string, readonly number[]>;
  readonly passes?: readonly string[];
}

/** A WebGPU artifact in memory: what `onnxc/runtime/webgpu`'s createSession takes (manifest, weights), and the
 *  files `compileToDir` writes (manifest.json, weights.bin, loader.js, loader.d.ts, shader_K.wgsl), by name. */
export interface WebGpuCompiled {
  readonly manifest: WebGpuManifest;
  readonly weights: Uint8Array;
  readonly files: Readonly<Record<string, Uint8Array | string>>;
}

/** A compiled artifact in memory: the files `compileToDir` writes, by name. */
export interface Artifact {
  readonly manifest: WasmManifest;
  readonly wasm: Uint8Array;
  /** The weights side file's bytes when the manifest names one (weights.bin), else undefined. */
  readonly weights?: Uint8Array;
  /** model.wasm, loader.js, loader.d.ts, manifest.json and weights.bin when not embedded. */
  readonly files: Readonly<Record<string, Uint8Array | string>>;
}

/** Compile ahead of time for a target: wasm (the pass pipeline, -O3 by default, lowering, Binaryen) or webgpu
 *  (`{ target: 'webgpu' }`: the same pipeline, WGSL per node; run it with onnxc/runtime/webgpu). */
export async function compile(model: Model, opts: WebGpuCompileOptions): Promise<WebGpuCompiled>;
export async function compile(model: Model, opts?: CompileOptions): Promise<Artifact>;
export async function compile(model: Model, opts: CompileOptions | WebGpuCompileOptions = {}): Promise<Artifact | WebGpuCompiled> {
  if (opts.target === 'webgpu') return compileWebGpuArtifact(model, opts);
  if ((opts.target ?? 'wasm') !== 'wasm') throw new UsageError(`unknown target '${String(opts.target)}' (available: wasm, webgpu)`);
  const [{ compileWasmGraph }, { loaderFiles }] = await Promise.all([import('../compiler/compile.js'), import('../runtime/wasm/loader-source.js')]);
  const { artifact } = compileWasmGraph(model.graph, {
    source: model.info.source, ...(opts.dims ? { dims: opts.dims } : {}), ...(opts.inputShapes ? { inputShapes: opts.inputShapes } : {}),
    ...(opts.embedLimit !== undefined ? { embedLimit: opts.embedLimit } : {}), ...(opts.optimize !== undefined ? { optimize: opts.optimize } : {}),
  }, {
    level: opts.level ?? 3, ...(opts.passes ? { passes: opts.passes.join(',') } : {}), options: new Map(Object.entries(opts.options ?? {})), verify: opts.verify,
  });
  const m = artifact.manifest as WasmManifest;
  const files: Record<string, Uint8Array | string> = { 'model.wasm': artifact.wasm, ...loaderFiles(), 'manifest.json': `${JSON.stringify(m, null, 1)}\n` };
  if (m.weights.file) files[m.weights.file] = artifact.weights;
  return { manifest: m, wasm: artifact.wasm, ...(m.weights.file ? { weights: artifact.weights } : {}), files };
}

async function compileWebGpuArtifact(model: Model, opts: WebGpuCompileOptions): Promise<WebGpuCompiled> {
  const [{ compileWebGpuModel }, { webgpuLoaderFiles }, { WEIGHTS_FILE }] = await Promise.all([
    import('../backends/webgpu/compile.js'), import('../runtime/webgpu/loader-source.js'), import('../backends/webgpu/artifact.js')]);
  const { artifact } = compileWebGpuModel(model.graph, {
    source: model.info.source, ...(opts.dims ? { dims: opts.dims } : {}), ...(opts.inputShapes ? { inputShapes: opts.inputShapes } : {}),
  }, { level: opts.level ?? 3, ...(opts.passes ? { passes: opts.passes.join(',') } : {}), options: new Map(Object.entries(opts.options ?? {})), verify: opts.verify });
  // the manifest as the folder holds it (weights in weights.bin), as `onnxc compile --target webgpu` writes it
  const manifest: WebGpuManifest = { ...artifact.manifest, weights: { ...artifact.manifest.weights, file: WEIGHTS_FILE } };
  const files: Record<string, Uint8Array | string> = {
    'manifest.json': `${JSON.stringify(manifest, null, 1)}\n`, [WEIGHTS_FILE]: artifact.weights, ...webgpuLoaderFiles(),
    ...Object.fromEntries(manifest.shaders.map((src, k) => [`shader_${k}.wgsl`, src])),
  };
  return { manifest, weights: artifact.weights, files };
}

/** Compile and write the artifact folder (what `onnxc compile -o DIR` does); returns the artifact. */
export async function compileToDir(model: Model, dir: string, opts: WebGpuCompileOptions): Promise<WebGpuCompiled>;
export async function compileToDir(model: Model, dir: string, opts?: CompileOptions): Promise<Artifact>;
export async function compileToDir(model: Model, dir: string, opts: CompileOptions | WebGpuCompileOptions = {}): Promise<Artifact | WebGpuCompiled> {
  const a = opts.target === 'webgpu' ? await compile(model, opts) : await compile(model, opts);
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(a.files)) writeFileSync(join(dir, name), data);
  return a;
}

export type BackendName = 'reference' | 'wasm' | 'wasm-O3' | 'webgpu' | 'webgpu-O3';

/** Run a model on a backend with inputs by position (the reference interpreter is exact ONNX semantics). */
export async function run(model: Model, inputs: readonly RuntimeValue[], opts: { backend?: BackendName } = {}): Promise<RuntimeValue[]> {
  const { loadBackend } = await import('../compiler/backends.js');
  return await (await loadBackend(opts.backend ?? 'reference')).prepare(model).run(inputs);
}

/** Quantise a model (int8 static/dynamic, int8/int4 weights, float16) calibrated on `samples` (inputs by
 *  position; `onnxc quantize` reads them from input_K.pb folders); returns the model, its ONNX bytes and a report
 *  (sizes, drift and top-1 agreement on `evalSamples`, or the calibration samples). */
export async function quantize(model: Model, samples: readonly (readonly RuntimeValue[])[], opts: import('../compiler/calibrate-quantize.js').QuantizeOptions,
  evalSamples?: readonly (readonly RuntimeValue[])[]): Promise<import('../compiler/calibrate-quantize.js').QuantizeResult> {
  const { quantizeModel } = await import('../compiler/calibrate-quantize.js');
  return quantizeModel(model, samples, opts, evalSamples);
}

/** Prune a model (whole channels with least-squares re-fit, or weights / 2:4) calibrated on `samples` (inputs by
 *  position); returns the model, its ONNX bytes and a report (per-layer channels, params and FLOPs, drift and
 *  top-1 agreement on the calibration samples, and on `evalSamples` with optional expected outputs). */
export async function prune(model: Model, samples: readonly (readonly RuntimeValue[])[], opts: import('../compiler/prune-model.js').PruneOptions,
  evalSet?: { readonly samples: readonly (readonly RuntimeValue[])[]; readonly expected?: RuntimeValue[][] }): Promise<import('../compiler/prune-model.js').PruneResult> {
  const { pruneModel } = await import('../compiler/prune-model.js');
  return pruneModel(model, samples, opts, evalSet ? { samples: [...evalSet.samples], ...(evalSet.expected ? { expected: evalSet.expected } : {}) } : undefined);
}
