// The 4- and 2-bit integer types computed: Cast/CastLike (wrapping, as ONNX's test data has it), QuantizeLinear
// (round half to even, saturating to the type's range) and DequantizeLinear, per tensor, per axis and blocked, on
// the reference interpreter against hand-worked values, then every case on wasm against the reference; and the
// runtime's feeds/outputs of these types (one element per byte in an Int8Array/Uint8Array, range-checked).

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { onnxCode, type DType } from '../../ir/dtype.js';
import type { Graph } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { OnnxcRuntimeError } from '../../runtime/wasm/errors.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { runWasm } from '../wasm/helpers.js';

const SUB: readonly ('int4' | 'uint4' | 'int2' | 'uint2')[] = ['int4', 'uint4', 'int2', 'uint2'];
const f32 = (dims: number[], xs: number[]): Tensor => makeTensor('float32', dims, Float32Array.from(xs));
const sub = (t: DType, dims: number[], xs: number[]): Tensor => makeTensor(t as 'int8', dims, (t.startsWith('u') ? Uint8Array : Int8Array).from(xs) as Int8Array);
const values = (t: Tensor): number[] => Array.from(t.data as ArrayLike<number>);

/** One node over graph inputs (shapes from `inputs`), its attributes as given. */
function oneNode(op: string, inputs: Tensor[], attrs: Record<string, number> = {}): Graph {
  const b = new GraphBuilder(op);
  const xs = inputs.map((t, i) => b.input(`x${i}`, t.dtype, t.dims));
  b.output(b.op(op, xs, Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { kind: 'int' as const, value: v }]))));
  return b.build();
}

interface Case { name: string; op: string; inputs: Tensor[]; attrs?: Record<string, number>; want: number[]; dtype: DType }

const ramp = [-9.5, -8, -7.5, -2.5, -0.5, 0.5, 1.5, 2.5, 7, 8, 15.9, 16, 100];
const cases: Case[] = [
  // float -> int4 truncates toward zero, then wraps modulo 16 (test_cast_FLOAT_to_INT4's data)
  { name: 'Cast float32 -> int4 wraps', op: 'Cast', inputs: [f32([13], ramp)], attrs: { to: onnxCode('int4') }, dtype: 'int4', want: [7, -8, -7, -2, 0, 0, 1, 2, 7, -8, -1, 0, 4] },
  { name: 'Cast float32 -> uint4 wraps', op: 'Cast', inputs: [f32([13], ramp)], attrs: { to: onnxCode('uint4') }, dtype: 'uint4', want: [7, 8, 9, 14, 0, 0, 1, 2, 7, 8, 15, 0, 4] },
  { name: 'Cast float32 -> int2 wraps', op: 'Cast', inputs: [f32([13], ramp)], attrs: { to: onnxCode('int2') }, dtype: 'int2', want: [-1, 0, 1, -2, 0, 0, 1, -2, -1, 0, -1, 0, 0] },
  { name: 'Cast float32 -> uint2 wraps', op: 'Cast', inputs: [f32([13], ramp)], attrs: { to: onnxCode('uint2') }, dtype: 'uint2', want: [3, 0, 1, 2, 0, 0, 1, 2, 3, 0, 3, 0, 0] },
  { name: 'Cast int4 -> float32', op: 'Cast', inputs: [sub('int4', [4], [-8, -1, 0, 7])], attrs: { to: onnxCode('float32') }, dtype: 'float32', want: [-8, -1, 0, 7] },
  { name: 'Cast uint2 -> int8', op: 'Cast', inputs: [sub('uint2', [4], [0, 1, 2, 3])], attrs: { to: onnxCode('int8') }, dtype: 'int8', want: [0, 1, 2, 3] },
  { name: 'Cast int8 -> int4 keeps the low 4 bits', op: 'Cast', inputs: [sub('int8', [4], [-128, 127, 9, -9])], attrs: { to: onnxCode('int4') }, dtype: 'int4', want: [0, -1, -7, 7] },
  { name: 'Cast uint4 -> int4', op: 'Cast', inputs: [sub('uint4', [3], [15, 8, 7])], attrs: { to: onnxCode('int4') }, dtype: 'int4', want: [-1, -8, 7] },
  { name: 'CastLike float32 -> int4', op: 'CastLike', inputs: [f32([3], [3.9, -3.9, 9]), sub('int4', [1], [0])], dtype: 'int4', want: [3, -3, -7] },
  // QuantizeLinear saturates to the type's range and rounds half to even
  { name: 'QuantizeLinear int4 per tensor', op: 'QuantizeLinear', inputs: [f32([8], [0, 1, 2.5, 3.5, -2.5, 100, -100, 0.49]), f32([], [0.5]), sub('int4', [], [1])], dtype: 'int4', want: [1, 3, 6, 7, -4, 7, -8, 2] },
  { name: 'QuantizeLinear uint4 per tensor', op: 'QuantizeLinear', inputs: [f32([5], [0, 1, 2.5, 100, -100]), f32([], [0.5]), sub('uint4', [], [8])], dtype: 'uint4', want: [8, 10, 13, 15, 0] },
  { name: 'QuantizeLinear int2 per axis', op: 'QuantizeLinear', inputs: [f32([2, 3], [0, 1, 2, 0, -1, -2]), f32([3], [1, 2, 4]), sub('int2', [3], [0, 0, -1])], attrs: { axis: 1 }, dtype: 'int2', want: [0, 0, -1, 0, 0, -1] },
  { name: 'QuantizeLinear uint2 per tensor', op: 'QuantizeLinear', inputs: [f32([4], [0, 1, 2, 9]), f32([], [1]), sub('uint2', [], [1])], dtype: 'uint2', want: [1, 2, 3, 3] },
  // blocked along axis 1, blocks of 2 (int4 weights as quantize-weights makes them)
  { name: 'QuantizeLinear int4 blocked', op: 'QuantizeLinear', inputs: [f32([2, 4], [1, -1, 4, 8, 0.25, 0.75, -3, 3]), f32([2, 2], [1, 2, 0.25, 1])], attrs: { axis: 1, block_size: 2, output_dtype: onnxCode('int4') }, dtype: 'int4', want: [1, -1, 2, 4, 1, 3, -3, 3] },
  { name: 'DequantizeLinear int4 per tensor', op: 'DequantizeLinear', inputs: [sub('int4', [4], [-8, -1, 0, 7]), f32([], [0.5]), sub('int4', [], [-1])], dtype: 'float32', want: [-3.5, 0, 0.5, 4] },
  { name: 'DequantizeLinear uint4 per axis', op: 'DequantizeLinear', inputs: [sub('uint4', [2, 2], [0, 15, 8, 1]), f32([2], [1, 0.5]), sub('uint4', [2], [8, 0])], attrs: { axis: 1 }, dtype: 'float32', want: [-8, 7.5, 0, 0.5] },
  { name: 'DequantizeLinear int2 per tensor', op: 'DequantizeLinear', inputs: [sub('int2', [4], [-2, -1, 0, 1]), f32([], [3])], dtype: 'float32', want: [-6, -3, 0, 3] },
  { name: 'DequantizeLinear uint2 blocked', op: 'DequantizeLinear', inputs: [sub('uint2', [1, 5], [0, 1, 2, 3, 3]), f32([1, 3], [1, 10, 100])], attrs: { axis: 1, block_size: 2 }, dtype: 'float32', want: [0, 1, 20, 30, 300] },
  { name: 'DequantizeLinear int4 blocked, odd length', op: 'DequantizeLinear', inputs: [sub('int4', [3, 3], [1, 2, 3, 4, 5, 6, 7, -8, -1]), f32([2, 3], [1, 2, 3, 0.5, 0.25, 0.125])], attrs: { axis: 0, block_size: 2 }, dtype: 'float32', want: [1, 4, 9, 4, 10, 18, 3.5, -2, -0.125] },
  // data movement takes them as any other type (ONNX lists int4/int2 for Transpose, Reshape, Pad, ...)
  { name: 'Transpose int4', op: 'Transpose', inputs: [sub('int4', [2, 3], [-8, -1, 0, 1, 6, 7])], dtype: 'int4', want: [-8, 1, -1, 6, 0, 7] },
  { name: 'Identity uint2', op: 'Identity', inputs: [sub('uint2', [5], [0, 1, 2, 3, 3])], dtype: 'uint2', want: [0, 1, 2, 3, 3] },
];

describe('reference interpreter', () => {
  for (const c of cases) {
    it(c.name, () => {
      const [y] = runGraph(oneNode(c.op, c.inputs, c.attrs), c.inputs) as Tensor[];
      expect(y!.dtype).toBe(c.dtype);
      expect(values(y!)).toEqual(c.want);
    });
  }
});

describe('wasm against the reference', () => {
  for (const c of cases) {
    it(c.name, () => {
      const g = oneNode(c.op, c.inputs, c.attrs);
      const [want] = runGraph(g, c.inputs) as Tensor[];
      for (const optimize of [false, true]) {
        const [got] = runWasm(g, c.inputs, optimize);
        expect(got!.dtype).toBe(want!.dtype);
        expect(values(got!)).toEqual(values(want!));
      }
    });
  }
});

describe('runtime feeds and outputs', () => {
  for (const t of SUB) {
    it(`${t}: fed and read back as a ${t.startsWith('u') ? 'Uint8Array' : 'Int8Array'}, one element per byte`, () => {
      const b = new GraphBuilder('io');
      const x = b.input('x', t, [5]);
      b.output(b.op('Identity', [x]), b.op('Cast', [x], { to: { kind: 'int', value: onnxCode('float32') } }));
      const g = b.build();
      const a = compileWasm(g, { inputShapes: { x: [5] }, embedLimit: Infinity });
      const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest });
      const A = t.startsWith('u') ? Uint8Array : Int8Array;
      const xs = t === 'int4' ? [-8, -1, 0, 3, 7] : t === 'uint4' ? [0, 15, 8, 1, 2] : t === 'int2' ? [-2, -1, 0, 1, 1] : [0, 1, 2, 3, 3];
      const outs = s.runSync({ x: { type: t, dims: [5], data: A.from(xs) } });
      const [id, fl] = g.outputs.map((n) => outs[n]!);
      expect(id!.type).toBe(t);
      expect(id!.data).toBeInstanceOf(A);
      expect(Array.from(id!.data as ArrayLike<number>)).toEqual(xs);
      expect(Array.from(fl!.data as Float32Array)).toEqual(xs);
      // a plain array is checked against the type's range too
      expect(Array.from(s.runSync({ x: { type: t, dims: [5], data: xs } })[g.outputs[0]!]!.data as ArrayLike<number>)).toEqual(xs);
      const bad = t === 'int4' ? 8 : t === 'uint4' ? 16 : t === 'int2' ? -3 : 4;
      const feed = A.from(xs); feed[2] = bad;
      expect(() => s.runSync({ x: { type: t, dims: [5], data: feed } })).toThrow(OnnxcRuntimeError);
      expect(() => s.runSync({ x: { type: t, dims: [5], data: feed } })).toThrow(new RegExp(`data\\[2\\] = ${bad} is not a valid ${t} value`));
      expect(() => s.runSync({ x: { type: t, dims: [5], data: xs.map((v, i) => (i === 1 ? bad : v)) } })).toThrow(/is not a valid/);
      // the other signedness's array is refused as any mislabelled array is
      expect(() => s.runSync({ x: { type: t, dims: [5], data: (t.startsWith('u') ? Int8Array : Uint8Array).from(xs.map(Math.abs)) } })).toThrow(OnnxcRuntimeError);
    });
  }
});
