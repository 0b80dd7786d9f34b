// Opset rewrites of the normalization family: BatchNormalization before 14 (is_test, spatial, training chosen
// by the outputs used), InstanceNormalization's consumed_inputs, Dropout before 12, GroupNormalization's
// per-group scale and bias before 21, and the 2-D Softmax/LogSoftmax/Hardmax before 13.

import { ShapeError, UnsupportedOpError } from '../../../ir/errors.js';
import type { Attr } from '../../../ir/graph.js';
import { attrInt } from '../../../ir/graph.js';
import { fromValues } from '../../../ir/tensor.js';
import type { ImportNode } from '../../../ops/schema.js';
import type { OpsetRewrite } from './common.js';

function attrNum(a: Attr | undefined, dflt: number): number {
  return a !== undefined && (a.kind === 'int' || a.kind === 'float') ? a.value : dflt;
}

/** Opsets before 14: drop consumed_inputs/is_test/spatial, choose training mode from the outputs used,
 *  and spell out spatial=0 (per-activation statistics, inference only) as elementwise ops. */
const batchNorm: OpsetRewrite = (node, ctx) => {
  if (ctx.opset >= 14) return [node];
  const { consumed_inputs: _c, is_test: _t, spatial, ...attrs } = node.attrs;
  const extra = node.outputs.slice(1).filter((o) => o !== '');
  if (node.outputs.slice(3).some((o) => o !== '')) {
    throw new UnsupportedOpError('BatchNormalization saved_mean/saved_var outputs (opset < 14 training) are not supported');
  }
  if (attrNum(spatial, 1) !== 0 || ctx.opset >= 9) {
    if (extra.length === 0) return [{ ...node, outputs: node.outputs.slice(0, 1), attrs }];
    return [{ ...node, outputs: node.outputs.slice(0, 3), attrs: { ...attrs, training_mode: attrInt(1) } }];
  }
  if (extra.length > 0) throw new UnsupportedOpError('BatchNormalization with spatial=0 in training mode is not supported');
  const [x, scale, b, mean, variance] = node.inputs;
  const eps = ctx.constant(fromValues('float32', [], [attrNum(attrs.epsilon, 1e-5)]), `${node.name}_eps`);
  const t = (h: string): string => ctx.freshName(`${node.name}_${h}`);
  const names = { epsT: t('eps'), v: t('var_eps'), sd: t('std'), c: t('centered'), n: t('normed'), s: t('scaled') };
  const mk = (op: string, inputs: string[], out: string): ImportNode => ({ name: t(op), op, inputs, outputs: [out], attrs: {} });
  return [
    mk('CastLike', [eps, variance ?? ''], names.epsT),
    mk('Add', [variance ?? '', names.epsT], names.v),
    mk('Sqrt', [names.v], names.sd),
    mk('Sub', [x ?? '', mean ?? ''], names.c),
    mk('Div', [names.c, names.sd], names.n),
    mk('Mul', [names.n, scale ?? ''], names.s),
    mk('Add', [names.s, b ?? ''], node.outputs[0] ?? ''),
  ];
};

const instanceNorm: OpsetRewrite = (node, ctx) => {
  if (ctx.opset >= 6) return [node];
  const { consumed_inputs: _c, ...attrs } = node.attrs;
  return [{ ...node, attrs }];
};

/** Before opset 12 `ratio` was an attribute (and before 7 `is_test`/consumed_inputs existed); before 10 the
 *  mask had the data's element type. Old Dropout never trains: ORT and the ONNX reference run it as identity. */
const dropout: OpsetRewrite = (node, ctx) => {
  if (ctx.opset >= 12) return [node];
  const { ratio, is_test: _t, consumed_inputs: _c, ...attrs } = node.attrs;
  const inputs = [node.inputs[0] ?? ''];
  if (ratio !== undefined) {
    if (ratio.kind !== 'float') throw new ShapeError(`ratio attribute must be a float, got ${ratio.kind}`);
    inputs.push(ctx.constant(fromValues('float32', [], [ratio.value]), `${node.name}_ratio`));
  }
  const mask = node.outputs[1];
  if (ctx.opset >= 10 || mask === undefined || mask === '') return [{ ...node, inputs, attrs, outputs: node.outputs.slice(0, 2) }];
  const boolMask = ctx.freshName(`${node.name}_mask`);
  return [
    { ...node, inputs, attrs, outputs: [node.outputs[0] ?? '', boolMask] },
    { name: ctx.freshName(`${node.name}_CastLike`), op: 'CastLike', inputs: [boolMask, inputs[0]!], outputs: [mask], attrs: {} },
  ];
};

/** Opsets 18-20 took scale and bias per group ([num_groups]); 21 takes them per channel. Repeat each group's
 *  value C/num_groups times: Reshape(Expand(Unsqueeze(p, [1]), [1, C/G]), [-1]). */
const groupNorm: OpsetRewrite = (node, ctx) => {
  if (ctx.opset >= 21) return [node];
  const g = node.attrs.num_groups;
  if (g === undefined || g.kind !== 'int') throw new ShapeError('GroupNormalization needs an int num_groups attribute');
  const t = (h: string): string => ctx.freshName(`${node.name}_${h}`);
  const i64 = (vals: number[], h: string): string => ctx.constant(fromValues('int64', [vals.length], vals.map(BigInt)), `${node.name}_${h}`);
  const mk = (op: string, inputs: string[], out: string, attrs: ImportNode['attrs'] = {}): ImportNode => ({ name: t(op), op, inputs, outputs: [out], attrs });
  const [x, scale, bias] = node.inputs as [string, string, string];
  const c = t('C'); const per = t('per_group'); const shape = t('expand_shape');
  const one = i64([1], 'one'); const minusOne = i64([-1], 'flat');
  const nodes: ImportNode[] = [
    mk('Shape', [x], c, { start: attrInt(1), end: attrInt(2) }),
    mk('Div', [c, i64([g.value], 'groups')], per),
    mk('Concat', [one, per], shape, { axis: attrInt(0) }),
  ];
  const perChannel = (p: string, h: string): string => {
    const u = t(`${h}_g1`); const e = t(`${h}_gc`); const r = t(`${h}_c`);
    nodes.push(mk('Unsqueeze', [p, one], u), mk('Expand', [u, shape], e), mk('Reshape', [e, minusOne], r));
    return r;
  };
  const s = perChannel(scale, 'scale'); const b = perChannel(bias, 'bias');
  nodes.push({ ...node, inputs: [x, s, b] });
  return nodes;
};

/** Before opset 13 Softmax, LogSoftmax and Hardmax flattened their input to [prod(dims[:axis]),
 *  prod(dims[axis:])] (axis default 1): spelled out as Shape -> Flatten -> op -> Reshape. */
const softmax2d: OpsetRewrite = (node, ctx) => {
  if (ctx.opset >= 13) return [node];
  const a = node.attrs.axis;
  const axis = a === undefined ? 1 : a.kind === 'int' ? a.value : NaN;
  if (Number.isNaN(axis)) throw new ShapeError(`axis attribute must be an int`);
  const x = node.inputs[0] ?? '';
  const y = node.outputs[0] ?? '';
  const shape = ctx.freshName(`${node.name}_shape`);
  const flat = ctx.freshName(`${node.name}_flat`);
  const res = ctx.freshName(`${node.name}_2d`);
  return [
    { name: ctx.freshName(`${node.name}_Shape`), op: 'Shape', inputs: [x], outputs: [shape], attrs: {} },
    { name: ctx.freshName(`${node.name}_Flatten`), op: 'Flatten', inputs: [x], outputs: [flat], attrs: { axis: attrInt(axis) } },
    { ...node, inputs: [flat], outputs: [res], attrs: { axis: attrInt(1) } },
    { name: ctx.freshName(`${node.name}_Reshape`), op: 'Reshape', inputs: [res, shape], outputs: [y], attrs: { allowzero: attrInt(1) } },
  ];
};

export const normalizationRewrites: Readonly<Record<string, OpsetRewrite>> = {
  BatchNormalization: batchNorm,
  InstanceNormalization: instanceNorm,
  Dropout: dropout,
  GroupNormalization: groupNorm,
  Softmax: softmax2d,
  LogSoftmax: softmax2d,
  Hardmax: softmax2d,
};
