// prune-channels' budget allocation and residual targets: the knapsack spreads exactly the uniform budget of
// channels and never costs more than the uniform choice; with calibration data prune-sparsity=S removes S of the
// prunable channels in all (not of each space) and the pruned graph stays consistent; a layer that feeds a residual
// Add through a BatchNormalization gets that Add's sum as its target, with the norm's a·z + b.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { randomInputs } from '../../compiler/random-inputs.js';
import { prng } from '../../ir/random.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { verifyGraph } from '../../ir/verify.js';
import { GraphBuilder, seededWeights } from '../../models/builder.js';
import { defaultContext, type CalibrationData } from '../../passes/pass.js';
import { spread, type SpaceCurve } from '../../passes/prune/allocate.js';
import { keepCount } from '../../passes/prune/importance.js';
import { pruneChannels } from '../../passes/prune/index.js';
import { residualTarget } from '../../passes/prune/refit-target.js';
import { keptOf } from '../../passes/prune/slice.js';

const SEED = Number(process.env['PRUNE_SEED'] ?? 11);
const reference = (samples: readonly (readonly Tensor[])[]): CalibrationData => ({ samples, run: (g, x) => runGraph(g, x) });

describe('allocation knapsack (spread)', () => {
  it('removes exactly the budget and costs no more than removing the same share of every space', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 2, max: 40 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 7, maxLength: 7 })), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 7 }),
      (spaces, eighths) => {
        const S = eighths / 8;
        const sizes = new Map(spaces.map(([n], i) => [i, n]));
        const curves: SpaceCurve[] = spaces.map(([n, c], i) => {
          const removed: number[] = [], cost: number[] = [];
          [1, 2, 3, 4, 5, 6, 7].forEach((k, j) => { const d = n - keepCount(n, k / 8); if (d > 0 && !removed.includes(d)) { removed.push(d); cost.push(c[j]!); } });
          return { space: i, name: `s${i}`, removed, cost };
        });
        const budget = spaces.reduce((a, [n]) => a + n - keepCount(n, S), 0);
        const kept = spread(curves, sizes, budget, 1);
        if (!kept) { expect(budget).toBeGreaterThan(0); return; }
        expect(spaces.reduce((a, [n], i) => a + n - kept.get(i)!, 0)).toBe(budget);
        // the cost of a removal count: the running maximum of the curve, interpolated (what spread minimises)
        const costOf = (i: number, d: number): number => {
          const c = curves[i]!, xs = [0, ...c.removed], ys = [0, ...c.cost];
          for (let k = 1; k < ys.length; k++) ys[k] = Math.max(ys[k]!, ys[k - 1]!);
          let k = 1;
          while (k < xs.length - 1 && xs[k]! < d) k++;
          return xs[k] === xs[k - 1] ? ys[k]! : ys[k - 1]! + ((ys[k]! - ys[k - 1]!) * (d - xs[k - 1]!)) / (xs[k]! - xs[k - 1]!);
        };
        const chosen = spaces.reduce((a, [n], i) => a + costOf(i, n - kept.get(i)!), 0);
        const uniform = spaces.reduce((a, [n], i) => a + costOf(i, n - keepCount(n, S)), 0);
        expect(chosen).toBeLessThanOrEqual(uniform + 1e-12);
        for (const [i, k] of kept) { expect(k).toBeGreaterThanOrEqual(1); expect(k).toBeLessThanOrEqual(sizes.get(i)!); }
      }), { seed: SEED, numRuns: 200 });
  });

  it('takes the channels where they cost least', () => {
    const curves: SpaceCurve[] = [
      { space: 0, name: 'stream', removed: [2, 4, 6], cost: [1, 2, 3] },
      { space: 1, name: 'inner', removed: [2, 4, 6], cost: [0.01, 0.02, 1.5] },
    ];
    expect([...spread(curves, new Map([[0, 8], [1, 8]]), 6, 1)!]).toEqual([[1, 4], [0, 6]]);
  });
});

/** x -> stem -> [conv a -> relu -> conv b -> BN] + skip -> relu -> GAP -> Gemm: the stem's and b's channels are tied. */
function residualNet(seed: number): ReturnType<GraphBuilder['model']> {
  const r = prng(seed), b = new GraphBuilder('res');
  const w = (name: string, dims: number[], s = 0.4): string => b.weight(name, seededWeights(dims, r, s));
  const pos = (name: string, n: number): string => b.weight(name, makeTensor('float32', [n], Float32Array.from({ length: n }, () => 0.5 + r())));
  const conv = (name: string, h: string, ci: number, co: number): string => b.node('Conv', [h, w(`${name}_w`, [co, ci, 3, 3]), w(`${name}_b`, [co], 0.1)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 1, name)[0]!;
  const x = b.input('x', 'float32', [1, 2, 6, 6]);
  const stem = b.op('Relu', [conv('stem', x, 2, 8)]);
  const a = b.op('Relu', [conv('a', stem, 8, 8)]);
  const bn = b.node('BatchNormalization', [conv('b', a, 8, 8), pos('g', 8), w('beta', [8], 0.1), w('mean', [8], 0.1), pos('var', 8)], { epsilon: { float: 1e-5 } }, 1, 'bn')[0]!;
  const add = b.node('Add', [bn, stem], {}, 1, 'sum')[0]!;
  const h = b.op('Flatten', [b.op('GlobalAveragePool', [b.op('Relu', [add])])], { axis: 1 });
  b.output(b.node('Gemm', [h, w('fc_w', [4, 8]), w('fc_b', [4], 0.1)], { transB: 1 }, 1, 'y')[0]!);
  return b.model({ source: 'res' });
}

describe('prune-channels allocation and residual targets', () => {
  it('prune-sparsity=S with calibration data removes S of all prunable channels, tied groups consistent', () => {
    const m = residualNet(3);
    const samples = Array.from({ length: 12 }, (_, i) => randomInputs(m.graph, {}, 40 + i) as Tensor[]);
    const r = pruneChannels(m.graph, defaultContext({ options: new Map([['prune-sparsity', '0.5']]), calibrationData: reference(samples) }));
    verifyGraph(r.graph);
    expect(r.allocation).toBeDefined();
    const open = r.spaces.filter((s) => !s.blocked);
    expect(open.reduce((a, s) => a + s.size - s.kept, 0)).toBe(open.reduce((a, s) => a + s.size - keepCount(s.size, 0.5), 0));
    for (const c of r.allocation!.curves) expect(c.cost.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
    // every channel-carrying value has its layout's kept count
    for (const [v, l] of r.channels.layouts) {
      const t = r.graph.types.get(v);
      expect(t?.kind === 'tensor' ? t.shape?.[l.axis] : undefined).toBe(keptOf(l, r.selection)?.length ?? l.segments.reduce((s, x) => s + x.size, 0));
    }
    // uniform: every space at S
    const u = pruneChannels(m.graph, defaultContext({ options: new Map([['prune-sparsity', '0.5'], ['prune-allocation', 'uniform']]), calibrationData: reference(samples) }));
    expect(u.allocation).toBeUndefined();
    for (const s of u.spaces.filter((x) => !x.blocked)) expect(s.kept).toBe(keepCount(s.size, 0.5));
  });

  it('a branch conv that reaches the Add through BatchNormalization is fitted to the sum, the norm inverted', () => {
    const m = residualNet(5), g = m.graph;
    const node = g.nodes.find((n) => n.name === 'b')!;
    const t = residualTarget(g, node, 1, 8)!;
    expect(t.sum).toBe('sum');
    const [sc, bi, mean, vr] = ['g', 'beta', 'mean', 'var'].map((k) => g.initializers.get(k)!.data as Float32Array);
    for (let c = 0; c < 8; c++) {
      const k = sc![c]! / Math.sqrt(vr![c]! + 1e-5);
      expect(t.a[c]).toBeCloseTo(k, 6);
      expect(t.b[c]).toBeCloseTo(bi![c]! - mean![c]! * k, 6);
    }
    // the stem's output is read twice (conv a and the Add): no residual target; nor for the head
    expect(residualTarget(g, g.nodes.find((n) => n.name === 'stem')!, 1, 8)).toBeUndefined();
    expect(residualTarget(g, g.nodes.find((n) => n.name === 'y')!, 1, 4)).toBeUndefined();
    // in a re-fit: conv b reports the Add's other operand, and its fit lowers its error
    const samples = Array.from({ length: 10 }, (_, i) => randomInputs(g, {}, 70 + i) as Tensor[]);
    const r = pruneChannels(g, defaultContext({ options: new Map([['prune-sparsity', '0.5'], ['prune-allocation', 'uniform']]), calibrationData: reference(samples) }));
    const fb = r.refits.find((f) => f.node === 'b')!;
    expect(fb.residual).toBe(g.nodes.find((n) => n.name === 'sum')!.inputs[1]);
    expect(fb.errorAfter).toBeLessThanOrEqual(fb.errorBefore);
  });
});
