// Benchmark models built with the project's own GraphBuilder (seeded weights, trained-net scales): a small conv
// autoencoder (Conv stride 2 + LeakyRelu, ConvTranspose stride 2 + LeakyRelu/Sigmoid, 1x64x64) and a 2-layer LSTM
// forecaster, the shapes issue 13 measured. `writeBenchModel` lays one out as a shared model folder.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportModel } from '../compiler/onnx/export.js';
import { encodeTensorProto } from '../compiler/onnx/tensor-proto.js';
import { randomInputs } from '../compiler/random-inputs.js';
import type { Model } from '../ir/graph.js';
import { fromValues, type Tensor } from '../ir/tensor.js';
import { prng } from '../ir/random.js';
import { GraphBuilder, seededWeights } from './builder.js';

/** Uniform weights in ±1/sqrt(fanIn) (PyTorch's default initialisation scale). */
const weights = (dims: number[], rand: () => number, fanIn: number): Tensor<'float32'> => seededWeights(dims, rand, 1 / Math.sqrt(fanIn));

/** 1x1x64x64 -> Conv 1->16 s2 -> Conv 16->32 s2 (LeakyRelu) -> ConvTranspose 32->16 s2 (LeakyRelu) -> ConvTranspose
 *  16->1 s2 -> Sigmoid: 1x1x64x64. */
export function convAutoencoder(seed = 13): Model {
  const rand = prng(seed);
  const b = new GraphBuilder('conv_autoencoder');
  let h = b.input('image', 'float32', [1, 1, 64, 64]);
  const conv = (name: string, cin: number, cout: number): void => {
    h = b.op('Conv', [h, b.weight(`${name}.weight`, weights([cout, cin, 3, 3], rand, cin * 9)), b.weight(`${name}.bias`, weights([cout], rand, cin * 9))],
      { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    h = b.op('LeakyRelu', [h], { alpha: 0.2 });
  };
  const deconv = (name: string, cin: number, cout: number): void => {
    h = b.op('ConvTranspose', [h, b.weight(`${name}.weight`, weights([cin, cout, 4, 4], rand, cout * 16)), b.weight(`${name}.bias`, weights([cout], rand, cout * 16))],
      { kernel_shape: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1] });
  };
  conv('enc1', 1, 16);
  conv('enc2', 16, 32);
  deconv('dec1', 32, 16);
  h = b.op('LeakyRelu', [h], { alpha: 0.2 });
  deconv('dec2', 16, 1);
  b.output(b.node('Sigmoid', [h], {}, 1, 'reconstruction')[0]!);
  return b.model({ source: 'conv_autoencoder', docString: 'onnxc bench model: a small conv autoencoder' });
}

/** [1, 48, 8] (batch, time, features) -> LSTM 64 -> LSTM 64 -> last hidden state -> Gemm: [1, 12] (as PyTorch
 *  exports a batch_first nn.LSTM(num_layers=2) + nn.Linear). */
export function lstmForecaster(seed = 17, seq = 48, features = 8, hidden = 64, horizon = 12): Model {
  const rand = prng(seed);
  const b = new GraphBuilder('lstm_forecaster');
  const x = b.input('series', 'float32', [1, seq, features]);
  const i64 = (name: string, v: number[]): string => b.weight(name, fromValues('int64', [v.length], v.map(BigInt)));
  let h = b.op('Transpose', [x], { perm: [1, 0, 2] });
  let last = '';
  for (let l = 0; l < 2; l++) {
    const k = l === 0 ? features : hidden;
    const [y, yh] = b.node('LSTM', [h, b.weight(`lstm${l}.w`, weights([1, 4 * hidden, k], rand, hidden)), b.weight(`lstm${l}.r`, weights([1, 4 * hidden, hidden], rand, hidden)),
      b.weight(`lstm${l}.b`, weights([1, 8 * hidden], rand, hidden))], { hidden_size: hidden }, 2);
    h = b.op('Squeeze', [y!, i64(`sq${l}`, [1])]);
    last = yh!;
  }
  const flat = b.op('Reshape', [last, i64('flat', [1, hidden])]);
  b.output(b.node('Gemm', [flat, b.weight('head.weight', weights([horizon, hidden], rand, hidden)), b.weight('head.bias', weights([horizon], rand, hidden))], { transB: 1 }, 1, 'forecast')[0]!);
  return b.model({ source: 'lstm_forecaster', docString: 'onnxc bench model: a 2-layer LSTM forecaster' });
}

export const BENCH_MODELS: Readonly<Record<string, () => Model>> = { conv_autoencoder: convAutoencoder, lstm_forecaster: lstmForecaster };

/** `dir`/model.onnx and `dir`/test_data_set_0/input_K.pb (seeded inputs); returns the model's path. */
export function writeBenchModel(model: Model, dir: string): string {
  mkdirSync(join(dir, 'test_data_set_0'), { recursive: true });
  const path = join(dir, 'model.onnx');
  writeFileSync(path, exportModel(model));
  randomInputs(model.graph, {}, 42).forEach((t, k) => writeFileSync(join(dir, 'test_data_set_0', `input_${k}.pb`), encodeTensorProto(t, model.graph.inputs[k]!)));
  return path;
}
