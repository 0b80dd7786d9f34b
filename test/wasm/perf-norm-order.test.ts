// LayerNormalization / RMSNormalization sum a row in two accumulators (kernels/norm.ts rowSum): a dynamic-dims
// artifact must give a static compile's bits at every size (minilm_l6_dyn's dynamic quantisation turned a last-bit
// difference into 0.012), for row lengths with every part of the sum: pairs of vectors, a single vector, a scalar
// tail, and rows shorter than a vector. Also against the reference interpreter.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileDynamic } from '../../backends/wasm/dims-compile.js';
import { compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { worstRelativeError } from '../helpers/worst-error.js';
import { randTensor } from './helpers.js';

/** Row lengths: 8 + 4 + 1 (pair, single vector, scalar), 12 (pair + single), 3 (scalars only), 256 (pairs). */
const LENGTHS = [13, 12, 3, 256];

function norms(): ReturnType<GraphBuilder['build']> {
  const b = new GraphBuilder();
  LENGTHS.forEach((L, k) => {
    const x = b.input(`x${k}`, 'float32', ['seq', L]);
    b.output(b.op('LayerNormalization', [x, b.weight(`g${k}`, randTensor([L], 10 + k)), b.weight(`b${k}`, randTensor([L], 20 + k))], { axis: -1 }));
    b.output(b.op('RMSNormalization', [x, b.weight(`r${k}`, randTensor([L], 30 + k))], { axis: -1 }));
  });
  return b.build();
}

describe('LayerNorm / RMSNorm row sums', () => {
  it('a dynamic-dims artifact gives a static compile\'s bits at each size, near the reference', () => {
    const g = norms();
    const dyn = createSessionSync(compileDynamic(g, { source: 'norms', embedLimit: Infinity }, [{ name: 'seq', min: 1, max: 9 }], { level: 3 }).artifact);
    for (const seq of [1, 2, 7]) {
      const inputs = LENGTHS.map((L, k) => randTensor([seq, L], seq * 10 + k));
      const feeds = Object.fromEntries(g.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)]));
      const { artifact: a } = compileWasmGraph(g, { source: 'norms', embedLimit: Infinity, inputShapes: Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]!.dims])) }, { level: 3 });
      const stat = createSessionSync({ wasm: a.wasm, manifest: a.manifest }).runSync(feeds);
      const ours = dyn.runSync(feeds);
      for (const n of g.outputs) {
        const d = ours[n]!.data as Float32Array, s = stat[n]!.data as Float32Array;
        expect(d.length, n).toBe(s.length);
        expect(d.every((v, i) => Object.is(v, s[i])), `${n} at seq ${seq}: same bits`).toBe(true);
      }
      const ref = runGraph(g, inputs) as Tensor[];
      const got = g.outputs.map((n) => ({ dtype: 'float32', dims: [...ours[n]!.dims], data: ours[n]!.data }) as Tensor);
      expect(worstRelativeError(got, ref)).toBeLessThan(1e-5);
    }
  }, 120_000);
});
