// A Softmax over an inner axis whose only reader is a Transpose this pass made, one that moves that axis last, runs
// after the Transpose instead, over the last axis: the kernels' contiguous-row form in place of a strided one
// (YOLOv8's DFL: Softmax over the 16 bins on axis 1 of [1,16,4,A], then the channels-last 1x1 Conv's transpose to
// [1,4,A,16]; the strided Softmax took 0.88 ms, 20x what its elements ask). A Transpose feeding the Softmax (the
// model's own, read by nothing else) is composed into the moved one. Exact: every row holds the same values in
// the same order.

import type { Graph, Node } from '../../ir/graph.js';
import type { ValueType } from '../../ir/types.js';
import { NameSource, allNames, allNodeNames, namesRead, rebuild } from '../graph-util.js';
import { isIdentityPerm, permShape } from './perm.js';

const ROW_OPS: ReadonlySet<string> = new Set(['Softmax', 'LogSoftmax']);

/** Rewrite, among the Transposes named in `candidates`, those reading a Softmax as above; also returns the names of
 *  the Transposes it made (candidates for unit-transpose.ts). */
export function softmaxAfterTranspose(graph: Graph, candidates: ReadonlySet<string>): { graph: Graph; made: Set<string> } {
  const made = new Set<string>();
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const readers = new Map<string, number>();
  for (const name of graph.outputs) readers.set(name, (readers.get(name) ?? 0) + 1);
  for (const n of graph.nodes) for (const name of namesRead(n)) readers.set(name, (readers.get(name) ?? 0) + 1);
  const only = (name: string): boolean => readers.get(name) === 1;
  const ints = (n: Node, a: string): readonly number[] | undefined => { const v = n.attrs[a]; return v?.kind === 'ints' ? v.value : undefined; };
  const names = new NameSource(allNames(graph)), nodeNames = new NameSource(allNodeNames(graph));
  const drop = new Set<Node>(), replace = new Map<Node, Node[]>(), types = new Map<string, ValueType>();
  for (const t of graph.nodes) {
    if (t.op !== 'Transpose' || !candidates.has(t.name)) continue;
    const s = producer.get(t.inputs[0]!), q = ints(t, 'perm');
    const x = s && graph.types.get(s.inputs[0]!);
    if (!s || !ROW_OPS.has(s.op) || !only(t.inputs[0]!) || drop.has(s) || !q || x?.kind !== 'tensor' || !x.shape || x.shape.length !== q.length) continue;
    const rank = q.length, axisAttr = s.attrs['axis'];
    const a = axisAttr?.kind === 'int' ? (axisAttr.value + rank) % rank : rank - 1;
    // only where the moved Transpose puts the axis last (elsewhere the Softmax would stay strided)
    if (a === rank - 1 || q[rank - 1] !== a) continue;
    // the model's Transpose before the Softmax, when nothing else reads it, composed into this one
    const inner = producer.get(s.inputs[0]!), p = inner?.op === 'Transpose' && only(s.inputs[0]!) ? ints(inner, 'perm') : undefined;
    const [src, perm] = inner && p && p.length === rank ? [inner.inputs[0]!, q.map((i) => p[i]!)] : [s.inputs[0]!, [...q]];
    const srcType = graph.types.get(src);
    if (srcType?.kind !== 'tensor' || !srcType.shape) continue;
    if (inner && src !== s.inputs[0]) drop.add(inner);
    drop.add(s);
    const nodes: Node[] = [];
    let rows = src;
    if (!isIdentityPerm(perm)) {
      rows = names.fresh(`${t.inputs[0]}_rows`);
      const name = nodeNames.fresh(`${rows}_transpose`);
      nodes.push({ name, op: 'Transpose', inputs: [src], outputs: [rows], attrs: { perm: { kind: 'ints', value: perm } } });
      types.set(rows, { ...srcType, shape: permShape(srcType.shape, perm) });
      made.add(name);
    }
    nodes.push({ ...s, inputs: [rows], outputs: [t.outputs[0]!], attrs: { ...s.attrs, axis: { kind: 'int', value: rank - 1 } } });
    replace.set(t, nodes);
  }
  if (replace.size === 0) return { graph, made };
  const nodes = graph.nodes.flatMap((n) => replace.get(n) ?? (drop.has(n) ? [] : [n]));
  return { graph: rebuild(graph, nodes, graph.initializers, types), made };
}
