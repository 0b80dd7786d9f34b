// Convolutional stand-ins for held-out model families, written the way torch.onnx.export writes them: an
// EfficientNet-B0 classifier, a YOLOv8-n detector and a ConvNeXt classifier (seeded weights; BatchNormalization kept
// as nodes, as an export without constant folding leaves them). Bench models: models/bench-models.ts.

import type { Model } from '../ir/graph.js';
import { fromValues } from '../ir/tensor.js';
import { prng } from '../ir/random.js';
import { aroundOne, scalar, weights } from './bench-weights.js';
import { GraphBuilder, seededWeights } from './builder.js';

/** Conv (+ BatchNormalization) writers shared by the three nets. BN's running variance is about 1/3, what a Conv
 *  of ±1/sqrt(fanIn) weights makes of unit-variance inputs, so activations keep their scale through deep stacks. */
function convKit(b: GraphBuilder, rand: () => number) {
  const conv = (name: string, v: string, cin: number, cout: number, k: number, o: { stride?: number; groups?: number; bias?: boolean; pad?: number } = {}): string => {
    const groups = o.groups ?? 1, fan = (cin / groups) * k * k, p = o.pad ?? (k - 1) >> 1, s = o.stride ?? 1;
    return b.op('Conv', [v, b.weight(`${name}.weight`, weights([cout, cin / groups, k, k], rand, fan)), ...(o.bias ? [b.weight(`${name}.bias`, weights([cout], rand, fan))] : [])],
      { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p], group: groups });
  };
  const bn = (name: string, v: string, c: number): string => {
    const variance = aroundOne([c], rand, 0.2);
    for (let i = 0; i < c; i++) variance.data[i] = variance.data[i]! / 3;
    return b.op('BatchNormalization', [v, b.weight(`${name}.weight`, aroundOne([c], rand, 0.2)), b.weight(`${name}.bias`, seededWeights([c], rand, 0.1)),
      b.weight(`${name}.running_mean`, seededWeights([c], rand, 0.1)), b.weight(`${name}.running_var`, variance)], { epsilon: 1e-5 });
  };
  /** nn.SiLU as exported: x * Sigmoid(x). */
  const silu = (v: string): string => b.op('Mul', [v, b.op('Sigmoid', [v])]);
  const i64 = (name: string, v: number[]): string => b.weight(name, fromValues('int64', [v.length], v.map(BigInt)));
  return { conv, bn, silu, i64 };
}

/** One MBConv stage of EfficientNet-B0: expand ratio, kernel, first block's stride, output channels, blocks. */
type MbStage = readonly [expand: number, kernel: number, stride: number, channels: number, repeats: number];
export const EFFICIENTNET_B0: readonly MbStage[] = [[1, 3, 1, 16, 1], [6, 3, 2, 24, 2], [6, 5, 2, 40, 2], [6, 3, 2, 80, 3], [6, 5, 1, 112, 3], [6, 5, 2, 192, 4], [6, 3, 1, 320, 1]];

/** 1x3xSxS -> EfficientNet-B0 (torchvision's efficientnet_b0) -> [1, classes]: stem Conv 3x3 s2 + BN + SiLU, MBConv
 *  blocks (1x1 expand + BN + SiLU, depthwise kxk + BN + SiLU, squeeze-excite GlobalAveragePool -> Conv 1x1 -> SiLU ->
 *  Conv 1x1 -> Sigmoid -> Mul, 1x1 project + BN, residual Add), head Conv 1x1 -> 1280 + BN + SiLU,
 *  GlobalAveragePool, Flatten, Gemm. */
export function efficientNetB0(seed = 31, image = 224, stages: readonly MbStage[] = EFFICIENTNET_B0, head = 1280, classes = 1000): Model {
  const rand = prng(seed);
  const b = new GraphBuilder('efficientnet_b0');
  const { conv, bn, silu } = convKit(b, rand);
  let h = b.input('image', 'float32', [1, 3, image, image]);
  h = silu(bn('features.0.1', conv('features.0.0', h, 3, 32, 3, { stride: 2 }), 32));
  let cin = 32;
  stages.forEach(([expand, k, stride, cout, repeats], s) => {
    for (let r = 0; r < repeats; r++) {
      const p = `features.${s + 1}.${r}.block`, mid = cin * expand, x = h, st = r === 0 ? stride : 1;
      let j = 0;
      if (expand !== 1) h = silu(bn(`${p}.${j}.1`, conv(`${p}.${j}.0`, h, cin, mid, 1), mid)), j++;
      h = silu(bn(`${p}.${j}.1`, conv(`${p}.${j}.0`, h, mid, mid, k, { stride: st, groups: mid }), mid)), j++;
      const sq = Math.max(1, cin >> 2);
      let se = b.op('GlobalAveragePool', [h]);
      se = silu(conv(`${p}.${j}.fc1`, se, mid, sq, 1, { bias: true }));
      h = b.op('Mul', [h, b.op('Sigmoid', [conv(`${p}.${j}.fc2`, se, sq, mid, 1, { bias: true })])]), j++;
      h = bn(`${p}.${j}.1`, conv(`${p}.${j}.0`, h, mid, cout, 1), cout);
      if (st === 1 && cin === cout) h = b.op('Add', [h, x]);
      cin = cout;
    }
  });
  const last = stages.length + 1;
  h = silu(bn(`features.${last}.1`, conv(`features.${last}.0`, h, cin, head, 1), head));
  h = b.op('Flatten', [b.op('GlobalAveragePool', [h])], { axis: 1 });
  b.output(b.node('Gemm', [h, b.weight('classifier.1.weight', weights([classes, head], rand, head)), b.weight('classifier.1.bias', weights([classes], rand, head))],
    { transB: 1 }, 1, 'logits')[0]!);
  return b.model({ source: 'efficientnet_b0', docString: 'onnxc bench model: an EfficientNet-B0 classifier as PyTorch exports it' });
}

/** 1x3xSxS -> YOLOv8-n (ultralytics, width 0.25, depth 0.33) -> [1, 4 + classes, anchors]: Conv + BN + SiLU, C2f
 *  blocks (1x1 Conv, Split in two, bottlenecks of two 3x3 Convs, Concat, 1x1 Conv), SPPF (three chained MaxPool 5x5
 *  stride 1 and Concat), an FPN/PAN neck with Resize nearest x2 (scales input) and Concat, and the detect head: per
 *  level a box branch (4 x 16 DFL bins) and a class branch, Reshape + Concat over levels, the DFL as Reshape,
 *  Transpose, Softmax over the bins and a 1x1 Conv by 0..15, boxes decoded against constant anchors and strides,
 *  class Sigmoid. */
export function yolov8n(seed = 37, image = 320, widths: readonly number[] = [16, 32, 64, 128, 256], classes = 80): Model {
  const rand = prng(seed);
  const b = new GraphBuilder('yolov8n');
  const { conv, bn, silu, i64 } = convKit(b, rand);
  const cbs = (name: string, v: string, cin: number, cout: number, k: number, stride = 1): string =>
    silu(bn(`${name}.bn`, conv(`${name}.conv`, v, cin, cout, k, { stride }), cout));
  const c2f = (name: string, v: string, c1: number, c2: number, n: number, shortcut: boolean): string => {
    const c = c2 / 2;
    const ys = [...b.node('Split', [cbs(`${name}.cv1`, v, c1, 2 * c, 1), i64(`${name}.split`, [c, c])], { axis: 1 }, 2)];
    for (let i = 0; i < n; i++) {
      const prev = ys[ys.length - 1]!;
      const t = cbs(`${name}.m.${i}.cv2`, cbs(`${name}.m.${i}.cv1`, prev, c, c, 3), c, c, 3);
      ys.push(shortcut ? b.op('Add', [prev, t]) : t);
    }
    return cbs(`${name}.cv2`, b.op('Concat', ys, { axis: 1 }), (2 + n) * c, c2, 1);
  };
  const [w0, w1, w2, w3, w4] = widths as [number, number, number, number, number];
  let h = b.input('images', 'float32', [1, 3, image, image]);
  h = cbs('model.0', h, 3, w0, 3, 2);
  h = c2f('model.2', cbs('model.1', h, w0, w1, 3, 2), w1, w1, 1, true);
  const p3 = c2f('model.4', cbs('model.3', h, w1, w2, 3, 2), w2, w2, 2, true);
  const p4 = c2f('model.6', cbs('model.5', p3, w2, w3, 3, 2), w3, w3, 2, true);
  h = c2f('model.8', cbs('model.7', p4, w3, w4, 3, 2), w4, w4, 1, true);
  // SPPF
  const half = w4 / 2, x = cbs('model.9.cv1', h, w4, half, 1);
  const pool = (v: string): string => b.op('MaxPool', [v], { kernel_shape: [5, 5], strides: [1, 1], pads: [2, 2, 2, 2] });
  const y1 = pool(x), y2 = pool(y1), y3 = pool(y2);
  const p5 = cbs('model.9.cv2', b.op('Concat', [x, y1, y2, y3], { axis: 1 }), 4 * half, w4, 1);
  const scales = b.weight('upsample_scales', fromValues('float32', [4], [1, 1, 2, 2]));
  const up = (v: string): string => b.op('Resize', [v, '', scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  const h4 = c2f('model.12', b.op('Concat', [up(p5), p4], { axis: 1 }), w4 + w3, w3, 1, false);
  const o3 = c2f('model.15', b.op('Concat', [up(h4), p3], { axis: 1 }), w3 + w2, w2, 1, false);
  const o4 = c2f('model.18', b.op('Concat', [cbs('model.16', o3, w2, w2, 3, 2), h4], { axis: 1 }), w2 + w3, w3, 1, false);
  const o5 = c2f('model.21', b.op('Concat', [cbs('model.19', o4, w3, w3, 3, 2), p5], { axis: 1 }), w3 + w4, w4, 1, false);
  // detect head
  const bins = 16, cBox = Math.max(16, w2 / 4, 4 * bins), cCls = Math.max(w2, Math.min(classes, 100)), no = 4 * bins + classes;
  const flat = i64('detect.flat', [1, no, -1]);
  const levels = [o3, o4, o5].map((v, i) => {
    const c = [w2, w3, w4][i]!, p = 'model.22';
    const box = conv(`${p}.cv2.${i}.2`, cbs(`${p}.cv2.${i}.1`, cbs(`${p}.cv2.${i}.0`, v, c, cBox, 3), cBox, cBox, 3), cBox, 4 * bins, 1, { bias: true });
    const cls = conv(`${p}.cv3.${i}.2`, cbs(`${p}.cv3.${i}.1`, cbs(`${p}.cv3.${i}.0`, v, c, cCls, 3), cCls, cCls, 3), cCls, classes, 1, { bias: true });
    return b.op('Reshape', [b.op('Concat', [box, cls], { axis: 1 }), flat]);
  });
  const sizes = [8, 16, 32].map((s) => image / s), anchors = sizes.reduce((n, s) => n + s * s, 0);
  const [box, cls] = b.node('Split', [b.op('Concat', levels, { axis: 2 }), i64('detect.split', [4 * bins, classes])], { axis: 1 }, 2);
  let d = b.op('Transpose', [b.op('Reshape', [box!, i64('dfl.shape', [1, 4, bins, anchors])])], { perm: [0, 2, 1, 3] });
  d = b.op('Conv', [b.op('Softmax', [d], { axis: 1 }), b.weight('dfl.conv.weight', fromValues('float32', [1, bins, 1, 1], Array.from({ length: bins }, (_, i) => i)))],
    { kernel_shape: [1, 1] });
  d = b.op('Reshape', [d, i64('dfl.out', [1, 4, anchors])]);
  // constant anchor points (cell centres) and strides, as the export bakes them
  const points = fromValues('float32', [1, 2, anchors], new Array<number>(2 * anchors).fill(0)), strides = fromValues('float32', [1, anchors], new Array<number>(anchors).fill(0));
  let a = 0;
  sizes.forEach((s, i) => {
    for (let y = 0; y < s; y++) for (let xx = 0; xx < s; xx++, a++) points.data[a] = xx + 0.5, points.data[anchors + a] = y + 0.5, strides.data[a] = 8 << i;
  });
  const pts = b.weight('anchors', points);
  const [lt, rb] = b.node('Split', [d, i64('dist.split', [2, 2])], { axis: 1 }, 2);
  const x1y1 = b.op('Sub', [pts, lt!]), x2y2 = b.op('Add', [pts, rb!]);
  const cxy = b.op('Div', [b.op('Add', [x1y1, x2y2]), b.weight('two', scalar(2))]), wh = b.op('Sub', [x2y2, x1y1]);
  const dbox = b.op('Mul', [b.op('Concat', [cxy, wh], { axis: 1 }), b.weight('strides', strides)]);
  b.output(b.node('Concat', [dbox, b.op('Sigmoid', [cls!])], { axis: 1 }, 1, 'output0')[0]!);
  return b.model({ source: 'yolov8n', docString: 'onnxc bench model: a YOLOv8-n detector as ultralytics exports it' });
}

/** 1x3xSxS -> ConvNeXt (facebookresearch's model, atto widths by default) -> [1, classes]: stem Conv 4x4 stride 4 +
 *  channels-first LayerNorm; blocks of depthwise 7x7 Conv, Transpose to NHWC, LayerNormalization, MatMul + Add, GELU
 *  (erf form), MatMul + Add, Mul by the layer scale, Transpose back, residual Add; downsampling by a channels-first
 *  LayerNorm (written out: ReduceMean over axis 1, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul, Add) and Conv
 *  2x2 stride 2; head ReduceMean over H, W, LayerNormalization, Gemm. */
export function convNext(seed = 41, image = 224, dims: readonly number[] = [40, 80, 160, 320], depths: readonly number[] = [2, 2, 6, 2], classes = 1000): Model {
  const rand = prng(seed);
  const b = new GraphBuilder('convnext');
  const { conv, i64 } = convKit(b, rand);
  const axis1 = i64('axis1', [1]), hw = i64('axes_hw', [-2, -1]);
  const two = b.weight('two', scalar(2)), eps = b.weight('eps', scalar(1e-6));
  const sqrt2 = b.weight('sqrt2', scalar(Math.SQRT2)), one = b.weight('one', scalar(1)), half = b.weight('half', scalar(0.5));
  const lnFirst = (name: string, v: string, c: number): string => {
    const d = b.op('Sub', [v, b.op('ReduceMean', [v, axis1])]);
    const n = b.op('Div', [d, b.op('Sqrt', [b.op('Add', [b.op('ReduceMean', [b.op('Pow', [d, two]), axis1]), eps])])]);
    return b.op('Add', [b.op('Mul', [b.weight(`${name}.weight`, aroundOne([c, 1, 1], rand, 0.1)), n]), b.weight(`${name}.bias`, seededWeights([c, 1, 1], rand, 0.02))]);
  };
  const ln = (name: string, v: string, c: number): string => b.op('LayerNormalization', [v, b.weight(`${name}.weight`, aroundOne([c], rand, 0.1)),
    b.weight(`${name}.bias`, seededWeights([c], rand, 0.02))], { axis: -1, epsilon: 1e-6 });
  const linear = (name: string, v: string, k: number, n: number): string =>
    b.op('Add', [b.op('MatMul', [v, b.weight(`${name}.weight`, weights([k, n], rand, k))]), b.weight(`${name}.bias`, weights([n], rand, k))]);
  let h = b.input('image', 'float32', [1, 3, image, image]);
  h = lnFirst('downsample_layers.0.1', conv('downsample_layers.0.0', h, 3, dims[0]!, 4, { stride: 4, pad: 0, bias: true }), dims[0]!);
  dims.forEach((c, s) => {
    if (s > 0) h = conv(`downsample_layers.${s}.1`, lnFirst(`downsample_layers.${s}.0`, h, dims[s - 1]!), dims[s - 1]!, c, 2, { stride: 2, pad: 0, bias: true });
    for (let l = 0; l < depths[s]!; l++) {
      const p = `stages.${s}.${l}`;
      let t = b.op('Transpose', [conv(`${p}.dwconv`, h, c, c, 7, { groups: c, bias: true })], { perm: [0, 2, 3, 1] });
      t = linear(`${p}.pwconv1`, ln(`${p}.norm`, t, c), c, 4 * c);
      t = b.op('Mul', [b.op('Mul', [t, b.op('Add', [b.op('Erf', [b.op('Div', [t, sqrt2])]), one])]), half]);
      t = b.op('Mul', [b.weight(`${p}.gamma`, aroundOne([c], rand, 0.5)), linear(`${p}.pwconv2`, t, 4 * c, c)]);
      h = b.op('Add', [h, b.op('Transpose', [t], { perm: [0, 3, 1, 2] })]);
    }
  });
  const last = dims[dims.length - 1]!;
  h = ln('norm', b.op('ReduceMean', [h, hw], { keepdims: 0 }), last);
  b.output(b.node('Gemm', [h, b.weight('head.weight', weights([classes, last], rand, last)), b.weight('head.bias', weights([classes], rand, last))],
    { transB: 1 }, 1, 'logits')[0]!);
  return b.model({ source: 'convnext', docString: 'onnxc bench model: a ConvNeXt classifier as PyTorch exports it' });
}
