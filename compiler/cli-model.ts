// What most commands start with: read a model file and the inputs to run it on (input_K.pb or seeded random).

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxImportError, UsageError } from '../ir/errors.js';
import type { Model } from '../ir/graph.js';
import type { RuntimeValue } from '../ir/value.js';
import { existingDir, parseDims, parseSeed } from './cli-args.js';
import { loadModel } from './onnx/import.js';
import { readValueFile } from './onnx/tensor-proto.js';
import { randomInputs } from './random-inputs.js';

export interface InputOpts { inputs?: string; dim?: string[]; seed?: string }

export function readInputs(dir: string, model: Model): RuntimeValue[] {
  existingDir('--inputs', dir);
  const files = readdirSync(dir).filter((f) => /^input_\d+\.pb$/.test(f));
  return model.graph.inputs.map((name, k) => {
    const f = `input_${k}.pb`;
    if (!files.includes(f)) throw new UsageError(`inputs folder '${dir}' has no ${f} for input '${name}'`);
    return readValueFile(join(dir, f));
  });
}

/** The inputs named by --inputs, or seeded random ones sized by --dim. */
export function modelInputs(model: Model, opts: InputOpts): RuntimeValue[] {
  if (opts.inputs !== undefined) return readInputs(opts.inputs, model);
  return randomInputs(model.graph, parseDims(opts.dim), parseSeed(opts.seed));
}

export function load(path: string, opts: { dim?: string[] }): Model {
  if (!existsSync(path)) throw new OnnxImportError(`model file '${path}' does not exist`);
  return loadModel(path, { dims: parseDims(opts.dim) });
}
