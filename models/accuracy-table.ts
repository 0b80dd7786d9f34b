// The accuracy figures of issues 9 and 10 on the trained digit models (train-cnn.ts): top-1 accuracy on the
// labelled eval set of the float model, 50% channel pruning with and without re-fit (with the FLOPs and parameter
// reduction of the re-fitted one, since the budget counts channels), and static int8, each through
// the same code as `onnxc prune` / `onnxc quantize` with the set's calibration folder:
//   npx tsx models/train-cnn.ts DIR && npx tsx models/accuracy-table.ts DIR [MODEL.onnx ...] [--sparsity 0.5]

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readCalibrationSet } from '../compiler/calibrate-data.js';
import { quantizeModel, runner } from '../compiler/calibrate-quantize.js';
import { loadModel } from '../compiler/onnx/import.js';
import { pruneModel } from '../compiler/prune-model.js';
import { accuracy, readEvalSet } from '../compiler/prune-report.js';
import type { Model } from '../ir/graph.js';

const args = process.argv.slice(2);
const dir = args[0];
if (!dir) throw new Error('usage: tsx models/accuracy-table.ts DIR [MODEL.onnx ...] [--sparsity S]');
const at = args.indexOf('--sparsity'), sparsity = at > 0 ? Number(args[at + 1]) : 0.5;
const named = args.slice(1).filter((a, i, all) => a.endsWith('.onnx') && all[i] !== '--sparsity');
const models = named.length ? named : readdirSync(dir).filter((f) => /^digits_.*\.onnx$/.test(f)).sort().map((f) => join(dir, f));

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
console.log(`| model | float | ${sparsity * 100}% channels, re-fit | ${sparsity * 100}% channels, no re-fit | FLOPs / params fewer (re-fit) | static int8 |`);
console.log('|---|---|---|---|---|---|');
for (const path of models) {
  const model = loadModel(path);
  const cal = readCalibrationSet(join(dir, 'calibration'), model.graph);
  const ev = readEvalSet(join(dir, 'eval'), model.graph);
  const acc = (m: Model): number => Object.values(accuracy(m.graph, ev.expected!, ev.samples.map(runner(m))))[0]!;
  const pruned = (refit: boolean): Model => pruneModel(model, cal, { mode: 'channels', sparsity, refit }).model;
  const refitted = pruneModel(model, cal, { mode: 'channels', sparsity, refit: true }), r = refitted.report;
  const fewer = `${(r.flopsBefore / r.flopsAfter).toFixed(2)}x / ${(r.paramsBefore / r.paramsAfter).toFixed(2)}x`;
  const int8 = quantizeModel(model, cal, { mode: 'static' }).model;
  const base = acc(model);
  const cell = (m: Model): string => { const a = acc(m); return `${pct(a)} (${a >= base ? '+' : ''}${(100 * (a - base)).toFixed(1)})`; };
  console.log(`| ${path} | ${pct(base)} | ${cell(refitted.model)} | ${cell(pruned(false))} | ${fewer} | ${cell(int8)} |`);
}
