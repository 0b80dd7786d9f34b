// A streaming voice-activity model shaped like the ones edge devices run (Silero-style): a sample-rate input picks
// the front end through If (16 kHz and 8 kHz framing Convs), a nested If on the chunk length picks the window, and
// an LSTM carries its state (h, c) from one call to the next. Seeded weights; built with the project's own
// GraphBuilder, so tests can check streaming, If folding and state carrying against onnxruntime.

import type { Model } from '../ir/graph.js';
import { prng } from '../ir/random.js';
import { fromValues, type Tensor } from '../ir/tensor.js';
import { GraphBuilder, seededWeights } from './builder.js';

export const VAD_HIDDEN = 16;
const CHANNELS = 8;

const weights = seededWeights;

/** Inputs: audio float32[1, chunk], sr int64[] (16000 or 8000), h and c float32[1, 1, 16].
 *  Outputs: prob float32[1, 1], hn and cn float32[1, 1, 16] (feed them back as h and c). */
export function streamingVad(seed = 11): Model {
  const rand = prng(seed);
  const b = new GraphBuilder('streaming_vad');
  const audio = b.input('audio', 'float32', [1, 'chunk']);
  const sr = b.input('sr', 'int64', []);
  const h = b.input('h', 'float32', [1, 1, VAD_HIDDEN]);
  const c = b.input('c', 'float32', [1, 1, VAD_HIDDEN]);
  const i64 = (name: string, v: readonly bigint[], dims: number[] = [v.length]): string => b.weight(name, fromValues('int64', dims, v));
  const frames = b.op('Unsqueeze', [audio, i64('axis1', [1n])]); // [1, 1, chunk]

  // 16 kHz front end: a nested If on the chunk length picks the window (32 samples for long chunks, else 16)
  const conv = (sb: GraphBuilder, tag: string, k: number, stride: number): string => {
    const w = sb.weight(`${tag}.weight`, weights([CHANNELS, 1, k], rand, 0.5));
    const bias = sb.weight(`${tag}.bias`, weights([CHANNELS], rand, 0.1));
    return sb.op('Relu', [sb.op('Conv', [frames, w, bias], { kernel_shape: [k], strides: [stride] })]);
  };
  const long = new GraphBuilder('long_chunk');
  long.output(conv(long, 'fe16_long', 32, 32));
  const short = new GraphBuilder('short_chunk');
  short.output(conv(short, 'fe16_short', 16, 16));
  const then16 = new GraphBuilder('rate_16k');
  const len = then16.op('Gather', [then16.op('Shape', [audio]), i64('one', [1n], [])], { axis: 0 });
  const isLong = then16.op('Greater', [len, i64('len256', [256n], [])]);
  then16.output(then16.node('If', [isLong], { then_branch: long.subgraph(), else_branch: short.subgraph() })[0]!);
  const else8 = new GraphBuilder('rate_8k');
  else8.output(conv(else8, 'fe8', 16, 16));
  const is16k = b.op('Equal', [sr, i64('sr16k', [16000n], [])]);
  const feat = b.node('If', [is16k], { then_branch: then16.subgraph(), else_branch: else8.subgraph() })[0]!; // [1, C, T]

  // LSTM over the frames of this chunk, state in and out
  const seq = b.op('Transpose', [feat], { perm: [2, 0, 1] }); // [T, 1, C]
  const W = b.weight('lstm.W', weights([1, 4 * VAD_HIDDEN, CHANNELS], rand, 0.3));
  const R = b.weight('lstm.R', weights([1, 4 * VAD_HIDDEN, VAD_HIDDEN], rand, 0.3));
  // a forget-gate bias of 3 (gate order i, o, f, c) keeps the state alive across chunks, as trained VADs do
  const bias = weights([1, 8 * VAD_HIDDEN], rand, 0.1);
  for (let i = 2 * VAD_HIDDEN; i < 3 * VAD_HIDDEN; i++) bias.data[i] = 3;
  const B = b.weight('lstm.B', bias);
  const [, hn, cn] = b.node('LSTM', [seq, W, R, B, '', h, c], { hidden_size: VAD_HIDDEN }, 3);
  const last = b.op('Reshape', [hn!, i64('flat', [1n, BigInt(VAD_HIDDEN)])]);
  const fc = b.weight('head.weight', weights([1, VAD_HIDDEN], rand, 0.5));
  const fcb = b.weight('head.bias', weights([1], rand, 0.1));
  const prob = b.node('Sigmoid', [b.op('Gemm', [last, fc, fcb], { transB: 1 })], {}, 1, 'prob')[0]!;
  const hOut = b.node('Identity', [hn!], {}, 1, 'hn')[0]!;
  const cOut = b.node('Identity', [cn!], {}, 1, 'cn')[0]!;
  b.output(prob, hOut, cOut);
  return b.model({ source: 'streaming_vad', docString: 'onnxc example: a streaming VAD with If on the sample rate and LSTM state' });
}
