// A Transpose that only moves size-1 axes keeps the element order: it is a Reshape, which backends do for free.
// Typical at the borders of a channels-last region: [N,1,H,W] <-> [N,H,W,1], [N,C,1,1] <-> [N,1,1,C].

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
  const nodes = graph.nodes.map((node): Node => {
    if (node.op !== 'Transpose' || !candidates.has(node.name)) return node;
    const x = graph.types.get(node.inputs[0]!);
    const y = graph.types.get(node.outputs[0]!);
    const perm = node.attrs['perm'];
    if (x?.kind !== 'tensor' || y?.kind !== 'tensor' || !x.shape || !y.shape || perm?.kind !== 'ints') return node;
    if (!movesOnlyUnitDims(x.shape, perm.value)) return node;
    const target = reshapeTarget(x.shape, y.shape);
    if (target === undefined) return node;
    const shape = names.fresh(`${node.outputs[0]}_shape`);
    inits.set(shape, fromValues('int64', [target.length], target));
    changed = true;
    return { ...node, op: 'Reshape', inputs: [node.inputs[0]!, shape], attrs: { allowzero: { kind: 'int', value: 0 } } };
  });
  if (!changed) return graph;
  const types = new Map([...inits].filter(([k]) => !graph.initializers.has(k)).map(([k, t]) => [k, { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] } as const]));
  return rebuild(graph, nodes, inits, types);
}
