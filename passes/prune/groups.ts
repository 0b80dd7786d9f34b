// The channel-dependency graph of structured pruning: which output channels of which layers can be removed
// together. A "space" is a set of channels that must stay aligned: a layer's output channels, merged (union-find)
// with every other space a residual Add/Mul or a Concat along another axis ties it to. Each float value that carries
// channels has a layout: the spaces its channel axis is made of, in order (a Concat along the channel axis
// concatenates layouts). A value read by anything this file does not understand blocks its spaces: they are then
// left whole, so a pruned graph never has a broken shape.

import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { hasSubgraphs, namesRead } from '../graph-util.js';

export interface Segment { readonly space: number; readonly size: number }
/** Where a value's channels are (`axis`) and which spaces they come from, in order. */
export interface Layout {
  readonly axis: number;
  readonly rank: number;
  readonly segments: readonly Segment[];
  /** Elements per channel along the axis (a Flatten of [N, C, H, W] holds C blocks of H*W); undefined: 1. Only
   *  a dense layer may read such a value (its input columns go by blocks). */
  readonly inner?: number;
}

/** A layer whose output channels define a space: Conv/ConvTranspose (group 1), Gemm, MatMul with a constant weight. */
export interface Producer { readonly node: Node; readonly space: number }

export interface Space {
  readonly id: number;
  readonly size: number;
  /** Stable name: the first producer's node name. */
  readonly name: string;
  readonly producers: readonly Node[];
  /** Why the space cannot be pruned (undefined: prunable). */
  readonly blocked?: string;
}

export interface ChannelGraph {
  /** Canonical spaces (union-find roots), in order of their first producer. */
  readonly spaces: readonly Space[];
  /** Layout of every channel-carrying value, in canonical space ids. */
  readonly layouts: ReadonlyMap<string, Layout>;
  /** Dense layers that read a channel-carrying value on input 0 (their input channels follow the layout). */
  readonly consumers: readonly Node[];
}

const UNARY = new Set(['Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Celu',
  'Softplus', 'Softsign', 'Gelu', 'Mish', 'Identity', 'Dropout', 'Abs', 'Neg', 'Exp', 'Erf', 'Sqrt', 'Floor', 'Ceil', 'Round']);
const POOL = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum']);
/** Constant inputs read per channel (sliced with the channels) by op; other inputs must be constants that are not. */
const CHANNEL_PARAMS: Record<string, readonly number[]> = { BatchNormalization: [1, 2, 3, 4], InstanceNormalization: [1, 2], PRelu: [1] };

const intAttr = (n: Node, k: string, d: number): number => { const a = n.attrs[k]; return a?.kind === 'int' ? a.value : d; };
export const constOf = (g: Graph, name: string | undefined): Tensor | undefined =>
  name && !g.inputs.includes(name) ? g.initializers.get(name) : undefined;
const rankOf = (g: Graph, v: string): number | undefined => { const t = g.types.get(v); return t?.kind === 'tensor' ? t.shape?.length : undefined; };
const dimsOf = (g: Graph, v: string): readonly (number | string)[] | undefined => { const t = g.types.get(v); return t?.kind === 'tensor' ? t.shape : undefined; };

/** The role of a dense layer: the axis of its weight's output channels and input channels. */
export interface DenseForm { readonly outAxis: number; readonly inAxis: number; readonly weight: Tensor }

/** The dense layer form of a node (group-1 Conv/ConvTranspose, Gemm with constant B, MatMul with a 2-D constant B). */
export function denseForm(g: Graph, n: Node): DenseForm | undefined {
  const w = constOf(g, n.inputs[1]);
  if (!w || w.dtype !== 'float32') return undefined;
  if ((n.op === 'Conv' || n.op === 'ConvTranspose') && w.dims.length >= 3 && intAttr(n, 'group', 1) === 1) {
    return n.op === 'Conv' ? { outAxis: 0, inAxis: 1, weight: w } : { outAxis: 1, inAxis: 0, weight: w };
  }
  if (n.op === 'Gemm' && w.dims.length === 2 && intAttr(n, 'transA', 0) === 0) {
    return intAttr(n, 'transB', 0) ? { outAxis: 0, inAxis: 1, weight: w } : { outAxis: 1, inAxis: 0, weight: w };
  }
  if (n.op === 'MatMul' && w.dims.length === 2 && (rankOf(g, n.inputs[0]!) ?? 0) >= 2) return { outAxis: 1, inAxis: 0, weight: w };
  return undefined;
}

/** A depthwise Conv (group = channels, one filter per channel): it keeps the channels of its input. */
export function isDepthwise(g: Graph, n: Node): boolean {
  const w = constOf(g, n.inputs[1]);
  const c = dimsOf(g, n.inputs[0]!)?.[1];
  return n.op === 'Conv' && !!w && w.dims.length >= 3 && w.dims[1] === 1 && typeof c === 'number' && c > 1 && intAttr(n, 'group', 1) === c && w.dims[0] === c;
}

/** True when constant `t` broadcast against a value of `rank` with channels on `axis` is per-channel or uniform. */
export function channelConstAxis(t: Tensor, rank: number, axis: number, size: number): number | 'uniform' | undefined {
  const off = rank - t.dims.length;
  if (off < 0) return undefined;
  let at: number | undefined;
  for (let i = 0; i < t.dims.length; i++) {
    if (t.dims[i] === 1) continue;
    if (i + off === axis && t.dims[i] === size) at = i;
    else return undefined;
  }
  return at ?? 'uniform';
}

/** The axis of constant input `i` of `n` that runs along the channels of a value with layout `l` (C channels):
 *  normalisation parameters are 1-D [C] by definition, the others broadcast numpy-style. */
export function paramAxis(n: Node, i: number, t: Tensor, l: Layout, c: number): number | 'uniform' | undefined {
  if ((n.op === 'BatchNormalization' || n.op === 'InstanceNormalization') && i > 0) return t.dims.length === 1 && t.dims[0] === c ? 0 : undefined;
  return channelConstAxis(t, l.rank, l.axis, c);
}

class UnionFind {
  readonly parent: number[] = [];
  make(): number { this.parent.push(this.parent.length); return this.parent.length - 1; }
  find(a: number): number { while (this.parent[a] !== a) a = this.parent[a] = this.parent[this.parent[a]!]!; return a; }
  union(a: number, b: number): void { const x = this.find(a), y = this.find(b); if (x !== y) this.parent[Math.max(x, y)] = Math.min(x, y); }
}

const sizeOfLayout = (l: Layout): number => l.segments.reduce((s, x) => s + x.size, 0);
/** Elements along the channel axis. */
export const layoutWidth = (l: Layout): number => sizeOfLayout(l) * (l.inner ?? 1);
const sameStructure = (a: Layout, b: Layout): boolean =>
  a.axis === b.axis && a.rank === b.rank && a.segments.length === b.segments.length && a.segments.every((s, i) => s.size === b.segments[i]!.size);

/** Build the channel-dependency graph of `g`. `excluded(node)` keeps a producer's channels whole. */
export function channelGraph(g: Graph, excluded: (n: Node) => boolean = () => false): ChannelGraph {
  const uf = new UnionFind();
  const size: number[] = [], producers: Node[][] = [], blocked = new Map<number, string>();
  const layouts = new Map<string, Layout>();
  const consumers: Node[] = [];
  const block = (l: Layout | undefined, why: string): void => {
    for (const s of l?.segments ?? []) if (!blocked.has(uf.find(s.space))) blocked.set(uf.find(s.space), why);
  };
  for (const n of g.nodes) {
    const ins = n.inputs.map((i) => (i ? layouts.get(i) : undefined));
    const handled = new Set<number>();
    const out = n.outputs[0] ?? '';
    const outRank = rankOf(g, out);
    const dense = denseForm(g, n);
    // a flattened value (channel blocks) is understood by dense layers only: every other reader blocks it below
    const flat = ins.some((l) => l?.inner !== undefined);
    const channelsFirst = (l: Layout | undefined): l is Layout => !!l && l.axis === 1 && l.rank >= 3;
    if (dense) {
      // as a consumer: its input channels follow input 0's layout (Conv/ConvTranspose read NCHW, Gemm/MatMul the last axis)
      const l = ins[0];
      if (l && ((n.op.startsWith('Conv') && l.axis === 1) || (!n.op.startsWith('Conv') && l.axis === l.rank - 1))
        && layoutWidth(l) === dense.weight.dims[dense.inAxis]) { consumers.push(n); handled.add(0); }
      // as a producer: a new space of its output channels
      const c = dense.weight.dims[dense.outAxis]!;
      const id = uf.make();
      size.push(c); producers.push([n]);
      if (excluded(n)) blocked.set(id, `excluded (${n.name})`);
      const bias = n.inputs[2] ? n.inputs[2] : undefined;
      if (bias) {
        const bt = constOf(g, bias);
        if (!bt || (n.op !== 'Gemm' && bt.dims.length !== 1) || (n.op === 'Gemm' && channelConstAxis(bt, 2, 1, c) === undefined)) blocked.set(id, `bias of ${n.name} is not a per-channel constant`);
        if (bt) handled.add(2);
      }
      handled.add(1);
      if (outRank !== undefined) layouts.set(out, { axis: n.op.startsWith('Conv') ? 1 : outRank - 1, rank: outRank, segments: [{ space: id, size: c }] });
    } else if (flat) {
      // not handled: blocked
    } else if (ins[0] && isDepthwise(g, n) && channelsFirst(ins[0])) {
      handled.add(0).add(1).add(2);
      layouts.set(out, ins[0]);
    } else if (ins[0] && (UNARY.has(n.op) || POOL.has(n.op)) && (!POOL.has(n.op) || channelsFirst(ins[0]))) {
      // extra inputs (Clip's bounds) must be constants; a second output (MaxPool indices, Dropout mask) must be unused
      const ok = n.inputs.slice(1).every((i) => !i || constOf(g, i)) && n.outputs.slice(1).every((o) => !o);
      if (ok) { n.inputs.forEach((_, i) => handled.add(i)); if (outRank === ins[0].rank) layouts.set(out, ins[0]); }
    } else if (ins[0] && CHANNEL_PARAMS[n.op] && ins[0].axis === 1) {
      const l = ins[0], c = sizeOfLayout(l);
      const ok = CHANNEL_PARAMS[n.op]!.every((k) => { const t = constOf(g, n.inputs[k]); return t && paramAxis(n, k, t, l, c) !== undefined; });
      if (ok && n.outputs.slice(1).every((o) => !o)) { n.inputs.forEach((_, i) => handled.add(i)); layouts.set(out, l); }
    } else if (BINARY.has(n.op) && ins.some((l) => l)) {
      const tracked = ins.filter((l): l is Layout => !!l);
      const first = tracked[0]!, c = sizeOfLayout(first);
      const inputsOk = n.inputs.every((v, i) => {
        if (ins[i]) return sameStructure(ins[i]!, first);
        const t = constOf(g, v);
        return !!t && channelConstAxis(t, first.rank, first.axis, c) !== undefined;
      });
      if (inputsOk && outRank === first.rank) {
        // a residual Add (or gating Mul) ties the spaces of its operands segment by segment
        for (const l of tracked.slice(1)) l.segments.forEach((s, i) => uf.union(s.space, first.segments[i]!.space));
        n.inputs.forEach((_, i) => handled.add(i));
        layouts.set(out, first);
      }
    } else if (n.op === 'Concat' && ins.every((l) => l) && ins.length > 0) {
      const ls = ins as Layout[], first = ls[0]!;
      const axis = intAttr(n, 'axis', 0) < 0 ? intAttr(n, 'axis', 0) + first.rank : intAttr(n, 'axis', 0);
      if (ls.every((l) => l.axis === first.axis && l.rank === first.rank)) {
        if (axis === first.axis) layouts.set(out, { ...first, segments: ls.flatMap((l) => l.segments) });
        else if (ls.every((l) => sameStructure(l, first))) {
          for (const l of ls.slice(1)) l.segments.forEach((s, i) => uf.union(s.space, first.segments[i]!.space));
          layouts.set(out, first);
        }
        if (layouts.has(out)) n.inputs.forEach((_, i) => handled.add(i));
      }
    } else if ((n.op === 'Flatten' || n.op === 'Reshape') && ins[0] && ins[0].axis === 1 && ins[0].rank >= 2) {
      // [N, C, H, W] -> [N, C*H*W]: channels become blocks of H*W on axis 1, now the last (a shape constant that
      // names C*H*W is rewritten when sliced)
      const dIn = dimsOf(g, n.inputs[0]!), dOut = dimsOf(g, out), c = sizeOfLayout(ins[0]);
      const spatial = dIn?.slice(2).every((d) => typeof d === 'number') ? (dIn.slice(2) as number[]).reduce((a, b) => a * b, 1) : 0;
      const ok = dIn && dOut && dOut.length === 2 && spatial > 0 && dOut[1] === c * spatial && ins[0].inner === undefined
        && (n.op === 'Flatten' ? intAttr(n, 'axis', 1) === 1 : !!constOf(g, n.inputs[1]));
      if (ok) { n.inputs.forEach((_, i) => handled.add(i)); layouts.set(out, { axis: 1, rank: 2, segments: ins[0].segments, ...(spatial > 1 ? { inner: spatial } : {}) }); }
    }
    // every channel-carrying value read in a way not handled above keeps its channels whole
    n.inputs.forEach((v, i) => { if (v && !handled.has(i)) block(layouts.get(v), `read by ${n.op} ${n.name}`); });
    if (hasSubgraphs(n)) for (const v of namesRead(n)) block(layouts.get(v), `read inside ${n.op} ${n.name}`);
  }
  for (const o of g.outputs) block(layouts.get(o), `graph output ${o}`);
  // canonical spaces: union-find roots, producers merged, blocked when any member is
  const rootBlocked = new Map<number, string>();
  for (const [s, why] of blocked) if (!rootBlocked.has(uf.find(s))) rootBlocked.set(uf.find(s), why);
  const merged = new Map<number, Node[]>();
  producers.forEach((ps, s) => { const r = uf.find(s); merged.set(r, [...(merged.get(r) ?? []), ...ps]); });
  const spaces: Space[] = [...merged].map(([r, ps]) => ({
    id: r, size: size[r]!, name: ps[0]!.name, producers: ps,
    ...(rootBlocked.has(r) ? { blocked: rootBlocked.get(r)! } : size[r]! < 2 ? { blocked: 'a single channel' } : {}),
  }));
  const canon = new Map<string, Layout>();
  for (const [v, l] of layouts) canon.set(v, { ...l, segments: l.segments.map((s) => ({ space: uf.find(s.space), size: s.size })) });
  return { spaces, layouts: canon, consumers };
}
