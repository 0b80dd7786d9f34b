// The differential fuzzer: random well-typed graphs (test/helpers/arbitrary-graph.ts) on the reference, wasm (as
// imported) and wasm-O3 (the -O3 pipeline, as `compile` builds it) must agree. Used by the test of the same name
// (a fixed seed) and by `npm run fuzz` (the run's seed).

import fc from 'fast-check';
import { runModel } from '../../backends/reference/interpreter.js';
import { compareValues } from '../../compiler/compare.js';
import type { Backend } from '../../compiler/backends.js';
import { printGraph } from '../../ir/text/index.js';
import { arbitraryModel } from '../helpers/arbitrary-graph.js';

/** The first disagreement as one message (backend, output, the graph's text), or undefined when all agree. */
export function disagreement(backends: readonly Backend[], numRuns: number, seed: number): string | undefined {
  const r = fc.check(fc.property(arbitraryModel({ maxNodes: 8 }), ({ model, inputs }) => {
    const want = runModel(model, Object.fromEntries(inputs));
    const ordered = model.graph.inputs.map((n) => inputs.get(n)!);
    for (const backend of backends) {
      const got = backend.prepare(model).run(ordered);
      model.graph.outputs.forEach((name, k) => {
        const d = compareValues(got[k]!, want[name]!, { rtol: 1e-4, atol: 1e-5 });
        if (d.mismatch) throw new Error(`${backend.name}: output ${name} differs (${d.mismatch}) in\n${printGraph(model.graph)}`);
      });
    }
  }), { numRuns, seed });
  if (!r.failed) return undefined;
  return `seed ${seed}, counterexample ${r.numRuns}: ${r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance)}`;
}
