// The WebGPU runtime's public surface: createSession from an artifact in memory, loadSession from its folder's
// URL (what an artifact's loader.js does), GPU-resident outputs for chaining.
import { loadArtifact, type LoadOptions, type WebGpuSource } from './load.js';
import { createSession, type WebGpuSession, type WebGpuSessionOptions } from './session.js';

export { createSession, type WebGpuSession, type WebGpuSessionOptions, type WebGpuFeed } from './session.js';
export { loadArtifact, type LoadOptions, type WebGpuSource } from './load.js';
export { chooseForms, formsFromEnv, isCpuAdapter, type AdapterFacts, type FormsChoice, type KernelForms } from './forms.js';
export type { GpuTensor } from './gpu-tensor.js';
export type { WebGpuArtifact, WebGpuManifest, WebGpuIo, DispatchSpec, DispatchForm, BindingRange } from './types.js';
export type { TensorValue } from '../wasm/types.js';
export { OnnxcRuntimeError } from '../wasm/errors.js';

/** Load an artifact folder (URL or path) or parts, and create a session on it. */
export async function loadSession(source: WebGpuSource, options: WebGpuSessionOptions & LoadOptions = {}): Promise<WebGpuSession> {
  return createSession(await loadArtifact(source, options), options);
}
