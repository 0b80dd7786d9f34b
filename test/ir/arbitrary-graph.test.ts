// The well-typed graph generator is fit for differential testing: its graphs export to ONNX that
// onnxruntime-node accepts, and onnxruntime agrees with the reference interpreter on them.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runModel } from '../../backends/reference/interpreter.js';
import { compareValues } from '../../compiler/compare.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { runOrt } from '../../compiler/ort.js';
import { printGraph } from '../../ir/text/index.js';
import { arbitraryModel, usableOps } from '../helpers/arbitrary-graph.js';

let registered: string[] = [];
try { registered = usableOps(); } catch { /* no generator op is registered yet */ }

describe('generated graphs against onnxruntime-node', () => {
  it.skipIf(registered.length === 0)('reference and onnxruntime agree (rtol 1e-4, atol 1e-5)', async () => {
    await fc.assert(fc.asyncProperty(arbitraryModel({ maxNodes: 10 }), async ({ model, inputs }) => {
      const feeds = Object.fromEntries(inputs);
      const ours = runModel(model, feeds);
      const theirs = await runOrt(exportModel(model), feeds);
      theirs.names.forEach((name, i) => {
        const d = compareValues(ours[name]!, theirs.values[i]!, { rtol: 1e-4, atol: 1e-5 });
        expect(d.mismatch, `${name} differs in\n${printGraph(model.graph)}`).toBeUndefined();
      });
    }), { numRuns: 100 });
  }, 120_000);
});
