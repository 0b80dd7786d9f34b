// Test helper: give a generated graph something for the canonical passes to do, without changing what it
// computes: Identity nodes on values, duplicated nodes (CSE), Identity of initializers (constant folding), and a
// dead node (DCE), and nodes moved into both branches of an If on a constant condition (inline-if). Choices come
// from fast-check so failures shrink.

import fc from 'fast-check';
import type { Graph, Node } from '../../ir/graph.js';
import { scalar } from '../../ir/tensor.js';

export interface Decoration {
  readonly identities: readonly number[];
  readonly duplicates: readonly number[];
  readonly foldInits: boolean;
  readonly dead: boolean;
  /** Nodes moved into an If on a constant condition (both branches compute the node; the value the branch defines
   *  has the If's own output name, as exporters write it, so inlining must handle the shadowed name). */
  readonly branches?: readonly { readonly at: number; readonly cond: boolean }[];
}

export const arbitraryDecoration: fc.Arbitrary<Decoration> = fc.record({
  identities: fc.array(fc.nat(), { maxLength: 3 }),
  duplicates: fc.array(fc.nat(), { maxLength: 3 }),
  foldInits: fc.boolean(),
  dead: fc.boolean(),
  branches: fc.array(fc.record({ at: fc.nat(), cond: fc.boolean() }), { maxLength: 2 }),
});

export function decorate(g: Graph, d: Decoration): Graph {
  let nodes: Node[] = [...g.nodes];
  const types = new Map(g.types);
  let k = 0;
  const fresh = (base: string): string => { let n: string; do n = `${base}_d${k++}`; while (types.has(n)); return n; };
  /** Insert `node` at position `at` and make every later reader of `from` read `to` (graph outputs untouched). */
  const insertAndRewire = (at: number, node: Node, from: string, to: string): void => {
    const after = nodes.slice(at).map((n) => (n.inputs.includes(from) ? { ...n, inputs: n.inputs.map((i) => (i === from ? to : i)) } : n));
    nodes = [...nodes.slice(0, at), node, ...after];
  };
  if (d.foldInits) {
    for (const name of [...g.initializers.keys()]) {
      const t = g.types.get(name);
      if (t?.kind !== 'tensor' || t.dtype !== 'float32') continue;
      const out = fresh(name);
      types.set(out, t);
      insertAndRewire(0, { name: fresh('fold'), op: 'Identity', inputs: [name], outputs: [out], attrs: {} }, name, out);
    }
  }
  for (const i of d.identities) {
    if (nodes.length === 0) break;
    const at = i % nodes.length;
    const src = nodes[at]!.outputs[0]!;
    const out = fresh(src);
    types.set(out, types.get(src)!);
    insertAndRewire(at + 1, { name: fresh('id'), op: 'Identity', inputs: [src], outputs: [out], attrs: {} }, src, out);
  }
  for (const i of d.duplicates) {
    if (nodes.length === 0) break;
    const at = i % nodes.length;
    const orig = nodes[at]!;
    if (orig.outputs.length !== 1) continue;
    const out = fresh(orig.outputs[0]!);
    types.set(out, types.get(orig.outputs[0]!)!);
    insertAndRewire(at + 1, { ...orig, name: fresh(orig.name), outputs: [out] }, orig.outputs[0]!, out);
  }
  if (d.dead && g.inputs.length > 0) {
    const x = g.inputs[0]!;
    const out = fresh('dead');
    types.set(out, g.types.get(x)!);
    nodes.push({ name: fresh('dead'), op: 'Neg', inputs: [x], outputs: [out], attrs: {} });
  }
  const inits = new Map(g.initializers);
  for (const { at: i, cond } of d.branches ?? []) {
    if (nodes.length === 0) break;
    const at = i % nodes.length;
    const orig = nodes[at]!;
    if (orig.outputs.length !== 1 || orig.op === 'If') continue;
    const out = orig.outputs[0]!;
    const c = fresh('cond');
    inits.set(c, scalar('bool', cond));
    types.set(c, { kind: 'tensor', dtype: 'bool', shape: [] });
    const branch = (tag: string): Graph => ({
      name: `${orig.name}_${tag}`, inputs: [], outputs: [out], initializers: new Map(),
      nodes: [{ ...orig, name: fresh(`${orig.name}_${tag}`) }], types: new Map([[out, types.get(out)!]]),
    });
    nodes[at] = {
      name: fresh('if'), op: 'If', inputs: [c], outputs: [out],
      attrs: { then_branch: { kind: 'graph', value: branch('then') }, else_branch: { kind: 'graph', value: branch('else') } },
    };
  }
  return { ...g, nodes, types, initializers: inits };
}
