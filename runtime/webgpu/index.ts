// The WebGPU runtime's public surface.
export { createSession, type WebGpuSession, type WebGpuSessionOptions } from './session.js';
export type { WebGpuArtifact, WebGpuManifest, WebGpuIo, DispatchSpec, BindingRange } from './types.js';
export { OnnxcRuntimeError } from '../wasm/errors.js';
