// Shape subgraphs of a real exporter (generated-bert-tiny: Shape -> Gather -> Unsqueeze -> Concat -> Reshape on
// symbolic batch/seq): with the dims given at import (`--dim batch=1 --dim seq=8`) -O2 folds every one away; without
// them, only the genuinely dynamic ones remain. Skipped when the shared models are absent.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../../compiler/onnx/import.js';
import { opCounts, runPasses } from '../../passes/manager.js';
import { pipelineForLevel } from '../../passes/pipelines.js';
import { sharedModels } from '../helpers/shared.js';

const bert = sharedModels().find((m) => m.name === 'generated-bert-tiny');
const SHAPE_OPS = ['Shape', 'Size', 'Unsqueeze', 'Squeeze', 'Concat', 'Range', 'Expand', 'Slice'];

describe.skipIf(!bert)('shape subgraphs of generated-bert-tiny', () => {
  it('fold away completely at -O2 when batch and seq are given', () => {
    const model = loadModel(bert!.model, { dims: { batch: 1, seq: 8 } });
    const { graph } = runPasses(model.graph, pipelineForLevel(2), { verify: true, ctx: { options: new Map() } });
    const ops = opCounts(graph);
    expect(SHAPE_OPS.filter((op) => ops.has(op))).toEqual([]);
    // every Reshape left reads a constant shape
    for (const n of graph.nodes.filter((x) => x.op === 'Reshape')) expect(graph.initializers.has(n.inputs[1]!)).toBe(true);
  });

  it('keep only the symbolic ones without dims', () => {
    const model = loadModel(bert!.model);
    const { graph } = runPasses(model.graph, pipelineForLevel(2), { ctx: { options: new Map() } });
    for (const n of graph.nodes.filter((x) => x.op === 'Shape')) {
      const t = graph.types.get(n.inputs[0]!);
      expect(t?.kind === 'tensor' && t.shape?.some((d) => typeof d === 'string')).toBe(true);
    }
  });
});
