// The ops the layout pass turns channels-last: convolutions always (they are why a net goes NHWC: the backend's
// kernels want it), and per-channel ops (pooling, normalisation) when their input is channels-last already.

import type { Attr, Node } from '../../ir/graph.js';
import type { TensorType } from '../../ir/types.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { channelsLastName } from '../../ops/layout/index.js';

export interface SeedFacts {
  type(name: string): TensorType | undefined;
  /** Whether the target backend has the op (ctx.supportedOps). */
  supported(op: string): boolean;
  /** Whether a value is read by anything (a node, a subgraph, the graph outputs). */
  used(name: string): boolean;
}

export interface ChannelsLastForm {
  readonly node: Node;
  /** Inputs that must be channels-last (the others keep their layout). */
  readonly dataInputs: readonly number[];
  /** True for convolutions: converted whatever their input's layout. */
  readonly seed: boolean;
}

const FUSED_CONV = 'onnxc.FusedConv';
const CONV_ATTRS = ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'];
const CHANNEL_OPS = new Set(['MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool',
  'BatchNormalization', 'InstanceNormalization', 'LRN', 'ConvTranspose', 'onnxc.FusedConvTranspose']);
/** Channels-last seeds among them: converted whatever their input's layout, like Conv. */
const SEEDS = new Set(['ConvTranspose', 'onnxc.FusedConvTranspose']);

const extraOutputsUnused = (node: Node, f: SeedFacts): boolean => node.outputs.slice(1).every((o) => o === '' || !f.used(o));

/** The channels-last form of a node, or undefined when it has none (or the backend lacks it). */
export function channelsLastForm(node: Node, f: SeedFacts): ChannelsLastForm | undefined {
  const x = f.type(node.inputs[0] ?? '');
  const rank = x?.shape?.length;
  if (rank === undefined || rank < 3) return undefined;
  if (node.op === 'Conv' && f.supported(FUSED_CONV)) {
    const w = f.type(node.inputs[1] ?? '')?.shape;
    const attrs: Record<string, Attr> = {};
    for (const k of CONV_ATTRS) if (node.attrs[k] !== undefined) attrs[k] = node.attrs[k]!;
    // FusedConv's export needs the kernel shape without types; Conv may leave it to W's shape.
    const ks = attrs['kernel_shape'];
    if (ks?.kind !== 'ints' || ks.value.length === 0) {
      if (!w || w.slice(2).some((d) => typeof d !== 'number')) return undefined;
      attrs['kernel_shape'] = { kind: 'ints', value: w.slice(2) as number[] };
    }
    attrs['channels_last'] = { kind: 'int', value: 1 };
    const node2: Node = { ...node, op: FUSED_CONV, attrs: withDefaults(getOp(FUSED_CONV)!, attrs) };
    return { node: node2, dataInputs: [0], seed: true };
  }
  if (node.op === FUSED_CONV) {
    const cl = node.attrs['channels_last'];
    if (cl?.kind === 'int' && cl.value === 1) return undefined;
    const attrs = { ...node.attrs, channels_last: { kind: 'int', value: 1 } as Attr };
    return { node: { ...node, attrs }, dataInputs: node.inputs[3] ? [0, 3] : [0], seed: true };
  }
  if (node.op === 'onnxc.QConv' && rank === 4) {
    // the integer conv's SIMD paths are channels-last (backends/wasm/kernels/conv-int8-simd.ts)
    const cl = node.attrs['channels_last'];
    if (cl?.kind === 'int' && cl.value === 1) return undefined;
    return { node: { ...node, attrs: { ...node.attrs, channels_last: { kind: 'int', value: 1 } } }, dataInputs: [0], seed: true };
  }
  if (CHANNEL_OPS.has(node.op)) {
    const op = channelsLastName(node.op);
    if (!f.supported(op) || !extraOutputsUnused(node, f)) return undefined;
    const tm = node.attrs['training_mode'];
    if (tm?.kind === 'int' && tm.value !== 0) return undefined;
    const attrs = { ...node.attrs, rank: { kind: 'int', value: rank } as Attr };
    // FusedConvTranspose's residual Z is shaped as Y: channels-last too
    const dataInputs = node.op === 'onnxc.FusedConvTranspose' && (node.inputs[3] ?? '') !== '' ? [0, 3] : [0];
    return { node: { ...node, op, attrs, outputs: node.outputs.slice(0, 1) }, dataInputs, seed: SEEDS.has(node.op) };
  }
  return undefined;
}
