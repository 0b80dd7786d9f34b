// The fused-op and channels-last kernels (FusedConv NHWC/NCHW: depthwise, 1x1, general, grouped; FusedMatMul,
// FusedGemm, FusedElementwise, NHWC pooling) against the reference interpreter at awkward sizes, with Binaryen's
// optimiser on and off. compileWasm validates every module it emits.

import { describe, expect, it } from 'vitest';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder, type AttrInput } from '../../models/builder.js';
import { permuteList, standardToLayout, transposeTensor } from '../../ops/fused/permute.js';
import { randTensor, worstError } from './helpers.js';

interface Case { name: string; g: ReturnType<GraphBuilder['build']>; inputs: Tensor[]; tol?: number }

const ACTS: [string, number[]][] = [['', []], ['Relu', []], ['Clip', [0, 0.5]], ['HardSwish', []], ['Gelu', []], ['SiLU', []], ['LeakyRelu', [0.1]], ['GeluTanh', []], ['Sigmoid', []]];

interface ConvSpec {
  x: number[]; oc: number; k: [number, number]; group?: number; strides?: number[]; pads?: number[];
  cl: boolean; layout?: string; residual?: boolean; bias?: boolean; act?: number; dilations?: number[];
}

function convCase(s: ConvSpec): Case {
  const b = new GraphBuilder();
  const [N, C, H, W] = s.x as [number, number, number, number];
  const G = s.group ?? 1;
  const xDims = s.cl ? [N, H, W, C] : [N, C, H, W];
  const x = b.input('x', 'float32', xDims);
  let w: Tensor = randTensor([s.oc, C / G, ...s.k], 5);
  if (s.layout) w = transposeTensor(w, standardToLayout(s.layout, 4));
  const [act, params] = ACTS[s.act ?? 0]!;
  const attrs: Record<string, AttrInput> = {
    kernel_shape: s.k, group: G, channels_last: s.cl ? 1 : 0, weight_layout: s.layout ?? '', activation: act, activation_params: { floats: params },
    ...(s.strides ? { strides: s.strides } : {}), ...(s.pads ? { pads: s.pads } : {}), ...(s.dilations ? { dilations: s.dilations } : {}),
  };
  const ins = [x, b.weight('w', w), s.bias === false ? '' : b.weight('b', randTensor([s.oc], 6))];
  const inputs = [randTensor(xDims, 7)];
  if (s.residual) {
    // the residual has Y's shape: the reference tells us what that is
    const oh = Math.floor((H + (s.pads ? s.pads[0]! + s.pads[2]! : 0) - ((s.dilations?.[0] ?? 1) * (s.k[0] - 1) + 1)) / (s.strides?.[0] ?? 1)) + 1;
    const ow = Math.floor((W + (s.pads ? s.pads[1]! + s.pads[3]! : 0) - ((s.dilations?.[1] ?? 1) * (s.k[1] - 1) + 1)) / (s.strides?.[1] ?? 1)) + 1;
    const zDims = s.cl ? [N, oh, ow, s.oc] : [N, s.oc, oh, ow];
    ins.push(b.input('z', 'float32', zDims));
    inputs.push(randTensor(zDims, 8));
  }
  b.output(b.op('onnxc.FusedConv', ins, attrs));
  const name = `FusedConv ${s.cl ? 'NHWC' : 'NCHW'} x[${s.x}] oc ${s.oc} k${s.k.join('x')} g${G} s${s.strides ?? 1} p${s.pads ?? 0} ${s.layout ?? 'OIHW'}${s.residual ? ' +Z' : ''} ${act || 'none'}`;
  return { name, g: b.build(), inputs, tol: 1e-4 };
}

const convSpecs: ConvSpec[] = [];
for (const cl of [true, false]) {
  // depthwise: MobileNet's 3x3 stride 1 and 2, odd channel counts (vector + tail), tiny images (all border), rows
  // wide enough for several 4-pixel interior blocks and a remainder
  for (const [C, H, W, st] of [[8, 7, 9, 1], [5, 6, 5, 2], [13, 1, 1, 1], [4, 3, 3, 2], [1, 4, 4, 1], [6, 5, 19, 1], [9, 4, 21, 2]] as const) {
    convSpecs.push({ x: [1, C, H, W], oc: C, k: [3, 3], group: C, strides: [st, st], pads: [1, 1, 1, 1], cl, act: 2, residual: st === 1 && C > 4 });
  }
  convSpecs.push({ x: [2, 6, 5, 7], oc: 6, k: [3, 3], group: 6, pads: [0, 1, 2, 1], dilations: [2, 1], cl, act: 3, layout: 'HWIO' });
  // the interior blocks' shared input columns: ConvNeXt's 7x7 and EfficientNet's 5x5 stride 2 on rows of several
  // blocks, and a dilation along the row (columns k*sw + kw*dw)
  convSpecs.push({ x: [1, 6, 9, 23], oc: 6, k: [7, 7], group: 6, pads: [3, 3, 3, 3], cl, act: 0, residual: true });
  convSpecs.push({ x: [1, 5, 8, 25], oc: 5, k: [5, 5], group: 5, strides: [2, 2], pads: [2, 2, 2, 2], cl, act: 5 });
  convSpecs.push({ x: [1, 4, 5, 19], oc: 4, k: [3, 3], group: 4, pads: [1, 2, 1, 2], dilations: [1, 2], cl, act: 1 });
  // 1x1 (a GEMM over pixels), residual and activations
  for (const [C, OC, act] of [[3, 5, 1], [16, 24, 0], [7, 1023, 4], [1, 1, 5]] as const) convSpecs.push({ x: [1, C, 5, 3], oc: OC, k: [1, 1], cl, act, residual: OC !== 1023 });
  // general: stem-like 3x3 stride 2 with padding, 3 channels; odd sizes; grouped; no bias
  convSpecs.push({ x: [1, 3, 11, 9], oc: 8, k: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], cl, act: 2, layout: 'OHWI' });
  convSpecs.push({ x: [2, 5, 6, 7], oc: 9, k: [3, 2], pads: [1, 0, 0, 1], cl, act: 6, residual: true, bias: false });
  convSpecs.push({ x: [1, 4, 7, 5], oc: 6, k: [3, 3], group: 2, strides: [1, 2], pads: [1, 1, 1, 1], cl, act: 7 });
  convSpecs.push({ x: [1, 64, 4, 4], oc: 16, k: [3, 3], pads: [1, 1, 1, 1], cl, act: 8 });
}

function matmulCase(name: string, aDims: number[], bDims: number[], bias: number[] | undefined, z: number[] | undefined, act: number, constB = false): Case {
  const b = new GraphBuilder();
  const a = b.input('a', 'float32', aDims);
  const inputs = [randTensor(aDims, 1)];
  const bb = constB ? b.weight('bw', randTensor(bDims, 2)) : b.input('bm', 'float32', bDims);
  if (!constB) inputs.push(randTensor(bDims, 2));
  const ins = [a, bb, bias ? b.weight('bias', randTensor(bias, 3)) : ''];
  if (z) { ins.push(b.input('z', 'float32', z)); inputs.push(randTensor(z, 4)); }
  const [an, ap] = ACTS[act]!;
  b.output(b.op('onnxc.FusedMatMul', ins, { activation: an, activation_params: { floats: ap } }));
  return { name: `FusedMatMul ${name}`, g: b.build(), inputs, tol: 1e-4 };
}

function gemmCase(M: number, K: number, N: number, transB: number, act: number): Case {
  const b = new GraphBuilder();
  const a = b.input('a', 'float32', [M, K]);
  const w = b.weight('w', randTensor(transB ? [N, K] : [K, N], 2));
  const z = b.input('z', 'float32', [M, N]);
  const [an, ap] = ACTS[act]!;
  b.output(b.op('onnxc.FusedGemm', [a, w, b.weight('c', randTensor([N], 3)), z], { transB, alpha: 0.5, beta: 2, activation: an, activation_params: { floats: ap } }));
  return { name: `FusedGemm ${M}x${K}x${N} transB=${transB} ${an || 'none'}`, g: b.build(), inputs: [randTensor([M, K], 1), randTensor([M, N], 4)], tol: 1e-4 };
}

function elementwiseCase(n: number): Case {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [3, n]), y = b.input('y', 'float32', [n]);
  const two = b.weight('two', fromValues('float32', [], [2]));
  // tanh-GELU-like chain with a broadcast operand, a constant Pow, and every kind of operand reuse
  const program = ['Pow $0 $2', 'Mul %0 $1', 'Add $0 %1', 'Tanh %2', 'Sigmoid $1', 'Max %3 %4', 'Abs %5', 'Sqrt %6', 'Sub %7 $0', 'Div %8 %6'];
  b.output(b.op('onnxc.FusedElementwise', [x, y, two], { program }));
  return { name: `FusedElementwise [3,${n}] x [${n}]`, g: b.build(), inputs: [randTensor([3, n], 1), randTensor([n], 2)], tol: 1e-5 };
}

function poolCase(op: string, dims: number[], attrs: Record<string, AttrInput>): Case {
  const b = new GraphBuilder();
  b.output(b.op(`onnxc.Nhwc${op}`, [b.input('x', 'float32', dims)], { ...attrs, rank: dims.length }));
  return { name: `Nhwc${op} [${dims}] ${JSON.stringify(attrs)}`, g: b.build(), inputs: [randTensor(dims, 9)] };
}

const cases: Case[] = [
  ...convSpecs.map(convCase),
  matmulCase('3x5 @ 5x1023 +bias +Z gelu-tanh', [3, 5], [5, 1023], [1023], [3, 1023], 7),
  matmulCase('batched broadcast +Z relu', [2, 1, 7, 4], [3, 4, 9], [9], [2, 3, 7, 9], 1),
  matmulCase('vector @ matrix const B', [5], [5, 13], [13], undefined, 2, true),
  matmulCase('M=0', [0, 5], [5, 3], [3], undefined, 1),
  matmulCase('K=1 square-ish + column bias', [6, 1], [1, 6], [6], [6, 1], 5),
  ...[[1, 1, 1], [5, 7, 3], [9, 16, 33], [64, 33, 10]].flatMap(([m, k, n], i) => [gemmCase(m!, k!, n!, i % 2, i + 1)]),
  ...[0, 1, 3, 4, 5, 1023].map(elementwiseCase),
  poolCase('MaxPool', [1, 7, 9, 5], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }),
  poolCase('MaxPool', [2, 4, 4, 8], { kernel_shape: [2, 2], strides: [2, 2] }),
  poolCase('AveragePool', [1, 6, 5, 3], { kernel_shape: [3, 2], pads: [1, 1, 1, 0] }),
  poolCase('AveragePool', [1, 6, 5, 9], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 }),
  // interior pixels take the unrolled, unchecked taps: dilated, padded on one side only, 1-D, ceil_mode borders
  poolCase('MaxPool', [1, 9, 11, 6], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], dilations: [2, 2] }),
  poolCase('AveragePool', [2, 8, 8, 7], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 0, 0], ceil_mode: 1 }),
  poolCase('MaxPool', [1, 10, 4], { kernel_shape: [3], strides: [2], pads: [1, 1] }),
  poolCase('AveragePool', [1, 12, 12, 5], { kernel_shape: [2, 3], strides: [1, 2] }),
  poolCase('GlobalAveragePool', [2, 5, 7, 6], {}),
  poolCase('GlobalMaxPool', [1, 1, 1, 1023], {}),
  // rank 3 (magika's 1-D conv output, NLC), several pixels and images, a channel tail
  poolCase('GlobalMaxPool', [2, 17, 13], {}),
  poolCase('GlobalAveragePool', [2, 31, 9], {}),
];

describe('fused and channels-last wasm kernels match the reference interpreter', () => {
  for (const c of cases) {
    it(c.name, () => {
      for (const optimize of [false, true]) expect(worstError(c.g, c.inputs, optimize), `optimize=${optimize}`).toBeLessThanOrEqual(c.tol ?? 1e-5);
    });
  }
  it('the layout helper used above is the inverse of the packing', () => {
    expect(permuteList([0, 1, 2, 3], standardToLayout('HWIO', 4))).toEqual([2, 3, 1, 0]);
  });
});
