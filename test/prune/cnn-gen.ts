// Random small CNNs for the pruning property tests: a stem, then blocks drawn from plain convs (with or without
// BatchNormalization), MobileNet-style inverted residuals (1x1 expand, depthwise, 1x1 project, residual Add),
// SqueezeNet-style fire modules (Concat of two expands), channel-wise Mul/Add constants and pooling, then
// GlobalAveragePool -> Flatten -> Gemm (or Flatten -> Gemm when the map is small).

import type { Model } from '../../ir/graph.js';
import { makeTensor } from '../../ir/tensor.js';
import { prng } from '../../ir/random.js';
import { GraphBuilder, seededWeights } from '../../models/builder.js';

export function randomCnn(seed: number, blocks = 4): Model {
  const rand = prng(seed);
  const b = new GraphBuilder(`cnn_${seed}`);
  const pick = (n: number): number => Math.floor(rand() * n);
  let w = 0;
  const weight = (dims: number[], scale = 0.4): string => b.weight(`w${w++}`, seededWeights(dims, rand, scale));
  const positive = (n: number): string => b.weight(`w${w++}`, makeTensor('float32', [n], Float32Array.from({ length: n }, () => 0.5 + rand())));
  let x = b.input('x', 'float32', [1, 3, 8, 8]);
  let c = 4 + pick(5), side = 8;
  const conv = (h: string, cin: number, cout: number, k: number, extra: Record<string, number | number[]> = {}): string =>
    b.op('Conv', [h, weight([cout, cin, k, k]), weight([cout], 0.1)], { kernel_shape: [k, k], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0], ...extra });
  x = b.op('Relu', [conv(x, 3, c, 3)]);
  for (let i = 0; i < blocks; i++) {
    const kind = pick(5);
    if (kind === 0) {
      const out = 4 + pick(6);
      let h = conv(x, c, out, pick(2) ? 3 : 1);
      if (pick(2)) h = b.op('BatchNormalization', [h, positive(out), weight([out], 0.1), weight([out], 0.1), positive(out)], { epsilon: { float: 1e-5 } });
      x = b.op('Relu', [h]);
      c = out;
    } else if (kind === 1) {
      const e = c * 2;
      let h = b.op('Clip', [conv(x, c, e, 1), b.weight(`w${w++}`, makeTensor('float32', [], Float32Array.of(0))), b.weight(`w${w++}`, makeTensor('float32', [], Float32Array.of(6)))]);
      h = b.op('Relu', [b.op('Conv', [h, weight([e, 1, 3, 3]), weight([e], 0.1)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: e })]);
      x = b.op('Add', [conv(h, e, c, 1), x]);
    } else if (kind === 2) {
      const s = 2 + pick(3), e1 = 2 + pick(4), e3 = 2 + pick(4);
      const sq = b.op('Relu', [conv(x, c, s, 1)]);
      x = b.op('Concat', [b.op('Relu', [conv(sq, s, e1, 1)]), b.op('Relu', [conv(sq, s, e3, 3)])], { axis: 1 });
      c = e1 + e3;
    } else if (kind === 3) {
      x = b.op('Add', [b.op('Mul', [x, weight([c, 1, 1])]), weight([1, c, 1, 1], 0.1)]);
    } else if (side >= 4) {
      x = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
      side /= 2;
    }
  }
  // the head: GlobalAveragePool then Flatten, or (LeNet-style) Flatten of the whole map, channels as blocks of columns
  const gap = side > 4 || pick(2) === 0;
  const h = b.op('Flatten', [gap ? b.op('GlobalAveragePool', [x]) : x], { axis: 1 });
  const k = gap ? c : c * side * side;
  const y = b.node('Gemm', [h, weight([5, k]), weight([5], 0.1)], { transB: 1 }, 1, 'y')[0]!;
  b.output(y);
  return b.model({ source: `cnn_${seed}` });
}
