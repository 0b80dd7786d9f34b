// Differential fuzzing in `npm test` (a fixed seed; `npm run fuzz` runs more graphs with the run's seed): random
// well-typed graphs agree on the reference, wasm and wasm-O3. The generator keeps values small, so float
// differences stay far below the tolerance.

import { describe, expect, it } from 'vitest';
import { wasmBackend, wasmO3Backend } from '../../compiler/compile.js';
import { usableOps } from '../helpers/arbitrary-graph.js';
import { disagreement } from './differential.js';

let registered: string[] = [];
try { registered = usableOps(); } catch { /* no generator op is registered yet */ }

describe('generated graphs: reference, wasm and wasm-O3 agree', () => {
  it.skipIf(registered.length === 0)('outputs agree (rtol 1e-4, atol 1e-5) on 40 graphs', () => {
    expect(disagreement([wasmBackend, wasmO3Backend], 40, 14)).toBeUndefined();
  }, 300_000);
});
