// Trained models with labelled data, for judging pruning and quantisation by accuracy rather than agreement: a
// plain CNN (conv-pool x2, conv, flatten, two dense layers) and a residual one (residual Adds tie channels), trained
// with Adam on the procedural digits of digits.ts, seeded and deterministic, exported as ONNX with a labelled
// calibration set and a separate labelled eval set (test_data_set layout; see writeLabelledSet).
//   npx tsx models/train-cnn.ts OUT [--arch cnn,resnet] [--train N (fresh samples per epoch)] [--epochs E] [--width W] [--seed S]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Model } from '../ir/graph.js';
import { makeTensor } from '../ir/tensor.js';
import { prng } from '../ir/random.js';
import { exportModel } from '../compiler/onnx/export.js';
import { encodeTensorProto } from '../compiler/onnx/tensor-proto.js';
import { GraphBuilder } from './builder.js';
import { DIGIT_CLASSES, DIGIT_SIZE, digitSet, type DigitSet } from './digits.js';
import { Adam, Conv, GlobalAvgPool, Linear, MaxPool2, Relu, Residual, softmaxXent, type Act, type Layer } from './train-nn.js';

export const ARCHS = ['cnn', 'resnet'] as const;
export type Arch = (typeof ARCHS)[number];

/** A network as data: trained through train-nn.ts layers and exported through GraphBuilder from the same list. */
type Spec =
  | { kind: 'conv'; name: string; cin: number; cout: number }
  | { kind: 'relu' } | { kind: 'pool' } | { kind: 'gap' } | { kind: 'flatten' }
  | { kind: 'linear'; name: string; fin: number; fout: number }
  | { kind: 'residual'; body: Spec[] };

const conv = (name: string, cin: number, cout: number): Spec => ({ kind: 'conv', name, cin, cout });
const linear = (name: string, fin: number, fout: number): Spec => ({ kind: 'linear', name, fin, fout });
const relu: Spec = { kind: 'relu' }, pool: Spec = { kind: 'pool' };

/** The layers of `arch`; `width` multiplies every channel count (1: 8-16-32 channels, fc 64; the default 2: 16-32-64, fc 128). */
export function archSpec(arch: Arch, width = 1): Spec[] {
  const q = DIGIT_SIZE / 4, c = (n: number): number => Math.round(n * width);
  if (arch === 'cnn') {
    return [conv('conv1', 1, c(8)), relu, pool, conv('conv2', c(8), c(16)), relu, pool, conv('conv3', c(16), c(32)), relu,
      { kind: 'flatten' }, linear('fc1', c(32) * q * q, c(64)), relu, linear('fc2', c(64), DIGIT_CLASSES)];
  }
  return [conv('stem', 1, c(8)), relu, pool,
    { kind: 'residual', body: [conv('block1.conv1', c(8), c(8)), relu, conv('block1.conv2', c(8), c(8))] }, relu,
    conv('down', c(8), c(16)), relu, pool,
    { kind: 'residual', body: [conv('block2.conv1', c(16), c(16)), relu, conv('block2.conv2', c(16), c(16))] }, relu,
    { kind: 'gap' }, linear('fc', c(16), DIGIT_CLASSES)];
}

export function buildLayers(spec: readonly Spec[], r: () => number): Layer[] {
  return spec.map((s): Layer => {
    switch (s.kind) {
      case 'conv': return new Conv(s.name, s.cin, s.cout, 3, r);
      case 'linear': return new Linear(s.name, s.fin, s.fout, r);
      case 'relu': return new Relu();
      case 'pool': return new MaxPool2();
      case 'gap': return new GlobalAvgPool();
      case 'flatten': return { forward: (x) => x, backward: (d) => d, params: () => [] };
      case 'residual': return new Residual(buildLayers(s.body, r));
    }
  });
}

const imageOf = (set: DigitSet, i: number): Act => {
  const n = DIGIT_SIZE * DIGIT_SIZE;
  return { c: 1, h: DIGIT_SIZE, w: DIGIT_SIZE, data: Float64Array.from(set.images.subarray(i * n, (i + 1) * n)) };
};

export const forward = (layers: readonly Layer[], x: Act): Act => layers.reduce((h, l) => l.forward(h), x);

/** Top-1 accuracy of the trained layers on a set. */
export function evaluate(layers: readonly Layer[], set: DigitSet): number {
  let right = 0;
  for (let i = 0; i < set.count; i++) if (softmaxXent(forward(layers, imageOf(set, i)), set.labels[i]!).predicted === set.labels[i]) right++;
  return right / set.count;
}

/** Data seeds: training, calibration and eval sets are disjoint streams of the generator. */
export const SET_SEEDS = { train: 1, calibration: 2, eval: 3 } as const;

export interface TrainOptions {
  readonly epochs: number; readonly perEpoch: number; readonly batch: number; readonly lr: number; readonly seed: number;
  readonly log?: (s: string) => void;
}

/** Adam with a cosine learning-rate decay over the whole run; every epoch draws `perEpoch` fresh samples (the
 *  generator is cheap next to a training step, and unseen samples every epoch leave nothing to over-fit). */
export function train(layers: readonly Layer[], o: TrainOptions): void {
  const params = layers.flatMap((l) => l.params()), opt = new Adam(params);
  const order = Array.from({ length: o.perEpoch }, (_, i) => i);
  const steps = o.epochs * Math.ceil(o.perEpoch / o.batch);
  let step = 0;
  for (let e = 0; e < o.epochs; e++) {
    const set = digitSet(o.perEpoch, (SET_SEEDS.train * 1000 + o.seed) * 1000 + e);
    let loss = 0, right = 0;
    for (let b = 0; b < order.length; b += o.batch) {
      const idx = order.slice(b, b + o.batch);
      for (const i of idx) {
        const res = softmaxXent(forward(layers, imageOf(set, i)), set.labels[i]!);
        loss += res.loss; right += res.predicted === set.labels[i] ? 1 : 0;
        layers.reduceRight((g, l) => l.backward(g), res.grad);
      }
      opt.step(o.lr * 0.5 * (1 + Math.cos((Math.PI * step++) / steps)), idx.length, 1e-4);
    }
    o.log?.(`epoch ${e + 1}/${o.epochs}: loss ${(loss / set.count).toFixed(4)}, train accuracy ${(100 * right / set.count).toFixed(2)}%`);
  }
}

/** The trained network as ONNX: image [batch, 1, S, S] -> probs [batch, 10] (Softmax of the logits). */
export function exportTrained(arch: Arch, spec: readonly Spec[], layers: readonly Layer[]): Model {
  const b = new GraphBuilder(`digits_${arch}`);
  const f32 = (v: Float64Array, dims: readonly number[]) => makeTensor('float32', dims, Float32Array.from(v));
  const emit = (specs: readonly Spec[], ls: readonly Layer[], h: string): string => specs.reduce((x, s, i) => {
    const l = ls[i]!;
    switch (s.kind) {
      case 'conv': {
        const c = l as Conv;
        const w = b.weight(c.weight.name, f32(c.weight.value, c.weight.dims)), bias = b.weight(c.bias.name, f32(c.bias.value, c.bias.dims));
        return b.node('Conv', [x, w, bias], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 1, s.name)[0]!;
      }
      case 'linear': {
        const c = l as Linear;
        const w = b.weight(c.weight.name, f32(c.weight.value, c.weight.dims)), bias = b.weight(c.bias.name, f32(c.bias.value, c.bias.dims));
        return b.node('Gemm', [x, w, bias], { transB: 1 }, 1, s.name)[0]!;
      }
      case 'relu': return b.op('Relu', [x]);
      case 'pool': return b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
      case 'gap': return b.op('Flatten', [b.op('GlobalAveragePool', [x])], { axis: 1 });
      case 'flatten': return b.op('Flatten', [x], { axis: 1 });
      case 'residual': return b.op('Add', [x, emit(s.body, (l as Residual).body, x)]);
    }
  }, h);
  const logits = emit(spec, layers, b.input('image', 'float32', ['batch', 1, DIGIT_SIZE, DIGIT_SIZE]));
  b.output(b.node('Softmax', [logits], { axis: -1 }, 1, 'probs')[0]!);
  return b.model({ source: `digits_${arch}`, docString: `onnxc models/train-cnn.ts: ${arch} trained on procedural digits (seeded)` });
}

/** A labelled set in the test_data_set layout: input_0.pb (N x 1 x S x S float) and output_0.pb, the labels as an
 *  int64 tensor [N] (one class index per row of the model's output). `onnxc prune --eval` and eval-accuracy.ts read
 *  an integer output_K.pb as labels and a float one as expected scores (argmax). */
export function writeLabelledSet(dir: string, set: DigitSet): void {
  mkdirSync(dir, { recursive: true });
  const x = makeTensor('float32', [set.count, 1, DIGIT_SIZE, DIGIT_SIZE], set.images.slice());
  const y = makeTensor('int64', [set.count], BigInt64Array.from(set.labels, (l) => BigInt(l)));
  writeFileSync(join(dir, 'input_0.pb'), encodeTensorProto(x, 'image'));
  writeFileSync(join(dir, 'output_0.pb'), encodeTensorProto(y, 'probs'));
}

function main(argv: readonly string[]): void {
  const out = argv[0];
  if (!out || out.startsWith('-')) throw new Error('usage: tsx models/train-cnn.ts OUT [--arch cnn,resnet] [--train N] [--epochs E] [--width W] [--seed S]');
  const opt = (k: string, d: string): string => { const i = argv.indexOf(k); return i > 0 ? argv[i + 1] ?? d : d; };
  const archs = opt('--arch', ARCHS.join(',')).split(',') as Arch[];
  const seed = Number(opt('--seed', '7')), epochs = Number(opt('--epochs', '6')), perEpoch = Number(opt('--train', '3000'));
  const width = Number(opt('--width', '2'));
  const calSet = digitSet(200, SET_SEEDS.calibration * 1000 + seed), evalSet = digitSet(1000, SET_SEEDS.eval * 1000 + seed);
  mkdirSync(out, { recursive: true });
  writeLabelledSet(join(out, 'calibration'), calSet);
  writeLabelledSet(join(out, 'eval'), evalSet);
  for (const arch of archs) {
    if (!(ARCHS as readonly string[]).includes(arch)) throw new Error(`--arch: unknown '${arch}' (expected ${ARCHS.join(', ')})`);
    const t0 = performance.now(), spec = archSpec(arch, width), layers = buildLayers(spec, prng(seed));
    train(layers, { epochs, perEpoch, batch: 16, lr: 3e-3, seed, log: (s) => console.log(`${arch} ${s}`) });
    const file = join(out, `digits_${arch}${width === 2 ? '' : `_w${width}`}.onnx`);
    writeFileSync(file, exportModel(exportTrained(arch, spec, layers)));
    console.log(`${arch}: eval accuracy ${(100 * evaluate(layers, evalSet)).toFixed(2)}% (${evalSet.count} samples), trained in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${file}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
