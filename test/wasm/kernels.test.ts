// Every wasm kernel against the reference interpreter at awkward sizes (0, 1, 3, 4, 5, 1023), with Binaryen's
// optimiser on and off. compileWasm validates every module it emits, so each case also checks validate().

import { describe, expect, it } from 'vitest';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder, type AttrInput } from '../../models/builder.js';
import type { DType } from '../../ir/dtype.js';
import { randTensor, worstError, singleCase, type KernelCase } from './helpers.js';

const SIZES = [0, 1, 3, 4, 5, 1023];

type Case = KernelCase;

function unary(op: string, n: number, attrs: Record<string, AttrInput> = {}, extra: string[] = []): Case {
  return {
    name: `${op} [${n}]`,
    build() {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', [n]);
      b.output(b.op(op, [x, ...extra.map((e, i) => b.weight(`c${i}`, fromValues('float32', [], [Number(e)])))], attrs));
      return { g: b.build(), inputs: [randTensor([n], n + 7)] };
    },
  };
}

function binary(op: string, a: number[], c: number[], dtype: DType = 'float32'): Case {
  return {
    name: `${op} ${dtype} [${a}] x [${c}]`,
    build() {
      const b = new GraphBuilder();
      b.output(b.op(op, [b.input('a', dtype, a), b.input('b', dtype, c)]));
      const conv = (t: Tensor<'float32'>): Tensor => (dtype === 'float32' ? t
        : fromValues(dtype, t.dims, Array.from(t.data, (v) => (dtype === 'int64' ? BigInt(Math.round(v * 10) || 1) : Math.round(v * 10) || 1))));
      return { g: b.build(), inputs: [conv(randTensor(a, 3)), conv(randTensor(c, 4))] };
    },
  };
}

const single = (name: string, shapes: number[][], make: (b: GraphBuilder, xs: string[]) => string, tol = 1e-5): Case =>
  singleCase(name, shapes, make, tol, 11);

const i64 = (v: number[]): Tensor => fromValues('int64', [v.length], v.map(BigInt));

const cases: Case[] = [
  ...SIZES.flatMap((n) => ['Relu', 'Exp', 'Tanh', 'Sigmoid', 'Erf', 'Abs', 'Neg', 'Sqrt', 'Floor', 'HardSwish', 'Softplus', 'Gelu'].map((op) => unary(op, n))),
  ...SIZES.map((n) => unary('LeakyRelu', n, { alpha: 0.1 })),
  ...SIZES.map((n) => unary('HardSigmoid', n, { alpha: 0.3, beta: 0.4 })),
  ...SIZES.map((n) => unary('Clip', n, {}, ['-0.5', '0.7'])),
  ...SIZES.map((n) => unary('Pow', n, {}, ['2'])),
  ...SIZES.flatMap((n) => ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min'].map((op) => binary(op, [2, n], [2, n]))),
  binary('Add', [3, 5, 1023], [5, 1]), binary('Mul', [2, 3, 5], [3, 1]), binary('Sub', [1], [3, 4]), binary('Div', [4, 1, 5], [1, 3, 1]),
  binary('Add', [5, 3], [3], 'int32'), binary('Mul', [1023], [1023], 'int64'), binary('Max', [3, 5], [5], 'int64'),
  binary('Less', [5, 3], [3]), binary('Equal', [7], [7], 'int64'),
  single('Where', [[3, 5], [5]], (b, [x, y]) => b.op('Where', [b.op('Greater', [x!, y!]), x!, y!])),
  single('Cast f32->i64->f32', [[1023]], (b, [x]) => b.op('Cast', [b.op('Cast', [b.op('Mul', [x!, b.weight('ten', fromValues('float32', [], [10]))])], { to: 7 })], { to: 1 })),
  ...[[2, 3, 4], [1, 5, 1, 3], [0, 3], [7, 1023]].map((s) => single(`Transpose [${s}]`, [s], (b, [x]) => b.op('Transpose', [x!], { perm: s.map((_, i) => s.length - 1 - i) }))),
  single('Concat axis 1', [[2, 3, 5], [2, 1, 5], [2, 4, 5]], (b, xs) => b.op('Concat', xs, { axis: 1 })),
  single('Concat axis -1', [[3, 1], [3, 1023]], (b, xs) => b.op('Concat', xs, { axis: -1 })),
  single('Slice steps', [[5, 1023]], (b, [x]) => b.op('Slice', [x!, b.weight('s', i64([1, -3])), b.weight('e', i64([5, 2])), b.weight('a', i64([0, 1])), b.weight('st', i64([2, -5]))])),
  single('Split', [[6, 5]], (b, [x]) => { const [p, q] = b.node('Split', [x!, b.weight('sp', i64([2, 4]))], { axis: 0 }, 2); return b.op('Add', [b.op('Slice', [q!, b.weight('s', i64([0])), b.weight('e', i64([2])), b.weight('a', i64([0]))]), p!]); }),
  single('Gather axis 1', [[3, 7, 5]], (b, [x]) => b.op('Gather', [x!, b.weight('i', i64([6, -1, 0, 2]))], { axis: 1 })),
  single('Expand', [[3, 1]], (b, [x]) => b.op('Expand', [x!, b.weight('s', i64([2, 3, 1023]))])),
  single('Pad constant', [[2, 3, 5]], (b, [x]) => b.op('Pad', [x!, b.weight('p', i64([0, 1, -1, 0, 2, 3])), b.weight('v', fromValues('float32', [], [0.5]))])),
  single('Reshape + Flatten views', [[2, 3, 4]], (b, [x]) => b.op('Relu', [b.op('Flatten', [b.op('Reshape', [x!, b.weight('s', i64([4, 6]))])], { axis: 1 })])),
  ...[[1, 1, 1], [3, 5, 4], [5, 1023, 3], [2, 3, 0]].map(([m, k, n]) => single(`MatMul ${m}x${k}x${n}`, [[m!, k!], [k!, n!]], (b, xs) => b.op('MatMul', xs), 1e-5)),
  single('MatMul batched broadcast', [[2, 1, 3, 4], [3, 4, 5]], (b, xs) => b.op('MatMul', xs)),
  single('MatMul vector', [[5], [5, 3]], (b, xs) => b.op('MatMul', xs)),
  single('Gemm transB + C', [[3, 4]], (b, [x]) => b.op('Gemm', [x!, b.weight('w', randTensor([5, 4], 2)), b.weight('c', randTensor([5], 3))], { transB: 1, alpha: 0.5, beta: 2.0 })),
  single('Gemm transA', [[4, 3], [4, 6]], (b, xs) => b.op('Gemm', xs, { transA: 1 })),
  single('Conv 3x3 pad stride 2 bias', [[1, 3, 9, 11]], (b, [x]) => b.op('Conv', [x!, b.weight('w', randTensor([4, 3, 3, 3], 5)), b.weight('b', randTensor([4], 6))], { pads: [1, 1, 1, 1], strides: [2, 2] })),
  single('Conv depthwise', [[2, 6, 7, 5]], (b, [x]) => b.op('Conv', [x!, b.weight('w', randTensor([6, 1, 3, 3], 5))], { pads: [1, 1, 1, 1], group: 6 })),
  single('Conv 1x1', [[1, 5, 3, 7]], (b, [x]) => b.op('Conv', [x!, b.weight('w', randTensor([4, 5, 1, 1], 5))])),
  single('Conv grouped dilated SAME', [[1, 4, 10, 9]], (b, [x]) => b.op('Conv', [x!, b.weight('w', randTensor([6, 2, 3, 2], 5))], { group: 2, dilations: [2, 1], auto_pad: 'SAME_UPPER' })),
  single('Conv 1-D', [[2, 3, 17]], (b, [x]) => b.op('Conv', [x!, b.weight('w', randTensor([2, 3, 4], 5))], { strides: [3], pads: [2, 1] })),
  single('MaxPool ceil', [[1, 2, 7, 9]], (b, [x]) => b.op('MaxPool', [x!], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 })),
  single('AveragePool pads', [[1, 2, 6, 5]], (b, [x]) => b.op('AveragePool', [x!], { kernel_shape: [3, 2], pads: [1, 1, 1, 0] })),
  single('AveragePool count_include_pad', [[1, 2, 6, 5]], (b, [x]) => b.op('AveragePool', [x!], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 })),
  single('MaxPool 3-D pads strides dilations', [[1, 2, 5, 6, 7]], (b, [x]) => b.op('MaxPool', [x!], { kernel_shape: [2, 3, 2], strides: [2, 1, 2], dilations: [1, 2, 1], pads: [1, 0, 1, 0, 1, 1] })),
  single('AveragePool 3-D ceil count_include_pad', [[2, 1, 5, 4, 6]], (b, [x]) => b.op('AveragePool', [x!], { kernel_shape: [3, 2, 3], strides: [2, 2, 2], pads: [1, 1, 0, 1, 0, 1], ceil_mode: 1, count_include_pad: 1 })),
  single('AveragePool 3-D pads excluded', [[1, 3, 4, 5, 3]], (b, [x]) => b.op('AveragePool', [x!], { kernel_shape: [2, 3, 2], pads: [1, 1, 1, 0, 1, 1] })),
  single('GlobalAveragePool', [[2, 3, 5, 7]], (b, [x]) => b.op('GlobalAveragePool', [x!])),
  single('GlobalMaxPool', [[1, 3, 1, 1]], (b, [x]) => b.op('GlobalMaxPool', [x!])),
  ...[[1023], [3, 5], [4, 1], [2, 3, 4]].map((s) => single(`Softmax [${s}]`, [s], (b, [x]) => b.op('Softmax', [x!], { axis: -1 }))),
  single('Softmax axis 1', [[2, 5, 3]], (b, [x]) => b.op('Softmax', [x!], { axis: 1 })),
  single('LogSoftmax', [[3, 1023]], (b, [x]) => b.op('LogSoftmax', [x!], { axis: -1 })),
  single('ReduceMean axes', [[3, 5, 7]], (b, [x]) => b.op('ReduceMean', [x!, b.weight('a', i64([0, 2]))], { keepdims: 1 })),
  single('ReduceSum all', [[3, 1023]], (b, [x]) => b.op('ReduceSum', [x!], { keepdims: 0 }), 1e-4),
  single('ReduceMax last', [[3, 5]], (b, [x]) => b.op('ReduceMax', [x!, b.weight('a', i64([-1]))], { keepdims: 0 })),
  ...[[2, 5], [3, 1023], [2, 3, 4]].map((s) => single(`LayerNormalization [${s}]`, [s], (b, [x]) => b.op('LayerNormalization', [x!, b.weight('g', randTensor([s.at(-1)!], 2)), b.weight('bb', randTensor([s.at(-1)!], 3))], { axis: -1, epsilon: 1e-5 }))),
  single('BatchNormalization', [[2, 3, 5]], (b, [x]) => b.op('BatchNormalization', [x!, b.weight('s', randTensor([3], 1)), b.weight('bb', randTensor([3], 2)), b.weight('m', randTensor([3], 3)), b.weight('v', fromValues('float32', [3], [0.5, 1, 2]))])),
  single('Clip run-time bounds', [[1023], [], []], (b, [x, lo, hi]) => b.op('Clip', [x!, lo!, hi!])),
  single('LayerNormalization with Mean/InvStdDev', [[3, 4, 5]], (b, [x]) => {
    const [y, mu, inv] = b.node('LayerNormalization', [x!, b.weight('g', randTensor([4, 5], 2))], { axis: 1 }, 3);
    return b.op('Add', [b.op('Add', [y!, mu!]), inv!]);
  }),
  single('RMSNormalization', [[3, 7]], (b, [x]) => b.op('RMSNormalization', [x!, b.weight('g', randTensor([7], 2))], { axis: -1 })),
  single('ArgMax/ArgMin', [[3, 5, 4]], (b, [x]) => b.op('Cast', [b.op('Add', [b.op('ArgMax', [x!], { axis: 1 }), b.op('ArgMin', [x!], { axis: 2, keepdims: 1, select_last_index: 1 })])], { to: 1 })),
  single('Swish', [[1023]], (b, [x]) => b.op('Swish', [x!], { alpha: 1.5 })),
  binary('Mod', [3, 5], [5], 'int64'),
  single('GatherElements', [[3, 4]], (b, [x]) => b.op('GatherElements', [x!, b.weight('i', fromValues('int64', [2, 4], [0n, 2n, -1n, 1n, 1n, 0n, 2n, 2n]))], { axis: 0 })),
  single('Trilu lower k=1', [[2, 4, 5]], (b, [x]) => b.op('Trilu', [x!, b.weight('k', fromValues('int64', [], [1n]))], { upper: 0 })),
  single('CumSum reverse exclusive', [[3, 1023]], (b, [x]) => b.op('CumSum', [x!, b.weight('a', fromValues('int64', [], [1n]))], { exclusive: 1, reverse: 1 }), 1e-4),
];

describe('wasm kernels match the reference interpreter', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { g, inputs } = c.build();
      for (const optimize of [false, true]) expect(worstError(g, inputs, optimize), `optimize=${optimize}`).toBeLessThanOrEqual(c.tol ?? 1e-5);
    });
  }
});
