// The source of every artifact's loader.js: esbuild bundles this file with the runtime it imports (one source, no
// copy; runtime/wasm/loader-source.ts). createSession() with no argument loads the folder loader.js is in.

import { createSession as load } from './load.js';
import type { ArtifactSource, Session, SessionOptions } from './types.js';

export { OnnxcRuntimeError } from './errors.js';

export function createSession(source: ArtifactSource = new URL('.', import.meta.url), options?: SessionOptions): Promise<Session> {
  return load(source, options);
}
