// Generated ConvTranspose blocks (strides, bias, BN, residual, activation) and Linear -> BatchNorm1d blocks
// (MatMul or Gemm, transB, bias) through fuse-batchnorm and fuse-convtranspose-epilogue: the result verifies,
// keeps values within each pass's semantics, is idempotent, and its ONNX decomposition is bit-exact.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../../ir/graph.js';
import { fromValues } from '../../../ir/tensor.js';
import { GraphBuilder } from '../../../models/builder.js';
import type { Pass } from '../../../passes/pass.js';
import { fuseBatchnorm, fuseConvTransposeEpilogue } from '../../../passes/fusion/index.js';
import { checkFusion, expectDecomposedSameBits, randomInputs, randomTensor } from './helpers.js';

const check = (pass: Pass, g: Graph): Graph => checkFusion(pass, g, 3);

/** BN parameters with a positive variance, one per channel. */
function bnParams(b: GraphBuilder, c: number, seed: number, tag: string): string[] {
  return [0.5, -0.5, -0.5, 0.1].map((lo, j) =>
    b.weight(`${tag}_${j}`, fromValues('float32', [c], Array.from(randomTensor([c], seed * 7 + j).data as Float32Array, (v) => lo + Math.abs(v)))));
}

const ctBlock = fc.record({
  stride: fc.constantFrom(1, 2), bias: fc.boolean(), bn: fc.boolean(), residual: fc.boolean(),
  act: fc.constantFrom('none', 'Relu', 'Tanh', 'Sigmoid', 'LeakyRelu'),
});

function buildConvT(k: { stride: number; bias: boolean; bn: boolean; residual: boolean; act: string }, seed: number): Graph {
  const b = new GraphBuilder();
  const C = 2, M = 3;
  const x = b.input('x', 'float32', [1, C, 3, 3]);
  const out = (3 - 1) * k.stride + 2;
  let y = b.op('ConvTranspose', [x, b.weight('w', randomTensor([C, M, 2, 2], seed, 0.5)), ...(k.bias ? [b.weight('b', randomTensor([M], seed + 1))] : [])],
    { strides: [k.stride, k.stride] });
  if (k.bn) y = b.op('BatchNormalization', [y, ...bnParams(b, M, seed, 'bn')]);
  if (k.residual) y = b.op('Add', [y, b.input('r', 'float32', [1, M, out, out])]);
  if (k.act === 'LeakyRelu') y = b.op('LeakyRelu', [y], { alpha: { float: Math.fround(0.2) } });
  else if (k.act !== 'none') y = b.op(k.act, [y]);
  b.output(y);
  return b.build();
}

const fcBlock = fc.record({ gemm: fc.boolean(), transB: fc.boolean(), bias: fc.constantFrom('none', 'vector', 'scalar'), relu: fc.boolean() });

function buildLinearBn(k: { gemm: boolean; transB: boolean; bias: string; relu: boolean }, seed: number): Graph {
  const b = new GraphBuilder();
  const N = 2, K = 5, M = 4;
  const x = b.input('x', 'float32', [N, K]);
  let y: string;
  if (!k.gemm) y = b.op('MatMul', [x, b.weight('w', randomTensor([K, M], seed))]);
  else {
    const bias = k.bias === 'vector' ? [b.weight('c', randomTensor([M], seed + 2))] : k.bias === 'scalar' ? [b.weight('c', randomTensor([], seed + 2))] : [];
    y = b.op('Gemm', [x, b.weight('w', randomTensor(k.transB ? [M, K] : [K, M], seed)), ...bias],
      { transB: k.transB ? 1 : 0, alpha: { float: 0.5 }, beta: { float: 2 } });
  }
  y = b.op('BatchNormalization', [y, ...bnParams(b, M, seed, 'bn')]);
  if (k.relu) y = b.op('Relu', [y]);
  b.output(y);
  return b.build();
}

describe('ConvTranspose epilogues and BN folding into Gemm/MatMul', () => {
  it('ConvTranspose blocks: fold BN, fuse the epilogue; values kept, export form bit-exact', () => {
    let fused = 0;
    fc.assert(fc.property(ctBlock, fc.integer({ min: 1, max: 1000 }), (k, seed) => {
      const g = buildConvT(k, seed);
      const out = check(fuseConvTransposeEpilogue, check(fuseBatchnorm, g));
      if (k.bn) expect(out.nodes.some((n) => n.op === 'BatchNormalization')).toBe(false);
      if (out.nodes.some((n) => n.op === 'onnxc.FusedConvTranspose')) fused++;
      expectDecomposedSameBits(out, randomInputs(g, 5));
    }), { numRuns: 30 });
    expect(fused).toBeGreaterThan(10);
  });

  it('MatMul/Gemm -> BatchNormalization folds into one Gemm within tolerance', () => {
    fc.assert(fc.property(fcBlock, fc.integer({ min: 1, max: 1000 }), (k, seed) => {
      const out = check(fuseBatchnorm, buildLinearBn(k, seed));
      expect(out.nodes.map((n) => n.op)).toEqual(k.relu ? ['Gemm', 'Relu'] : ['Gemm']);
    }), { numRuns: 30 });
  });
});
