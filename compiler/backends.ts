// The backends the CLI and the conformance runner can run a model on. Each prepares a model once (compile)
// and then runs it on inputs by position.

import { runGraph } from '../backends/reference/interpreter.js';
import { UsageError } from '../ir/errors.js';
import { wasmBackend, wasmO3Backend } from './compile.js';
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

const reference: Backend = {
  name: 'reference',
  summary: 'the reference interpreter: exact ONNX semantics, plain loops (the oracle)',
  prepare: (model) => ({ run: (inputs) => runGraph(model.graph, inputs, { source: model.info.source }) }),
};

export const BACKENDS: readonly Backend[] = [reference, wasmBackend, wasmO3Backend];

export function getBackend(name: string): Backend {
  const b = BACKENDS.find((x) => x.name === name);
  if (!b) throw new UsageError(`unknown backend '${name}' (available: ${BACKENDS.map((x) => x.name).join(', ')})`);
  return b;
}
