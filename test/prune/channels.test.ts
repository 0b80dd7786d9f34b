// prune-channels on generated CNNs (plain convs, BatchNormalization, inverted residuals whose Add ties channels,
// fire modules with Concat, channel-wise constants): the result verifies; every value that carries pruned channels
// has exactly the kept count (so tied groups stay consistent); without re-fit the pruned graph computes exactly
// what the original computes with the pruned channels' consumer weights zeroed; the re-fit lowers the error
// against the original on the calibration samples.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { randomInputs } from '../../compiler/random-inputs.js';
import type { Graph } from '../../ir/graph.js';
import { prng } from '../../ir/random.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { verifyGraph } from '../../ir/verify.js';
import { verifyOps } from '../../ops/verify-ops.js';
import { defaultContext, type CalibrationData } from '../../passes/pass.js';
import { getPass } from '../../passes/index.js';
import { pruneChannels } from '../../passes/prune/index.js';
import { channelGraph, denseForm } from '../../passes/prune/groups.js';
import { keptOf } from '../../passes/prune/slice.js';
import { GraphBuilder, seededWeights } from '../../models/builder.js';
import { randomCnn } from './cnn-gen.js';

const SEED = Number(process.env['PRUNE_SEED'] ?? 11);

function reference(samples: readonly (readonly Tensor[])[]): CalibrationData {
  return { samples, run: (g, x) => runGraph(g, x) };
}

/** The original with every consumer's weights zeroed at the input channels the selection drops. */
function masked(g: Graph, selection: ReadonlyMap<number, readonly number[]>): Graph {
  const cg = channelGraph(g);
  const inits = new Map(g.initializers);
  for (const n of cg.consumers) {
    const kept = keptOf(cg.layouts.get(n.inputs[0]!), selection);
    if (!kept) continue;
    const f = denseForm(g, n)!, w = f.weight, keep = new Set(kept);
    const d = Float32Array.from(w.data as Float32Array), C = w.dims[f.inAxis]!;
    const inner = w.dims.slice(f.inAxis + 1).reduce((a, b) => a * b, 1);
    for (let i = 0; i < d.length; i++) if (!keep.has(Math.floor(i / inner) % C)) d[i] = 0;
    inits.set(n.inputs[1]!, makeTensor('float32', w.dims, d));
  }
  return { ...g, initializers: inits };
}

function maxRelDiff(a: Tensor, b: Tensor): number {
  let err = 0, mag = 0;
  const x = a.data as Float32Array, y = b.data as Float32Array;
  for (let i = 0; i < x.length; i++) { err = Math.max(err, Math.abs(x[i]! - y[i]!)); mag = Math.max(mag, Math.abs(x[i]!)); }
  return err / Math.max(mag, 1e-12);
}

describe('prune-channels properties', () => {
  it('verifies, keeps tied groups consistent, and computes the masked original (no re-fit)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 7 }), (seed, eighths) => {
      const m = randomCnn(seed);
      const r = pruneChannels(m.graph, defaultContext({ options: new Map([['prune-sparsity', String(eighths / 8)], ['prune-criterion', 'l2']]) }));
      if (r.selection.size === 0) { expect(r.graph).toBe(m.graph); return; }
      verifyGraph(r.graph);
      verifyOps(r.graph);
      expect(r.graph.outputs).toEqual(m.graph.outputs);
      expect(r.graph.types.get('y')).toEqual(m.graph.types.get('y'));
      for (const [v, l] of r.channels.layouts) {
        const t = r.graph.types.get(v);
        const want = keptOf(l, r.selection)?.length ?? l.segments.reduce((s, x) => s + x.size, 0);
        expect(t?.kind === 'tensor' ? t.shape?.[l.axis] : undefined, `channels of ${v}`).toBe(want);
      }
      const ref = masked(m.graph, r.selection);
      for (let k = 0; k < 2; k++) {
        const x = randomInputs(m.graph, {}, seed + k);
        const [want] = runGraph(ref, x) as Tensor[], [got] = runGraph(r.graph, x) as Tensor[];
        expect(maxRelDiff(want!, got!)).toBeLessThan(1e-4);
      }
    }), { seed: SEED, numRuns: 40 });
  });

  it('the re-fit lowers the drift against the original on the calibration samples (and stays within the declared range)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
      const m = randomCnn(seed, 5);
      const samples = Array.from({ length: 24 }, (_, i) => randomInputs(m.graph, {}, seed * 31 + i) as Tensor[]);
      const drift = (refit: string): number => {
        // the same spaces pruned both ways (the sensitivity allocation would measure each way on its own)
        // the layer re-fit alone (the distillation after it has its own tests in distil.test.ts)
        const options = new Map([['prune-sparsity', '0.5'], ['prune-refit', refit], ['prune-allocation', 'uniform'], ['prune-distil', '0']]);
        const r = pruneChannels(m.graph, defaultContext({ options, calibrationData: reference(samples) }));
        if (refit === '1') for (const f of r.refits) if (!f.skipped) expect(f.errorAfter).toBeLessThanOrEqual(f.errorBefore);
        // every initializer is read: the weights a re-fit replaced are gone
        const read = new Set(r.graph.nodes.flatMap((n) => n.inputs));
        for (const k of r.graph.initializers.keys()) expect(read.has(k), `unread initializer ${k}`).toBe(true);
        return Math.max(...samples.map((x) => maxRelDiff(runGraph(m.graph, x)[0] as Tensor, runGraph(r.graph, x)[0] as Tensor)));
      };
      const without = drift('0'), withRefit = drift('1');
      expect(withRefit).toBeLessThanOrEqual(without * 1.05 + 1e-6);
      expect(withRefit).toBeLessThanOrEqual(getPass('prune-channels')!.properties.semantics.kind === 'range' ? 1 : 0);
    }), { seed: SEED, numRuns: 12 });
  });
});

describe('prune-channels on a residual network', () => {
  it('prunes the channels an Add ties as one group, the same channels on both sides', () => {
    // seed chosen so that the generated network has an inverted-residual block
    let seed = 1;
    let m = randomCnn(seed, 4);
    while (!m.graph.nodes.some((n) => n.op === 'Add' && n.inputs.every((i) => !m.graph.initializers.has(i)))) m = randomCnn(++seed, 4);
    const r = pruneChannels(m.graph, defaultContext({ options: new Map([['prune-sparsity', '0.5']]) }));
    const add = m.graph.nodes.find((n) => n.op === 'Add' && n.inputs.every((i) => !m.graph.initializers.has(i)))!;
    const [a, b] = add.inputs.map((i) => r.channels.layouts.get(i)!);
    expect(a!.segments.map((s) => s.space)).toEqual(b!.segments.map((s) => s.space));
    const space = r.spaces.find((s) => s.name === r.channels.spaces.find((x) => x.id === a!.segments[0]!.space)!.name)!;
    expect(space.producers.length).toBeGreaterThanOrEqual(2);
    expect(space.kept).toBeLessThan(space.size);
    verifyGraph(r.graph);
    const t = (v: string): unknown => { const x = r.graph.types.get(v); return x?.kind === 'tensor' ? x.shape : undefined; };
    expect(t(add.inputs[0]!)).toEqual(t(add.inputs[1]!));
  });
});

describe('prune-channels re-fit of ConvTranspose consumers', () => {
  it('a ConvTranspose that lost input channels is re-fitted (lower error than slicing alone)', () => {
    const rand = prng(5);
    const b = new GraphBuilder('deconv');
    const x = b.input('z', 'float32', [1, 6, 3, 3]);
    let h = b.op('ConvTranspose', [x, b.weight('w1', seededWeights([6, 8, 3, 3], rand, 0.4))], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    h = b.op('Relu', [h]);
    const y = b.node('ConvTranspose', [h, b.weight('w2', seededWeights([8, 2, 3, 3], rand, 0.4)), b.weight('b2', seededWeights([2], rand, 0.1))], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, 1, 'y')[0]!;
    b.output(y);
    const m = b.model({ source: 'deconv' });
    const samples = Array.from({ length: 16 }, (_, i) => randomInputs(m.graph, {}, 100 + i) as Tensor[]);
    const drift = (refit: string): number => {
      const r = pruneChannels(m.graph, defaultContext({ options: new Map([['prune-sparsity', '0.5'], ['prune-refit', refit]]), calibrationData: reference(samples) }));
      verifyGraph(r.graph);
      if (refit === '1') {
        expect(r.refits.map((f) => f.skipped)).toEqual([undefined]);
        expect(r.refits[0]!.errorAfter).toBeLessThan(r.refits[0]!.errorBefore);
      }
      return Math.max(...samples.map((s) => maxRelDiff(runGraph(m.graph, s)[0] as Tensor, runGraph(r.graph, s)[0] as Tensor)));
    };
    expect(drift('1')).toBeLessThan(drift('0'));
  });
});
