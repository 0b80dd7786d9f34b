// Sparse weights in the wasm artifact: the word bitmask format round-trips, and a model whose weights are mostly
// zero (pruned) compiles to a smaller weights region that run() expands once, giving bit for bit the outputs of the
// same model compiled dense, with weights embedded or in weights.bin, through the runtime.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { toTensorValue } from '../../compiler/compile.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { compressWords, expandWords, worthCompressing } from '../../lowering/sparse-weights.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { randTensor } from './helpers.js';

const bytesOf = (f: Float32Array): Uint8Array => new Uint8Array(f.buffer, f.byteOffset, f.byteLength);

/** `t` with every element whose index hash falls under `keep` zeroed (a deterministic unstructured pattern). */
function sparsify(t: Tensor<'float32'>, keep: number): Tensor<'float32'> {
  const d = Float32Array.from(t.data);
  for (let i = 0; i < d.length; i++) if (((i * 2654435761) >>> 0) / 2 ** 32 >= keep) d[i] = 0;
  return makeTensor('float32', t.dims, d);
}

describe('sparse word format', () => {
  for (const n of [0, 1, 31, 32, 33, 1000]) {
    it(`compress then expand is the identity on ${n} words (zeros, -0, NaN bits and odd tails)`, () => {
      const f = new Float32Array(n);
      for (let i = 0; i < n; i++) f[i] = i % 3 === 0 ? 0 : i % 7 === 0 ? -0 : i % 11 === 0 ? NaN : i * 0.5 - 7;
      const c = compressWords(bytesOf(f));
      expect(c.length).toBe(Math.ceil(n / 32) * 4 + 4 * Array.from(new Uint32Array(f.buffer)).filter((w) => w !== 0).length);
      expect(Array.from(expandWords(c, n * 4))).toEqual(Array.from(bytesOf(f)));
    });
  }

  it('compresses only tensors that save at least a quarter', () => {
    const half = sparsify(randTensor([32, 32], 1), 0.5).data, dense = randTensor([32, 32], 2).data;
    expect(worthCompressing(bytesOf(half))).toBe(true);
    expect(worthCompressing(bytesOf(dense))).toBe(false);
    expect(worthCompressing(bytesOf(new Float32Array(8)))).toBe(false); // too small to bother
  });
});

function prunedMlp() {
  const b = new GraphBuilder('pruned_mlp');
  const x = b.input('x', 'float32', [3, 64]);
  // panel-packed MatMul B (N % 4 == 0), a Gemm with transB (B^T packed), an odd N (read in place), and a dense layer
  const h = b.op('Relu', [b.op('MatMul', [x, b.weight('w1', sparsify(randTensor([64, 96], 1), 0.5))])]);
  const g = b.op('Gemm', [h, b.weight('w2', sparsify(randTensor([40, 96], 2), 0.5)), b.weight('b2', randTensor([40], 3))], { transB: 1 });
  const o = b.op('MatMul', [g, b.weight('w3', sparsify(randTensor([40, 33], 4), 0.4))]);
  b.output(b.op('MatMul', [o, b.weight('w4', randTensor([33, 8], 5))]));
  return b.model({ source: 'pruned_mlp' });
}

describe('sparse weights in the wasm artifact', () => {
  const model = prunedMlp(), x = randTensor([3, 64], 9);
  const run = (a: ReturnType<typeof compileWasm>, times = 1): Float32Array => {
    const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.manifest.weights.file ? a.weights : undefined });
    let out: Float32Array | undefined;
    for (let i = 0; i < times; i++) out = s.runSync({ x: toTensorValue(x) })[model.graph.outputs[0]!]!.data as Float32Array;
    return out!;
  };
  const dense = compileWasm(model.graph, { sparseWeights: false, embedLimit: Infinity });
  const want = run(dense);

  it('the dense compile stores nothing sparse and matches the reference', () => {
    expect(dense.manifest.sparseWeights).toBeUndefined();
    const ref = (runGraph(model.graph, [x]) as Tensor[])[0]!.data as Float32Array;
    want.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(ref[i]!))));
  });

  for (const embedLimit of [Infinity, 0]) {
    it(`stores the three pruned layers compressed and computes the same bits (${embedLimit ? 'embedded' : 'weights.bin'})`, () => {
      const a = compileWasm(model.graph, { embedLimit });
      const sp = a.manifest.sparseWeights ?? [];
      expect(sp.map((e) => e[3])).toEqual(['densified', 'densified', 'densified']);
      for (const [, d, s] of sp) expect(s).toBeLessThanOrEqual(0.6 * d);
      expect(a.weights.length).toBeLessThan(0.75 * dense.weights.length);
      expect(Boolean(a.manifest.weights.file)).toBe(embedLimit === 0);
      // several runs: the expansion runs once and the weights stay intact
      expect(Array.from(run(a, 3))).toEqual(Array.from(want));
    });
  }

  it('a model with no sparse weight compiles exactly as before', () => {
    const b = new GraphBuilder('dense');
    const y = b.op('MatMul', [b.input('x', 'float32', [2, 64]), b.weight('w', randTensor([64, 64], 1))]);
    b.output(y);
    const g = b.model({ source: 'dense' }).graph;
    const on = compileWasm(g, {}), off = compileWasm(g, { sparseWeights: false });
    expect(on.manifest.sparseWeights).toBeUndefined();
    expect(Array.from(on.wasm)).toEqual(Array.from(off.wasm));
  });
});
