import { loadModel } from '/work/main/compiler/onnx/import.js';
import { printGraph } from '/work/main/ir/text/index.js';
import { runPasses } from '/work/main/passes/manager.js';
import { pipelineForLevel } from '/work/main/passes/pipelines.js';
import { sharedModels } from '/work/main/test/helpers/shared.js';
const name = process.argv[2]!;
const m = sharedModels().find((x) => x.name === name)!;
const model = loadModel(m.model);
const { graph } = runPasses(model.graph, pipelineForLevel(2), {});
// strip big constants
console.log(printGraph(graph).split('\n').filter((l) => !/^\s*const /.test(l) || l.length < 200).map((l) => l.length > 300 ? l.slice(0, 300) + '...' : l).join('\n'));
