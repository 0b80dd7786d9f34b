// The re-fit's generalisation guards (passes/prune/ridge-select.ts, refit.ts): the k-fold ridge choice keeps the
// sliced weights when the calibration rows say nothing about the targets and fits when they are linear; and a layer
// whose output reaches a Relu is fitted ReLU-aware (where the original Relu gives zero, any value <= 0 does), which
// leaves the Relu's output closer to the original's on the calibration set than the plain least-squares fit.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { prng } from '../../ir/random.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { verifyGraph } from '../../ir/verify.js';
import { GraphBuilder } from '../../models/builder.js';
import { defaultContext } from '../../passes/pass.js';
import { pruneChannels } from '../../passes/prune/index.js';
import { addRow, chooseRidgeKFold, normalRows, totalOf } from '../../passes/prune/ridge-select.js';

const SEED = Number(process.env['PRUNE_SEED'] ?? 11);

describe('k-fold ridge choice', () => {
  it('keeps (about) the prior for noise targets, fits linear ones with a small held-out error', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
      const r = prng(seed), F = 20, M = 3, prior = new Float64Array(F * M);
      const fit = (linear: boolean): ReturnType<typeof chooseRidgeKFold> => {
        const folds = Array.from({ length: 5 }, () => normalRows(F, M));
        for (let k = 0; k < 40; k++) {
          const f = Float64Array.from({ length: F }, () => r() * 2 - 1);
          const y = Float64Array.from({ length: M }, (_, m) => (linear ? f[m]! - f[m + 5]! : r() * 2 - 1));
          addRow(folds[k % 5]!, f, y);
        }
        return chooseRidgeKFold(folds, totalOf(folds), prior, 1e-3);
      };
      const noise = fit(false), signal = fit(true);
      expect(noise.heldOut!.after).toBeGreaterThan(0.5 * noise.heldOut!.before);
      expect(signal.ridge).toBeDefined();
      expect(signal.heldOut!.after).toBeLessThan(0.2 * signal.heldOut!.before);
    }), { seed: SEED, numRuns: 20 });
  });
});

describe('ReLU-aware re-fit', () => {
  it('a layer read by a Relu is fitted ReLU-aware and its Relu output is closer to the original than the plain fit', () => {
    // x [1,6] -> MatMul W1 (8 channels, half pruned) -> MatMul W2 (5 outputs, re-fitted) + bias -> Relu -> output
    const r = prng(5), rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => r() * 2 - 1);
    const b = new GraphBuilder('relu_refit');
    const x = b.input('x', 'float32', ['batch', 6]);
    const h = b.node('MatMul', [x, b.weight('w1', makeTensor('float32', [6, 8], rand(48)))], {}, 1, 'mm1')[0]!;
    const z = b.node('MatMul', [h, b.weight('w2', makeTensor('float32', [8, 5], rand(40)))], {}, 1, 'mm2')[0]!;
    const zb = b.op('Add', [z, b.weight('bias', makeTensor('float32', [5], Float32Array.from([-0.3, 0.2, -0.5, 0, 0.4])))]);
    b.output(b.op('Relu', [zb]));
    const m = b.model({ source: 'relu_refit' });
    const samples = Array.from({ length: 60 }, () => [makeTensor('float32', [1, 6], rand(6))]);
    const run = (relu: string) => pruneChannels(m.graph, defaultContext({
      options: new Map([['prune-sparsity', '0.5'], ['prune-relu-target', relu], ['prune-allocation', 'uniform']]),
      calibrationData: { samples, run: (g, xs) => runGraph(g, xs) },
    }));
    const err = (g: typeof m.graph): number => samples.reduce((s, xs) => {
      const want = runGraph(m.graph, xs)[0] as Tensor, got = runGraph(g, xs)[0] as Tensor;
      return s + (want.data as Float32Array).reduce((a, v, i) => a + (v - (got.data as Float32Array)[i]!) ** 2, 0);
    }, 0);
    const aware = run('1'), plain = run('0');
    verifyGraph(aware.graph);
    expect(aware.refits.find((f) => f.node === 'mm2')?.relu).toBe(true);
    expect(plain.refits.find((f) => f.node === 'mm2')?.relu).toBeUndefined();
    expect(err(aware.graph)).toBeLessThanOrEqual(err(plain.graph) * 1.0001);
  });
});
