// The trained-model path of the pruning figures: models/train-nn.ts' hand-written gradients agree with finite
// differences; a network exported by models/train-cnn.ts computes on the reference interpreter what the training
// code computes; the digit generator is seeded and balanced. And the two re-fit refinements the trained models
// asked for: reconstruction-aware selection drops a redundant channel before a unique one (select-obs.ts), and the
// held-out ridge choice keeps the sliced weights when the calibration rows say nothing (ridge-select.ts).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { prng } from '../../ir/random.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { DIGIT_CLASSES, DIGIT_SIZE, digitSet } from '../../models/digits.js';
import { archSpec, buildLayers, exportTrained, forward } from '../../models/train-cnn.js';
import { softmaxXent, type Act } from '../../models/train-nn.js';
import { defaultContext } from '../../passes/pass.js';
import { pruneChannels } from '../../passes/prune/index.js';
import { addRow, chooseRidge, normalRows, sumRows } from '../../passes/prune/ridge-select.js';

const SEED = Number(process.env['PRUNE_SEED'] ?? 11);

const image = (r: () => number): Act => ({ c: 1, h: DIGIT_SIZE, w: DIGIT_SIZE, data: Float64Array.from({ length: DIGIT_SIZE ** 2 }, () => r()) });

describe('models/train-nn gradients', () => {
  it('match central finite differences of the loss for both architectures', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.constantFrom('cnn' as const, 'resnet' as const), (seed, arch) => {
      const r = prng(seed), layers = buildLayers(archSpec(arch, 0.5), r), x = image(r), label = seed % DIGIT_CLASSES;
      const loss = (): number => softmaxXent(forward(layers, x), label).loss;
      const res = softmaxXent(forward(layers, x), label);
      layers.reduceRight((g, l) => l.backward(g), res.grad);
      const params = layers.flatMap((l) => l.params());
      for (let t = 0; t < 6; t++) {
        const p = params[Math.floor(r() * params.length)]!, i = Math.floor(r() * p.value.length), v = p.value[i]!, h = 1e-5;
        p.value[i] = v + h; const up = loss();
        p.value[i] = v - h; const down = loss();
        p.value[i] = v;
        const fd = (up - down) / (2 * h);
        // a ReLU/max switching inside ±h makes the difference meaningless: only smooth points count
        if (Math.abs(fd - p.grad[i]!) > 1e-4 * Math.max(1, Math.abs(fd))) expect(Math.abs(up + down - 2 * loss())).toBeGreaterThan(1e-9);
      }
    }), { seed: SEED, numRuns: 12 });
  });
});

describe('models/train-cnn export', () => {
  it('the exported ONNX graph computes the softmax of what the training code computes', () => {
    for (const arch of ['cnn', 'resnet'] as const) {
      const r = prng(3), spec = archSpec(arch, 0.5), layers = buildLayers(spec, r);
      const m = exportTrained(arch, spec, layers);
      const x = image(r);
      const logits = forward(layers, x).data, mx = Math.max(...logits), e = logits.map((v) => Math.exp(v - mx)), s = e.reduce((a, b) => a + b, 0);
      const [probs] = runGraph(m.graph, [makeTensor('float32', [1, 1, DIGIT_SIZE, DIGIT_SIZE], Float32Array.from(x.data))]) as Tensor[];
      const got = probs!.data as Float32Array;
      for (let i = 0; i < DIGIT_CLASSES; i++) expect(got[i]!).toBeCloseTo(e[i]! / s, 5);
    }
  });

  it('digits are seeded and balanced', () => {
    const a = digitSet(50, 9), b = digitSet(50, 9), c = digitSet(50, 10);
    expect(a.images).toEqual(b.images);
    expect(a.labels).toEqual(b.labels);
    expect(a.images).not.toEqual(c.images);
    const counts = new Array(DIGIT_CLASSES).fill(0);
    for (const l of a.labels) counts[l]++;
    expect(counts).toEqual(new Array(DIGIT_CLASSES).fill(5));
  });
});

describe('reconstruction-aware channel selection', () => {
  it('drops one of two duplicated channels rather than a unique one (activation-aware keeps both duplicates)', () => {
    // h = x·W1 has 4 channels; channel 1 repeats channel 0, channels 2 and 3 are unique and weaker
    const b = new GraphBuilder('dup');
    const x = b.input('x', 'float32', ['batch', 3]);
    const w1 = makeTensor('float32', [3, 4], Float32Array.from([1, 1, 0, 0, 0.5, 0.5, 0.6, 0, 0, 0, 0, 0.7]));
    const w2 = makeTensor('float32', [4, 2], Float32Array.from([1, 0, 1, 0, 0, 1, 1, 1]));
    const h = b.op('MatMul', [x, b.weight('w1', w1)]);
    b.output(b.node('MatMul', [h, b.weight('w2', w2)], {}, 1, 'y')[0]!);
    const m = b.model({ source: 'dup' });
    const r = prng(4);
    const samples = Array.from({ length: 40 }, () => [makeTensor('float32', [1, 3], Float32Array.from({ length: 3 }, () => r() * 2 - 1))]);
    const kept = (criterion: string): readonly number[] => {
      const res = pruneChannels(m.graph, defaultContext({
        options: new Map([['prune-sparsity', '0.25'], ['prune-criterion', criterion], ['prune-refit', '0']]),
        calibrationData: { samples, run: (g, xs) => runGraph(g, xs) },
      }));
      return [...res.selection.values()][0]!;
    };
    expect(kept('reconstruction')).toHaveLength(3);
    expect(kept('reconstruction')).toEqual(expect.arrayContaining([2, 3]));
    expect(kept('l2')).toEqual([0, 1, 3]);
  });
});

describe('held-out ridge choice', () => {
  it('keeps the prior when the targets are noise unrelated to the features, fits when they are linear', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
      const r = prng(seed), F = 20, M = 3, prior = new Float64Array(F * M);
      const fit = (linear: boolean): ReturnType<typeof chooseRidge> => {
        const folds = [normalRows(F, M), normalRows(F, M)];
        for (let k = 0; k < 30; k++) {
          const f = Float64Array.from({ length: F }, () => r() * 2 - 1);
          const y = Float64Array.from({ length: M }, (_, m) => (linear ? f[m]! - f[m + 5]! : r() * 2 - 1));
          addRow(folds[k % 5 === 4 ? 1 : 0]!, f, y);
        }
        sumRows(folds[0]!, folds[1]!);
        return chooseRidge(folds[0]!, folds[1]!, prior, 1e-3);
      };
      const noise = fit(false), signal = fit(true);
      // noise: no strength beats the prior by much on unseen rows (most often the prior itself wins)
      expect(noise.heldOut!.after).toBeGreaterThan(0.5 * noise.heldOut!.before);
      expect(signal.ridge).toBeDefined();
      expect(signal.heldOut!.after).toBeLessThan(0.2 * signal.heldOut!.before);
    }), { seed: SEED, numRuns: 20 });
  });
});
