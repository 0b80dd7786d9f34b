// `onnxc demo [DIR]`: the README's quick start in one command, on a fresh clone or an installed package: write
// the bundled example model, inspect it, compile it to a wasm artifact, run the artifact through its own
// loader.js (as an app would) and compare with the reference interpreter. Exits 1 if they disagree.

import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runGraph } from '../backends/reference/interpreter.js';
import { KernelError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import { isTensor } from '../ir/value.js';
import { buildExamples } from '../models/build-examples.js';
import type { Session } from '../runtime/wasm/types.js';
import { outputDir } from './cli-args.js';
import { load, readInputs } from './cli-model.js';
import { tensorError } from './compare.js';
import { compileToDir, fromTensorValue, toTensorValue } from './compile.js';
import { formatSummary, summarizeModel } from './inspect.js';

export async function demoCommand(dir: string): Promise<void> {
  outputDir('demo folder', dir);
  const show = (p: string): string => relative(process.cwd(), p) || '.';
  const modelPath = buildExamples(join(dir, 'examples'))[0]!;
  const data = join(dir, 'examples', 'tiny_cnn', 'test_data_set_0');
  console.log(`== wrote ${show(modelPath)} (the bundled example: a small CNN) and an input in ${show(data)}\n`);
  const model = load(modelPath, {});
  console.log(`${formatSummary(summarizeModel(model))}\n`);
  const inputs = readInputs(data, model) as Tensor[];
  const out = join(dir, 'out', 'tiny_cnn_wasm');
  const r = compileToDir(model, 'wasm', out, { inputShapes: Object.fromEntries(model.graph.inputs.map((n, i) => [n, inputs[i]!.dims])) });
  console.log(`== compiled to ${show(out)}: ${Object.entries(r.files).map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} KiB`).join(', ')}\n`);
  const loader = await import(pathToFileURL(resolve(out, 'loader.js')).href) as { createSession(): Promise<Session> };
  const session = await loader.createSession();
  const got = await session.run(Object.fromEntries(model.graph.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)])));
  const want = runGraph(model.graph, inputs, { source: model.info.source });
  let worst = 0;
  model.graph.outputs.forEach((name, k) => {
    const w = want[k]!;
    if (!isTensor(w)) return;
    const e = tensorError(fromTensorValue(got[name]!), w);
    worst = Math.max(worst, e.maxAbs / Math.max(e.maxExpected, 1e-30));
    console.log(`== ran ${show(join(out, 'loader.js'))}: ${name} ${got[name]!.type}[${got[name]!.dims.join(',')}], max abs error vs the reference interpreter ${e.maxAbs.toExponential(2)}`);
  });
  if (worst > 1e-4) throw new KernelError(`the artifact's outputs differ from the reference by ${worst.toExponential(2)} (relative), above 1e-4`);
  console.log(`\nUse it from JavaScript (Node or a browser):\n  import { createSession } from './${show(join(out, 'loader.js'))}';\n  const session = await createSession();\n  const outputs = await session.run({ ${model.graph.inputs[0]}: { type: 'float32', dims: [${inputs[0]!.dims.join(', ')}], data: new Float32Array(${inputs[0]!.data.length}) } });`);
}
