// The whole-model correction after the channel re-fit (distil.ts): every op's hand-written gradient agrees with
// central finite differences (distil-ops.ts), distillation brings a damaged copy of a small residual CNN back
// towards the original (held-out error down, structure unchanged), and the cases it must leave alone (an op with no
// gradient, too few samples, distillation switched off) return the model untouched.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { randomInputs } from '../../compiler/random-inputs.js';
import type { Graph, Node } from '../../ir/graph.js';
import { prng } from '../../ir/random.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder, seededWeights } from '../../models/builder.js';
import { defaultContext, type CalibrationData } from '../../passes/pass.js';
import { distil } from '../../passes/prune/distil.js';
import { kernelOf, type T } from '../../passes/prune/distil-ops.js';
import { pruneChannels } from '../../passes/prune/index.js';

const r = prng(5);
const rnd = (dims: number[]): T => ({ dims, data: Float64Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1) });
const tensor = (dims: number[], scale = 0.5): Tensor => makeTensor('float32', dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (r() * 2 - 1) * scale));
const empty: Graph = { name: 'g', inputs: [], outputs: [], nodes: [], initializers: new Map(), types: new Map() };
type Attrs = Record<string, number | number[]>;
const node = (op: string, inputs: string[], attrs: Attrs = {}): Node => ({
  op, name: op, inputs, outputs: ['y'],
  attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, Array.isArray(v) ? { kind: 'ints', value: v } : Number.isInteger(v) ? { kind: 'int', value: v } : { kind: 'float', value: v }])),
} as unknown as Node);

/** Largest gap between the kernel's gradient of Σ out·dy and a central difference, over up to 40 entries per input. */
function gradientGap(g: Graph, n: Node, xs: T[]): number {
  const k = kernelOf(g, n);
  if (typeof k === 'string') throw new Error(k);
  const fwd = k.forward(xs), dy = rnd([...fwd.out.dims]).data;
  const loss = (): number => k.forward(xs).out.data.reduce((s, v, i) => s + v * dy[i]!, 0);
  const grads = k.backward(xs, fwd.out, fwd.saved, dy, xs.map(() => true));
  let gap = 0;
  xs.forEach((x, j) => {
    const gr = grads[j];
    if (!gr) return;
    for (let i = 0; i < Math.min(40, x.data.length); i++) {
      const v = x.data[i]!, h = 1e-6;
      x.data[i] = v + h; const up = loss();
      x.data[i] = v - h; const down = loss();
      x.data[i] = v;
      gap = Math.max(gap, Math.abs((up - down) / (2 * h) - gr[i]!));
    }
  });
  return gap;
}

describe('distil-ops gradients', () => {
  // [intent, node, graph with its constants, inputs]
  const cases: [string, Node, Graph, T[]][] = [
    ['Conv, stride 2 by 1, padded', node('Conv', ['x', 'w', 'b'], { pads: [1, 0, 1, 2], strides: [2, 1] }), empty, [rnd([2, 3, 5, 6]), rnd([4, 3, 3, 3]), rnd([4])]],
    ['Conv, dilated, no bias', node('Conv', ['x', 'w'], { dilations: [2, 2], pads: [2, 2, 2, 2] }), empty, [rnd([1, 2, 6, 5]), rnd([3, 2, 3, 3])]],
    ['Gemm transB, alpha and beta', node('Gemm', ['x', 'w', 'b'], { transB: 1, alpha: 0.5, beta: 1.5 }), empty, [rnd([3, 5]), rnd([4, 5]), rnd([4])]],
    ['MatMul of a 3-D input', node('MatMul', ['x', 'w']), { ...empty, initializers: new Map([['w', tensor([5, 4])]]) }, [rnd([2, 3, 5]), rnd([5, 4])]],
    ['MaxPool, padded, ceil mode', node('MaxPool', ['x'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 0, 0], ceil_mode: 1 }), empty, [rnd([1, 2, 6, 7])]],
    ['GlobalAveragePool', node('GlobalAveragePool', ['x']), empty, [rnd([2, 3, 4, 4])]],
    ['Relu', node('Relu', ['x']), empty, [rnd([2, 3, 4])]],
    ['LeakyRelu', node('LeakyRelu', ['x'], { alpha: 0.1 }), empty, [rnd([2, 3, 4])]],
    ['residual Add', node('Add', ['x', 'z']), empty, [rnd([1, 3, 4, 4]), rnd([1, 3, 4, 4])]],
    ['Mul by a per-channel constant', node('Mul', ['x', 'c']), { ...empty, initializers: new Map([['c', tensor([3, 1, 1])]]) }, [rnd([2, 3, 4, 4]), rnd([3, 1, 1])]],
    ['BatchNormalization (inference)', node('BatchNormalization', ['x', 's', 'b', 'm', 'v']),
      { ...empty, initializers: new Map([['s', tensor([3])], ['b', tensor([3])], ['m', tensor([3])], ['v', makeTensor('float32', [3], Float32Array.of(0.5, 1, 2))]]) }, [rnd([2, 3, 2, 2])]],
  ];
  for (const [intent, n, g, xs] of cases) it(intent, () => expect(gradientGap(g, n, xs)).toBeLessThan(1e-6));

  it('names the op it has no gradient for', () => {
    expect(kernelOf(empty, node('Sigmoid', ['x']))).toMatch(/no gradient for Sigmoid/);
    expect(kernelOf(empty, node('Conv', ['x', 'w'], { group: 2 }))).toMatch(/groups/);
  });
});

/** stem conv -> residual block -> GAP -> Flatten -> Gemm -> Softmax; `tail` replaces the Relu after the block. */
function residualCnn(seed: number, tail = 'Relu'): Graph {
  const rand = prng(seed), b = new GraphBuilder(`res_${seed}`);
  const w = (name: string, dims: number[], s = 0.4): string => b.weight(name, seededWeights(dims, rand, s));
  const conv = (x: string, name: string, cin: number, cout: number): string =>
    b.node('Conv', [x, w(`${name}.w`, [cout, cin, 3, 3]), w(`${name}.b`, [cout], 0.1)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 1, name)[0]!;
  const x = b.input('x', 'float32', [1, 2, 6, 6]);
  const s = b.op('Relu', [conv(x, 'stem', 2, 6)]);
  const h = b.op(tail, [b.op('Add', [conv(b.op('Relu', [conv(s, 'c1', 6, 6)]), 'c2', 6, 6), s])]);
  const f = b.op('Flatten', [b.op('GlobalAveragePool', [h])], { axis: 1 });
  b.output(b.op('Softmax', [b.node('Gemm', [f, w('fc.w', [4, 6]), w('fc.b', [4], 0.1)], { transB: 1 }, 1, 'fc')[0]!], { axis: -1 }));
  return b.model({ source: `res_${seed}` }).graph;
}

/** `g` with every weight moved by `noise` x its own scale (a stand-in for a pruned, re-fitted model). */
function damaged(g: Graph, noise: number): Graph {
  const rand = prng(99), inits = new Map(g.initializers);
  for (const [k, t] of g.initializers) inits.set(k, makeTensor('float32', t.dims, (t.data as Float32Array).map((v) => v * (1 + noise * (rand() * 2 - 1)))));
  return { ...g, initializers: inits };
}

const reference = (samples: readonly (readonly Tensor[])[]): CalibrationData => ({ samples, run: (g, x) => runGraph(g, x) });
const samplesFor = (g: Graph, n: number): Tensor[][] => Array.from({ length: n }, (_, i) => randomInputs(g, {}, 500 + i) as Tensor[]);

describe('distil', () => {
  it('brings a damaged copy back towards the original, keeping its structure', () => {
    const g = residualCnn(3), bad = damaged(g, 0.5);
    const { graph, report } = distil(g, bad, reference(samplesFor(g, 30)), { epochs: 10, rate: 3e-3, seed: 1 });
    expect(report.skipped).toBeUndefined();
    expect(report.after!).toBeLessThan(0.7 * report.before!);
    expect(report.kept!).toBeGreaterThan(0);
    expect(graph.nodes).toBe(bad.nodes);
    for (const [k, t] of bad.initializers) expect(graph.initializers.get(k)!.dims).toEqual(t.dims);
  });

  it('leaves the model alone when an op has no gradient or samples are too few', () => {
    const g = residualCnn(4, 'Sigmoid'), bad = damaged(g, 0.5);
    const a = distil(g, bad, reference(samplesFor(g, 30)), { epochs: 4, rate: 1e-3, seed: 1 });
    expect(a.graph).toBe(bad);
    expect(a.report.skipped).toMatch(/Sigmoid/);
    const h = residualCnn(5), b = distil(h, damaged(h, 0.5), reference(samplesFor(h, 6)), { epochs: 4, rate: 1e-3, seed: 1 });
    expect(b.report.skipped).toMatch(/6 calibration samples/);
  });

  it('runs after the channel re-fit unless prune-distil=0, and never does worse on its held-out samples', () => {
    const g = residualCnn(6), data = reference(samplesFor(g, 20));
    const opts = (distilOn: string): Map<string, string> => new Map([['prune-sparsity', '0.5'], ['prune-allocation', 'uniform'], ['prune-distil', distilOn], ['prune-distil-epochs', '6']]);
    const on = pruneChannels(g, defaultContext({ options: opts('1'), calibrationData: data }));
    const off = pruneChannels(g, defaultContext({ options: opts('0'), calibrationData: data }));
    expect(off.distil).toBeUndefined();
    expect(on.distil?.skipped).toBeUndefined();
    expect(on.distil!.after!).toBeLessThanOrEqual(on.distil!.before!);
    // same channels, same structure: only weight values may differ
    expect(on.graph.nodes.map((n) => n.op)).toEqual(off.graph.nodes.map((n) => n.op));
    expect([...on.selection]).toEqual([...off.selection]);
  });
});
