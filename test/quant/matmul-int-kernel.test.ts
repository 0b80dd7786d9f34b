// The wasm kernel of onnxc.DequantMatMul against the reference (DequantizeLinear then MatMul then Add): int8-, int4-
// and 2-bit-valued weights, per column and block-wise scales, bias, awkward sizes (tails of the 4-row tiles and the
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

interface Spec { aDims: number[]; K: number; N: number; bits: 8 | 4 | 2; bs: number; bias: boolean; act?: string }

const RANGE = { 8: [-128, 127], 4: [-8, 7], 2: [-2, 1] } as const;

function build(s: Spec) {
  const b = new GraphBuilder();
  const a = b.input('a', 'float32', s.aDims);
  const q = b.weight('q', qTensor(s.K, s.N, RANGE[s.bits][0], RANGE[s.bits][1], 3));
  const sdims = s.bs > 0 ? [Math.ceil(s.K / s.bs), s.N] : [s.N];
  const sc = b.weight('s', makeTensor('float32', sdims, Float32Array.from(randTensor(sdims, 5).data, (v) => Math.abs(v) * 0.01 + 0.001)));
  const ins = [a, q, sc, ...(s.bias ? [b.weight('bias', randTensor([s.N], 7))] : [])];
  b.output(b.op('onnxc.DequantMatMul', ins, { block_size: s.bs, ...(s.act ? { activation: s.act } : {}) }));
  return { g: b.build(), inputs: [randTensor(s.aDims, 1)] };
}

const specs: Spec[] = [];
for (const [M, K, N] of [[1, 1, 1], [1, 5, 3], [3, 7, 8], [4, 16, 13], [5, 33, 16], [9, 64, 20], [2, 70, 27]] as const) {
  for (const bits of [8, 4, 2] as const) {
    for (const bs of [0, 16, 32]) specs.push({ aDims: [M, K], K, N, bits, bs: bs >= K ? 0 : bs, bias: (M + N) % 2 === 0 });
  }
}
specs.push({ aDims: [2, 3, 24], K: 24, N: 12, bits: 8, bs: 0, bias: true });
for (const act of ['Relu', 'Gelu', 'GeluTanh', 'Tanh']) specs.push({ aDims: [5, 40], K: 40, N: 13, bits: 4, bs: 16, bias: true, act });
specs.push({ aDims: [12, 64], K: 64, N: 20, bits: 2, bs: 32, bias: true, act: 'Gelu' });

describe('onnxc.DequantMatMul wasm kernel', () => {
  for (const s of specs) {
    for (const optimize of [true, false]) {
      it(`A[${s.aDims}] K=${s.K} N=${s.N} ${s.bits}-bit block ${s.bs}${s.bias ? ' +bias' : ''}${s.act ? ` ${s.act}` : ''}${optimize ? '' : ' (no opt)'}`, () => {
        const { g, inputs } = build(s);
        expect(worstError(g, inputs, optimize)).toBeLessThan(1e-5);
      });
    }
  }

  it('keeps the weight integer in the weights region: int8 one byte, int4 half a byte, 2 bits a quarter per weight', () => {
    const K = 256, N = 256;
    const sizes = ([8, 4, 2] as const).map((bits) => {
      const { g, inputs } = build({ aDims: [1, K], K, N, bits, bs: 0, bias: false });
      return compileWasm(g, { inputShapes: { a: inputs[0]!.dims } }).manifest.weights.bytes;
    });
    // scales (1 KiB) + weights
    expect(sizes[0]).toBeLessThan(K * N + 4096);
    expect(sizes[1]).toBeLessThan(K * N / 2 + 4096);
    expect(sizes[2]).toBeLessThan(K * N / 4 + 4096);
  });
});
