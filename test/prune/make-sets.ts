// Writes seeded sample sets for `onnxc prune` figures: `tsx test/prune/make-sets.ts MODEL DIR N SEED [--dim k=v]`
// gives DIR/sample_0000/input_K.pb ... (one folder per sample, random inputs from compiler/random-inputs.ts) and,
// with --outputs, output_K.pb from the unpruned model on the reference interpreter (an eval set with expected outputs).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../compiler/onnx/import.js';
import { encodeTensorProto } from '../../compiler/onnx/tensor-proto.js';
import { randomInputs } from '../../compiler/random-inputs.js';
import { isTensor } from '../../ir/value.js';

const [path, dir, n, seed, ...rest] = process.argv.slice(2);
const dims = Object.fromEntries(rest.filter((a) => a.includes('=')).map((a) => { const [k, v] = a.split('='); return [k!, Number(v)]; }));
const model = loadModel(path!, { dims });
for (let i = 0; i < Number(n); i++) {
  const d = join(dir!, `sample_${String(i).padStart(4, '0')}`);
  mkdirSync(d, { recursive: true });
  const xs = randomInputs(model.graph, dims, Number(seed) * 100_000 + i);
  xs.forEach((x, k) => { if (isTensor(x)) writeFileSync(join(d, `input_${k}.pb`), encodeTensorProto(x, model.graph.inputs[k]!)); });
}
console.log(`wrote ${n} samples to ${dir}`);
