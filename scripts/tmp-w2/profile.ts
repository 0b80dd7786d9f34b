import { join } from 'node:path';
import { compileOptimized } from '/work/main/compiler/optimize-wasm.js';
import { loadModel } from '/work/main/compiler/onnx/import.js';
import { readValueFile } from '/work/main/compiler/onnx/tensor-proto.js';
import { sharedModels } from '/work/main/test/helpers/shared.js';
const [name, lvl] = process.argv.slice(2);
const sm = sharedModels().find((m) => m.name === name)!;
const model = loadModel(sm.model, {});
const ds = sm.dataSets[0]!;
const inputs = model.graph.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)) as any);
const { artifact: a, graph } = compileOptimized(model.graph, { source: name, inputShapes: Object.fromEntries(model.graph.inputs.map((n, k) => [n, inputs[k].dims])), embedLimit: Infinity, exportKernels: true }, { level: Number(lvl ?? 3) as 3 });
const inst = new WebAssembly.Instance(new WebAssembly.Module(a.wasm), {});
const ex = inst.exports as any;
for (let i = 0; i < 5; i++) ex.run();
const R = 20;
const rows = a.kernels.map((k) => {
  const f = ex[k.fn]; const t0 = performance.now(); for (let i = 0; i < R; i++) f(); return { ...k, ms: (performance.now() - t0) / R };
});
const total = rows.reduce((s, r) => s + r.ms, 0);
const byOp: Record<string, number> = {};
for (const r of rows) byOp[r.op] = (byOp[r.op] ?? 0) + r.ms;
console.log(`total ${total.toFixed(1)} ms`, Object.entries(byOp).sort((x, y) => y[1] - x[1]).map(([o, t]) => `${o} ${t.toFixed(1)}`).join(', '));
const nodes = new Map(graph.nodes.map((n) => [n.name, n]));
for (const r of rows.sort((x, y) => y.ms - x.ms).slice(0, Number(process.argv[4] ?? 12))) {
  const n = nodes.get(r.node)!;
  const sh = (v: string) => JSON.stringify((graph.types.get(v) as any)?.shape);
  console.log(`${r.ms.toFixed(2).padStart(7)} ${r.op} ${n.inputs.map(sh).join(' ')} -> ${sh(n.outputs[0]!)} g=${(n.attrs.group as any)?.value ?? ''} s=${JSON.stringify((n.attrs.strides as any)?.value ?? '')} k=${JSON.stringify((n.attrs.kernel_shape as any)?.value ?? '')}`);
}
