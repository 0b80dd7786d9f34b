import { loadModel } from '../compiler/onnx/import.js';
import { opCounts, runPasses } from '../passes/manager.js';
import { pipelineForLevel } from '../passes/pipelines.js';
import { sharedModels } from '../test/helpers/shared.js';
for (const m of sharedModels()) {
  if (process.argv[2] && !m.name.includes(process.argv[2])) continue;
  const model = loadModel(m.model);
  const { graph, events } = runPasses(model.graph, pipelineForLevel(2), { verify: true });
  const per = events.filter((e) => e.pass.name.startsWith('fuse-')).map((e) => `${e.pass.name}:${e.nodesBefore - e.nodesAfter}`).join(' ');
  const ops = [...opCounts(graph)].filter(([k]) => k.startsWith('onnxc.') || ['Attention', 'LayerNormalization', 'RMSNormalization', 'Gelu'].includes(k)).map(([k, v]) => `${k}:${v}`).join(' ');
  console.log(m.name, per, '|', ops);
}
