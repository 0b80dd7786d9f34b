// The wasm kernel of onnxc.DequantMatMul against the reference (DequantizeLinear then MatMul then Add): int8 and
// int4-valued weights, per column and block-wise scales, bias, awkward sizes (tails of the 4-row tiles and the
// 8-column panels), optimiser on and off; and the weights stay integer in the artifact.

import { describe, expect, it } from 'vitest';
import { compileWasm } from '../../backends/wasm/compile.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor, worstError } from '../wasm/helpers.js';

function qTensor(K: number, N: number, lo: number, hi: number, seed: number): Tensor<'int8'> {
  const d = new Int8Array(K * N);
  let s = seed >>> 0;
  for (let i = 0; i < d.length; i++) { s = (s * 1664525 + 1013904223) >>> 0; d[i] = lo + (s % (hi - lo + 1)); }
  return makeTensor('int8', [K, N], d);
}

interface Spec { aDims: number[]; K: number; N: number; int4: boolean; bs: number; bias: boolean; act?: string }

function build(s: Spec) {
  const b = new GraphBuilder();
  const a = b.input('a', 'float32', s.aDims);
  const q = b.weight('q', s.int4 ? qTensor(s.K, s.N, -8, 7, 3) : qTensor(s.K, s.N, -128, 127, 3));
  const sdims = s.bs > 0 ? [Math.ceil(s.K / s.bs), s.N] : [s.N];
  const sc = b.weight('s', makeTensor('float32', sdims, Float32Array.from(randTensor(sdims, 5).data, (v) => Math.abs(v) * 0.01 + 0.001)));
  const ins = [a, q, sc, ...(s.bias ? [b.weight('bias', randTensor([s.N], 7))] : [])];
  b.output(b.op('onnxc.DequantMatMul', ins, { block_size: s.bs, ...(s.act ? { activation: s.act } : {}) }));
  return { g: b.build(), inputs: [randTensor(s.aDims, 1)] };
}

const specs: Spec[] = [];
for (const [M, K, N] of [[1, 1, 1], [1, 5, 3], [3, 7, 8], [4, 16, 13], [5, 33, 16], [9, 64, 20], [2, 70, 27]] as const) {
  for (const int4 of [false, true]) {
    for (const bs of [0, 16, 32]) specs.push({ aDims: [M, K], K, N, int4, bs: bs >= K ? 0 : bs, bias: (M + N) % 2 === 0 });
  }
}
specs.push({ aDims: [2, 3, 24], K: 24, N: 12, int4: false, bs: 0, bias: true });
for (const act of ['Relu', 'Gelu', 'GeluTanh', 'Tanh']) specs.push({ aDims: [5, 40], K: 40, N: 13, int4: true, bs: 16, bias: true, act });

describe('onnxc.DequantMatMul wasm kernel', () => {
  for (const s of specs) {
    for (const optimize of [true, false]) {
      it(`A[${s.aDims}] K=${s.K} N=${s.N} ${s.int4 ? 'int4' : 'int8'} block ${s.bs}${s.bias ? ' +bias' : ''}${s.act ? ` ${s.act}` : ''}${optimize ? '' : ' (no opt)'}`, () => {
        const { g, inputs } = build(s);
        expect(worstError(g, inputs, optimize)).toBeLessThan(1e-5);
      });
    }
  }

  it('keeps the weight integer in the weights region: int8 one byte, int4 half a byte per weight', () => {
    const K = 256, N = 256;
    const sizes = [false, true].map((int4) => {
      const { g, inputs } = build({ aDims: [1, K], K, N, int4, bs: 0, bias: false });
      return compileWasm(g, { inputShapes: { a: inputs[0]!.dims } }).manifest.weights.bytes;
    });
    // scales (1 KiB) + weights
    expect(sizes[0]).toBeLessThan(K * N + 4096);
    expect(sizes[1]).toBeLessThan(K * N / 2 + 4096);
  });
});
