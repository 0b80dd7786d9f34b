// Scan unrolled, for backends without a Scan kernel (webgpu): when the sequence length is static, each step's body is
// copied into the graph with fresh value names (states chained, scan inputs sliced by Gather at a constant index,
// scan outputs joined by Unsqueeze + Concat, directions and axes honoured), exactly the reference's step order.
// Bodies with subgraphs of their own, empty scans and unrolls past MAX_NODES are left as they are.

import type { Node } from '../../ir/graph.js';
import { fromValues } from '../../ir/tensor.js';
import { withDefaults } from '../attrs.js';
import { getOp } from '../index.js';
import type { ImportNode } from '../schema.js';
import type { DecomposeRule } from './emitter.js';

/** Largest number of nodes an unroll may add. */
const MAX_NODES = 20_000;

const ints = (node: Node, k: string): readonly number[] | undefined => { const a = node.attrs[k]; return a?.kind === 'ints' ? a.value : undefined; };

export const scanUnroll: DecomposeRule = {
  op: 'Scan',
  build(node, ctx, facts) {
    const bodyAttr = node.attrs['body'], mAttr = node.attrs['num_scan_inputs'];
    if (bodyAttr?.kind !== 'graph' || mAttr?.kind !== 'int') return undefined;
    const body = bodyAttr.value, m = mAttr.value, n = node.inputs.length - m, k = body.outputs.length - n;
    if (body.nodes.some((b) => Object.values(b.attrs).some((a) => a.kind === 'graph' || a.kind === 'graphs'))) return undefined;
    const xs = node.inputs.slice(n);
    const axes: number[] = [];
    let len: number | undefined;
    for (let j = 0; j < m; j++) {
      const t = facts.type(xs[j]!);
      if (t?.kind !== 'tensor' || !t.shape) return undefined;
      const r = t.shape.length, a0 = ints(node, 'scan_input_axes')?.[j] ?? 0, a = a0 < 0 ? a0 + r : a0;
      const l = t.shape[a];
      if (typeof l !== 'number' || (len !== undefined && l !== len)) return undefined;
      len = l;
      axes.push(a);
    }
    if (!len || len * body.nodes.length > MAX_NODES) return undefined;
    const outRank = (j: number): number | undefined => { const t = facts.type(node.outputs[n + j] ?? ''); return t?.kind === 'tensor' ? t.shape?.length : undefined; };
    if (Array.from({ length: k }, (_, j) => j).some((j) => node.outputs[n + j] && outRank(j) === undefined)) return undefined;

    const out: ImportNode[] = [];
    const emit = (op: string, inputs: string[], attrs: ImportNode['attrs'], output?: string): string => {
      const o = output ?? ctx.freshName(`${node.name}_${op}`);
      out.push({ name: ctx.freshName(`${node.name}_${op}`), op, inputs, outputs: [o], attrs: withDefaults(getOp(op)!, attrs) });
      return o;
    };
    // the body's initializers, once
    const shared = new Map<string, string>();
    for (const [name, t] of body.initializers) shared.set(name, ctx.constant(t, `${node.name}_${name}`));
    let states = node.inputs.slice(0, n);
    const parts: string[][] = Array.from({ length: k }, () => []);
    for (let t = 0; t < len; t++) {
      const names = new Map(shared);
      body.inputs.forEach((b, i) => {
        if (i < n) { names.set(b, states[i]!); return; }
        const j = i - n;
        const at = ints(node, 'scan_input_directions')?.[j] === 1 ? len! - 1 - t : t;
        const idx = ctx.constant(fromValues('int64', [], [at]), `${node.name}_t${t}`);
        names.set(b, emit('Gather', [xs[j]!, idx], { axis: { kind: 'int', value: axes[j]! } }));
      });
      const resolve = (v: string): string => (v === '' ? '' : names.get(v) ?? v);
      for (const b of body.nodes) {
        const inputs = b.inputs.map(resolve);
        const outputs = b.outputs.map((o) => { if (o === '') return ''; const f = ctx.freshName(`${node.name}_t${t}_${o}`); names.set(o, f); return f; });
        out.push({ name: ctx.freshName(`${node.name}_t${t}_${b.name}`), op: b.op, inputs, outputs, attrs: { ...b.attrs } });
      }
      states = body.outputs.slice(0, n).map(resolve);
      body.outputs.slice(n).forEach((o, j) => parts[j]!.push(resolve(o)));
    }
    states.forEach((s, i) => { if (node.outputs[i]) emit('Identity', [s], {}, node.outputs[i]!); });
    parts.forEach((ps, j) => {
      const target = node.outputs[n + j];
      if (!target) return;
      const r = outRank(j)!, a0 = ints(node, 'scan_output_axes')?.[j] ?? 0, a = a0 < 0 ? a0 + r : a0;
      const ordered = ints(node, 'scan_output_directions')?.[j] === 1 ? [...ps].reverse() : ps;
      const axesName = ctx.constant(fromValues('int64', [1], [a]), `${node.name}_axis${j}`);
      const ups = ordered.map((p) => emit('Unsqueeze', [p, axesName], {}));
      emit('Concat', ups, { axis: { kind: 'int', value: a } }, target);
    });
    return out;
  },
};
