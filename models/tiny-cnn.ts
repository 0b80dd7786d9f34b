// The bundled example: a small image classifier (Conv -> Relu -> MaxPool -> Conv -> Relu -> GlobalAveragePool
// -> Gemm -> Softmax) with seeded weights, built with the project's own GraphBuilder.

import type { Model } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { prng } from '../ir/random.js';
import { GraphBuilder, seededWeights } from './builder.js';

const weights = seededWeights;

export function tinyCnn(seed = 7): Model {
  const rand = prng(seed);
  const b = new GraphBuilder('tiny_cnn');
  const x = b.input('image', 'float32', ['batch', 3, 32, 32]);
  const w1 = b.weight('conv1.weight', weights([8, 3, 3, 3], rand, 0.3));
  const b1 = b.weight('conv1.bias', weights([8], rand, 0.1));
  const w2 = b.weight('conv2.weight', weights([16, 8, 3, 3], rand, 0.2));
  const b2 = b.weight('conv2.bias', weights([16], rand, 0.1));
  const fc = b.weight('fc.weight', weights([10, 16], rand, 0.3));
  const fcb = b.weight('fc.bias', weights([10], rand, 0.1));
  let h = b.op('Conv', [x, w1, b1], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  h = b.op('Relu', [h]);
  h = b.op('MaxPool', [h], { kernel_shape: [2, 2], strides: [2, 2] });
  h = b.op('Conv', [h, w2, b2], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  h = b.op('Relu', [h]);
  h = b.op('GlobalAveragePool', [h]);
  h = b.op('Flatten', [h], { axis: 1 });
  h = b.op('Gemm', [h, fc, fcb], { transB: 1 });
  const probs = b.node('Softmax', [h], { axis: -1 }, 1, 'probs')[0]!;
  b.output(probs);
  return b.model({ source: 'tiny_cnn', docString: 'onnxc example: a small seeded CNN classifier' });
}
