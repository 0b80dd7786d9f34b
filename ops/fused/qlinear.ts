// onnxc's integer ops made from QDQ patterns (passes/quant/fuse-qdq-conv.ts): onnxc.QConv is QLinearConv, optionally
// channels-last (X and Y as N,spatial...,C; W stays OIHW), with a quantised clamp [qmin, qmax] (a Relu/Clip before
// the QuantizeLinear); onnxc.QLinearAdd is DequantizeLinear(A) + DequantizeLinear(B) -> QuantizeLinear in float32,
// exactly as the three unfused ops round. Reference: the standard ops' own kernels, layouts only move values.

import { ShapeError } from '../../ir/errors.js';
import { intRange } from '../../ir/dtype.js';
import { makeTensor, getNumber, type Tensor } from '../../ir/tensor.js';
import type { Dim, TensorType } from '../../ir/types.js';
import { attrInt } from '../../ir/graph.js';
import { convAttrs } from '../conv-window.js';
import { quantOps } from '../quant.js';
import { roundHalfEven, saturate } from '../quant-util.js';
import { attr, defineOp, type AnyOpDef, type ImportNode } from '../schema.js';
import { broadcastIndexer, broadcastShapes, expectDType, inType, input, tensorOf } from '../util.js';
import { permuteList, toChannelsFirst, toChannelsLast, transposeTensor } from './permute.js';

const qlinearConv = (): AnyOpDef => quantOps.find((d) => d.op === 'QLinearConv')!;
const permShape = (s: readonly Dim[] | undefined, perm: readonly number[]): readonly Dim[] | undefined => (s === undefined ? s : permuteList(s, perm));

export const qconvAttrs = {
  ...convAttrs,
  /** 0: X, Y are N,C,spatial... (ONNX); 1: N,spatial...,C. */
  channels_last: attr.int(0),
  /** The quantised output is clamped to [qmin, qmax] after saturation (a fused Relu/Clip); the dtype's range when
   *  left at the defaults. */
  qmin: attr.int(-(2 ** 31)),
  qmax: attr.int(2 ** 31 - 1),
};

export const qconvOp = defineOp({
  op: 'onnxc.QConv',
  attrs: qconvAttrs,
  inputs: [8, 9],
  outputs: [1, 1],
  infer(ctx) {
    const a = ctx.attrs;
    if (a.channels_last !== 0 && a.channels_last !== 1) throw new ShapeError(`channels_last must be 0 or 1, got ${a.channels_last}`);
    const x = inType(ctx, 0), rank = x.shape?.length;
    if (rank !== undefined && rank < 3) throw new ShapeError(`X must have rank >= 3, got ${rank}`);
    const cl = a.channels_last === 1 && rank !== undefined;
    const xStd = tensorOf(x.dtype, cl ? permShape(x.shape, toChannelsFirst(rank)) : x.shape);
    const inputs = ctx.inputs.map((t, i) => (i === 0 ? xStd : t));
    const [y] = qlinearConv().infer({ ...ctx, inputs } as never) as TensorType[];
    return [tensorOf(y!.dtype, cl ? permShape(y!.shape, toChannelsLast(rank)) : y!.shape)];
  },
  run(ctx) {
    const a = ctx.attrs, x = input(ctx, 0), rank = x.dims.length, cl = a.channels_last === 1;
    const xStd = cl ? transposeTensor(x, toChannelsFirst(rank)) : x;
    const inputs = ctx.inputs.map((t, i) => (i === 0 ? xStd : t));
    let y = qlinearConv().run({ ...ctx, inputs } as never)[0] as Tensor;
    if (cl) y = transposeTensor(y, toChannelsLast(rank));
    const [lo, hi] = intRange(y.dtype);
    if (a.qmin > lo || a.qmax < hi) {
      const d = y.data as Int8Array | Uint8Array;
      for (let i = 0; i < d.length; i++) d[i] = Math.min(Math.max(d[i]!, a.qmin), a.qmax);
    }
    return [y];
  },
  decompose(node, ctx) {
    const int = (k: string, d: number): number => { const v = node.attrs[k]; return v?.kind === 'int' ? v.value : d; };
    const cl = int('channels_last', 0) === 1;
    const ks = node.attrs['kernel_shape'];
    const rank = ks?.kind === 'ints' ? ks.value.length + 2 : 0;
    if (int('qmin', -(2 ** 31)) > -129 || int('qmax', 2 ** 31 - 1) < 255) return undefined; // no standard form of the clamp
    if (cl && rank < 3) return undefined;
    const out: ImportNode[] = [];
    const fresh = (h: string): string => ctx.freshName(`${node.name}_${h}`);
    const transpose = (x: string, perm: readonly number[], o: string): void => {
      out.push({ name: fresh(`${o}_transpose`), op: 'Transpose', inputs: [x], outputs: [o], attrs: { perm: { kind: 'ints', value: [...perm] } } });
    };
    const plain: ImportNode['attrs'] = {};
    for (const k of Object.keys(convAttrs)) if (node.attrs[k]) plain[k] = node.attrs[k]!;
    let x = node.inputs[0]!;
    if (cl) { const t = fresh('x_nchw'); transpose(x, toChannelsFirst(rank), t); x = t; }
    const y = cl ? fresh('y_nchw') : node.outputs[0]!;
    out.push({ name: fresh('qlinearconv'), op: 'QLinearConv', inputs: [x, ...node.inputs.slice(1)], outputs: [y], attrs: plain });
    if (cl) transpose(y, toChannelsLast(rank), node.outputs[0]!);
    return out;
  },
});

/** A scalar (one element) input's value. */
function scalar(t: Tensor, what: string): number {
  if (t.data.length !== 1) throw new ShapeError(`${what} must be a scalar (per-tensor)`);
  return getNumber(t, 0);
}

export const qlinearAddOp = defineOp({
  op: 'onnxc.QLinearAdd',
  attrs: {},
  inputs: [8, 8],
  outputs: [1, 1],
  infer(ctx) {
    const a = inType(ctx, 0), b = inType(ctx, 3), yz = inType(ctx, 7);
    for (const [t, w] of [[a, 'A'], [b, 'B'], [yz, 'y_zero_point']] as const) expectDType(t, ['int8', 'uint8'], w);
    for (const i of [1, 4, 6]) {
      const s = inType(ctx, i);
      expectDType(s, ['float32'], `input ${i} (scale)`);
      if (s.shape && s.shape.some((d) => d !== 1)) throw new ShapeError(`input ${i} (scale) must be a scalar`);
    }
    if (inType(ctx, 2).dtype !== a.dtype || inType(ctx, 5).dtype !== b.dtype) throw new ShapeError('a zero point must have the type of its data');
    return [tensorOf(yz.dtype, a.shape && b.shape ? broadcastShapes(a.shape, b.shape) : undefined)];
  },
  run(ctx) {
    const a = input(ctx, 0), b = input(ctx, 3), yz = input(ctx, 7);
    const sa = scalar(input(ctx, 1), 'a_scale'), za = scalar(input(ctx, 2), 'a_zero_point');
    const sb = scalar(input(ctx, 4), 'b_scale'), zb = scalar(input(ctx, 5), 'b_zero_point');
    const sy = scalar(input(ctx, 6), 'y_scale'), zy = scalar(yz, 'y_zero_point');
    const dims = broadcastShapes(a.dims, b.dims) as number[];
    const ia = broadcastIndexer(a.dims, dims), ib = broadcastIndexer(b.dims, dims);
    const y = makeTensor(yz.dtype, dims);
    const d = y.data as Int8Array | Uint8Array;
    const f = Math.fround;
    for (let i = 0; i < d.length; i++) {
      // each DequantizeLinear rounds to float32, so does the Add and the QuantizeLinear's division
      const va = f(f(getNumber(a, ia(i)) - za) * sa), vb = f(f(getNumber(b, ib(i)) - zb) * sb);
      d[i] = saturate(roundHalfEven(f(f(va + vb) / sy)) + zy, yz.dtype);
    }
    return [y];
  },
  decompose(node, ctx) {
    const fresh = (h: string): string => ctx.freshName(`${node.name}_${h}`);
    const [a, sa, za, b, sb, zb, sy, zy] = node.inputs as string[];
    const fa = fresh('a'), fb = fresh('b'), s = fresh('sum');
    const dq = { axis: attrInt(1), block_size: attrInt(0), output_dtype: attrInt(0) };
    return [
      { name: fresh('dq_a'), op: 'DequantizeLinear', inputs: [a!, sa!, za!], outputs: [fa], attrs: dq },
      { name: fresh('dq_b'), op: 'DequantizeLinear', inputs: [b!, sb!, zb!], outputs: [fb], attrs: dq },
      { name: fresh('add'), op: 'Add', inputs: [fa, fb], outputs: [s], attrs: {} },
      { name: fresh('q'), op: 'QuantizeLinear', inputs: [s, sy!, zy!], outputs: [node.outputs[0]!], attrs: { ...dq, precision: attrInt(0), saturate: attrInt(1) } },
    ];
  },
  traits: { elementwise: true },
});

export const qlinearOps: AnyOpDef[] = [qconvOp as unknown as AnyOpDef, qlinearAddOp as unknown as AnyOpDef];
