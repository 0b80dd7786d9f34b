// What every benchmarked engine provides: prepare a model once (compile, create a session), then run it on the
// data set's inputs; outputs come back as onnxc tensors in the model's output order, so they can be compared.

import type { Tensor } from '../../ir/tensor.js';
import type { BenchModel, ModelInputs } from '../models.js';

export type EngineName = 'onnxc-wasm' | 'onnxc-wasm-relaxed' | 'onnxc-wasm-2t' | 'ort-web-wasm' | 'ort-web-wasm-2t' | 'ort-node-cpu' | 'onnxc-webgpu' | 'ort-node-webgpu';

/** Sizes and times an engine knows about its prepared model (absent: not applicable or not known). */
export interface EngineInfo {
  /** Ahead-of-time compile (onnxc): ONNX file to artifact on disk, measured inside the compiling process. */
  compileMs?: number;
  /** Load: artifact or ONNX bytes to a runnable session (instantiate / InferenceSession.create). */
  loadMs: number;
  /** Generated code (model.wasm with the weights moved out). */
  codeBytes?: number;
  /** The JavaScript loader shipped beside model.wasm, when the artifact has one. */
  loaderBytes?: number;
  weightBytes?: number;
  /** Linear memory of the wasm instance after the runs (onnxc's is fixed at compile time). */
  linearMemoryBytes?: number;
}

export interface PreparedEngine {
  readonly info: EngineInfo;
  run(feeds: ModelInputs['feeds']): Promise<Tensor[]>;
  dispose(): Promise<void>;
}

export interface Engine {
  readonly name: EngineName;
  readonly summary: string;
  /** `workDir` is an empty folder the engine may write to (onnxc's artifact). Throws when the model cannot run. */
  prepare(model: BenchModel, inputs: ModelInputs, workDir: string): Promise<PreparedEngine>;
}
