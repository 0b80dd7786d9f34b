import { loadModel } from './compiler/onnx/import.js';
import { readValueFile } from './compiler/onnx/tensor-proto.js';
import { runGraph } from './backends/reference/interpreter.js';
import { wasmBackend } from './compiler/compile.js';
import { tensorError } from './compiler/compare.js';
const path = process.argv[2]!;
const model = loadModel(path, {});
const x = readValueFile(process.argv[3]!);
for (const n of model.graph.nodes) {
  const o = n.outputs[0]!;
  const g = { ...model.graph, outputs: [o] };
  try {
    const ref = runGraph(g, [x]);
    const ours = wasmBackend.prepare({ ...model, graph: g }).run([x]);
    const e = tensorError(ours[0] as never, ref[0] as never);
    console.log(n.op, n.name, e.maxAbs, e.maxExpected, JSON.stringify(n.attrs).slice(0, 200));
  } catch (e) { console.log(n.op, 'ERR', (e as Error).message.slice(0, 200)); }
}
