import { join } from 'node:path';
import { compileOptimized } from '/work/main/compiler/optimize-wasm.js';
import { tensorError } from '/work/main/compiler/compare.js';
import { toTensorValue, fromTensorValue } from '/work/main/compiler/compile.js';
import { loadModel } from '/work/main/compiler/onnx/import.js';
import { readValueFile } from '/work/main/compiler/onnx/tensor-proto.js';
import { createSessionSync } from '/work/main/runtime/wasm/session.js';
import { sharedModels } from '/work/main/test/helpers/shared.js';
const want = process.argv.slice(2);
for (const sm of sharedModels().filter((m) => want.includes(m.name))) {
  const model = loadModel(sm.model, {});
  const ds = sm.dataSets[0]!;
  const inputs = model.graph.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)) as any);
  for (const level of [0, 3] as const) {
    try {
    const t0 = performance.now();
    const { artifact: a, graph } = compileOptimized(model.graph, { source: sm.name, inputShapes: Object.fromEntries(model.graph.inputs.map((n, k) => [n, inputs[k].dims])), embedLimit: 0 }, { level });
    const ms = performance.now() - t0;
    const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.weights });
    const feeds = Object.fromEntries(model.graph.inputs.map((n, k) => [n, toTensorValue(inputs[k])]));
    s.runSync(feeds);
    const t1 = performance.now(); const R = 10; let outs: any;
    for (let i = 0; i < R; i++) outs = s.runSync(feeds);
    const runMs = (performance.now() - t1) / R;
    const errs = model.graph.outputs.map((name, k) => { const e = readValueFile(join(ds, `output_${k}.pb`)) as any; const err = tensorError(fromTensorValue(outs[name]), e); return err.maxAbs / err.maxExpected; });
    const hist: Record<string, number> = {}; for (const n of graph.nodes) hist[n.op] = (hist[n.op] ?? 0) + 1;
    console.log(`${sm.name} -O${level}: compile ${ms.toFixed(0)} ms, run ${runMs.toFixed(1)} ms, code ${(a.wasm.length/1024).toFixed(1)} KiB, err/max ${errs.map((e) => e.toExponential(2)).join(',')}  ${JSON.stringify(hist)}`);
    } catch (e) { console.log(`${sm.name} -O${level}: ERROR ${(e as Error).message}`); }
  }
}
