// The rare-op kernels (attention, losses, resize, ConvTranspose, quantization, scatter/gather, misc, trig) and
// 16-bit float storage against the reference interpreter, at awkward sizes, Binaryen's optimiser on and off.
// compileWasm validates every module it emits, so each case also checks validate().

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { fromTensorValue, toTensorValue } from '../../compiler/compile.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { randTensor, worstError, singleCase, type KernelCase } from './helpers.js';

type Case = KernelCase;

const single = (name: string, shapes: number[][], make: (b: GraphBuilder, xs: string[]) => string, tol = 1e-5): Case =>
  singleCase(name, shapes, make, tol, 21);
const i64 = (dims: number[], v: number[]): Tensor => fromValues('int64', dims, v.map(BigInt));
const f32 = (dims: number[], v: number[]): Tensor => fromValues('float32', dims, v);

const cases: Case[] = [
  single('Attention 4-D causal', [[1, 2, 3, 4], [1, 2, 5, 4], [1, 2, 5, 3]], (b, xs) => b.op('Attention', xs, { is_causal: 1 })),
  single('Attention 3-D GQA softcap + bool mask', [[2, 3, 8], [2, 5, 4], [2, 5, 6]], (b, [q, k, v]) =>
    b.op('Attention', [q!, k!, v!, b.weight('m', fromValues('bool', [3, 5], [1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1]))], { q_num_heads: 4, kv_num_heads: 2, softcap: 2 })),
  single('Attention past/present', [[1, 1, 2, 3], [1, 1, 1, 3], [1, 1, 1, 3], [1, 1, 4, 3], [1, 1, 4, 3]], (b, [q, k, v, pk, pv]) => {
    const [y, kk, vv] = b.node('Attention', [q!, k!, v!, '', pk!, pv!], {}, 3);
    return b.op('Concat', [b.op('ReduceSum', [y!], { keepdims: 0 }), b.op('ReduceSum', [kk!], { keepdims: 0 }), b.op('ReduceSum', [vv!], { keepdims: 0 })].map((t) => b.op('Reshape', [t, b.weight(`s${t}`, i64([1], [1]))])), { axis: 0 });
  }, 1e-5),
  ...['none', 'sum', 'mean'].map((reduction) => single(`SoftmaxCrossEntropyLoss ${reduction}`, [[3, 5, 2]], (b, [x]) =>
    b.op('SoftmaxCrossEntropyLoss', [x!, b.weight('t', i64([3, 2], [0, 4, 2, 1, 3, 3])), b.weight('w', randTensor([5], 4))], { reduction, ignore_index: 3 }))),
  single('NegativeLogLikelihoodLoss', [[4, 3]], (b, [x]) => b.op('NegativeLogLikelihoodLoss', [x!, b.weight('t', i64([4], [2, 0, 1, 2]))], { reduction: 'mean' })),
  single('Resize linear half_pixel', [[1, 2, 3, 5]], (b, [x]) => b.op('Resize', [x!, '', b.weight('s', f32([4], [1, 1, 2.5, 0.6]))], { mode: 'linear' })),
  single('Resize cubic antialias', [[1, 1, 7, 4]], (b, [x]) => b.op('Resize', [x!, '', '', b.weight('s', i64([4], [1, 1, 3, 5]))], { mode: 'cubic', antialias: 1 })),
  single('Resize nearest asymmetric', [[2, 3, 1]], (b, [x]) => b.op('Resize', [x!, '', b.weight('s', f32([3], [1, 3, 4]))], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric' })),
  single('ConvTranspose strided grouped', [[1, 4, 3, 5]], (b, [x]) => b.op('ConvTranspose', [x!, b.weight('w', randTensor([4, 3, 3, 2], 5)), b.weight('bb', randTensor([6], 6))], { group: 2, strides: [2, 3], pads: [1, 0, 0, 1], output_padding: [1, 0] })),
  single('ConvTranspose 1-D dilated', [[2, 1, 5]], (b, [x]) => b.op('ConvTranspose', [x!, b.weight('w', randTensor([1, 2, 3], 5))], { dilations: [2] })),
  single('Quantize/Dequantize per axis', [[2, 3, 5]], (b, [x]) => b.op('DequantizeLinear', [
    b.op('QuantizeLinear', [x!, b.weight('s', f32([3], [0.01, 0.02, 0.05])), b.weight('z', fromValues('int8', [3], [0, 3, -7]))], { axis: 1 }),
    b.weight('s2', f32([3], [0.01, 0.02, 0.05])), b.weight('z2', fromValues('int8', [3], [0, 3, -7]))], { axis: 1 })),
  single('DynamicQuantizeLinear + MatMulInteger', [[3, 5]], (b, [x]) => {
    const [q, s, z] = b.node('DynamicQuantizeLinear', [x!], {}, 3);
    const mm = b.op('MatMulInteger', [q!, b.weight('w', fromValues('uint8', [5, 4], Array.from({ length: 20 }, (_, i) => (i * 37) % 256))), z!, b.weight('wz', fromValues('uint8', [], [128]))]);
    return b.op('Mul', [b.op('Cast', [mm], { to: 1 }), s!]);
  }),
  single('ScatterElements add', [[3, 4]], (b, [x]) => b.op('ScatterElements', [x!, b.weight('i', i64([2, 2], [0, -1, 2, 0])), b.weight('u', randTensor([2, 2], 3))], { axis: 0, reduction: 'add' })),
  single('ScatterND', [[4, 3]], (b, [x]) => b.op('ScatterND', [x!, b.weight('i', i64([2, 1], [3, -4])), b.weight('u', randTensor([2, 3], 3))])),
  single('GatherND batch_dims 1', [[2, 3, 4]], (b, [x]) => b.op('GatherND', [x!, b.weight('i', i64([2, 2, 1], [2, 0, -1, 1]))], { batch_dims: 1 })),
  single('Tile', [[2, 3]], (b, [x]) => b.op('Tile', [x!, b.weight('r', i64([2], [3, 2]))])),
  single('CumProd reverse', [[3, 5]], (b, [x]) => b.op('CumProd', [x!, b.weight('a', i64([], [1]))], { reverse: 1 })),
  single('Hardmax + LpNormalization', [[3, 5]], (b, [x]) => b.op('Add', [b.op('Hardmax', [x!], { axis: 0 }), b.op('LpNormalization', [x!], { axis: 1, p: 2 })])),
  ...[0, 1, 3, 4, 5, 1023].map((n) => single(`Sin/Cos/Tan/Sinh/Celu [${n}]`, [[n]], (b, [x]) =>
    b.op('Sum', [b.op('Sin', [x!]), b.op('Cos', [x!]), b.op('Tan', [x!]), b.op('Sinh', [x!]), b.op('Celu', [x!], { alpha: 0.7 })]), 1e-5)),
  ...[1, 5, 1023].map((n) => single(`ReduceLogSumExp float64 [3, ${n}]`, [[3, n]], (b, [x]) =>
    b.op('Cast', [b.op('ReduceLogSumExp', [b.op('Cast', [x!], { to: 11 }), b.weight('a', i64([1], [1]))], { keepdims: 0 })], { to: 1 }))),
];

describe('wasm rare-op kernels match the reference interpreter', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { g, inputs } = c.build();
      for (const optimize of [false, true]) expect(worstError(g, inputs, optimize), `optimize=${optimize}`).toBeLessThanOrEqual(c.tol ?? 1e-5);
    });
  }
});

describe('16-bit floats are stored as bits and computed in f32', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    it(`${dtype}: cast round trip and arithmetic match the reference bit for bit`, () => {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', [7]);
      const h = b.op('Cast', [x], { to: dtype === 'float16' ? 10 : 16 });
      b.output(b.op('Mul', [h, h]));
      b.output(b.op('Cast', [h], { to: 1 }));
      const g = b.build();
      // rounding ties, subnormals, overflow to inf, NaN, signed zero
      const input = f32([7], [1.0009765625 + 2 ** -11, 6e-8, -3.1e-5, 70000, NaN, -0, 3.14159]);
      for (const optimize of [false, true]) {
        const a = compileWasm(g, { inputShapes: { x: [7] }, optimize });
        const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest });
        const outs = s.runSync({ x: toTensorValue(input) });
        const ours = g.outputs.map((n) => fromTensorValue(outs[n]!));
        const ref = runGraph(g, [input]) as Tensor[];
        ours.forEach((t, k) => {
          expect(t.dtype).toBe(ref[k]!.dtype);
          expect(Array.from(t.data as Float32Array)).toEqual(Array.from(ref[k]!.data as Float32Array));
        });
      }
    });
  }
});
