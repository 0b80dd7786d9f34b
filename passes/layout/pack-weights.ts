// layout-pack-weights: permute constant weights once, at compile time, into the layout a backend's kernels want
// (ops/layout/weight-layout.ts), recording it on the node. Exact: values only move. The backend's rules come from
// `packWeightsPass(rules)`, or for the CLI from `--pass-option weight-layout=OHWI` (convolutions).

import { ShapeError } from '../../ir/errors.js';
import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import type { ValueType } from '../../ir/types.js';
import { layoutToStandard, standardToLayout } from '../../ops/fused/permute.js';
import { convWeightLayout, type WeightLayoutRule } from '../../ops/layout/weight-layout.js';
import { NameSource, allNames, rebuild } from '../graph-util.js';
import type { Pass, PassContext } from '../pass.js';
import { EXACT, definePass } from '../pass.js';
import { isIdentityPerm, permuteList, transposeTensor } from './perm.js';

export function packWeights(graph: Graph, rules: readonly WeightLayoutRule[]): Graph {
  if (rules.length === 0) return graph;
  const names = new NameSource(allNames(graph));
  const inits = new Map(graph.initializers);
  const types = new Map<string, ValueType>();
  const packed = new Map<string, string>();
  let changed = false;
  const nodes = graph.nodes.map((node): Node => {
    const rule = rules.find((r) => r.op === node.op);
    const w = rule ? node.inputs[rule.input] : undefined;
    const t = w ? graph.initializers.get(w) : undefined;
    // A weight that is also a graph input may be overridden at run time: it cannot be packed.
    if (!rule || !w || !t || graph.inputs.includes(w)) return node;
    const cur = node.attrs[rule.attr];
    const from = cur?.kind === 'string' ? cur.value : '';
    if (from === rule.layout) return node;
    let perm: number[];
    try {
      // stored(from) -> standard -> wanted
      perm = permuteList(layoutToStandard(from, t.dims.length), standardToLayout(rule.layout, t.dims.length));
    } catch (e) {
      throw e instanceof ShapeError ? e.at({ node: node.name, op: node.op }) : e;
    }
    const key = `${w}@${rule.layout}@${from}`;
    let name = packed.get(key);
    if (name === undefined) {
      name = names.fresh(`${w}_${rule.layout.toLowerCase()}`);
      const p: Tensor = isIdentityPerm(perm) ? t : transposeTensor(t, perm);
      inits.set(name, p);
      types.set(name, { kind: 'tensor', dtype: p.dtype, shape: [...p.dims] });
      packed.set(key, name);
    }
    changed = true;
    const inputs = node.inputs.map((x, i) => (i === rule.input ? name! : x));
    return { ...node, inputs, attrs: { ...node.attrs, [rule.attr]: { kind: 'string', value: rule.layout } } };
  });
  if (!changed) return graph;
  const read = new Set<string>(graph.outputs);
  for (const n of nodes) for (const i of n.inputs) read.add(i);
  const before = new Set<string>(graph.nodes.flatMap((n) => n.inputs));
  // Drop the unpacked originals nothing reads any more.
  const kept = new Map([...inits].filter(([k]) => read.has(k) || graph.inputs.includes(k) || !before.has(k)));
  return rebuild(graph, nodes, kept, types);
}

function rulesFrom(ctx: PassContext): WeightLayoutRule[] {
  const l = ctx.options.get('weight-layout');
  return l ? [convWeightLayout(l)] : [];
}

/** The pass for a backend's stated weight layouts. */
export function packWeightsPass(rules: readonly WeightLayoutRule[]): Pass {
  return definePass({ ...layoutPackWeights, run: (graph) => packWeights(graph, rules) });
}

export const layoutPackWeights = definePass({
  name: 'layout-pack-weights',
  summary: 'pre-pack constant conv weights into the layout the backend wants (option weight-layout=OHWI|HWIO|...)',
  requires: [],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph, ctx) => packWeights(graph, rulesFrom(ctx)),
});
