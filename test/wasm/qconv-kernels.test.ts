// The integer conv and QLinear kernels against the reference interpreter, exactly: 'onnxc.QConv' channels-last
// through each SIMD path (depthwise with a channel tail, 1x1 GEMM with row/column tails, the 3-channel stem through
// im2col, grouped), uint8 and int8 activations, a fused clamp; 'QLinearConv' and 'ConvInteger' (NCHW, scalar,
// parameters as run-time inputs); 'onnxc.QLinearAdd' (vector and broadcast); 'QLinearMatMul' (2-D, batched).

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { runWasm } from './helpers.js';

function ints<D extends 'int8' | 'uint8' | 'int32'>(dtype: D, dims: number[], lo: number, hi: number, seed: number): Tensor<D> {
  const n = dims.reduce((a, b) => a * b, 1), d = dtype === 'int8' ? new Int8Array(n) : dtype === 'uint8' ? new Uint8Array(n) : new Int32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; d[i] = lo + (s % (hi - lo + 1)); }
  return makeTensor(dtype, dims, d as never);
}
const f32 = (dims: number[], vals: number[]): Tensor => makeTensor('float32', dims, Float32Array.from(vals));
const scalar8 = (dtype: 'int8' | 'uint8', v: number): Tensor => makeTensor(dtype, [], dtype === 'int8' ? Int8Array.of(v) : Uint8Array.of(v));

/** wasm (optimised and not) equals the reference, element for element. */
function expectExact(b: GraphBuilder, inputs: Tensor[]): void {
  const g = b.build();
  const want = runGraph(g, inputs) as Tensor[];
  for (const optimize of [true, false]) {
    const got = runWasm(g, inputs, optimize);
    got.forEach((t, i) => {
      expect(t.dims).toEqual(want[i]!.dims);
      expect(Array.from(t.data as ArrayLike<number>)).toEqual(Array.from(want[i]!.data as ArrayLike<number>));
    });
  }
}

interface QSpec { name: string; N?: number; C: number; H: number; W: number; OC: number; k: number; s: number; pad: number; group: number; x: 'int8' | 'uint8'; y: 'int8' | 'uint8'; clamp?: [number, number]; bias?: boolean }

const QSPECS: QSpec[] = [
  { name: 'depthwise 3x3 s1, 16 channels', C: 16, H: 7, W: 6, OC: 16, k: 3, s: 1, pad: 1, group: 16, x: 'int8', y: 'int8', bias: true },
  { name: 'depthwise 3x3 s2, 40 channels (16-channel steps, an 8-channel step), int8', C: 40, H: 9, W: 7, OC: 40, k: 3, s: 2, pad: 1, group: 40, x: 'int8', y: 'int8', bias: true, clamp: [-20, 100] },
  { name: 'depthwise 3x3 s2, 13 channels (tail), uint8', C: 13, H: 9, W: 8, OC: 13, k: 3, s: 2, pad: 1, group: 13, x: 'uint8', y: 'uint8', bias: true },
  { name: 'pointwise 1x1, 20 output channels (tail), clamp', N: 2, C: 24, H: 3, W: 5, OC: 20, k: 1, s: 1, pad: 0, group: 1, x: 'int8', y: 'int8', clamp: [-128, 90], bias: true },
  { name: 'pointwise 1x1, odd K, uint8 in, int8 out, no bias', C: 7, H: 4, W: 4, OC: 9, k: 1, s: 1, pad: 0, group: 1, x: 'uint8', y: 'int8' },
  { name: 'pointwise 1x1, 72 channels (widened in a loop), uint8 out', C: 72, H: 3, W: 3, OC: 16, k: 1, s: 1, pad: 0, group: 1, x: 'int8', y: 'uint8', bias: true },
  { name: 'pointwise 1x1, 10 channels (an odd number of K pairs)', C: 10, H: 2, W: 3, OC: 8, k: 1, s: 1, pad: 0, group: 1, x: 'int8', y: 'int8', bias: true },
  { name: 'stem 3x3 s2 from 3 channels (im2col, odd K)', C: 3, H: 11, W: 10, OC: 8, k: 3, s: 2, pad: 1, group: 1, x: 'int8', y: 'int8', bias: true },
  { name: 'grouped 3x3, 2 groups', C: 8, H: 6, W: 6, OC: 12, k: 3, s: 1, pad: 1, group: 2, x: 'int8', y: 'uint8', bias: true },
];

function qconvCase(s: QSpec): void {
  const b = new GraphBuilder(), N = s.N ?? 1;
  const OH = Math.floor((s.H + 2 * s.pad - s.k) / s.s) + 1, OW = Math.floor((s.W + 2 * s.pad - s.k) / s.s) + 1;
  const x = b.input('x', s.x, [N, s.H, s.W, s.C]);
  const ws = f32([s.OC], Array.from({ length: s.OC }, (_, i) => 0.002 + 0.0003 * i));
  const ins = [x, b.weight('xs', f32([], [0.05])), b.weight('xz', scalar8(s.x, s.x === 'int8' ? -7 : 121)),
    b.weight('w', ints('int8', [s.OC, s.C / s.group, s.k, s.k], -127, 127, 11)), b.weight('ws', ws), b.weight('wz', ints('int8', [s.OC], 0, 0, 1)),
    b.weight('ys', f32([], [0.08])), b.weight('yz', scalar8(s.y, s.y === 'int8' ? 3 : 130)),
    ...(s.bias ? [b.weight('b', ints('int32', [s.OC], -3000, 3000, 5))] : [])];
  const attrs = { kernel_shape: [s.k, s.k], strides: [s.s, s.s], pads: [s.pad, s.pad, s.pad, s.pad], group: s.group, channels_last: 1,
    ...(s.clamp ? { qmin: s.clamp[0], qmax: s.clamp[1] } : {}) };
  b.output(b.op('onnxc.QConv', ins, attrs));
  const xin = s.x === 'int8' ? ints('int8', [N, s.H, s.W, s.C], -128, 127, 3) : ints('uint8', [N, s.H, s.W, s.C], 0, 255, 3);
  expect(OH * OW).toBeGreaterThan(0);
  expectExact(b, [xin]);
}

describe('onnxc.QConv (channels-last SIMD paths)', () => {
  for (const s of QSPECS) it(s.name, () => qconvCase(s));
});

describe('QLinearConv and ConvInteger (NCHW, run-time parameters)', () => {
  it('QLinearConv uint8, per-channel weight scales and zero points, bias, stride 2 with padding', () => {
    const b = new GraphBuilder();
    const names = ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'b'];
    const types = [['uint8', [1, 3, 7, 6]], ['float32', []], ['uint8', []], ['uint8', [4, 3, 3, 3]], ['float32', [4]], ['uint8', [4]], ['float32', []], ['uint8', []], ['int32', [4]]] as const;
    const ins = names.map((n, i) => b.input(n, types[i]![0], types[i]![1]));
    b.output(b.op('QLinearConv', ins, { strides: [2, 2], pads: [1, 0, 1, 2] }));
    expectExact(b, [ints('uint8', [1, 3, 7, 6], 0, 255, 1), f32([], [0.03]), scalar8('uint8', 120), ints('uint8', [4, 3, 3, 3], 100, 160, 2),
      f32([4], [0.01, 0.02, 0.005, 0.011]), ints('uint8', [4], 125, 131, 3), f32([], [0.2]), scalar8('uint8', 127), ints('int32', [4], -500, 500, 4)]);
  });
  it('ConvInteger int8 with zero points, grouped', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'int8', [2, 4, 5, 5]), w = b.input('w', 'int8', [6, 2, 2, 2]), xz = b.input('xz', 'int8', []), wz = b.input('wz', 'int8', [6]);
    b.output(b.op('ConvInteger', [x, w, xz, wz], { group: 2, dilations: [2, 1] }));
    expectExact(b, [ints('int8', [2, 4, 5, 5], -128, 127, 1), ints('int8', [6, 2, 2, 2], -128, 127, 2), scalar8('int8', 5), ints('int8', [6], -3, 3, 4)]);
  });
});

describe('per-tensor QuantizeLinear/DequantizeLinear (16 a step, scalar tail)', () => {
  for (const dtype of ['int8', 'uint8'] as const) {
    it(`float32 -> ${dtype} -> float32, with halfway, huge, infinite and NaN values`, () => {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', [37]);
      const s = b.weight('s', f32([], [0.5])), z = b.weight('z', scalar8(dtype, dtype === 'int8' ? -3 : 128));
      const q = b.op('QuantizeLinear', [x, s, z]);
      b.output(q, b.op('DequantizeLinear', [q, s, z]));
      const vals = Array.from({ length: 37 }, (_, i) => (i - 18) * 0.25 + (i % 5 === 0 ? 0.125 : 0));
      vals[3] = 1e9; vals[4] = -1e9; vals[5] = Infinity; vals[6] = -Infinity; vals[7] = NaN; vals[36] = NaN; vals[35] = 0.75;
      expectExact(b, [f32([37], vals)]);
    });
  }
});

describe('onnxc.QLinearAdd and QLinearMatMul', () => {
  for (const [name, ad, bd] of [['same shapes (vector path + tail)', [2, 5, 7, 3], [2, 5, 7, 3]], ['broadcast', [2, 5, 1, 3], [5, 4, 3]]] as const) {
    it(`QLinearAdd, ${name}`, () => {
      const b = new GraphBuilder();
      const a = b.input('a', 'int8', ad), c = b.input('c', 'uint8', bd);
      b.output(b.op('onnxc.QLinearAdd', [a, b.weight('sa', f32([], [0.031])), b.weight('za', scalar8('int8', -4)), c, b.weight('sc', f32([], [0.017])),
        b.weight('zc', scalar8('uint8', 128)), b.weight('sy', f32([], [0.045])), b.weight('zy', scalar8('int8', 2))]));
      expectExact(b, [ints('int8', [...ad], -128, 127, 7), ints('uint8', [...bd], 0, 255, 8)]);
    });
  }
  for (const [ad, bd] of [[[3, 5], [5, 4]], [[2, 3, 6], [6, 5]]] as const) {
    it(`QLinearMatMul [${ad}] x [${bd}]`, () => {
      const b = new GraphBuilder();
      const a = b.input('a', 'uint8', ad), w = b.weight('w', ints('int8', [...bd], -128, 127, 3));
      b.output(b.op('QLinearMatMul', [a, b.weight('sa', f32([], [0.02])), b.weight('za', scalar8('uint8', 113)), w, b.weight('sw', f32([], [0.004])),
        b.weight('zw', scalar8('int8', 0)), b.weight('sy', f32([], [0.01])), b.weight('zy', scalar8('uint8', 128))]));
      expectExact(b, [ints('uint8', [...ad], 0, 255, 9)]);
    });
  }
});
