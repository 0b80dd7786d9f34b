// Common-subexpression elimination: a node with the same op, the same (already deduplicated) inputs and the same
// attributes as an earlier one is replaced by it; initializers and Constant nodes are merged by content.
// Nondeterministic ops and nodes holding subgraphs are never merged. Each subgraph is its own scope.

import { tensorHash } from '../ir/text/format.js';
import type { Attr, Graph, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { sameDims } from '../ir/tensor.js';
import { formatType } from '../ir/types.js';
import { assertNever } from '../ir/errors.js';
import { isDeterministic } from '../ops/traits.js';
import { Aliases } from './aliases.js';
import { hasSubgraphs, mapAllSubgraphs } from './graph-util.js';
import { EXACT, definePass } from './pass.js';


export function eliminateCommonSubexpressions(graph: Graph): Graph {
  const g = mapAllSubgraphs(graph, eliminateCommonSubexpressions);
  const aliases = new Aliases(g);
  const inits = mergeInitializers(g, aliases);
  const seen = new Map<string, Node>();
  const kept: Node[] = [];
  for (const node of g.nodes) {
    const key = nodeKey(node, aliases);
    const first = key === undefined ? undefined : seen.get(key);
    if (first !== undefined && forwardAll(node, first, g, aliases)) continue;
    if (key !== undefined && first === undefined) seen.set(key, node);
    kept.push(node);
  }
  return aliases.empty ? g : aliases.apply(kept, inits);
}

/** Forward every output of `dup` to `first`'s; all or nothing (checked before any forward is recorded). */
function forwardAll(dup: Node, first: Node, g: Graph, aliases: Aliases): boolean {
  const outs = dup.outputs.filter((o) => o !== '');
  if (outs.length > 1 && outs.some((o) => g.outputs.includes(o))) return false;
  if (outs.length === 1) { const k = dup.outputs.indexOf(outs[0]!); return aliases.forward(outs[0]!, first.outputs[k]!); }
  for (let i = 0; i < dup.outputs.length; i++) if (dup.outputs[i] !== '') aliases.forward(dup.outputs[i]!, first.outputs[i]!);
  return true;
}

function nodeKey(node: Node, aliases: Aliases): string | undefined {
  if (!isDeterministic(node.op) || hasSubgraphs(node)) return undefined;
  const ins = node.inputs.map((i) => (i === '' ? '' : aliases.resolve(i)));
  const outs = node.outputs.map((o) => (o === '' ? '_' : 'o'));
  const attrs = Object.keys(node.attrs).sort().map((k) => `${k}=${attrKey(node.attrs[k]!)}`);
  return JSON.stringify([node.op, ins, outs, attrs]);
}

function attrKey(a: Attr): string {
  switch (a.kind) {
    case 'int': case 'float': case 'string': return `${a.kind}:${JSON.stringify(Object.is(a.value, -0) ? '-0' : a.value)}`;
    case 'ints': case 'floats': case 'strings': return `${a.kind}:${JSON.stringify(a.value.map((v) => (Object.is(v, -0) ? '-0' : v)))}`;
    case 'tensor': return `tensor:${tensorHash(a.value)}`;
    case 'tensors': return `tensors:${a.value.map(tensorHash).join(',')}`;
    case 'type': return `type:${formatType(a.value)}`;
    case 'types': return `types:${a.value.map(formatType).join(',')}`;
    case 'graph': case 'graphs': return a.kind; // nodes with subgraphs never get a key
    default: return assertNever(a, 'attribute');
  }
}

/** Merge initializers with equal content (never one that is also a graph input: the caller may replace it). */
function mergeInitializers(g: Graph, aliases: Aliases): Map<string, Tensor> {
  const inits = new Map(g.initializers);
  const groups = new Map<string, string[]>();
  for (const [name, t] of g.initializers) {
    if (g.inputs.includes(name)) continue;
    const k = `${t.dtype}[${t.dims.join(',')}]`;
    groups.set(k, [...(groups.get(k) ?? []), name]);
  }
  for (const names of groups.values()) {
    if (names.length < 2) continue;
    const firstByHash = new Map<string, string>();
    for (const name of names) {
      const t = g.initializers.get(name)!;
      const h = tensorHash(t);
      const first = firstByHash.get(h);
      if (first === undefined) { firstByHash.set(h, name); continue; }
      if (sameContent(g.initializers.get(first)!, t) && aliases.forward(name, first)) inits.delete(name);
    }
  }
  return inits;
}

function sameContent(a: Tensor, b: Tensor): boolean {
  if (a.dtype !== b.dtype || !sameDims(a.dims, b.dims) || a.data.length !== b.data.length) return false;
  if (Array.isArray(a.data)) return (a.data as string[]).every((v, i) => v === (b.data as string[])[i]);
  const x = a.data as Exclude<Tensor['data'], string[]>;
  const y = b.data as Exclude<Tensor['data'], string[]>;
  const bx = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const by = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
  for (let i = 0; i < bx.length; i++) if (bx[i] !== by[i]) return false;
  return true;
}

export const csePass = definePass({
  name: 'cse',
  summary: 'merge nodes with the same op, inputs and attributes, and initializers/constants with the same content',
  requires: [],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph) => eliminateCommonSubexpressions(graph),
});
