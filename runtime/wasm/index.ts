// Public entry of the onnxc wasm runtime (`onnxc/runtime`): what ships to devices. Imports nothing of the compiler.
export { createSession } from './load.js';
export { createSessionSync, WasmSession } from './session.js';
export { OnnxcRuntimeError } from './errors.js';
export type {
  ArtifactParts, ArtifactSource, FeedTensor, IoSpec, LoadProgress, RuntimeErrorCode, Session, SessionOptions, TensorValue, TypedArray,
  ValueMetadata, WasmManifest,
} from './types.js';
