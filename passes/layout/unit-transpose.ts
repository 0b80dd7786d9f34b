// A Transpose that only moves size-1 axes keeps the element order: it is a Reshape, which backends do for free.
// Typical at the borders of a channels-last region: [N,1,H,W] <-> [N,H,W,1], [N,C,1,1] <-> [N,1,1,C]. So is one
// that, composed with the Transpose feeding it, only moves size-1 axes (magika: the model's own [N,L,C,1] ->
// [N,C,L,1] before its conv, then this pass's [N,C,L,1] -> [N,L,1,C]: two copies of 131072 floats for none).

import type { Graph, Node } from '../../ir/graph.js';
import { fromValues } from '../../ir/tensor.js';
import type { Dim } from '../../ir/types.js';
import { NameSource, allNames, rebuild } from '../graph-util.js';
import { movesOnlyUnitDims } from './perm.js';

/** The Reshape target for `from` -> `to`: numbers as they are, a symbol copied (0) from the same position, at
 *  most one other symbol inferred (-1). Undefined when that cannot say it. */
function reshapeTarget(from: readonly Dim[], to: readonly Dim[]): number[] | undefined {
  let inferred = 0;
  const out = to.map((d, i) => {
    if (typeof d === 'number') return d;
    if (from[i] === d) return 0;
    inferred++;
    return -1;
  });
  // allowzero=0 reads a literal 0 as "copy": a real 0-sized dim cannot be written this way.
  if (inferred > 1 || to.some((d) => d === 0)) return undefined;
  return out;
}

/** Turn the Transposes named in `candidates` into Reshapes where they move only size-1 axes. */
export function unitTransposesToReshapes(graph: Graph, candidates: ReadonlySet<string>): Graph {
  const names = new NameSource(allNames(graph));
  const inits = new Map(graph.initializers);
  let changed = false;
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const nodes = graph.nodes.map((node): Node => {
    if (node.op !== 'Transpose' || !candidates.has(node.name)) return node;
    const perm = node.attrs['perm'];
    if (perm?.kind !== 'ints') return node;
    // the Transpose's own input, or the input of a Transpose feeding it with the two perms composed (the inner one
    // is left to DCE when nothing else reads it)
    const inner = producer.get(node.inputs[0]!);
    const innerPerm = inner?.op === 'Transpose' ? inner.attrs['perm'] : undefined;
    const sources: { src: string; p: readonly number[] }[] = [{ src: node.inputs[0]!, p: perm.value }];
    if (inner && innerPerm?.kind === 'ints' && innerPerm.value.length === perm.value.length) {
      sources.push({ src: inner.inputs[0]!, p: perm.value.map((a) => innerPerm.value[a]!) });
    }
    const y = graph.types.get(node.outputs[0]!);
    const found = sources.find(({ src, p }) => {
      const x = graph.types.get(src);
      return x?.kind === 'tensor' && x.shape && y?.kind === 'tensor' && y.shape && movesOnlyUnitDims(x.shape, p);
    });
    const x = found && graph.types.get(found.src);
    if (!found || x?.kind !== 'tensor' || !x.shape || y?.kind !== 'tensor' || !y.shape) return node;
    const target = reshapeTarget(x.shape, y.shape);
    if (target === undefined) return node;
    const shape = names.fresh(`${node.outputs[0]}_shape`);
    inits.set(shape, fromValues('int64', [target.length], target));
    changed = true;
    return { ...node, op: 'Reshape', inputs: [found.src, shape], attrs: { allowzero: { kind: 'int', value: 0 } } };
  });
  if (!changed) return graph;
  const types = new Map([...inits].filter(([k]) => !graph.initializers.has(k)).map(([k, t]) => [k, { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] } as const]));
  return rebuild(graph, nodes, inits, types);
}
