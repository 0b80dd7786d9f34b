// compiler/diff.ts nodeChanges counts rewrites inside If/Loop/Scan bodies (keyed by path), not only top-level ones.

import { describe, expect, it } from 'vitest';
import { nodeChanges } from '../../compiler/diff.js';
import type { Graph, Node } from '../../ir/graph.js';
import { parseGraph } from '../../ir/text/index.js';
import { inferGraph } from '../../ops/infer-graph.js';

const SRC = `graph g (c: bool[], x: float32[2]) -> (y: float32[2]) {
  y = If(c) @if {then_branch=graph t () -> (t0) { t0 = Relu(x) @t_relu }, else_branch=graph e () -> (e0) { e0 = Neg(x) @e_neg }}
}`;

/** The graph with the then-branch's Relu made a Sigmoid and a node added to the else branch. */
function edit(g: Graph): Graph {
  const ifNode = g.nodes[0]!;
  const then = ifNode.attrs['then_branch']!;
  const els = ifNode.attrs['else_branch']!;
  if (then.kind !== 'graph' || els.kind !== 'graph') throw new Error('If without branches');
  const relu = then.value.nodes[0]!;
  const neg = els.value.nodes[0]!;
  const extra: Node = { name: 'e_abs', op: 'Abs', inputs: ['e_mid'], outputs: ['e0'], attrs: {} };
  return {
    ...g,
    nodes: [{
      ...ifNode,
      attrs: {
        then_branch: { kind: 'graph', value: { ...then.value, nodes: [{ ...relu, op: 'Sigmoid' }] } },
        else_branch: { kind: 'graph', value: { ...els.value, nodes: [{ ...neg, outputs: ['e_mid'] }, extra] } },
      },
    }],
  };
}

describe('nodeChanges', () => {
  it('names nodes rewritten, added and removed inside subgraphs by their path; the If itself is not rewritten', () => {
    const g = inferGraph(parseGraph(SRC));
    const c = nodeChanges(g, edit(g));
    expect(c.rewritten.sort()).toEqual(['if/else_branch/e_neg', 'if/then_branch/t_relu']);
    expect(c.added).toEqual(['if/else_branch/e_abs']);
    expect(c.removed).toEqual([]);
    expect(nodeChanges(g, g)).toEqual({ added: [], removed: [], rewritten: [] });
  });
});
