// Top-1 accuracy of any ONNX classifier on a labelled set (layout: see writeLabelledSet in train-cnn.ts; integer
// output_K.pb = labels, float = expected scores), run as `compile` deploys it (wasm -O3, else the reference):
//   npx tsx models/eval-accuracy.ts MODEL.onnx EVAL_DIR [MODEL2.onnx ...]

import { runner } from '../compiler/calibrate-quantize.js';
import { loadModel } from '../compiler/onnx/import.js';
import { accuracy, readEvalSet } from '../compiler/prune-report.js';

/** Per output with labels: the fraction of samples whose argmax is the label. */
export function labelledAccuracy(modelPath: string, evalDir: string): Record<string, number> {
  const model = loadModel(modelPath);
  const set = readEvalSet(evalDir, model.graph);
  if (!set.expected) throw new Error(`eval set '${evalDir}' has no output_K.pb (labels) for every input set`);
  return accuracy(model.graph, set.expected, set.samples.map(runner(model)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [first, dir, ...more] = process.argv.slice(2);
  if (!first || !dir) throw new Error('usage: tsx models/eval-accuracy.ts MODEL.onnx EVAL_DIR [MODEL2.onnx ...]');
  for (const m of [first, ...more]) {
    for (const [o, a] of Object.entries(labelledAccuracy(m, dir))) console.log(`${m} ${o}: top-1 accuracy ${(100 * a).toFixed(2)}%`);
  }
}
