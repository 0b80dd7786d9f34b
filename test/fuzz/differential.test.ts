// Differential fuzzing: random well-typed graphs (test/helpers/arbitrary-graph.ts) must give the same outputs on
// the reference interpreter, the wasm backend (as imported) and wasm-O3 (after the -O3 pipeline, as `compile`
// builds it). The generator keeps values small, so float differences stay far below the tolerance.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runModel } from '../../backends/reference/interpreter.js';
import { compareValues } from '../../compiler/compare.js';
import { wasmBackend, wasmO3Backend } from '../../compiler/compile.js';
import { printGraph } from '../../ir/text/index.js';
import { arbitraryModel, usableOps } from '../helpers/arbitrary-graph.js';

let registered: string[] = [];
try { registered = usableOps(); } catch { /* no generator op is registered yet */ }

describe('generated graphs: reference, wasm and wasm-O3 agree', () => {
  it.skipIf(registered.length === 0)('outputs agree (rtol 1e-4, atol 1e-5)', () => {
    fc.assert(fc.property(arbitraryModel({ maxNodes: 8 }), ({ model, inputs }) => {
      const feeds = Object.fromEntries(inputs);
      const want = runModel(model, feeds);
      const ordered = model.graph.inputs.map((n) => inputs.get(n)!);
      for (const backend of [wasmBackend, wasmO3Backend]) {
        const got = backend.prepare(model).run(ordered);
        model.graph.outputs.forEach((name, k) => {
          const d = compareValues(got[k]!, want[name]!, { rtol: 1e-4, atol: 1e-5 });
          expect(d.mismatch, `${backend.name}: ${name} differs in\n${printGraph(model.graph)}`).toBeUndefined();
        });
      }
    }), { numRuns: 40, seed: 14 });
  }, 300_000);
});
