// fuse-elementwise: a connected DAG of attribute-free elementwise ops (ops/fused/elementwise.ts STEP_OPS) becomes
// one onnxc.FusedElementwise whose `program` lists the steps. A group grows backwards from its root (a node whose
// result leaves the group) through producers whose every reader is already in the group, so no intermediate that
// is used elsewhere (or is a graph output) is swallowed. Exact: the program runs each op's own kernel in order.
// Ordering: after the pattern passes (gelu, epilogues, norms), which would otherwise lose their Mul/Add chains.

import type { Node } from '../../ir/graph.js';
import { STEP_OPS, formatStep, type Operand, type Step } from '../../ops/fused/elementwise.js';
import { EXACT, definePass } from '../pass.js';
import type { GraphIndex } from './match.js';
import { applyRules, type Rule } from './rewrite.js';

/** A node the program can hold: a STEP_OPS op with the right arity and a float32 result. */
function eligible(ix: GraphIndex, n: Node): boolean {
  if (STEP_OPS.get(n.op) !== n.inputs.length || n.outputs.length !== 1 || n.inputs.some((i) => i === '')) return false;
  const t = ix.graph.types.get(n.outputs[0]!);
  return t?.kind === 'tensor' && t.dtype === 'float32';
}

/** Every reader of `n`'s result is in `group` (and the result is not a graph output). */
function consumedWithin(ix: GraphIndex, n: Node, group: ReadonlySet<Node>): boolean {
  const v = n.outputs[0]!;
  const readers = ix.readers.get(v) ?? [];
  return !ix.outputs.has(v) && readers.length > 0 && readers.every((r) => group.has(r));
}

/** Grow the group of `root` backwards to a fixpoint. */
function growGroup(ix: GraphIndex, root: Node): Set<Node> {
  const group = new Set<Node>([root]);
  for (let changed = true; changed;) {
    changed = false;
    for (const m of [...group]) {
      for (const i of m.inputs) {
        const p = ix.producer.get(i);
        if (p && !group.has(p) && eligible(ix, p) && consumedWithin(ix, p, group)) { group.add(p); changed = true; }
      }
    }
  }
  return group;
}

const elementwiseChain: Rule = (root, { index: ix }) => {
  if (!eligible(ix, root)) return undefined;
  // Not a root when its only reader would absorb it: that reader's group is the larger one.
  const readers = new Set(ix.readers.get(root.outputs[0]!) ?? []);
  if (readers.size === 1 && !ix.outputs.has(root.outputs[0]!) && eligible(ix, [...readers][0]!)) return undefined;
  const group = growGroup(ix, root);
  if (group.size < 2) return undefined;
  // Steps in graph order (topological); operands outside the group become node inputs, numbered by first use.
  const ordered = ix.graph.nodes.filter((n) => group.has(n));
  const stepOf = new Map<string, number>();
  const inputs: string[] = [];
  const steps: Step[] = ordered.map((n, j) => {
    const args = n.inputs.map((v): Operand => {
      const s = stepOf.get(v);
      if (s !== undefined) return { kind: 'step', index: s };
      let k = inputs.indexOf(v);
      if (k < 0) { k = inputs.length; inputs.push(v); }
      return { kind: 'input', index: k };
    });
    stepOf.set(n.outputs[0]!, j);
    return { op: n.op, args };
  });
  return {
    remove: group,
    replacement: { name: root.name, op: 'onnxc.FusedElementwise', inputs, outputs: [root.outputs[0]!], attrs: { program: { kind: 'strings', value: steps.map(formatStep) } } },
  };
};

export const fuseElementwise = definePass({
  name: 'fuse-elementwise',
  summary: 'merge connected chains of elementwise ops into one onnxc.FusedElementwise node with a step program',
  requires: ['typed'],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph) => applyRules(graph, [elementwiseChain]),
});
