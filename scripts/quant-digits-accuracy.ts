// Top-1 accuracy of `onnxc quantize --mode static` on labelled data (the trained digit models of models/train-cnn.ts,
// whose folder holds calibration/ and eval/ sets): the float model, then static int8 with each calibration method,
// with 8-bit and with 7-bit weights (--reduce-range), each run as the wasm -O3 artifact runs it (the integer kernels).
//   npx tsx models/train-cnn.ts DIR && npx tsx scripts/quant-digits-accuracy.ts DIR [MODEL.onnx ...] [--methods minmax,...]

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readCalibrationSet } from '../compiler/calibrate-data.js';
import { quantizeModel, runner } from '../compiler/calibrate-quantize.js';
import { loadModel } from '../compiler/onnx/import.js';
import { accuracy, readEvalSet } from '../compiler/prune-report.js';
import type { Model } from '../ir/graph.js';

const args = process.argv.slice(2);
const dir = args[0];
if (!dir) throw new Error('usage: tsx scripts/quant-digits-accuracy.ts DIR [MODEL.onnx ...]');
const named = args.slice(1).filter((a) => a.endsWith('.onnx'));
const models = named.length ? named : readdirSync(dir).filter((f) => /^digits_.*\.onnx$/.test(f)).sort().map((f) => join(dir, f));
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const mi = args.indexOf('--methods');
const methods = (mi > 0 ? args[mi + 1]!.split(',') : ['minmax', 'percentile', 'entropy']) as ('minmax' | 'percentile' | 'entropy')[];
console.log(`| model | float | ${methods.map((m) => `${m} 8-bit | ${m} 7-bit`).join(' | ')} |`);
console.log(`|---|---|${methods.map(() => '---|---|').join('')}`);
for (const path of models) {
  const model = loadModel(path);
  const cal = readCalibrationSet(join(dir, 'calibration'), model.graph);
  const ev = readEvalSet(join(dir, 'eval'), model.graph);
  const acc = (m: Model): number => Object.values(accuracy(m.graph, ev.expected!, ev.samples.map(runner(m))))[0]!;
  const base = acc(model);
  const cells: string[] = [];
  for (const method of methods) {
    for (const reduceRange of [false, true]) {
      const a = acc(quantizeModel(model, cal, { mode: 'static', method, ...(reduceRange ? { reduceRange } : {}) }).model);
      cells.push(`${pct(a)} (${a >= base ? '+' : ''}${(100 * (a - base)).toFixed(1)})`);
    }
  }
  console.log(`| ${path} | ${pct(base)} | ${cells.join(' | ')} |`);
}
