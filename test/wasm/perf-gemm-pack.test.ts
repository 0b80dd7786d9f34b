// Panel-packed constant B (kernels/gemm-pack.ts) through Gemm, FusedGemm, MatMul and FusedMatMul: N a multiple of
// 4 but not always of 8 (the padded last panel), K not a multiple of the unroll, M around the row block, every
// tile path (wide and tall), against the reference interpreter with Binaryen's optimiser on and off.

import { describe, expect, it } from 'vitest';
import { packPanels, panelSize } from '../../backends/wasm/kernels/gemm-pack.js';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor, worstError } from './helpers.js';

interface Case { name: string; g: ReturnType<GraphBuilder['build']>; inputs: Tensor[] }

function gemmCase(op: 'Gemm' | 'onnxc.FusedGemm', M: number, K: number, N: number, transB: number, bias: number[]): Case {
  const b = new GraphBuilder();
  const a = b.input('a', 'float32', [M, K]);
  const w = b.weight('w', randTensor(transB ? [N, K] : [K, N], 2));
  const ins = [a, w, b.weight('c', randTensor(bias, 3))];
  const inputs = [randTensor([M, K], 1)];
  const attrs = { transB, alpha: 0.5, beta: 2 };
  if (op === 'onnxc.FusedGemm') { ins.push(b.input('z', 'float32', [M, N])); inputs.push(randTensor([M, N], 4)); }
  b.output(b.op(op, ins, op === 'Gemm' ? attrs : { ...attrs, activation: 'Relu' }));
  return { name: `${op} ${M}x${K}x${N} transB=${transB} C[${bias}]`, g: b.build(), inputs };
}

function matmulCase(fused: boolean, aDims: number[], K: number, N: number): Case {
  const b = new GraphBuilder();
  const a = b.input('a', 'float32', aDims);
  const w = b.weight('w', randTensor([K, N], 2));
  const y = fused ? b.op('onnxc.FusedMatMul', [a, w, b.weight('bias', randTensor([N], 3))], { activation: 'Sigmoid' }) : b.op('MatMul', [a, w]);
  b.output(y);
  return { name: `${fused ? 'FusedMatMul' : 'MatMul'} [${aDims}] x const [${K},${N}]`, g: b.build(), inputs: [randTensor(aDims, 1)] };
}

const cases: Case[] = [
  // wide (N > M) and tall (M >= N) tile orders, the 4-column tail panel (N % 8 == 4), K % 4 != 0, M % 4 != 0
  ...[[1, 1, 4], [3, 5, 12], [9, 17, 8], [6, 4, 20], [37, 9, 36], [4, 3, 4], [13, 33, 16]].flatMap(([M, K, N], i) => [
    gemmCase('Gemm', M!, K!, N!, i % 2, i % 3 === 0 ? [N!] : i % 3 === 1 ? [M!, 1] : [1]),
    gemmCase('onnxc.FusedGemm', M!, K!, N!, (i + 1) % 2, [N!]),
  ]),
  matmulCase(false, [5, 7], 7, 12),
  matmulCase(false, [2, 3, 5, 9], 9, 20),
  matmulCase(false, [9], 9, 8),
  matmulCase(true, [2, 6, 11], 11, 28),
];

describe('panel-packed constant B matches the reference interpreter', () => {
  for (const c of cases) {
    it(c.name, () => {
      for (const optimize of [false, true]) expect(worstError(c.g, c.inputs, optimize), `optimize=${optimize}`).toBeLessThanOrEqual(1e-5);
    });
  }
  it('packs columns into zero-padded panels of 8', () => {
    const K = 2, N = 12, src = Array.from({ length: K * N }, (_, i) => i + 1);
    const p = packPanels(src, K, N, N, 1);
    expect(p.length).toBe(panelSize(K, N));
    // panel 0: rows k=0,1 of columns 0..7; panel 1: columns 8..11 then 4 zeros per row
    expect(Array.from(p.slice(0, 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(p.slice(16, 24))).toEqual([9, 10, 11, 12, 0, 0, 0, 0]);
    expect(Array.from(p.slice(24, 32))).toEqual([21, 22, 23, 24, 0, 0, 0, 0]);
  });
});
