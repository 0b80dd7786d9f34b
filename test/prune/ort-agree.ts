// Figures helper: `tsx test/prune/ort-agree.ts ORIGINAL.onnx PRUNED.onnx EVAL_DIR [--dim k=v]` runs both models with
// onnxruntime-node on every sample of the eval set and prints top-1 agreement, how many distinct classes the
// original predicts (an agreement over one class says little), and the worst drift relative to the output range.

import { readFileSync } from 'node:fs';
import { readCalibrationSet } from '../../compiler/calibrate-data.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { runOrt } from '../../compiler/ort.js';
import type { RuntimeValue } from '../../ir/value.js';

const [orig, pruned, evalDir, ...rest] = process.argv.slice(2);
const dims = Object.fromEntries(rest.filter((a) => a.includes('=')).map((a) => { const [k, v] = a.split('='); return [k!, Number(v)]; }));
const model = loadModel(orig!, { dims });
const samples = readCalibrationSet(evalDir!, model.graph);
const feeds = (s: readonly RuntimeValue[]): Record<string, RuntimeValue> => Object.fromEntries(model.graph.inputs.map((n, i) => [n, s[i]!]));
const argmax = (d: Float32Array): number => d.reduce((b, v, i) => (v > d[b]! ? i : b), 0);
const a = readFileSync(orig!), b = readFileSync(pruned!);
let agree = 0, drift = 0;
const classes = new Set<number>();
for (const s of samples) {
  const x = (await runOrt(a, feeds(s))).values[0]!.data as Float32Array, y = (await runOrt(b, feeds(s))).values[0]!.data as Float32Array;
  classes.add(argmax(x));
  if (argmax(x) === argmax(y)) agree++;
  let err = 0, mag = 0;
  for (let i = 0; i < x.length; i++) { err = Math.max(err, Math.abs(x[i]! - y[i]!)); mag = Math.max(mag, Math.abs(x[i]!)); }
  drift = Math.max(drift, err / mag);
}
console.log(JSON.stringify({ samples: samples.length, top1Agreement: agree / samples.length, distinctClasses: classes.size, drift }));
