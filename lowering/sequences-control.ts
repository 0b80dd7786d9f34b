// Control flow under the sequence lowering (lowering/sequences.ts). An If whose condition is known at compile time
// is inlined (its branch's sequences become the enclosing graph's); otherwise both branches are lowered as
// subgraphs whose structured outputs must agree (same lengths, same presence), flattened into tensor outputs. A
// Loop that appends to a list read only by ConcatFromSequence afterwards (torch.jit.script's list append) keeps its
// loop, the list a scan output; any other Loop that carries a sequence or optional is unrolled when its trip count
// and condition are known at compile time (each iteration's sequence may have another length or element shapes: test_loop13_seq), up to
// MAX_UNROLLED_TRIPS; a Loop or Scan carrying only tensors stays a loop, its body lowered. SequenceMap is unrolled
// over its (compile-time) length.

import { attrGraph, type Graph, type Node } from '../ir/graph.js';
import type { ValueType } from '../ir/types.js';
import { nodeFreeVars } from './free-vars.js';
import { scalar } from '../ir/tensor.js';
import { attrInt } from '../ir/graph.js';
import { fromValues } from '../ir/tensor.js';
import { Builder, emit, flatten, rebuild, refuse, Scope, structDiff, tensorStruct, type Struct, type Walk } from './sequences-core.js';

type Rule = (w: Walk, node: Node, ins: readonly (Struct | undefined)[]) => (Struct | undefined)[];

/** Most iterations a Loop carrying a sequence is unrolled to: code grows with each. */
export const MAX_UNROLLED_TRIPS = 256;

const graphAttr = (node: Node, name: string): Graph => {
  const a = node.attrs[name];
  if (a?.kind !== 'graph') throw new Error(`node '${node.name}' has no graph attribute '${name}'`);
  return a.value;
};

const truth = (w: Walk, s: Struct | undefined): boolean | undefined => {
  if (!s || s.kind !== 'tensor') return undefined;
  const t = w.b.constant(s.name);
  return t && t.data.length === 1 ? Boolean(t.data[0]) : undefined;
};

/** Lower a graph's nodes inline: its inputs bound to `args`, its definitions in a scope of their own. */
function inlineBody(w: Walk, g: Graph, args: readonly (Struct | undefined)[]): Struct[] {
  const scope = new Scope(w.scope);
  g.inputs.forEach((n, i) => { const a = args[i]; if (a) scope.set(n, a); });
  w.inline(g, scope, w.b);
  return g.outputs.map((o) => scope.get(o) ?? refuse({ name: g.name, op: 'graph', inputs: [], outputs: [], attrs: {} }, 'form', `output '${o}' is not defined`));
}

/** A subgraph kept as one (an If branch, a Loop or Scan body), lowered: tensor inputs with the given names'
 *  declared types, outputs flattened. Each flattened output gets its own name (an Identity where the body
 *  passes an input, an outer value or one value twice), so the kernel has one buffer per output. */
function keptBody(w: Walk, g: Graph, tensorInputs: boolean): { graph: Graph; outputs: Struct[] } {
  const b = new Builder(w.b, w.source);
  const scope = new Scope(w.scope);
  for (const n of g.inputs) {
    const t = g.types.get(n);
    if (!t || t.kind !== 'tensor') refuse({ name: g.name, op: 'graph', inputs: [], outputs: [], attrs: {} }, 'form', `body input '${n}' is a ${t?.kind ?? 'value without a type'}`);
    const name = w.names.define(n);
    b.inputs.push(name);
    b.types.set(name, t);
    scope.set(n, tensorStruct(name));
  }
  void tensorInputs;
  w.inline(g, scope, b);
  const outputs = g.outputs.map((o) => scope.get(o)!);
  const defined = new Set(b.nodes.flatMap((n) => n.outputs));
  const seen = new Set<string>();
  const sub: Walk = { ...w, b, scope };
  const flat = outputs.flatMap(flatten).map((n) => {
    const own = defined.has(n) && !seen.has(n);
    seen.add(n);
    return own ? n : emit(sub, 'Identity', [n], `${n}_out`);
  });
  return { graph: { name: g.name, inputs: b.inputs, outputs: flat, nodes: b.nodes, initializers: b.initializers, types: b.types }, outputs };
}

/** Names for a node's outputs shaped like `shapes`: a tensor output keeps its name, sequence elements are `out[i]`. */
function outputNames(w: Walk, node: Node, shapes: readonly Struct[]): Struct[] {
  return shapes.map((s, k) => {
    const out = node.outputs[k] || `${node.name}_out${k}`;
    if (s.kind === 'tensor') return tensorStruct(w.names.define(out));
    const names = flatten(s).map((_, i) => w.names.fresh(`${out}[${i}]`));
    return rebuild(s, names);
  });
}

const IF: Rule = (w, node, ins) => {
  const [thenG, elseG] = [graphAttr(node, 'then_branch'), graphAttr(node, 'else_branch')];
  const cond = truth(w, ins[0]);
  if (cond !== undefined) return inlineBody(w, cond ? thenG : elseG, []);
  const [t, e] = [keptBody(w, thenG, true), keptBody(w, elseG, true)];
  t.outputs.forEach((s, k) => {
    const d = structDiff(s, e.outputs[k]!);
    if (d) refuse(node, 'data-dependent', `output ${k} ('${node.outputs[k]}') is ${d} in the two branches: its layout depends on the condition, known only at run time (fix the condition's input to compile one branch)`);
  });
  const outs = outputNames(w, node, t.outputs);
  w.b.add({ ...node, name: w.names.define(node.name), inputs: [(ins[0] as { name: string }).name], outputs: outs.flatMap(flatten), attrs: { ...node.attrs, then_branch: attrGraph(t.graph), else_branch: attrGraph(e.graph) } });
  return outs;
};

/** Loop kept as a loop (every carried value and scan output a tensor): its body lowered. */
function keptLoop(w: Walk, node: Node, ins: readonly (Struct | undefined)[], op: 'Loop' | 'Scan'): Struct[] {
  const names = ins.map((s, i) => {
    if (!s) return '';
    if (s.kind !== 'tensor') refuse(node, 'form', `input ${i} is a ${s.kind}`);
    return s.name;
  });
  const body = keptBody(w, graphAttr(node, 'body'), true);
  const outs = node.outputs.map((o) => (o ? tensorStruct(w.names.define(o)) : undefined));
  w.b.add({ ...node, op, name: w.names.define(node.name), inputs: names, outputs: outs.map((s) => (s ? (s as { name: string }).name : '')), attrs: { ...node.attrs, body: attrGraph(body.graph) } });
  return outs as Struct[];
}

/** torch.jit.script's `outs = []; for ...: outs.append(t)`: a carried list that starts empty, that the body only
 *  appends one tensor to (SequenceInsert at the end) and that only ConcatFromSequence reads after the loop becomes
 *  a scan output of the loop kept as a loop (no unrolling, any trip count); undefined when the loop is not of that
 *  form. */
function appendAsScan(w: Walk, node: Node, ins: readonly (Struct | undefined)[]): Struct[] | undefined {
  const body = graphAttr(node, 'body');
  const n = ins.length - 2;
  const lists: { c: number; insert: Node }[] = [];
  for (let c = 0; c < n; c++) {
    const s = ins[2 + c];
    if (!s || s.kind === 'tensor') continue;
    if (s.kind !== 'sequence' || s.items.length !== 0) return undefined;
    const [bin, bout, out] = [body.inputs[2 + c]!, body.outputs[1 + c]!, node.outputs[c]!];
    const insert = body.nodes.find((x) => x.outputs.includes(bout));
    if (insert?.op !== 'SequenceInsert' || insert.inputs[0] !== bin || (insert.inputs[2] ?? '') !== '') return undefined;
    const readers = (g: Graph, v: string): number => g.nodes.filter((x) => x.inputs.includes(v) || nodeFreeVars(x).has(v)).length + (g.outputs.includes(v) ? 1 : 0);
    if (readers(body, bin) !== 1 || readers(body, bout) !== 1) return undefined;
    if (!out || w.graph.outputs.includes(out) || w.graph.nodes.some((x) => (x.inputs.includes(out) && x.op !== 'ConcatFromSequence') || nodeFreeVars(x).has(out))) return undefined;
    lists.push({ c, insert });
  }
  if (lists.length === 0) return undefined;
  const dropped = new Set(lists.map((l) => l.c));
  const keepC = Array.from({ length: n }, (_, c) => c).filter((c) => !dropped.has(c));
  const k = body.outputs.length - 1 - n;
  const newBody: Graph = {
    ...body,
    nodes: body.nodes.filter((x) => !lists.some((l) => l.insert === x)),
    inputs: [body.inputs[0]!, body.inputs[1]!, ...keepC.map((c) => body.inputs[2 + c]!)],
    outputs: [body.outputs[0]!, ...keepC.map((c) => body.outputs[1 + c]!), ...body.outputs.slice(1 + n), ...lists.map((l) => l.insert.inputs[1]!)],
  };
  const scans = lists.map((l) => w.names.fresh(`${node.outputs[l.c]}_stacked`));
  const rewritten: Node = {
    ...node,
    inputs: [node.inputs[0]!, node.inputs[1] ?? '', ...keepC.map((c) => node.inputs[2 + c]!)],
    outputs: [...keepC.map((c) => node.outputs[c]!), ...node.outputs.slice(n, n + k), ...scans],
    attrs: { ...node.attrs, body: attrGraph(newBody) },
  };
  const outs = keptLoop(w, rewritten, [ins[0], ins[1], ...keepC.map((c) => ins[2 + c])], 'Loop');
  const result: Struct[] = [];
  keepC.forEach((c, j) => { result[c] = outs[j]!; });
  lists.forEach((l, j) => { result[l.c] = { kind: 'stacked', elem: (ins[2 + l.c] as { elem: ValueType }).elem, name: (outs[keepC.length + k + j] as { name: string }).name }; });
  return [...result, ...outs.slice(keepC.length, keepC.length + k)];
}

const LOOP: Rule = (w, node, ins) => {
  const body = graphAttr(node, 'body');
  const structured = ins.slice(2).some((s) => s && s.kind !== 'tensor') || body.outputs.some((o) => body.types.get(o)?.kind !== 'tensor');
  if (!structured) return keptLoop(w, node, ins, 'Loop');
  const scanned = appendAsScan(w, node, ins);
  if (scanned) return scanned;
  const M = ins[0] ? w.b.constant((ins[0] as { name: string }).name) : undefined;
  if (ins[0] && !M) refuse(node, 'data-dependent', `the trip count ('${node.inputs[0]}') must be known at compile time to unroll a loop that carries a sequence or optional`);
  let go = ins[1] ? truth(w, ins[1]) : true;
  if (go === undefined) refuse(node, 'data-dependent', `the condition ('${node.inputs[1]}') must be known at compile time to unroll a loop that carries a sequence or optional`);
  const trips = M ? Number(M.data[0]) : Infinity;
  const tooMany = `a loop that carries a sequence is unrolled, and this one runs more than ${MAX_UNROLLED_TRIPS} iterations`;
  if (go && trips > MAX_UNROLLED_TRIPS && Number.isFinite(trips)) refuse(node, 'data-dependent', tooMany);
  const n = ins.length - 2;
  let carried = ins.slice(2) as Struct[];
  const scans: Struct[][] = Array.from({ length: body.outputs.length - 1 - n }, () => []);
  for (let i = 0; go && i < trips; i++) {
    if (i >= MAX_UNROLLED_TRIPS) refuse(node, 'data-dependent', tooMany);
    const iter = tensorStruct(w.b.addConstant(w.names, `${node.name}_iter${i}`, scalar('int64', BigInt(i))));
    const cond = tensorStruct(w.b.addConstant(w.names, `${node.name}_cond${i}`, scalar('bool', true)));
    const outs = inlineBody(w, body, [iter, cond, ...carried]);
    go = truth(w, outs[0]);
    if (go === undefined) refuse(node, 'data-dependent', `the body computes its condition at run time; a loop that carries a sequence or optional is unrolled, so its condition must be known at compile time`);
    carried = outs.slice(1, 1 + n);
    outs.slice(1 + n).forEach((s, k) => scans[k]!.push(s));
  }
  const stacked = scans.map((items, k) => {
    if (!node.outputs[n + k]) return undefined;
    if (items.length === 0) refuse(node, 'form', `scan output ${k} of a loop that runs no iteration has no element shape`);
    const axes = w.b.addConstant(w.names, `${node.name}_axes`, fromValues('int64', [1], [0n]));
    const rows = items.map((s, i) => emit(w, 'Unsqueeze', [(s as { name: string }).name, axes], `${node.name}_scan${k}_${i}`));
    return tensorStruct(emit(w, 'Concat', rows, node.outputs[n + k]!, { axis: attrInt(0) }));
  });
  return [...carried, ...stacked] as Struct[];
};

const SEQUENCE_MAP: Rule = (w, node, ins) => {
  const body = graphAttr(node, 'body');
  const first = ins[0];
  if (!first || first.kind !== 'sequence') refuse(node, 'form', 'input 0 must be a sequence');
  const len = first.items.length;
  for (const s of ins) if (s?.kind === 'sequence' && s.items.length !== len) refuse(node, 'form', `sequence inputs have different lengths: ${s.items.length} and ${len}`);
  const results: Struct[][] = body.outputs.map(() => []);
  for (let i = 0; i < len; i++) {
    const outs = inlineBody(w, body, ins.map((s) => (s?.kind === 'sequence' ? s.items[i] : s)));
    outs.forEach((s, k) => results[k]!.push(s));
  }
  return results.map((items, k) => {
    const t = w.types.get(node.outputs[k]!);
    const elem = t?.kind === 'sequence' ? t.elem : body.types.get(body.outputs[k]!) ?? { kind: 'tensor' as const, dtype: 'float32' as const };
    return { kind: 'sequence', elem, items };
  });
};

export const CONTROL_RULES: Readonly<Record<string, Rule>> = {
  If: IF,
  Loop: LOOP,
  Scan: (w, node, ins) => keptLoop(w, node, ins, 'Scan'),
  SequenceMap: SEQUENCE_MAP,
};
