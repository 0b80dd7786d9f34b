// Benchmark models built with the project's own GraphBuilder (seeded weights, trained-net scales): a small conv
// autoencoder (Conv stride 2 + LeakyRelu, ConvTranspose stride 2 + LeakyRelu/Sigmoid, 1x64x64) and a 2-layer LSTM
// forecaster, the shapes issue 13 measured, and stand-ins for held-out model families, written the way PyTorch
// exports them: a ViT-tiny encoder, a DBNet-style text detector and an SVTR recogniser here, EfficientNet-B0,
// YOLOv8-n and ConvNeXt in held-out-cnns.ts. `writeBenchModel` lays one out as a shared model folder.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportModel } from '../compiler/onnx/export.js';
import { encodeTensorProto } from '../compiler/onnx/tensor-proto.js';
import { randomInputs } from '../compiler/random-inputs.js';
import type { Model } from '../ir/graph.js';
import { fromValues, type Tensor } from '../ir/tensor.js';
import { prng } from '../ir/random.js';
import { aroundOne, scalar, weights } from './bench-weights.js';
import { GraphBuilder, seededWeights } from './builder.js';
import { convNext, efficientNetB0, yolov8n } from './held-out-cnns.js';


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


/** 1x3x224x224 -> ViT-tiny (patch 16, 192 hidden, 3 heads, MLP 768) with `layers` pre-norm blocks -> [1, 1000], as
 *  torch.onnx.export (opset 17+) writes timm's VisionTransformer: the patch embedding as a 16x16 stride-16 Conv,
 *  flatten + transpose, a class token Concat and position Add, LayerNormalization, the linear layers as 3-D MatMul
 *  + Add, the qkv split by Reshape/Transpose/Gather, attention as MatMul, Mul by the scale, Softmax and MatMul, and
 *  nn.GELU in its erf form (Div by sqrt 2, Erf, Add 1, Mul x, Mul 0.5). The real model has 12 blocks. */
export function vitTiny(seed = 19, layers = 4, dim = 192, heads = 3, mlp = 768, image = 224, patch = 16, classes = 1000): Model {
  const rand = prng(seed);
  const b = new GraphBuilder('vit_tiny');
  const i64 = (name: string, v: number[], dims = [v.length]): string => b.weight(name, fromValues('int64', dims, v.map(BigInt)));
  const tokens = (image / patch) ** 2, hd = dim / heads;
  const x = b.input('pixel_values', 'float32', [1, 3, image, image]);
  let h = b.op('Conv', [x, b.weight('patch.weight', weights([dim, 3, patch, patch], rand, 3 * patch * patch)), b.weight('patch.bias', weights([dim], rand, 3 * patch * patch))],
    { kernel_shape: [patch, patch], strides: [patch, patch] });
  h = b.op('Reshape', [h, i64('flat_shape', [1, dim, tokens])]);
  h = b.op('Transpose', [h], { perm: [0, 2, 1] });
  h = b.op('Concat', [b.weight('cls_token', seededWeights([1, 1, dim], rand, 0.02)), h], { axis: 1 });
  h = b.op('Add', [h, b.weight('pos_embed', seededWeights([1, tokens + 1, dim], rand, 0.02))]);
  const ln = (name: string, v: string): string => b.op('LayerNormalization', [v, b.weight(`${name}.weight`, aroundOne([dim], rand, 0.1)),
    b.weight(`${name}.bias`, seededWeights([dim], rand, 0.02))], { axis: -1, epsilon: 1e-6 });
  const linear = (name: string, v: string, k: number, n: number): string =>
    b.op('Add', [b.op('MatMul', [v, b.weight(`${name}.weight`, weights([k, n], rand, k))]), b.weight(`${name}.bias`, weights([n], rand, k))]);
  const sqrt2 = b.weight('sqrt2', scalar(Math.SQRT2)), one = b.weight('one', scalar(1)), half = b.weight('half', scalar(0.5));
  const attnScale = b.weight('attn_scale', scalar(1 / Math.sqrt(hd)));
  const qkvShape = i64('qkv_shape', [1, tokens + 1, 3, heads, hd]), outShape = i64('attn_out_shape', [1, tokens + 1, dim]);
  const idx = [0, 1, 2].map((k) => i64(`idx${k}`, [k], []));
  for (let l = 0; l < layers; l++) {
    const p = `blocks.${l}`;
    let qkv = linear(`${p}.attn.qkv`, ln(`${p}.norm1`, h), dim, 3 * dim);
    qkv = b.op('Transpose', [b.op('Reshape', [qkv, qkvShape])], { perm: [2, 0, 3, 1, 4] });
    const [q, k, v] = idx.map((i) => b.op('Gather', [qkv, i], { axis: 0 }));
    const kt = b.op('Transpose', [k!], { perm: [0, 1, 3, 2] });
    const scores = b.op('MatMul', [b.op('Mul', [q!, attnScale]), kt]);
    const probs = b.op('Softmax', [scores], { axis: -1 });
    let a = b.op('MatMul', [probs, v!]);
    a = b.op('Reshape', [b.op('Transpose', [a], { perm: [0, 2, 1, 3] }), outShape]);
    h = b.op('Add', [h, linear(`${p}.attn.proj`, a, dim, dim)]);
    const f = linear(`${p}.mlp.fc1`, ln(`${p}.norm2`, h), dim, mlp);
    const gelu = b.op('Mul', [b.op('Mul', [f, b.op('Add', [b.op('Erf', [b.op('Div', [f, sqrt2])]), one])]), half]);
    h = b.op('Add', [h, linear(`${p}.mlp.fc2`, gelu, mlp, dim)]);
  }
  h = ln('norm', h);
  const cls = b.op('Gather', [h, idx[0]!], { axis: 1 });
  b.output(b.node('Gemm', [cls, b.weight('head.weight', weights([classes, dim], rand, dim)), b.weight('head.bias', weights([classes], rand, dim))], { transB: 1 }, 1, 'logits')[0]!);
  return b.model({ source: 'vit_tiny', docString: 'onnxc bench model: a ViT-tiny encoder as PyTorch exports it' });
}

/** 1x3xSxS -> DBNet-style text detector -> probability map 1x1xSxS: a Conv + BatchNormalization + Relu backbone of
 *  five stride-2 stages (1/2 .. 1/32), an FPN (1x1 lateral Convs, top-down Resize x2 nearest + Add, 3x3 Convs,
 *  Resize to 1/4, half nearest, half bilinear, Concat) and the DB head (Conv + BN + Relu, ConvTranspose stride 2 + BN
 *  + Relu, ConvTranspose stride 2, Sigmoid), with Resize as torch.onnx.export writes F.interpolate(scale_factor).
 *  BatchNormalization stays a node (an export without constant folding; onnxc and onnxruntime fold it). */
export function dbnetHead(seed = 23, size = 320): Model {
  const rand = prng(seed);
  const b = new GraphBuilder('dbnet_head');
  const x = b.input('image', 'float32', [1, 3, size, size]);
  const f32 = (name: string, v: number[]): string => b.weight(name, fromValues('float32', [v.length], v));
  const bn = (name: string, v: string, c: number): string => b.op('BatchNormalization', [v,
    b.weight(`${name}.weight`, aroundOne([c], rand, 0.2)), b.weight(`${name}.bias`, seededWeights([c], rand, 0.1)),
    b.weight(`${name}.running_mean`, seededWeights([c], rand, 0.1)), b.weight(`${name}.running_var`, aroundOne([c], rand, 0.2))], { epsilon: 1e-5 });
  const conv = (name: string, v: string, cin: number, cout: number, k: number, stride: number, bias: boolean): string => {
    const fan = cin * k * k, p = (k - 1) / 2;
    return b.op('Conv', [v, b.weight(`${name}.weight`, weights([cout, cin, k, k], rand, fan)), ...(bias ? [b.weight(`${name}.bias`, weights([cout], rand, fan))] : [])],
      { kernel_shape: [k, k], strides: [stride, stride], pads: [p, p, p, p] });
  };
  const cbr = (name: string, v: string, cin: number, cout: number, k: number, stride: number): string => b.op('Relu', [bn(`${name}.bn`, conv(`${name}.conv`, v, cin, cout, k, stride, false), cout)]);
  const scales = new Map<number, string>();
  const up = (v: string, s: number, mode: 'nearest' | 'linear'): string => {
    if (!scales.has(s)) scales.set(s, f32(`scales_x${s}`, [1, 1, s, s]));
    return b.op('Resize', [v, '', scales.get(s)!], mode === 'nearest'
      ? { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
      : { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' });
  };
  // backbone: channels per stage, two Conv-BN-Relu per stage after the first
  const widths = [16, 32, 64, 128, 256];
  let h = cbr('stem', x, 3, widths[0]!, 3, 2);
  const feats: string[] = [];
  for (let s = 1; s < widths.length; s++) {
    h = cbr(`stage${s}.0`, h, widths[s - 1]!, widths[s]!, 3, 2);
    h = cbr(`stage${s}.1`, h, widths[s]!, widths[s]!, 3, 1);
    feats.push(h); // 1/4, 1/8, 1/16, 1/32
  }
  const inner = 96, outC = inner / 4;
  const lat = feats.map((f, k) => conv(`neck.in${k + 2}`, f, widths[k + 1]!, inner, 1, 1, false));
  const td = [...lat];
  for (let k = 2; k >= 0; k--) td[k] = b.op('Add', [lat[k]!, up(td[k + 1]!, 2, 'nearest')]);
  const ps = td.map((t, k) => conv(`neck.out${k + 2}`, t, inner, outC, 3, 1, false));
  const fused = b.op('Concat', [up(ps[3]!, 8, 'nearest'), up(ps[2]!, 4, 'linear'), up(ps[1]!, 2, 'linear'), ps[0]!], { axis: 1 });
  let y = cbr('head.conv1', fused, inner, inner / 4, 3, 1);
  const deconv = (name: string, v: string, cin: number, cout: number): string => b.op('ConvTranspose', [v, b.weight(`${name}.weight`, weights([cin, cout, 2, 2], rand, cout * 4)),
    b.weight(`${name}.bias`, weights([cout], rand, cout * 4))], { kernel_shape: [2, 2], strides: [2, 2] });
  y = b.op('Relu', [bn('head.bn2', deconv('head.conv2', y, inner / 4, inner / 4), inner / 4)]);
  y = deconv('head.conv3', y, inner / 4, 1);
  b.output(b.node('Sigmoid', [y], {}, 1, 'probability')[0]!);
  return b.model({ source: 'dbnet_head', docString: 'onnxc bench model: a DBNet-style text detector as PyTorch exports it' });
}

export interface SvtrOptions {
  readonly height: number; readonly width: number;
  /** Channels, blocks and heads of the three stages (head size dims/heads). */
  readonly dims: readonly [number, number, number]; readonly depth: readonly [number, number, number]; readonly heads: readonly [number, number, number];
  /** The first `locals` blocks mix locally (windowed attention), the rest globally. */
  readonly locals: number;
  readonly window: readonly [number, number];
  /** Channels of the 1x1 Conv before the CTC head, and its classes. */
  readonly outChannels: number; readonly classes: number;
}

/** SVTR-Tiny at 32x320 (PaddleOCR's rec_svtr_tiny: [64, 128, 256] channels, [3, 6, 3] blocks, [2, 4, 8] heads, 6 local
 *  then 6 global mixers, a 7x11 window) with a 6625-class CTC head (PaddleOCR's Chinese dictionary). */
export const SVTR_TINY: SvtrOptions = {
  height: 32, width: 320, dims: [64, 128, 256], depth: [3, 6, 3], heads: [2, 4, 8], locals: 6, window: [7, 11], outChannels: 192, classes: 6625,
};

/** 1x3xHxW -> SVTR text recogniser -> [1, W/4, classes] CTC probabilities, as paddle2onnx writes PaddleOCR's SVTRNet
 *  (prenorm off, Conv merging) + Im2Seq + CTCHead: a patch embedding of two 3x3 stride-2 Conv + BatchNormalization +
 *  GELU (erf form) to [1, C, H/4, W/4], flatten + transpose to tokens, a position Add; blocks of LayerNorm (written out
 *  as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add: paddle2onnx below opset 17), attention with the
 *  qkv split by Reshape [0,-1,3,heads,hd] / Transpose [2,0,3,1,4] / Slice + Squeeze, q Mul by the scale, MatMul,
 *  the local mixer's constant -inf window mask Add (its own copy per block, as each layer holds one), Softmax,
 *  MatMul, Transpose, Reshape; an MLP with GELU; between stages a 3x3 Conv of stride (2, 1) with a LayerNorm; after
 *  the last, LayerNorm, AveragePool over the remaining rows, a 1x1 Conv, HardSwish, Squeeze + Transpose to columns
 *  and the linear CTC head with its Softmax. */
export function svtrTiny(seed = 29, o: SvtrOptions = SVTR_TINY): Model {
  const rand = prng(seed);
  const b = new GraphBuilder('svtr_tiny');
  const i64 = (name: string, v: number[], dims = [v.length]): string => b.weight(name, fromValues('int64', dims, v.map(BigInt)));
  const x = b.input('x', 'float32', [1, 3, o.height, o.width]);
  const bn = (name: string, v: string, c: number): string => b.op('BatchNormalization', [v,
    b.weight(`${name}.weight`, aroundOne([c], rand, 0.2)), b.weight(`${name}.bias`, seededWeights([c], rand, 0.1)),
    b.weight(`${name}.mean`, seededWeights([c], rand, 0.1)), b.weight(`${name}.variance`, aroundOne([c], rand, 0.2))], { epsilon: 1e-5 });
  const sqrt2 = b.weight('sqrt2', scalar(Math.SQRT2)), one = b.weight('one', scalar(1)), half = b.weight('half', scalar(0.5));
  const gelu = (v: string): string => b.op('Mul', [b.op('Mul', [v, b.op('Add', [b.op('Erf', [b.op('Div', [v, sqrt2])]), one])]), half]);
  const conv = (name: string, v: string, cin: number, cout: number, k: number, stride: [number, number], bias: boolean): string => {
    const fan = cin * k * k, p = (k - 1) / 2;
    return b.op('Conv', [v, b.weight(`${name}.weight`, weights([cout, cin, k, k], rand, fan)), ...(bias ? [b.weight(`${name}.bias`, weights([cout], rand, fan))] : [])],
      { kernel_shape: [k, k], strides: stride, pads: [p, p, p, p] });
  };
  // patch embedding: two Conv + BN + GELU of stride 2
  let h = gelu(bn('patch.0.bn', conv('patch.0.conv', x, 3, o.dims[0] / 2, 3, [2, 2], false), o.dims[0] / 2));
  h = gelu(bn('patch.1.bn', conv('patch.1.conv', h, o.dims[0] / 2, o.dims[0], 3, [2, 2], false), o.dims[0]));
  let rows = o.height / 4;
  const cols = o.width / 4;
  const tokens = (c: number): string => b.op('Transpose', [b.op('Reshape', [h, i64(`flat${c}`, [0, c, -1])])], { perm: [0, 2, 1] });
  h = b.op('Add', [tokens(o.dims[0]), b.weight('pos_embed', seededWeights([1, rows * cols, o.dims[0]], rand, 0.02))]);
  const axesLast = i64('axes_last', [-1]), two = b.weight('two', scalar(2)), eps = b.weight('ln_eps', scalar(1e-6));
  const ln = (name: string, v: string, c: number): string => {
    const d = b.op('Sub', [v, b.op('ReduceMean', [v, axesLast])]);
    const n = b.op('Div', [d, b.op('Sqrt', [b.op('Add', [b.op('ReduceMean', [b.op('Pow', [d, two]), axesLast]), eps])])]);
    return b.op('Add', [b.op('Mul', [n, b.weight(`${name}.weight`, aroundOne([c], rand, 0.1))]), b.weight(`${name}.bias`, seededWeights([c], rand, 0.02))]);
  };
  const linear = (name: string, v: string, k: number, n: number): string =>
    b.op('Add', [b.op('MatMul', [v, b.weight(`${name}.weight`, weights([k, n], rand, k))]), b.weight(`${name}.bias`, weights([n], rand, k))]);
  /** PaddleOCR's local mixer mask: 0 where key (kh, kw) lies in the window centred on query (qh, qw), else -inf. */
  const windowMask = (name: string, hh: number, ww: number): string => {
    const n = hh * ww, t = fromValues('float32', [1, 1, n, n], new Array<number>(n * n).fill(-Infinity));
    const [wh, wk] = o.window;
    for (let q = 0; q < n; q++) {
      for (let k = 0; k < n; k++) {
        const dh = Math.floor(k / ww) - Math.floor(q / ww), dw = (k % ww) - (q % ww);
        if (Math.abs(dh) <= (wh - 1) / 2 && Math.abs(dw) <= (wk - 1) / 2) t.data[q * n + k] = 0;
      }
    }
    return b.weight(name, t);
  };
  const starts = [0, 1, 2].map((k) => i64(`qkv_start${k}`, [k])), ends = [1, 2, 3].map((k) => i64(`qkv_end${k}`, [k])), axis0 = i64('axis0', [0]);
  let block = 0;
  for (let s = 0; s < 3; s++) {
    const dim = o.dims[s]!, heads = o.heads[s]!, hd = dim / heads;
    const qkvShape = i64(`stage${s}.qkv_shape`, [0, -1, 3, heads, hd]), outShape = i64(`stage${s}.out_shape`, [0, -1, dim]);
    const attnScale = b.weight(`stage${s}.scale`, scalar(hd ** -0.5));
    for (let l = 0; l < o.depth[s]!; l++, block++) {
      const p = `blocks.${block}`;
      const mask = block < o.locals ? windowMask(`${p}.mixer.mask`, rows, cols) : undefined;
      let qkv = linear(`${p}.mixer.qkv`, ln(`${p}.norm1`, h, dim), dim, 3 * dim);
      qkv = b.op('Transpose', [b.op('Reshape', [qkv, qkvShape])], { perm: [2, 0, 3, 1, 4] });
      const [q, k, v] = [0, 1, 2].map((i) => b.op('Squeeze', [b.op('Slice', [qkv, starts[i]!, ends[i]!, axis0]), axis0]));
      let scores = b.op('MatMul', [b.op('Mul', [q!, attnScale]), b.op('Transpose', [k!], { perm: [0, 1, 3, 2] })]);
      if (mask) scores = b.op('Add', [scores, mask]);
      let a = b.op('MatMul', [b.op('Softmax', [scores], { axis: -1 }), v!]);
      a = b.op('Reshape', [b.op('Transpose', [a], { perm: [0, 2, 1, 3] }), outShape]);
      h = b.op('Add', [h, linear(`${p}.mixer.proj`, a, dim, dim)]);
      const f = gelu(linear(`${p}.mlp.fc1`, ln(`${p}.norm2`, h, dim), dim, 4 * dim));
      h = b.op('Add', [h, linear(`${p}.mlp.fc2`, f, 4 * dim, dim)]);
    }
    if (s < 2) {
      // SubSample: tokens back to [1, C, H, W], Conv 3x3 stride (2, 1), flatten + transpose, LayerNorm
      h = b.op('Reshape', [b.op('Transpose', [h], { perm: [0, 2, 1] }), i64(`stage${s}.grid`, [0, dim, rows, cols])]);
      h = conv(`merge${s}`, h, dim, o.dims[s + 1]!, 3, [2, 1], true);
      rows /= 2;
      h = ln(`merge${s}.norm`, tokens(o.dims[s + 1]!), o.dims[s + 1]!);
    }
  }
  const last = o.dims[2];
  h = ln('norm', h, last);
  h = b.op('Reshape', [b.op('Transpose', [h], { perm: [0, 2, 1] }), i64('last_grid', [0, last, rows, cols])]);
  h = b.op('AveragePool', [h], { kernel_shape: [rows, 1], strides: [rows, 1] });
  h = b.op('HardSwish', [b.op('Conv', [h, b.weight('last_conv.weight', weights([o.outChannels, last, 1, 1], rand, last))], { kernel_shape: [1, 1] })]);
  h = b.op('Transpose', [b.op('Squeeze', [h, i64('axis2', [2])])], { perm: [0, 2, 1] });
  const logits = linear('head.fc', h, o.outChannels, o.classes);
  b.output(b.node('Softmax', [logits], { axis: 2 }, 1, 'probs')[0]!);
  return b.model({ source: 'svtr_tiny', docString: 'onnxc bench model: an SVTR-Tiny text recogniser as paddle2onnx exports it' });
}

export const BENCH_MODELS: Readonly<Record<string, () => Model>> = { conv_autoencoder: convAutoencoder, lstm_forecaster: lstmForecaster };

/** Stand-ins for held-out model families (bench only: `npx tsx bench/run.ts vit_tiny yolov8n`). */
export const HELD_OUT_PROXIES: Readonly<Record<string, () => Model>> = {
  vit_tiny: () => vitTiny(), dbnet_head: () => dbnetHead(), svtr_tiny: () => svtrTiny(),
  efficientnet_b0: () => efficientNetB0(), yolov8n: () => yolov8n(), convnext: () => convNext(),
};

/** The convolutional proxies at test sizes: EfficientNet at 64x64 with one block per stage kind (3x3 and 5x5,
 *  stride 1 and 2, with and without expansion), YOLOv8-n at 64x64 at half width, ConvNeXt at 64x64 with one block
 *  per stage (two in the third); 10 classes. */
export const HELD_OUT_CNNS_SMALL: Readonly<Record<string, () => Model>> = {
  efficientnet_b0: () => efficientNetB0(31, 64, [[1, 3, 1, 16, 1], [6, 3, 2, 24, 2], [6, 5, 2, 40, 1], [4, 5, 1, 40, 1]], 64, 10),
  yolov8n: () => yolov8n(37, 64, [8, 16, 32, 64, 128], 10),
  convnext: () => convNext(41, 64, [16, 32, 48, 64], [1, 1, 2, 1], 10),
};

/** Every bench model at sizes the reference interpreter checks in a second (tests): the ViT at 64x64, 2 blocks of
 *  64 hidden, the detector at 96x96, the recogniser at 32x64 with one block per stage past a local one (50 classes). */
export const BENCH_MODELS_SMALL: Readonly<Record<string, () => Model>> = {
  ...BENCH_MODELS, vit_tiny: () => vitTiny(19, 2, 64, 2, 128, 64, 16, 10), dbnet_head: () => dbnetHead(23, 96),
  svtr_tiny: () => svtrTiny(29, { ...SVTR_TINY, width: 64, dims: [32, 64, 96], depth: [1, 2, 1], heads: [2, 4, 6], locals: 2, outChannels: 48, classes: 50 }),
  ...HELD_OUT_CNNS_SMALL,
};

/** `dir`/model.onnx and `dir`/test_data_set_0/input_K.pb (seeded inputs); returns the model's path. */
export function writeBenchModel(model: Model, dir: string): string {
  mkdirSync(join(dir, 'test_data_set_0'), { recursive: true });
  const path = join(dir, 'model.onnx');
  writeFileSync(path, exportModel(model));
  randomInputs(model.graph, {}, 42).forEach((t, k) => writeFileSync(join(dir, 'test_data_set_0', `input_${k}.pb`), encodeTensorProto(t, model.graph.inputs[k]!)));
  return path;
}
