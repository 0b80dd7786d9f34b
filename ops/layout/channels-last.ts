// Channels-last forms of ONNX's channels-first ops that ONNX lacks (onnxc.NhwcMaxPool, ...): the same op and
// attributes, with input 0 and output 0 stored as N,spatial...,C. Made by passes/layout; a backend implements
// them natively, the reference and the exporter by Transpose -> standard op -> Transpose (values only move).

import type { Node } from '../../ir/graph.js';
import { ShapeError } from '../../ir/errors.js';
import type { TensorType, ValueType } from '../../ir/types.js';
import { isTensor, type RuntimeValue } from '../../ir/value.js';
import { convOps } from '../conv.js';
import { fusedConvTransposeOps } from '../fused/conv-transpose.js';
import { permuteList, toChannelsFirst, toChannelsLast, transposeTensor } from '../fused/permute.js';
import { normalizationOps } from '../normalization.js';
import { poolOps } from '../pool.js';
import { attr, type AnyOpDef, type ImportNode, type InferContext, type RunContext } from '../schema.js';

/** The onnxc op name of the channels-last form of a standard op (or of an onnxc one: onnxc.NhwcFusedConvTranspose). */
export const channelsLastName = (op: string): string => `onnxc.Nhwc${op.replace(/^onnxc\./, '')}`;

/** Ops that have a channels-last form, with where they come from, and their inputs stored channels-last besides X
 *  (FusedConvTranspose's residual Z, shaped as Y). */
const BASES: readonly [readonly AnyOpDef[], string, number[]?][] = [
  [poolOps, 'MaxPool'], [poolOps, 'AveragePool'], [poolOps, 'LpPool'],
  [poolOps, 'GlobalAveragePool'], [poolOps, 'GlobalMaxPool'], [poolOps, 'GlobalLpPool'],
  [normalizationOps, 'BatchNormalization'], [normalizationOps, 'InstanceNormalization'], [normalizationOps, 'LRN'],
  [convOps, 'ConvTranspose'], [fusedConvTransposeOps, 'onnxc.FusedConvTranspose', [3]],
];

const permType = (t: ValueType | undefined, perm: (rank: number) => number[]): ValueType | undefined =>
  t?.kind === 'tensor' && t.shape !== undefined ? { ...t, shape: permuteList(t.shape, perm(t.shape.length)) } as TensorType : t;

const permValue = (v: RuntimeValue | undefined, perm: (rank: number) => number[]): RuntimeValue | undefined =>
  v !== undefined && isTensor(v) ? transposeTensor(v, perm(v.dims.length)) : v;

/** The channels-last form of `base`: input 0 (and the inputs `more`) and output 0 permuted, everything else as
 *  `base`. */
export function channelsLastOp(base: AnyOpDef, more: readonly number[] = []): AnyOpDef {
  const permuted = (i: number): boolean => i === 0 || more.includes(i);
  return {
    op: channelsLastName(base.op),
    // `rank`: the rank of X and Y, so the exporter knows the transposes without types.
    attrs: { ...base.attrs, rank: attr.int(4) },
    inputs: base.inputs,
    // Only output 0 has a layout (MaxPool's Indices and BatchNormalization's training outputs do not fit).
    outputs: [base.outputs[0], 1],
    infer(ctx) {
      const inputs = ctx.inputs.map((t, i) => (permuted(i) ? permType(t, toChannelsFirst) : t));
      const inner: InferContext<typeof ctx.attrs> = {
        ...ctx, inputs,
        constant: (i) => { const c = ctx.constant(i); return permuted(i) && c ? transposeTensor(c, toChannelsFirst(c.dims.length)) : c; },
        shapeValue: (i) => (permuted(i) ? undefined : ctx.shapeValue(i)),
      };
      return base.infer(inner).map((t, i) => (i === 0 ? permType(t, toChannelsLast)! : t));
    },
    run(ctx) {
      const inputs = ctx.inputs.map((v, i) => (permuted(i) ? permValue(v, toChannelsFirst) : v));
      const outputTypes = ctx.outputTypes.map((t, i) => (i === 0 ? permType(t, toChannelsFirst) : t));
      const inner: RunContext<typeof ctx.attrs> = { ...ctx, inputs, outputTypes };
      return base.run(inner).slice(0, ctx.numOutputs).map((v, i) => (i === 0 ? permValue(v, toChannelsLast)! : v));
    },
    decompose(node: Node, ctx): ImportNode[] {
      const rank = rankOf(node);
      const fresh = (h: string): string => ctx.freshName(`${node.name}_${h}`);
      const xt = fresh('nchw');
      const yt = fresh('y_nchw');
      const perm = (p: number[]): ImportNode['attrs'] => ({ perm: { kind: 'ints', value: p } });
      const extra = more.filter((i) => (node.inputs[i] ?? '') !== '').map((i) => ({ i, name: fresh(`in${i}_nchw`) }));
      const inputs = node.inputs.map((x, i) => (i === 0 ? xt : extra.find((e) => e.i === i)?.name ?? x));
      const inner: ImportNode = { name: node.name, op: base.op, inputs, outputs: [yt], attrs: withoutRank(node.attrs) };
      // an onnxc base (FusedConvTranspose) is no ONNX op either: its own decomposition, in the same round
      const core = base.op.startsWith('onnxc.') && base.decompose ? base.decompose(inner as Node, ctx) : undefined;
      return [
        { name: fresh('to_nchw'), op: 'Transpose', inputs: [node.inputs[0]!], outputs: [xt], attrs: perm(toChannelsFirst(rank)) },
        ...extra.map(({ i, name }) => ({ name: fresh(`in${i}_to_nchw`), op: 'Transpose', inputs: [node.inputs[i]!], outputs: [name], attrs: perm(toChannelsFirst(rank)) })),
        ...(core ?? [inner]),
        { name: fresh('to_nhwc'), op: 'Transpose', inputs: [yt], outputs: [node.outputs[0]!], attrs: perm(toChannelsLast(rank)) },
      ];
    },
  };
}

/** Nodes record no types, so the op carries its tensor rank (attribute `rank`) for the exporter's transposes. */
function rankOf(node: Node): number {
  const r = node.attrs['rank'];
  if (r?.kind === 'int' && r.value >= 3) return r.value;
  throw new ShapeError(`${node.op} needs its attribute rank (>= 3) to be exported`, { node: node.name, op: node.op });
}

function withoutRank(attrs: Node['attrs']): ImportNode['attrs'] {
  const { rank: _rank, ...rest } = attrs;
  return { ...rest };
}

export const channelsLastOps: AnyOpDef[] = BASES.map(([list, name, more]) => {
  const def = list.find((d) => d.op === name);
  if (!def) throw new Error(`channels-last: no base op ${name}`);
  return channelsLastOp(def, more);
});
