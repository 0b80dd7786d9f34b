import { loadModel } from '/work/main/compiler/onnx/import.js';
import { runPasses, opCounts } from '/work/main/passes/manager.js';
import { pipelineForLevel } from '/work/main/passes/pipelines.js';
import { KERNELS } from '/work/main/backends/wasm/kernels/index.js';
for (const name of ['mobilenet_v2', 'squeezenet1_1', 'gpt2_tiny']) {
  const dir = `/work/shared/models/${name}`;
  const f = (await import('node:fs')).readdirSync(dir).find((x) => x.endsWith('.onnx'))!;
  const model = loadModel(`${dir}/${f}`);
  const { graph } = runPasses(model.graph, pipelineForLevel(3), { ctx: { source: name, options: new Map(), supportedOps: new Set([...Object.keys(KERNELS), 'onnxc.FusedConv','onnxc.FusedMatMul','onnxc.FusedGemm','onnxc.FusedElementwise','onnxc.NhwcMaxPool','onnxc.NhwcAveragePool','onnxc.NhwcGlobalAveragePool']) } });
  console.log(name, Object.fromEntries(opCounts(graph)));
  const seen = new Set<string>();
  for (const n of graph.nodes) { const k = n.op + JSON.stringify(Object.fromEntries(Object.entries(n.attrs).filter(([a]) => a !== 'program'))); if (!seen.has(k) && n.op.startsWith('onnxc')) { seen.add(k); console.log('  ', n.op, JSON.stringify(n.attrs).slice(0, 300), n.inputs.map((i) => JSON.stringify(graph.types.get(i) && (graph.types.get(i) as any).shape)).join(' ')); } }
}
