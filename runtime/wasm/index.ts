// Public entry of the onnxc wasm runtime.
export { createSession, createSessionSync, WasmSession } from './session.js';
export type { ArtifactParts, IoSpec, TensorValue, TypedArray, WasmManifest } from './session.js';
