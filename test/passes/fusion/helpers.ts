// Shared helpers of the fusion tests: seeded tensors, running graphs, exact and tolerant comparison, and the
// per-pass check (verifies, idempotent, keeps values) every generated-block test runs.

import { expect } from 'vitest';
import type { Graph } from '../../../ir/graph.js';
import { prng } from '../../../ir/random.js';
import type { Tensor } from '../../../ir/tensor.js';
import { fromValues } from '../../../ir/tensor.js';
import { isStaticShape } from '../../../ir/types.js';
import type { RuntimeValue } from '../../../ir/value.js';
import { isTensor } from '../../../ir/value.js';
import { runGraph } from '../../../backends/reference/interpreter.js';
import { decomposeOnnxcOps } from '../../../ops/fused/decompose-graph.js';
import { verifyAfter } from '../../../passes/manager.js';
import { defaultContext, type Pass } from '../../../passes/pass.js';

export function randomTensor(dims: readonly number[], seed: number, scale = 1): Tensor {
  const r = prng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return fromValues('float32', dims, Array.from({ length: n }, () => (r() * 2 - 1) * scale));
}

/** Seeded random values for every graph input (static float32 shapes only). */
export function randomInputs(g: Graph, seed = 1): Tensor[] {
  return g.inputs.map((name, i) => {
    const t = g.types.get(name);
    if (!t || t.kind !== 'tensor' || !isStaticShape(t.shape)) throw new Error(`input ${name} needs a static shape`);
    return randomTensor(t.shape, seed * 101 + i, 2);
  });
}

export function run(g: Graph, inputs: readonly RuntimeValue[]): Tensor[] {
  return runGraph(g, inputs).map((v) => { if (!isTensor(v)) throw new Error('non-tensor output'); return v; });
}

export function expectSameBits(got: readonly Tensor[], want: readonly Tensor[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    expect(g.dims).toEqual(want[i]!.dims);
    expect(Array.from(g.data as Float32Array)).toEqual(Array.from(want[i]!.data as Float32Array));
  });
}

/** max |got - want| <= atol + rtol * max|want| per output. */
export function expectClose(got: readonly Tensor[], want: readonly Tensor[], rtol: number, atol = 0): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    expect(g.dims).toEqual(w.dims);
    let err = 0; let scale = 0;
    for (let k = 0; k < g.data.length; k++) {
      const a = Number(g.data[k]); const b = Number(w.data[k]);
      if (Number.isNaN(a) && Number.isNaN(b)) continue;
      err = Math.max(err, Math.abs(a - b));
      scale = Math.max(scale, Math.abs(b));
    }
    expect(err, `output ${i}: max abs error ${err} vs max |want| ${scale}`).toBeLessThanOrEqual(atol + rtol * scale);
  });
}

/** Runs one pass on g and checks the result: it verifies, the pass is idempotent on it, and it matches g on seeded
 *  inputs within the pass's semantics (exact: same bits; else 10x the declared tolerances). */
export function checkFusion(pass: Pass, g: Graph, inputSeed: number): Graph {
  const out = pass.run(g, defaultContext());
  if (out === g) return g;
  verifyAfter(pass, g, out);
  expect(pass.run(out, defaultContext())).toBe(out);
  const inputs = randomInputs(g, inputSeed);
  const want = run(g, inputs);
  const sem = pass.properties.semantics;
  if (sem.kind === 'exact') expectSameBits(run(out, inputs), want);
  else if (sem.kind === 'tolerance') expectClose(run(out, inputs), want, sem.rtol * 10, sem.atol * 10);
  else throw new Error(`checkFusion: ${pass.name} declares a range tolerance (a compression pass, not a fusion)`);
  return out;
}

/** The export form (onnxc ops decomposed to ONNX) of a fused graph gives the same bits on seeded inputs. */
export function expectDecomposedSameBits(fused: Graph, inputs: readonly Tensor[]): void {
  expectSameBits(run(decomposeOnnxcOps(fused), inputs), run(fused, inputs));
}
