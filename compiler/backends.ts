// The backends the CLI and the conformance runner can run a model on. Each prepares a model once (compile) and
// then runs it on inputs by position. The registry holds entries with loaders: a backend's code (Binaryen for
// wasm, which reserves ~10 GB of virtual memory when imported) loads only when that backend is asked for, so
// commands that never compile (inspect, opt, diff, run --backend reference) never import it.

import { runGraph } from '../backends/reference/interpreter.js';
import { UsageError } from '../ir/errors.js';
import type { Model } from '../ir/graph.js';
import type { RuntimeValue } from '../ir/value.js';

export interface Prepared {
  run(inputs: readonly (RuntimeValue | undefined)[]): RuntimeValue[];
}

export interface Backend {
  readonly name: string;
  readonly summary: string;
  prepare(model: Model): Prepared;
}

/** A registry entry: name and summary (for help and errors) and how to load the backend. */
export interface BackendEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<Backend>;
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
    load: async () => (await import('./compile.js')).wasmBackend,
  },
  {
    name: 'wasm-O3', summary: 'the wasm backend after the -O3 pass pipeline, as `onnxc compile` builds it',
    load: async () => (await import('./compile.js')).wasmO3Backend,
  },
];

/** The backend called `name`, loaded; a UsageError listing the names when there is none. */
export async function loadBackend(name: string): Promise<Backend> {
  const b = BACKENDS.find((x) => x.name === name);
  if (!b) throw new UsageError(`unknown backend '${name}' (available: ${BACKENDS.map((x) => x.name).join(', ')})`);
  return b.load();
}
