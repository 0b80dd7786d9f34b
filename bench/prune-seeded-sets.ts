// Seeded input sets for the pruning figures (issue 10): writes DIR/input_K.pb holding N samples stacked on the
// leading dim (the calibration reader splits them), floats in [-1, 1), from one seed.
//
//   npx tsx bench/prune-seeded-sets.ts MODEL.onnx DIR [--n N] [--seed S]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../api/index.js';
import { encodeTensorProto } from '../compiler/onnx/tensor-proto.js';
import { randomTensor } from '../compiler/random-inputs.js';
import { prng } from '../ir/random.js';

const args = process.argv.slice(2);
const opt = (f: string, d: string): string => { const i = args.indexOf(f); return i >= 0 ? args[i + 1]! : d; };
const [path, dir] = args as [string, string];
const n = Number(opt('--n', '200')), seed = Number(opt('--seed', '1'));
const model = loadModel(path);
const g = model.graph;
const rand = prng(seed);
mkdirSync(dir, { recursive: true });
g.inputs.forEach((name, k) => {
  const t = g.types.get(name)!;
  if (t.kind !== 'tensor' || !t.shape) throw new Error(`input ${name}: not a tensor`);
  const dims = t.shape.map((d, i) => (i === 0 ? n : typeof d === 'number' ? d : 1));
  writeFileSync(join(dir, `input_${k}.pb`), encodeTensorProto(randomTensor(t.dtype, dims, rand), name));
  console.log(`${join(dir, `input_${k}.pb`)}: ${name} [${dims.join(',')}]`);
});
