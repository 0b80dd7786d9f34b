// layout-nhwc: run convolutional graphs channels-last. Convolutions become onnxc.FusedConv{channels_last=1}; every
// value gets a layout (the perm it is stored in), which flows forward through layout-agnostic ops (rules.ts, with
// axis attributes and constants permuted at compile time) and through Transposes (absorbed into the layout).
// A Transpose is only materialised where a layout-sensitive consumer or a graph output needs another layout, so
// inverse pairs never appear and a conv net keeps transposes only at the borders of its channels-last region.

import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import type { TensorType, ValueType } from '../../ir/types.js';
import { toChannelsLast } from '../../ops/fused/permute.js';
import { allNames, allNodeNames, NameSource, namesRead, rebuild, subgraphsIn, freeNames } from '../graph-util.js';
import type { PassContext } from '../pass.js';
import { EXACT, definePass } from '../pass.js';
import type { Perm } from './perm.js';
import { identityPerm, isIdentityPerm, invertPerm, permBetween, permKey, permShape, permuteBroadcastConstant, samePerm } from './perm.js';
import { layoutRule } from './rules.js';
import { channelsLastForm } from './seeds.js';
import { softmaxAfterTranspose } from './softmax-transpose.js';
import { unitTransposesToReshapes } from './unit-transpose.js';

interface Stored { readonly name: string; readonly perm: Perm }

class LayoutRewriter {
  readonly nodes: Node[] = [];
  readonly inits: Map<string, Tensor>;
  readonly types = new Map<string, ValueType>();
  /** Transposes this pass made (candidates for becoming Reshapes). */
  readonly made = new Set<string>();
  changed = false;
  private readonly stored = new Map<string, Stored>();
  private readonly views = new Map<string, string>();
  private readonly constants = new Map<string, Tensor>();
  private readonly permuted = new Map<string, string>();
  private readonly values: NameSource;
  private readonly nodeNames: NameSource;
  private readonly pinned: Set<string>;
  private readonly used = new Set<string>();

  constructor(private readonly graph: Graph, private readonly ctx: PassContext) {
    this.inits = new Map(graph.initializers);
    this.values = new NameSource(allNames(graph));
    this.nodeNames = new NameSource(allNodeNames(graph));
    // Values read by name elsewhere keep their logical layout under their own name.
    this.pinned = new Set(graph.outputs);
    for (const n of graph.nodes) for (const s of subgraphsIn(n)) for (const f of freeNames(s)) this.pinned.add(f);
    for (const name of graph.outputs) this.used.add(name);
    for (const n of graph.nodes) for (const name of namesRead(n)) this.used.add(name);
    for (const [k, t] of graph.initializers) if (!graph.inputs.includes(k)) this.constants.set(k, t);
    for (const n of graph.nodes) {
      const v = n.attrs['value'];
      if (n.op === 'Constant' && v?.kind === 'tensor' && n.outputs[0]) this.constants.set(n.outputs[0], v.value);
    }
  }

  type(name: string): TensorType | undefined {
    const t = this.graph.types.get(name);
    return t?.kind === 'tensor' ? t : undefined;
  }
  private rank(name: string): number | undefined { return this.type(name)?.shape?.length; }
  private layoutOf(name: string): Stored | undefined { return this.stored.get(name); }

  /** The name of a value holding `name` in layout `want`, adding a Transpose when needed. */
  get(name: string, want?: Perm): string {
    if (name === '') return name;
    const rank = this.rank(name);
    if (rank === undefined) return name;
    const cur = this.stored.get(name) ?? { name, perm: identityPerm(rank) };
    const target = want ?? identityPerm(rank);
    if (samePerm(cur.perm, target)) return cur.name;
    const key = `${name}@${permKey(target)}`;
    const seen = this.views.get(key);
    if (seen !== undefined) return seen;
    const tag = isIdentityPerm(target) ? 'nchw' : samePerm(target, toChannelsLast(rank)) ? 'nhwc' : 't';
    const out = this.values.fresh(`${name}_${tag}`);
    this.transpose(cur.name, permBetween(cur.perm, target), out, this.storedType(name, target));
    this.views.set(key, out);
    return out;
  }

  private storedType(name: string, p: Perm): TensorType {
    const t = this.type(name)!;
    return { ...t, shape: permShape(t.shape!, p) };
  }

  private transpose(input: string, perm: Perm, output: string, type: TensorType): void {
    const name = this.nodeNames.fresh(`${output}_transpose`);
    this.nodes.push({ name, op: 'Transpose', inputs: [input], outputs: [output], attrs: { perm: { kind: 'ints', value: [...perm] } } });
    this.types.set(output, type);
    this.made.add(name);
    this.changed = true;
  }

  /** A data input in layout p for a node of rank `rank`: constants permuted once, lower-rank ones only if all 1s. */
  private dataInput(name: string, p: Perm, rank: number): string | undefined {
    if (name === '') return name;
    const c = this.constants.get(name);
    if (c !== undefined) {
      if (c.dims.every((d) => d === 1) || c.dims.length > rank) return c.dims.length <= rank ? name : undefined;
      const key = `${name}@${permKey(p)}`;
      let out = this.permuted.get(key);
      if (out === undefined) {
        out = this.values.fresh(`${name}_nhwc`);
        const t = permuteBroadcastConstant(c, rank, p);
        this.inits.set(out, t);
        this.types.set(out, { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] });
        this.permuted.set(key, out);
      }
      return out;
    }
    const t = this.type(name);
    const r = t?.shape?.length;
    if (r === rank) return this.get(name, p);
    return t?.shape !== undefined && r! < rank && t.shape.every((d) => d === 1) ? this.get(name) : undefined;
  }

  /** Emit `node`, whose outputs are stored in `perms` (undefined: logical). */
  emit(node: Node, perms: readonly (Perm | undefined)[], original: Node): void {
    const after: [string, string, Perm][] = [];
    const outputs = node.outputs.map((o, i) => {
      const p = perms[i];
      if (o === '' || p === undefined || isIdentityPerm(p)) return o;
      if (!this.pinned.has(o)) {
        this.stored.set(o, { name: o, perm: p });
        this.types.set(o, this.storedType(o, p));
        return o;
      }
      const f = this.values.fresh(`${o}_nhwc`);
      this.stored.set(o, { name: f, perm: p });
      this.types.set(f, this.storedType(o, p));
      after.push([f, o, p]);
      return f;
    });
    const out = outputs.some((o, i) => o !== node.outputs[i]) ? { ...node, outputs } : node;
    if (out !== original) this.changed = true;
    this.nodes.push(out);
    for (const [f, o, p] of after) {
      this.transpose(f, invertPerm(p), o, this.type(o)!);
      this.views.set(`${o}@${permKey(identityPerm(p.length))}`, o);
    }
  }

  /** A node kept in the logical layout: inputs brought back to it. */
  plain(node: Node): void {
    const inputs = node.inputs.map((i) => this.get(i));
    this.emit(inputs.some((x, k) => x !== node.inputs[k]) ? { ...node, inputs } : node, [], node);
  }

  visit(node: Node): void {
    const form = channelsLastForm(node, {
      type: (n) => this.type(n),
      supported: (op) => this.ctx.supportedOps === undefined || this.ctx.supportedOps.has(op),
      used: (n) => this.used.has(n),
    });
    if (form !== undefined) {
      const rank = this.rank(node.inputs[0]!)!;
      const p = toChannelsLast(rank);
      const inNhwc = samePerm(this.layoutOf(node.inputs[0]!)?.perm ?? [], p);
      if (form.seed || inNhwc) {
        const inputs = form.node.inputs.map((x, i) => (form.dataInputs.includes(i) ? this.dataInput(x, p, rank) : this.get(x)));
        if (inputs.every((x) => x !== undefined)) {
          this.emit({ ...form.node, inputs: inputs as string[] }, [p], node);
          return;
        }
      }
    }
    if (node.op === 'Transpose') { this.transposeNode(node); return; }
    this.agnostic(node);
  }

  /** A Transpose of a permuted value moves no data: it only changes the layout its output is said to be in. */
  private transposeNode(node: Node): void {
    const src = this.layoutOf(node.inputs[0]!);
    const o = node.outputs[0]!;
    const rank = this.rank(node.inputs[0]!);
    if (src === undefined || rank === undefined) { this.plain(node); return; }
    const pa = node.attrs['perm'];
    const q = pa?.kind === 'ints' && pa.value.length > 0 ? pa.value : identityPerm(rank).reverse();
    this.changed = true;
    if (this.pinned.has(o)) {
      const c = permBetween(src.perm, q);
      if (isIdentityPerm(c)) this.nodes.push({ ...node, op: 'Identity', inputs: [src.name], attrs: {} });
      else this.nodes.push({ ...node, inputs: [src.name], attrs: { perm: { kind: 'ints', value: c } } });
      return;
    }
    const invQ = invertPerm(q);
    this.stored.set(o, { name: src.name, perm: src.perm.map((a) => invQ[a]!) });
  }

  private agnostic(node: Node): void {
    const rule = layoutRule(node.op);
    if (rule === undefined) { this.plain(node); return; }
    const data = rule.dataInputs(node);
    // The rank the data broadcasts to (a reduction's output may be smaller).
    const present = data.map((i) => node.inputs[i] ?? '').filter((x) => x !== '');
    const ranks = present.map((x) => this.rank(x));
    if (ranks.some((r) => r === undefined)) { this.plain(node); return; }
    const rank = Math.max(...(ranks as number[]));
    const p = data.map((i) => this.layoutOf(node.inputs[i] ?? '')).find((s) => s !== undefined && s.perm.length === rank && !isIdentityPerm(s.perm))?.perm;
    const rw = p && rule.rewrite(node, p, { constant: (n) => this.constants.get(n), shape: (n) => this.type(n)?.shape });
    if (!p || !rw) { this.plain(node); return; }
    const inputs: (string | undefined)[] = node.inputs.map((x, i) => {
      const param = rw.params?.get(i);
      if (param !== undefined) {
        const name = this.values.fresh(`${x}_nhwc`);
        this.inits.set(name, param);
        this.types.set(name, { kind: 'tensor', dtype: param.dtype, shape: [...param.dims] });
        return name;
      }
      return data.includes(i) ? this.dataInput(x, p, rank) : this.get(x);
    });
    if (inputs.some((x) => x === undefined)) { this.plain(node); return; }
    const attrs = rw.attrs ? { ...node.attrs, ...rw.attrs } : node.attrs;
    this.emit({ ...node, inputs: inputs as string[], attrs }, rw.outputPerms, node);
  }
}

export function toChannelsLastGraph(graph: Graph, ctx: PassContext): Graph {
  const rw = new LayoutRewriter(graph, ctx);
  for (const node of graph.nodes) rw.visit(node);
  if (!rw.changed) return graph;
  // Constants whose only readers now read their permuted copies are dropped.
  const read = new Set<string>(graph.outputs);
  for (const n of rw.nodes) for (const name of namesRead(n)) read.add(name);
  const readBefore = new Set<string>(graph.outputs);
  for (const n of graph.nodes) for (const name of namesRead(n)) readBefore.add(name);
  const inits = new Map([...rw.inits].filter(([k]) => read.has(k) || graph.inputs.includes(k) || !readBefore.has(k)));
  const moved = softmaxAfterTranspose(rebuild(graph, rw.nodes, inits, rw.types), rw.made);
  return unitTransposesToReshapes(moved.graph, new Set([...rw.made, ...moved.made]));
}

export const layoutNhwc = definePass({
  name: 'layout-nhwc',
  summary: 'run convolutions channels-last (onnxc.FusedConv channels_last=1) and sink transposes to the borders',
  requires: [],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph, ctx) => toChannelsLastGraph(graph, ctx),
});
