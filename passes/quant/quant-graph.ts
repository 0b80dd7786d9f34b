// Graph plumbing shared by the quantisation passes: which constant weights a node reads (and along which axes
// they are quantised), exclusions, option parsing, and swapping a float weight for DequantizeLinear of an integer one.

import { UsageError } from '../../ir/errors.js';
import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { freeNames, subgraphsIn } from '../graph-util.js';
import type { PassContext } from '../pass.js';
import type { QuantizedWeight } from './weight-quant.js';

/** A constant float32 weight a node reads, with the axis of its output channels and the axis blocks run along. */
export interface WeightUse {
  readonly node: Node;
  readonly input: number;
  readonly weight: string;
  readonly channelAxis: number;
  readonly blockAxis: number;
}

const constFloat = (g: Graph, name: string | undefined): Tensor | undefined => {
  const t = name ? g.initializers.get(name) : undefined;
  return t && t.dtype === 'float32' && !g.inputs.includes(name!) ? t : undefined;
};

/** The weight `node` reads that quantisation can take: MatMul's and Gemm's 2-D B, Conv's W, Gather's 2-D table. */
export function weightUse(g: Graph, node: Node): WeightUse | undefined {
  // an embedding table: one scale per row (token)
  const table = node.op === 'Gather' ? constFloat(g, node.inputs[0]) : undefined;
  const gAxis = node.attrs['axis']?.kind === 'int' ? node.attrs['axis'].value : 0;
  if (table && table.dims.length === 2 && gAxis === 0) return { node, input: 0, weight: node.inputs[0]!, channelAxis: 0, blockAxis: 1 };
  const w = constFloat(g, node.inputs[1]);
  if (!w) return undefined;
  if (node.op === 'MatMul' && w.dims.length === 2) return { node, input: 1, weight: node.inputs[1]!, channelAxis: 1, blockAxis: 0 };
  if (node.op === 'Gemm' && w.dims.length === 2) {
    const tb = node.attrs['transB']?.kind === 'int' && node.attrs['transB'].value !== 0;
    return { node, input: 1, weight: node.inputs[1]!, channelAxis: tb ? 0 : 1, blockAxis: tb ? 1 : 0 };
  }
  if (node.op === 'Conv' && w.dims.length >= 3) return { node, input: 1, weight: node.inputs[1]!, channelAxis: 0, blockAxis: 1 };
  return undefined;
}

/** `--exclude`: op types or node names, comma-separated (option `quant-exclude`). */
export function excluded(ctx: PassContext): (n: Node) => boolean {
  const list = new Set((ctx.options.get('quant-exclude') ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  return (n) => list.has(n.op) || list.has(n.name);
}

/** An integer option that must be one of `allowed`. */
export function choiceOption<T extends number>(ctx: PassContext, name: string, allowed: readonly T[], dflt: T): T {
  const v = ctx.options.get(name);
  if (v === undefined) return dflt;
  const n = Number(v) as T;
  if (!allowed.includes(n)) throw new UsageError(`option ${name}=${v}: expected one of ${allowed.join(', ')}`);
  return n;
}

/** Uses of each weight, keeping only weights every reader of which is a quantisable use with the same axes. */
export function quantisableWeights(g: Graph, take: (u: WeightUse) => boolean): Map<string, WeightUse[]> {
  const uses = new Map<string, WeightUse[]>();
  const spoiled = new Set<string>(g.outputs);
  for (const n of g.nodes) {
    const u = weightUse(g, n);
    n.inputs.forEach((v, i) => { if (v && g.initializers.has(v) && !(u && i === u.input && take(u))) spoiled.add(v); });
    // a weight a subgraph reads stays as it is
    for (const sub of subgraphsIn(n)) for (const v of freeNames(sub)) spoiled.add(v);
    if (u && take(u)) uses.set(u.weight, [...(uses.get(u.weight) ?? []), u]);
  }
  for (const [w, us] of uses) {
    if (spoiled.has(w) || us.some((u) => u.channelAxis !== us[0]!.channelAxis || u.blockAxis !== us[0]!.blockAxis)) uses.delete(w);
  }
  return uses;
}

/** DequantizeLinear(q, scale) reading the new initializers `<w>_q`, `<w>_scale`, writing `<w>_dq`. */
export function dequantNode(name: string, w: string, qw: QuantizedWeight, fresh: (hint: string) => string): { node: Node; inits: [string, Tensor][]; out: string } {
  const qn = fresh(`${w}_q`), sn = fresh(`${w}_scale`), out = fresh(`${w}_dq`);
  const attrs = withDefaults(getOp('DequantizeLinear')!, {
    axis: { kind: 'int', value: qw.axis }, block_size: { kind: 'int', value: qw.blockSize },
  });
  return { node: { name, op: 'DequantizeLinear', inputs: [qn, sn], outputs: [out], attrs }, inits: [[qn, qw.q], [sn, qw.scale]], out };
}

/** `n` reading `inputs` (and writing `outputs`), every attribute default filled as the importer would. */
export function retarget(n: Node, inputs: readonly string[], outputs: readonly string[] = n.outputs): Node {
  const def = getOp(n.op);
  return { ...n, inputs: [...inputs], outputs: [...outputs], attrs: def ? withDefaults(def, n.attrs) : n.attrs };
}
