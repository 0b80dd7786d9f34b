// Latency of a dynamic-dims artifact (`compile --dim seq=LO..HI`) against the static compile at the dataset's shape:
// both -O3, run through the shipped runtime, interleaved run by run so machine load hits both alike.
//   npx tsx bench/dyn-dims.ts MODEL.onnx SYM=LO..HI [--runs N] [--dim NAME=N ...]
// Inputs: the model folder's test_data_set_0 (its shape is the one timed).

import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compileDynamic } from '../backends/wasm/dims-compile.js';
import { compileWasmGraph, toTensorValue } from '../compiler/compile.js';
import { loadModel } from '../compiler/onnx/import.js';
import { readValueFile } from '../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../ir/tensor.js';
import { parseDimSpecs } from '../lowering/dims.js';
import { createSessionSync, type WasmSession } from '../runtime/wasm/session.js';

const args = process.argv.slice(2);
const path = args[0]!;
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 100;
const specs = args.slice(1).filter((a, i, all) => a.includes('=') && all[i] !== '--runs' && all[i - 1] !== '--runs');
const { fixed, ranges } = parseDimSpecs(specs);
const model = loadModel(path);
const ds = readdirSync(dirname(path)).find((f) => f.startsWith('test_data_set'))!;
const inputs = model.graph.inputs.map((_, k) => readValueFile(join(dirname(path), ds, `input_${k}.pb`)) as Tensor);
const shapes = Object.fromEntries(model.graph.inputs.map((n, i) => [n, inputs[i]!.dims]));
const feeds = Object.fromEntries(model.graph.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)]));

let t = performance.now();
const stat = compileWasmGraph(model.graph, { source: path, inputShapes: shapes, embedLimit: Infinity }).artifact;
const tStatic = performance.now() - t;
t = performance.now();
const dyn = compileDynamic(model.graph, { source: path, dims: fixed, embedLimit: Infinity }, ranges).artifact;
const tDyn = performance.now() - t;
const sessions: [string, WasmSession][] = [['static', createSessionSync(stat)], ['dynamic', createSessionSync(dyn)]];
for (const [, s] of sessions) for (let i = 0; i < 5; i++) s.runSync(feeds);
const times: Record<string, number[]> = { static: [], dynamic: [] };
for (let r = 0; r < runs; r++) {
  // alternate which goes first, so neither always runs on a warmer cache
  for (const [name, s] of r % 2 ? sessions : [...sessions].reverse()) {
    const t0 = performance.now();
    s.runSync(feeds);
    times[name]!.push(performance.now() - t0);
  }
}
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const ms = (x: number): string => `${x.toFixed(3)} ms`;
console.log(`${path.split('/').pop()} at ${JSON.stringify(shapes)}, ${runs} interleaved runs each`);
console.log(`static   compile ${(tStatic / 1000).toFixed(1)} s, ${(stat.wasm.length / 1024).toFixed(0)} KiB wasm, median ${ms(median(times.static!))}, min ${ms(Math.min(...times.static!))}`);
console.log(`dynamic  compile ${(tDyn / 1000).toFixed(1)} s, ${(dyn.wasm.length / 1024).toFixed(0)} KiB wasm, median ${ms(median(times.dynamic!))}, min ${ms(Math.min(...times.dynamic!))} (${specs.join(' ')})`);
console.log(`ratio dynamic/static: median ${(median(times.dynamic!) / median(times.static!)).toFixed(3)}, min ${(Math.min(...times.dynamic!) / Math.min(...times.static!)).toFixed(3)}`);
