// The source of every WebGPU artifact's loader.js: esbuild bundles this file with the runtime it imports
// (runtime/webgpu/loader-build.ts). createSession() with no argument loads the folder loader.js is in.

import { loadArtifact, type LoadOptions, type WebGpuSource } from './load.js';
import { createSession as open, type WebGpuSession, type WebGpuSessionOptions } from './session.js';

export { OnnxcRuntimeError } from '../wasm/errors.js';

export function createSession(source: WebGpuSource = new URL('.', import.meta.url), options: WebGpuSessionOptions & LoadOptions = {}): Promise<WebGpuSession> {
  return loadArtifact(source, options).then((a) => open(a, options));
}
