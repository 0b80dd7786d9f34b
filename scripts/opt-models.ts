// Long check (npm run check:opt): every shared real model through `onnxc opt -O2`'s portable pipeline (or the
// level given as argv[2]) still matches its expected (onnxruntime) outputs, through the reference backend and
// through onnxruntime-node running the optimised model as onnxc exports it, and the exported file has no more
// nodes than the model read. Prints node counts, pass times and onnxruntime's latency on both files.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runGraph } from '../backends/reference/interpreter.js';
import { tensorError } from '../compiler/compare.js';
import { exportModel } from '../compiler/onnx/export.js';
import { loadModel } from '../compiler/onnx/import.js';
import { readValueFile } from '../compiler/onnx/tensor-proto.js';
import { runOrt } from '../compiler/ort.js';
import type { Tensor } from '../ir/tensor.js';
import { isTensor } from '../ir/value.js';
import { countNodes, opCounts } from '../passes/manager.js';
import { runPortablePasses } from '../compiler/opt-portable.js';
import { importModel } from '../compiler/onnx/import.js';
import { parseLevel, pipelineForLevel } from '../passes/pipelines.js';
import { sharedModels } from '../test/helpers/shared.js';

const TOLERANCE: Record<string, number> = { mobilenet_v2_qdq: 1e-2, minilm_l6_dyn: 2e-2, mobilenet_v2_fp16: 1e-3 };
const level = parseLevel(process.argv[2] ?? '-O2');
const only = process.argv[3];
let failed = 0;
for (const m of sharedModels()) {
  if (only && !m.name.includes(only)) continue;
  const model = loadModel(m.model);
  const t0 = performance.now();
  const { graph } = runPortablePasses(model.graph, pipelineForLevel(level), { verify: true, ctx: { source: m.name, options: new Map() } });
  const ms = performance.now() - t0;
  const opt = { ...model, graph };
  const ds = m.dataSets[0]!;
  const inputs = model.graph.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)) as Tensor);
  const expected = readdirSync(ds).filter((f) => /^output_\d+\.pb$/.test(f)).sort().map((f) => readValueFile(join(ds, f)) as Tensor);
  const ref = runGraph(graph, inputs);
  const feeds = Object.fromEntries(model.graph.inputs.map((n, k) => [n, inputs[k]!]));
  const exported = exportModel(opt);
  const ortOut = (await runOrt(exported, feeds)).values;
  // the file as written: its node count as onnxruntime sees it (no inference, exactly the exported nodes)
  const nodesIn = countNodes(model.graph), nodesOut = countNodes(importModel(exported, { noInfer: true }).graph);
  const tol = TOLERANCE[m.name] ?? 1e-4;
  const rel = (a: unknown, e: Tensor): number => {
    if (!isTensor(a as never)) return Infinity;
    const err = tensorError(a as Tensor, e);
    return err.maxAbs / Math.max(err.maxExpected, 1e-30);
  };
  const refErr = Math.max(...expected.map((e, k) => rel(ref[k], e)));
  const ortErr = Math.max(...expected.map((e, k) => rel(ortOut[k], e)));
  const ok = refErr <= tol && ortErr <= tol && nodesOut <= nodesIn;
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${m.name.padEnd(22)} nodes ${String(nodesIn).padStart(4)} -> ${String(nodesOut).padStart(4)} (file)  passes ${ms.toFixed(0).padStart(5)} ms  ` +
    `err/max: reference ${refErr.toExponential(2)}, onnxruntime(exported) ${ortErr.toExponential(2)} (tol ${tol})`);
  // what the fusions matched: the ops the pipeline made that the model did not have
  const before = opCounts(model.graph);
  const made = [...opCounts(graph)].filter(([op]) => !before.has(op) || op.startsWith('onnxc.')).map(([op, n]) => `${op} x${n}`);
  if (made.length) console.log(`     made: ${made.join(', ')}`);
}
process.exit(failed ? 1 : 0);
