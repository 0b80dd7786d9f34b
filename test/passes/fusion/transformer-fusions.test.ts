// The transformer-side fusion passes over generated blocks (fast-check): Linear layers (MatMul/Gemm + bias +
// residual + activation), elementwise DAGs, decomposed LayerNorm/RMSNorm and 4-D attention, in exporter shapes.
// Each pass: the output verifies, is idempotent, matches the input within the pass's semantics (exact = same bits),
// and its onnxc ops decompose back (export form) to the same bits.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../../ir/graph.js';
import { fromValues } from '../../../ir/tensor.js';
import { GraphBuilder } from '../../../models/builder.js';
import { opCounts } from '../../../passes/manager.js';
import type { Pass } from '../../../passes/pass.js';
import {
  fuseAttention, fuseElementwise, fuseGelu, fuseLayernorm, fuseMatmulEpilogue, fuseRmsnorm,
} from '../../../passes/fusion/index.js';
import { checkFusion, expectDecomposedSameBits, randomInputs, randomTensor } from './helpers.js';

const ACTS = ['none', 'Relu', 'Sigmoid', 'Tanh', 'GeluErf', 'Gelu', 'SiLU', 'LeakyRelu'] as const;
interface Block { kind: 'matmul' | 'gemm' | 'gemmReshape'; act: typeof ACTS[number]; bias: boolean; residual: boolean; norm: 'none' | 'layer' | 'rms'; chain: boolean }

const block = fc.record({
  kind: fc.constantFrom('matmul' as const, 'gemm' as const, 'gemmReshape' as const), act: fc.constantFrom(...ACTS), bias: fc.boolean(),
  residual: fc.boolean(), norm: fc.constantFrom('none' as const, 'layer' as const, 'rms' as const), chain: fc.boolean(),
});

const D = 4;

function build(blocks: readonly Block[], seed: number, attention: 0 | 1 | 2): Graph {
  const b = new GraphBuilder();
  const c = (name: string, v: number): string => b.weight(name, fromValues('float32', [], [v]));
  const i64 = (name: string, v: number[]): string => b.weight(name, fromValues('int64', [v.length], v.map(BigInt)));
  let x = b.input('x', 'float32', [3, D]);
  blocks.forEach((k, i) => {
    const w = b.weight(`w${i}`, randomTensor([D, D], seed + i, 0.6));
    const bias = b.weight(`b${i}`, randomTensor([D], seed + 40 + i));
    let y: string;
    if (k.kind === 'matmul') {
      y = b.op('MatMul', [x, w]);
      if (k.bias) y = b.op('Add', [y, bias]);
    } else y = b.op('Gemm', [x, w, ...(k.bias ? [bias] : [])]);
    if (k.kind === 'gemmReshape') y = b.op('Reshape', [y, i64(`shape${i}`, [1, 3, D])]);
    // GPT-2's residual after the Reshape is in the 3-D shape
    if (k.residual) y = b.op('Add', [y, k.kind === 'gemmReshape' ? b.op('Reshape', [x, i64(`rs${i}`, [1, 3, D])]) : x]);
    switch (k.act) {
      case 'none': break;
      case 'Relu': case 'Sigmoid': case 'Tanh': y = b.op(k.act, [y]); break;
      case 'Gelu': y = b.op('Gelu', [y], { approximate: 'tanh' }); break;
      case 'LeakyRelu': y = b.op('LeakyRelu', [y], { alpha: { float: Math.fround(0.1) } }); break;
      case 'SiLU': y = b.op('Mul', [y, b.op('Sigmoid', [y])]); break;
      case 'GeluErf': {
        const e = b.op('Erf', [b.op('Div', [y, c(`r2_${i}`, Math.SQRT2)])]);
        y = b.op('Mul', [y, b.op('Mul', [c(`h${i}`, 0.5), b.op('Add', [e, c(`one${i}`, 1)])])]);
        break;
      }
    }
    if (k.kind === 'gemmReshape') y = b.op('Reshape', [y, i64(`back${i}`, [3, D])]);
    if (k.chain) y = b.op('Neg', [b.op('Exp', [b.op('Mul', [y, c(`k${i}`, 0.25)])])]);
    const ax = i64(`ax${i}`, [-1]);
    const eps = c(`eps${i}`, 1e-5);
    if (k.norm === 'layer') {
      const d = b.op('Sub', [y, b.op('ReduceMean', [y, ax])]);
      const v = b.op('ReduceMean', [b.op('Pow', [d, c(`two${i}`, 2)]), ax]);
      y = b.op('Add', [b.op('Mul', [b.op('Div', [d, b.op('Sqrt', [b.op('Add', [v, eps])])]), b.weight(`g${i}`, randomTensor([D], seed + 80 + i))]), bias]);
    } else if (k.norm === 'rms') {
      const v = b.op('ReduceMean', [b.op('Mul', [y, y]), ax]);
      y = b.op('Mul', [y, b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [v, eps])])])]);
    }
    x = y;
  });
  if (attention) {
    // [3, D] -> Q, K, V as [1, 2, 3, 2] heads, GPT-2 style Kt via Transpose [0,2,3,1]
    const heads = (v: string, n: string): string => b.op('Reshape', [v, i64(n, [1, 3, 2, 2])]);
    const q = b.op('Transpose', [heads(x, 'hq')], { perm: [0, 2, 1, 3] });
    const kt = b.op('Transpose', [heads(b.op('Neg', [x]), 'hk')], { perm: [0, 2, 3, 1] });
    const v = b.op('Transpose', [heads(b.op('Abs', [x]), 'hv')], { perm: [0, 2, 1, 3] });
    const mask = b.weight('mask', fromValues('float32', [1, 1, 3, 3], [0, -1e9, -1e9, 0, 0, -1e9, 0, 0, 0]));
    const s = b.op('Add', [b.op('Mul', [b.op('MatMul', [q, kt]), c('scale', Math.fround(1 / Math.SQRT2))]), mask]);
    x = b.op('MatMul', [b.op('Softmax', [s], { axis: -1 }), v]);
    // 2: the heads merged back ([1,2,3,2] -> [1,3,2,2] -> [3, D]): the 3-D form
    if (attention === 2) x = b.op('Reshape', [b.op('Transpose', [x], { perm: [0, 2, 1, 3] }), i64('merged', [3, D])]);
  }
  b.output(x);
  return b.build();
}

const check = (pass: Pass, g: Graph): Graph => checkFusion(pass, g, 5);

const PIPELINE = [fuseGelu, fuseLayernorm, fuseRmsnorm, fuseAttention, fuseMatmulEpilogue, fuseElementwise];

describe('transformer fusion passes over generated blocks', () => {
  it('each pass and the pipeline keep values; the decomposed export form matches bit for bit', () => {
    const seen = new Map<string, number>();
    fc.assert(fc.property(fc.array(block, { minLength: 1, maxLength: 3 }), fc.constantFrom(0 as const, 1 as const, 2 as const), fc.integer({ min: 1, max: 1000 }), (blocks, attn, seed) => {
      const g = build(blocks, seed, attn);
      for (const p of PIPELINE) check(p, g);
      const all = PIPELINE.reduce((h, p) => check(p, h), g);
      for (const [op, n] of opCounts(all)) seen.set(op, (seen.get(op) ?? 0) + n);
      expectDecomposedSameBits(all, randomInputs(g, 5));
    }), { numRuns: 40 });
    for (const op of ['onnxc.FusedMatMul', 'onnxc.FusedGemm', 'onnxc.FusedElementwise', 'LayerNormalization', 'RMSNormalization', 'Attention']) {
      expect(seen.get(op) ?? 0, `${op} never made`).toBeGreaterThan(0);
    }
  });
});
