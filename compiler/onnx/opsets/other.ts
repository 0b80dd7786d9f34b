// Opset rewrites of the remaining families: Gemm-6's broadcast flag, LpPool-1's float p, Reduce* axes before they
// became an input, Upsample (imported as Resize), Resize-10, GridSample-16's mode names, RoiAlign before 16,
// the recurrent ops' output_sequence, DFT's axis attribute and Scan-8.

import { ShapeError } from '../../../ir/errors.js';
import type { Attr } from '../../../ir/graph.js';
import { fromValues } from '../../../ir/tensor.js';
import type { ImportNode } from '../../../ops/schema.js';
import { upsampleNearestMode } from '../../../ops/resize.js';
import type { OpsetRewrite } from './common.js';
import { scanFromOpset8 } from './scan8.js';

/** LpPool/GlobalLpPool before opset 2 took p as a float. */
const floatP: OpsetRewrite = (node) => {
  const p = node.attrs['p'];
  if (p?.kind === 'float') {
    if (!Number.isInteger(p.value)) throw new ShapeError(`p must be an integer, got ${p.value}`);
    node.attrs['p'] = { kind: 'int', value: p.value } satisfies Attr;
  }
  return [node];
};

/** Older opsets (before 18; ReduceSum before 13) take `axes` as an attribute: move it to an input. */
const axesBefore = (since: number): OpsetRewrite => (node, ctx) => {
  if (ctx.opset >= since) return [node];
  const { axes, ...attrs } = node.attrs;
  if (axes === undefined) return [{ ...node, attrs }];
  if (axes.kind !== 'ints' && axes.kind !== 'int') throw new ShapeError(`axes attribute must be ints, got ${axes.kind}`);
  const values = axes.kind === 'ints' ? axes.value : [axes.value];
  const name = ctx.constant(fromValues('int64', [values.length], values.map((v) => BigInt(v))), `${node.name}_axes`);
  return [{ ...node, inputs: [node.inputs[0] ?? '', name], attrs }];
};

const REDUCE_AXES_INPUT_SINCE: Readonly<Record<string, number>> = {
  ReduceL1: 18, ReduceL2: 18, ReduceLogSum: 18, ReduceLogSumExp: 18, ReduceMax: 18, ReduceMean: 18, ReduceMin: 18,
  ReduceProd: 18, ReduceSum: 13, ReduceSumSquare: 18,
};

function upsampleMode(node: ImportNode): string {
  const m = node.attrs['mode'];
  const mode = m?.kind === 'string' ? m.value : 'nearest';
  return mode === 'bilinear' ? 'linear' : mode;
}

/** Upsample (deprecated since opset 10) becomes Resize with Upsample's asymmetric coordinates and nearest rule. */
const upsample: OpsetRewrite = (node, ctx) => {
  const a = node.attrs;
  let scalesName = node.inputs[1];
  let scales: number[] | undefined;
  const sc = a['scales'];
  const hs = a['height_scale']; const ws = a['width_scale'];
  if (sc?.kind === 'floats') scales = [...sc.value];
  else if (hs?.kind === 'float' || ws?.kind === 'float') {
    scales = [1, 1, hs?.kind === 'float' ? hs.value : 1, ws?.kind === 'float' ? ws.value : 1];
  }
  if (scales) scalesName = ctx.constant(fromValues('float32', [scales.length], scales), `${node.name}_scales`);
  if (scalesName === undefined || scalesName === '') throw new ShapeError(`Upsample needs scales`);
  return [{
    name: node.name, op: 'Resize', inputs: [node.inputs[0]!, '', scalesName], outputs: node.outputs,
    attrs: {
      mode: { kind: 'string', value: upsampleMode(node) },
      coordinate_transformation_mode: { kind: 'string', value: 'asymmetric' },
      nearest_mode: { kind: 'string', value: upsampleNearestMode(scales) },
    },
  }];
};

/** Before opset 20 DFT's `axis` was an attribute (default 1). */
const dft: OpsetRewrite = (node, ctx) => {
  if (ctx.opset >= 20) return [node];
  const { axis, ...attrs } = node.attrs;
  const a = axis === undefined ? 1 : axis.kind === 'int' ? axis.value : NaN;
  if (Number.isNaN(a)) throw new ShapeError('DFT axis attribute must be an int');
  const axisName = ctx.constant(fromValues('int64', [], [BigInt(a)]), `${node.name}_axis`);
  return [{ ...node, inputs: [node.inputs[0] ?? '', node.inputs[1] ?? '', axisName], attrs }];
};

/** RNN/GRU/LSTM before opset 7 had `output_sequence`; the Y output being used says the same. */
const dropOutputSequence: OpsetRewrite = (node) => {
  const attrs = { ...node.attrs };
  delete attrs['output_sequence'];
  return [{ ...node, attrs }];
};

export const otherRewrites: Readonly<Record<string, OpsetRewrite>> = {
  ...Object.fromEntries(Object.entries(REDUCE_AXES_INPUT_SINCE).map(([op, since]) => [op, axesBefore(since)])),
  LpPool: floatP,
  GlobalLpPool: floatP,
  Upsample: upsample,
  DFT: dft,
  RNN: dropOutputSequence,
  GRU: dropOutputSequence,
  LSTM: dropOutputSequence,
  Scan: scanFromOpset8,
  Gemm(node, ctx) {
    if (ctx.opset >= 7) return [node];
    // `broadcast` only said whether C may broadcast; the current form always allows it.
    const { broadcast: _b, ...attrs } = node.attrs;
    return [{ ...node, attrs }];
  },
  Resize(node, ctx) {
    // Resize-10 had inputs (X, scales) and, as Upsample, mapped coordinates asymmetrically.
    if (ctx.opset < 11 && node.inputs.length === 2) {
      node.inputs = [node.inputs[0]!, '', node.inputs[1]!];
      node.attrs['coordinate_transformation_mode'] = { kind: 'string', value: 'asymmetric' };
      node.attrs['nearest_mode'] = { kind: 'string', value: 'floor' };
    }
    return [node];
  },
  GridSample(node) {
    // Opset 16 spelled linear and cubic as bilinear and bicubic.
    const m = node.attrs['mode'];
    if (m?.kind === 'string' && (m.value === 'bilinear' || m.value === 'bicubic')) {
      node.attrs['mode'] = { kind: 'string', value: m.value === 'bilinear' ? 'linear' : 'cubic' };
    }
    return [node];
  },
  RoiAlign(node, ctx) {
    // Before opset 16 RoiAlign had no coordinate_transformation_mode and did not shift by half a pixel.
    if (ctx.opset < 16 && node.attrs['coordinate_transformation_mode'] === undefined) {
      node.attrs['coordinate_transformation_mode'] = { kind: 'string', value: 'output_half_pixel' };
    }
    return [node];
  },
};
