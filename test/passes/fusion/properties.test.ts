// Fusion passes over generated conv blocks (fast-check): Conv [-> BatchNormalization] [-> Add residual]
// [-> activation, in the shapes exporters write], chained. The fused graph verifies, matches the original within
// the passes' declared semantics (epilogue: bit-exact), is idempotent, and its ONNX decomposition matches too.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../../ir/graph.js';
import { fromValues } from '../../../ir/tensor.js';
import { GraphBuilder } from '../../../models/builder.js';
import type { Pass } from '../../../passes/pass.js';
import { fuseBatchnorm, fuseConvEpilogue, fuseGelu } from '../../../passes/fusion/index.js';
import { checkFusion, expectDecomposedSameBits, randomInputs, randomTensor } from './helpers.js';

const ACTS = ['none', 'Relu', 'Clip6', 'SiLU', 'LeakyRelu', 'HardSigmoid', 'HardSwish', 'Sigmoid', 'GeluErf'] as const;
interface Block { act: typeof ACTS[number]; bn: boolean; residual: boolean; bias: boolean; usedTwice: boolean }

const block = fc.record({
  act: fc.constantFrom(...ACTS), bn: fc.boolean(), residual: fc.boolean(), bias: fc.boolean(), usedTwice: fc.boolean(),
});

function build(blocks: readonly Block[], seed: number): Graph {
  const b = new GraphBuilder();
  const C = 3;
  let x = b.input('x', 'float32', [1, C, 4, 4]);
  const outs: string[] = [];
  const c = (name: string, v: number): string => b.weight(name, fromValues('float32', [], [v]));
  blocks.forEach((k, i) => {
    let y = b.op('Conv', [x, b.weight(`w${i}`, randomTensor([C, C, 3, 3], seed + i, 0.4)), ...(k.bias ? [b.weight(`b${i}`, randomTensor([C], seed + 50 + i))] : [])], { pads: [1, 1, 1, 1] });
    if (k.usedTwice) outs.push(y);
    if (k.bn) {
      const p = (j: number, lo: number): string => b.weight(`bn${i}_${j}`, fromValues('float32', [C], Array.from(randomTensor([C], seed * 7 + i * 5 + j).data as Float32Array, (v) => lo + Math.abs(v))));
      y = b.op('BatchNormalization', [y, p(0, 0.5), p(1, -0.5), p(2, -0.5), p(3, 0.1)]);
    }
    if (k.residual) y = b.op('Add', [y, x]);
    switch (k.act) {
      case 'none': break;
      case 'Relu': case 'Sigmoid': case 'HardSwish': y = b.op(k.act, [y]); break;
      case 'LeakyRelu': y = b.op('LeakyRelu', [y], { alpha: { float: Math.fround(0.1) } }); break;
      case 'HardSigmoid': y = b.op('HardSigmoid', [y], { alpha: { float: Math.fround(0.2) }, beta: { float: 0.5 } }); break;
      case 'Clip6': y = b.op('Clip', [y, c(`lo${i}`, 0), c(`hi${i}`, 6)]); break;
      case 'SiLU': y = b.op('Mul', [y, b.op('Sigmoid', [y])]); break;
      case 'GeluErf': {
        const e = b.op('Erf', [b.op('Div', [y, c(`r2_${i}`, Math.SQRT2)])]);
        y = b.op('Mul', [y, b.op('Mul', [c(`h${i}`, 0.5), b.op('Add', [e, c(`one${i}`, 1)])])]);
        break;
      }
    }
    x = y;
  });
  b.output(x, ...outs);
  return b.build();
}

const check = (pass: Pass, g: Graph): Graph => checkFusion(pass, g, 3);

describe('fusion passes over generated conv blocks', () => {
  it('each pass and the three in pipeline order keep values; the decomposed export form matches', () => {
    let fused = 0;
    fc.assert(fc.property(fc.array(block, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 1000 }), (blocks, seed) => {
      const g = build(blocks, seed);
      for (const p of [fuseBatchnorm, fuseGelu, fuseConvEpilogue]) check(p, g);
      const all = check(fuseConvEpilogue, check(fuseGelu, check(fuseBatchnorm, g)));
      if (all.nodes.some((n) => n.op === 'onnxc.FusedConv')) fused++;
      expectDecomposedSameBits(all, randomInputs(g, 3));
    }), { numRuns: 40 });
    expect(fused).toBeGreaterThan(10);
  });
});
