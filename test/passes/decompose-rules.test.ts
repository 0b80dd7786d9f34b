// Every decomposition rule against the op's reference kernel: random inputs (including large magnitudes, where a
// naive softplus or exp overflows) and random attributes; the decomposed graph verifies, contains none of the
// composite op, and matches within the decompose pass's declared tolerance.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../ir/graph.js';
import { GraphBuilder } from '../../models/builder.js';
import { getOp } from '../../ops/index.js';
import { decomposePass } from '../../passes/decompose.js';
import { verifyAfter } from '../../passes/manager.js';
import { defaultContext } from '../../passes/pass.js';
import { expectClose, randomTensor, run } from './fusion/helpers.js';

type AttrGen = fc.Arbitrary<Record<string, { float: number } | number>>;
const f32 = (lo: number, hi: number) => fc.float({ min: Math.fround(lo), max: Math.fround(hi), noNaN: true }).map((v) => ({ float: Math.fround(v) }));

/** Per op: attribute generator and whether it takes a scale input over the last axis. */
const CASES: Record<string, { attrs: AttrGen; scale?: boolean }> = {
  Softplus: { attrs: fc.constant({}) },
  Mish: { attrs: fc.constant({}) },
  HardSigmoid: { attrs: fc.record({ alpha: f32(0.05, 1), beta: f32(-1, 1) }) },
  Selu: { attrs: fc.record({ alpha: f32(0.5, 2), gamma: f32(0.5, 2) }) },
  Celu: { attrs: fc.record({ alpha: f32(0.25, 3) }) },
  ThresholdedRelu: { attrs: fc.record({ alpha: f32(-1, 2) }) },
  LogSoftmax: { attrs: fc.record({ axis: fc.integer({ min: -3, max: 2 }) }) },
  RMSNormalization: { attrs: fc.record({ axis: fc.integer({ min: -2, max: 2 }), epsilon: f32(1e-6, 1e-3) }), scale: true },
};

function build(op: string, attrs: Record<string, { float: number } | number>, scale: boolean, seed: number): Graph {
  const b = new GraphBuilder();
  const dims = [2, 3, 4];
  const x = b.input('x', 'float32', dims);
  const axis = typeof attrs['axis'] === 'number' ? attrs['axis'] : -1;
  const norm = dims.slice(axis < 0 ? axis + dims.length : axis);
  const ins = scale ? [x, b.weight('scale', randomTensor(norm, seed + 9))] : [x];
  const withDefaults = op === 'RMSNormalization' ? { stash_type: 1, ...attrs } : attrs;
  b.output(b.op(op, ins, withDefaults));
  return b.build();
}

describe('decompose rules match the reference kernels', () => {
  it('covers every op it tests with a rule', () => {
    for (const op of Object.keys(CASES)) expect(getOp(op)?.decompose, op).toBeDefined();
  });

  for (const [op, c] of Object.entries(CASES)) {
    it(op, () => {
      const sem = decomposePass.properties.semantics;
      if (sem.kind !== 'tolerance') throw new Error('decompose declares a tolerance');
      fc.assert(fc.property(c.attrs, fc.integer({ min: 1, max: 1000 }), fc.constantFrom(1, 4, 60), (attrs, seed, mag) => {
        const g = build(op, attrs, c.scale ?? false, seed);
        const out = decomposePass.run(g, defaultContext({ options: new Map([['decompose', op]]) }));
        expect(out).not.toBe(g);
        verifyAfter(decomposePass, g, out);
        expect(out.nodes.some((n) => n.op === op)).toBe(false);
        const x = randomTensor([2, 3, 4], seed, mag);
        expectClose(run(out, [x]), run(g, [x]), sem.rtol, sem.atol);
      }), { numRuns: 25 });
    });
  }

  // window and per-channel forms the generic CASES cannot express (kernel_shape lists, scale of length C)
  const windowed: [string, number[], (b: GraphBuilder, x: string) => string][] = [
    ['InstanceNormalization rank 3', [2, 3, 4], (b, x) => b.op('InstanceNormalization', [x, b.weight('s', randomTensor([3], 5)), b.weight('bias', randomTensor([3], 6))])],
    ['InstanceNormalization rank 5', [1, 2, 3, 2, 3], (b, x) => b.op('InstanceNormalization', [x, b.weight('s', randomTensor([2], 5)), b.weight('bias', randomTensor([2], 6))], { epsilon: 1e-2 })],
    ['Conv 3-D grouped padded strided dilated', [1, 4, 6, 5, 5], (b, x) => b.op('Conv', [x, b.weight('w', randomTensor([2, 2, 2, 3, 2], 5)), b.weight('bias', randomTensor([2], 6))], { group: 2, pads: [1, 1, 0, 0, 1, 1], strides: [2, 1, 1], dilations: [2, 1, 2] })],
    ['LRN size 3', [2, 5, 3, 2], (b, x) => b.op('LRN', [x], { size: 3, alpha: 0.02, beta: 0.6, bias: 1.5 })],
    ['LRN size 4 rank 3', [1, 6, 4], (b, x) => b.op('LRN', [x], { size: 4 })],
    ['LpPool p=1 1-D strided', [2, 3, 9], (b, x) => b.op('LpPool', [x], { kernel_shape: [3], strides: [2], p: 1 })],
    ['LpPool p=2 2-D pads', [1, 2, 5, 6], (b, x) => b.op('LpPool', [x], { kernel_shape: [3, 2], pads: [1, 0, 1, 1] })],
    ['LpPool p=3 2-D dilated SAME_UPPER', [1, 2, 7, 6], (b, x) => b.op('LpPool', [x], { kernel_shape: [3, 2], p: 3, dilations: [2, 1], auto_pad: 'SAME_UPPER' })],
    ['LpPool p=2 3-D', [1, 1, 4, 3, 5], (b, x) => b.op('LpPool', [x], { kernel_shape: [2, 2, 3], strides: [1, 2, 1] })],
  ];
  for (const [name, dims, make] of windowed) {
    it(name, () => {
      const sem = decomposePass.properties.semantics;
      if (sem.kind !== 'tolerance') throw new Error('decompose declares a tolerance');
      const op = name.split(' ')[0]!;
      const b = new GraphBuilder();
      b.output(make(b, b.input('x', 'float32', dims)));
      const g = b.build();
      const out = decomposePass.run(g, defaultContext({ options: new Map([['decompose', op]]) }));
      verifyAfter(decomposePass, g, out);
      // the node itself is gone (a 3-D Conv becomes 2-D Convs, so the op may remain)
      expect(out.nodes.some((n) => n.op === op && n.outputs[0] === g.outputs[0])).toBe(false);
      for (const seed of [1, 2, 3]) {
        const x = randomTensor(dims, seed, 4);
        expectClose(run(out, [x]), run(g, [x]), sem.rtol, sem.atol);
      }
    });
  }

  it('keeps LpPool with ceil_mode, InstanceNormalization of rank 2 and a 2-D Conv (no rule for those forms)', () => {
    const forms = [['LpPool', [1, 1, 5], { kernel_shape: [2], strides: [2], ceil_mode: 1 }], ['InstanceNormalization', [2, 3], {}], ['Conv', [1, 3, 4, 4], {}]] as const;
    for (const [op, dims, attrs] of forms) {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', [...dims]);
      const extra = op === 'InstanceNormalization' ? [b.weight('s', randomTensor([3], 5)), b.weight('bias', randomTensor([3], 6))]
        : op === 'Conv' ? [b.weight('w', randomTensor([2, 3, 3, 3], 5))] : [];
      b.output(b.op(op, [x, ...extra], attrs));
      const g = b.build();
      expect(decomposePass.run(g, defaultContext({ options: new Map([['decompose', op]]) }))).toBe(g);
    }
  });

  it('leaves a non-float input alone (the rule declines, the node stays)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float16', [4]);
    b.output(b.op('Softplus', [x]));
    const g = b.build();
    expect(decomposePass.run(g, defaultContext({ options: new Map([['decompose', 'Softplus']]) }))).toBe(g);
  });
});
