// Writes the bundled example models in the ONNX backend-test layout (model.onnx + test_data_set_0/input_0.pb),
// so the CLI can be tried on a fresh clone: `node dist/models/build-examples.js examples`.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportModel } from '../compiler/onnx/export.js';
import { encodeTensorProto } from '../compiler/onnx/tensor-proto.js';
import { randomInputs } from '../compiler/random-inputs.js';
import { tinyCnn } from './tiny-cnn.js';

export function buildExamples(root: string): string[] {
  const written: string[] = [];
  const model = tinyCnn();
  const dir = join(root, 'tiny_cnn');
  mkdirSync(join(dir, 'test_data_set_0'), { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), exportModel(model));
  const inputs = randomInputs(model.graph, { batch: 2 }, 42);
  inputs.forEach((t, k) => writeFileSync(join(dir, 'test_data_set_0', `input_${k}.pb`), encodeTensorProto(t, model.graph.inputs[k]!)));
  written.push(join(dir, 'model.onnx'));
  return written;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = process.argv[2] ?? 'examples';
  for (const f of buildExamples(root)) console.log(`wrote ${f}`);
}
