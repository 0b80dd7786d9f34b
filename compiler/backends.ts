// The backends the CLI and the conformance runner can run a model on. Each prepares a model once (compile) and
// then runs it on inputs by position. The registry holds entries with loaders: a backend's code (Binaryen for
// wasm, which reserves ~10 GB of virtual memory when imported; Dawn for webgpu) loads only when that backend is
// asked for, so commands that never compile (inspect, opt, diff, run --backend reference) never import it.
// A run may be asynchronous (webgpu reads results back with mapAsync): callers of a registry backend await it;
// the reference and wasm backends stay synchronous (their type says so) for the callers that need that.

import { runGraph } from '../backends/reference/interpreter.js';
import { startBinaryen } from '../backends/wasm/binaryen-start.js';
import { OnnxcError, UsageError } from '../ir/errors.js';
import type { Model } from '../ir/graph.js';
import type { RuntimeValue } from '../ir/value.js';

/** A backend that cannot start here: its runtime, device or package is missing (the message says what to install). */
export class BackendUnavailableError extends OnnxcError {}

/** What a run returns: the outputs by position, or a promise of them. */
export type Outputs = RuntimeValue[] | Promise<RuntimeValue[]>;

export interface Prepared<R extends Outputs = RuntimeValue[]> {
  run(inputs: readonly (RuntimeValue | undefined)[]): R;
}

/** A backend; `Backend` alone runs synchronously (reference, wasm), `AnyBackend` may not (webgpu). */
export interface Backend<R extends Outputs = RuntimeValue[]> {
  readonly name: string;
  readonly summary: string;
  prepare(model: Model): Prepared<R>;
}

export type AnyBackend = Backend<Outputs>;

/** A registry entry: name and summary (for help and errors) and how to load the backend. */
export interface BackendEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<AnyBackend>;
}

export const referenceBackend: Backend = {
  name: 'reference',
  summary: 'the reference interpreter: exact ONNX semantics, plain loops (the oracle)',
  prepare: (model) => ({ run: (inputs) => runGraph(model.graph, inputs, { source: model.info.source }) }),
};

export const BACKENDS: readonly BackendEntry[] = [
  { name: referenceBackend.name, summary: referenceBackend.summary, load: () => Promise.resolve(referenceBackend) },
  {
    name: 'wasm', summary: 'WebAssembly SIMD module compiled with Binaryen, run by runtime/wasm (shapes fixed per compile; no passes)',
    load: async () => { startBinaryen(); return (await import('./compile.js')).wasmBackend; },
  },
  {
    name: 'wasm-O3', summary: 'the wasm backend after the -O3 pass pipeline, as `onnxc compile` builds it',
    load: async () => { startBinaryen(); return (await import('./compile.js')).wasmO3Backend; },
  },
  {
    name: 'webgpu', summary: 'WGSL compute shaders run by runtime/webgpu on Dawn (lavapipe without a GPU); kernels as written (no passes); runs are async',
    load: async () => (await import('../backends/webgpu/model-backend.js')).loadWebGpuBackend('webgpu'),
  },
  {
    name: 'webgpu-O3', summary: 'the webgpu backend after the -O3 pass pipeline, as `onnxc compile --target webgpu` builds it',
    load: async () => (await import('../backends/webgpu/model-backend.js')).loadWebGpuBackend('webgpu-O3'),
  },
];

/** The backends whose runs are synchronous. */
export type SyncBackendName = 'reference' | 'wasm' | 'wasm-O3';

/** The backend called `name`, loaded; a UsageError listing the names when there is none, a
 *  BackendUnavailableError naming what to install when its runtime cannot start here (webgpu without an adapter). */
export async function loadBackend(name: SyncBackendName): Promise<Backend>;
export async function loadBackend(name: string): Promise<AnyBackend>;
export async function loadBackend(name: string): Promise<AnyBackend> {
  const b = BACKENDS.find((x) => x.name === name);
  if (!b) throw new UsageError(`unknown backend '${name}' (available: ${BACKENDS.map((x) => x.name).join(', ')})`);
  return b.load();
}
