// onnxc.FusedConv: Conv (bias accumulated as Conv does) + optional residual input Z + an activation epilogue,
// optionally channels-last (X, Z and Y as N,spatial...,C) with weights in a recorded layout (`weight_layout`,
// e.g. 'OHWI', as a backend wants them pre-packed). Reference: exactly Conv -> Add(Z) -> activation, each rounding
// to the element type where the unfused ops do; layouts only move values.

import { ShapeError } from '../../ir/errors.js';
import type { Tensor } from '../../ir/tensor.js';
import type { Dim, TensorType } from '../../ir/types.js';
import { attr, defineOp, type AnyOpDef, type ImportNode } from '../schema.js';
import { broadcastShapes, inType, input, optInType, optInput, tensorOf } from '../util.js';
import { conv, convOp } from '../conv.js';
import { convAttrs } from '../conv-window.js';
import { mapBinary } from '../elementwise-kernel.js';
import { activationNodes, applyActivation, parseActivation } from './activation.js';
import { layoutToStandard, permuteList, toChannelsFirst, toChannelsLast, transposeTensor } from './permute.js';

export const fusedConvAttrs = {
  ...convAttrs,
  /** '' (none) or one of ACTIVATIONS in ./activation.ts. */
  activation: attr.string(''),
  /** LeakyRelu [alpha], Clip [min, max], HardSigmoid [alpha, beta]; [] for the others. */
  activation_params: attr.floats([]),
  /** 0: X, Z, Y are N,C,spatial... (ONNX); 1: N,spatial...,C. */
  channels_last: attr.int(0),
  /** Letters of W's axes: '' or 'OIHW' is ONNX's order; 'OHWI', 'HWIO', ... (D/H/W name the spatial axes). */
  weight_layout: attr.string(''),
};

const permShape = (s: readonly Dim[] | undefined, perm: readonly number[] | undefined): readonly Dim[] | undefined =>
  s === undefined || perm === undefined ? s : permuteList(s, perm);

export const fusedConvOp = defineOp({
  op: 'onnxc.FusedConv',
  attrs: fusedConvAttrs,
  inputs: [2, 4],
  outputs: [1, 1],
  infer(ctx) {
    const a = ctx.attrs;
    parseActivation(a.activation, a.activation_params);
    if (a.channels_last !== 0 && a.channels_last !== 1) throw new ShapeError(`channels_last must be 0 or 1, got ${a.channels_last}`);
    const x = inType(ctx, 0);
    const w = inType(ctx, 1);
    const rank = x.shape?.length ?? w.shape?.length;
    if (rank !== undefined && rank < 3) throw new ShapeError(`X must have rank >= 3, got ${rank}`);
    const cl = a.channels_last === 1 && rank !== undefined;
    const wPerm = rank === undefined ? undefined : layoutToStandard(a.weight_layout, rank);
    const xStd = tensorOf(x.dtype, permShape(x.shape, cl ? toChannelsFirst(rank) : undefined));
    const wStd = tensorOf(w.dtype, permShape(w.shape, wPerm));
    const [y] = convOp.infer({ ...ctx, inputs: [xStd, wStd, ctx.inputs[2]] } as unknown as Parameters<typeof convOp.infer>[0]);
    const yt = y as TensorType;
    const out = tensorOf(yt.dtype, permShape(yt.shape, cl ? toChannelsLast(rank) : undefined));
    const z = optInType(ctx, 3);
    if (z) {
      if (z.dtype !== x.dtype) throw new ShapeError(`Z has element type ${z.dtype}; X has ${x.dtype}`);
      if (z.shape && out.shape && broadcastShapes(out.shape, z.shape).length !== out.shape.length) {
        throw new ShapeError(`Z [${z.shape.join(',')}] does not broadcast into Y [${out.shape.join(',')}]`);
      }
      // Z must not enlarge Y; a Z that broadcasts Y up is not a residual of this conv.
      if (z.shape && out.shape) {
        const b = broadcastShapes(out.shape, z.shape);
        if (b.some((d, i) => typeof d === 'number' && typeof out.shape![i] === 'number' && d !== out.shape![i])) {
          throw new ShapeError(`Z [${z.shape.join(',')}] would enlarge Y [${out.shape.join(',')}]`);
        }
      }
    }
    return [out];
  },
  run(ctx) {
    const a = ctx.attrs;
    const act = parseActivation(a.activation, a.activation_params);
    const x = input(ctx, 0);
    const w = input(ctx, 1);
    const rank = x.dims.length;
    const cl = a.channels_last === 1;
    const xStd = cl ? transposeTensor(x, toChannelsFirst(rank)) : x;
    const wStd = transposeTensor(w, layoutToStandard(a.weight_layout, w.dims.length));
    let y: Tensor = conv(xStd, wStd, optInput(ctx, 2), a);
    if (cl) y = transposeTensor(y, toChannelsLast(rank));
    const z = optInput(ctx, 3);
    if (z) y = mapBinary(y, z, y.dtype, (p, q) => (p as number) + (q as number));
    return [applyActivation(y, act, a.activation_params)];
  },
  decompose(node, ctx) {
    const attrs = node.attrs;
    const str = (k: string): string => { const v = attrs[k]; return v?.kind === 'string' ? v.value : ''; };
    const int = (k: string): number => { const v = attrs[k]; return v?.kind === 'int' ? v.value : 0; };
    const floats = (k: string): readonly number[] => { const v = attrs[k]; return v?.kind === 'floats' ? v.value : []; };
    const act = parseActivation(str('activation'), floats('activation_params'));
    const cl = int('channels_last') === 1;
    const layout = str('weight_layout');
    const out: ImportNode[] = [];
    const fresh = (h: string): string => ctx.freshName(`${node.name}_${h}`);
    const transpose = (x: string, perm: readonly number[], h: string): string => {
      const o = fresh(h);
      out.push({ name: fresh(`${h}_node`), op: 'Transpose', inputs: [x], outputs: [o], attrs: { perm: { kind: 'ints', value: [...perm] } } });
      return o;
    };
    // The node records no types: the rank comes from the layout's letters, else from kernel_shape.
    const ks = attrs['kernel_shape'];
    const rank = layout !== '' ? layout.length : ks?.kind === 'ints' ? ks.value.length + 2 : 0;
    let x = node.inputs[0]!;
    let w = node.inputs[1]!;
    if (cl) {
      if (rank < 3) throw new ShapeError('a channels-last FusedConv needs weight_layout or kernel_shape to export', { node: node.name, op: node.op });
      x = transpose(x, toChannelsFirst(rank), 'x_nchw');
    }
    if (layout !== '') w = transpose(w, layoutToStandard(layout, rank), 'w_oihw');
    const plain: ImportNode['attrs'] = {};
    for (const k of Object.keys(convAttrs)) if (attrs[k]) plain[k] = attrs[k]!;
    let y = fresh('conv');
    out.push({ name: fresh('conv_node'), op: 'Conv', inputs: [x, w, ...(node.inputs[2] ? [node.inputs[2]] : [])], outputs: [y], attrs: plain });
    if (cl) y = transpose(y, toChannelsLast(rank), 'y_nhwc');
    const z = node.inputs[3];
    if (z) {
      const s = fresh('residual');
      out.push({ name: fresh('residual_node'), op: 'Add', inputs: [y, z], outputs: [s], attrs: {} });
      y = s;
    }
    out.push(...activationNodes(act, floats('activation_params'), y, node.outputs[0]!, node.name, ctx));
    return out;
  },
});

export const fusedConvOps: AnyOpDef[] = [fusedConvOp as unknown as AnyOpDef];
