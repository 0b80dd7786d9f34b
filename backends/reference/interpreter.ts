// The reference interpreter: runs a graph node by node with each op's exact `run`. It is the oracle the other
// backends and every pass are checked against, so it stays plain: no fusion, no reuse, values freed after last use.

import { KernelError, OnnxcError, UnsupportedOpError } from '../../ir/errors.js';
import type { Graph, Model, Node } from '../../ir/graph.js';
import { roundToDType } from '../../ir/tensor.js';
import type { ValueType } from '../../ir/types.js';
import { formatType } from '../../ir/types.js';
import type { RuntimeValue } from '../../ir/value.js';
import { isTensor } from '../../ir/value.js';
import { plainAttrs } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { checkInputs } from './input-check.js';

/** Values visible while running a graph: its own, then its enclosing graphs'. */
class Env {
  private readonly values = new Map<string, RuntimeValue>();
  constructor(private readonly parent?: Env) {}
  get(name: string): RuntimeValue | undefined {
    return this.values.get(name) ?? this.parent?.get(name);
  }
  set(name: string, v: RuntimeValue): void { this.values.set(name, v); }
  delete(name: string): void { this.values.delete(name); }
}

export interface RunOptions {
  /** Model name for messages. */
  source?: string;
  /** Called after each node with its outputs (for per-tensor diffs). */
  onNode?: (node: Node, outputs: readonly (RuntimeValue | undefined)[]) => void;
}

/** Names a graph reads from its enclosing scopes (free variables), including through nested subgraphs. */
function freeNames(g: Graph): Set<string> {
  const defined = new Set<string>([...g.inputs, ...g.initializers.keys()]);
  const free = new Set<string>();
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i && !defined.has(i)) free.add(i);
    for (const a of Object.values(n.attrs)) {
      const subs = a.kind === 'graph' ? [a.value] : a.kind === 'graphs' ? a.value : [];
      for (const s of subs) for (const f of freeNames(s)) if (!defined.has(f)) free.add(f);
    }
    for (const o of n.outputs) if (o) defined.add(o);
  }
  for (const o of g.outputs) if (!defined.has(o)) free.add(o);
  return free;
}

const lastUseCache = new WeakMap<Graph, Map<string, number>>();
/** For each value, the index of the last node of `g` that reads it (directly or from a subgraph). */
function lastUses(g: Graph): Map<string, number> {
  let m = lastUseCache.get(g);
  if (m) return m;
  m = new Map();
  g.nodes.forEach((n, idx) => {
    for (const i of n.inputs) if (i) m!.set(i, idx);
    for (const a of Object.values(n.attrs)) {
      const subs = a.kind === 'graph' ? [a.value] : a.kind === 'graphs' ? a.value : [];
      for (const s of subs) for (const f of freeNames(s)) m!.set(f, idx);
    }
  });
  for (const o of g.outputs) m.set(o, Infinity);
  lastUseCache.set(g, m);
  return m;
}

/** Run `graph` with positional inputs; returns its outputs in order. */
export function runGraph(graph: Graph, inputs: readonly (RuntimeValue | undefined)[], opts: RunOptions = {}, outer?: Env): RuntimeValue[] {
  // a model's feeds must match its declared inputs; a subgraph's inputs come from its op (and their inferred
  // types may be narrower than what a loop carries), so only the top level is checked
  if (outer === undefined) checkInputs(graph, inputs, opts.source);
  const env = new Env(outer);
  graph.inputs.forEach((name, i) => {
    const v = inputs[i];
    if (v !== undefined) env.set(name, v);
  });
  for (const [name, t] of graph.initializers) env.set(name, t);
  const last = lastUses(graph);
  graph.nodes.forEach((node, idx) => {
    const outs = runNode(node, env, graph, opts);
    opts.onNode?.(node, outs);
    // free values this graph defined and no later node reads
    for (const name of node.inputs) {
      if (name && last.get(name) === idx && !graph.initializers.has(name)) env.delete(name);
    }
  });
  return graph.outputs.map((name) => {
    const v = env.get(name);
    if (v === undefined) throw new KernelError(`graph '${graph.name}' output '${name}' was not computed`, { model: opts.source });
    return v;
  });
}

function runNode(node: Node, env: Env, graph: Graph, opts: RunOptions): (RuntimeValue | undefined)[] {
  const def = getOp(node.op);
  const site = { model: opts.source, node: node.name, op: node.op };
  if (!def) throw new UnsupportedOpError(`op ${node.op} is not supported by the reference backend`, site);
  const inputs = node.inputs.map((name) => {
    if (name === '') return undefined;
    const v = env.get(name);
    if (v === undefined) throw new KernelError(`input '${name}' has no value`, site);
    return v;
  });
  const outputTypes = node.outputs.map((o) => (o ? graph.types.get(o) : undefined));
  let outs: RuntimeValue[];
  try {
    outs = def.run({
      node, attrs: plainAttrs(def, node), inputs, numOutputs: node.outputs.length, outputTypes,
      runSubgraph: (sub, subInputs) => runGraph(sub, subInputs, { source: opts.source, onNode: undefined }, env),
    });
  } catch (e) {
    if (e instanceof OnnxcError) throw e.at(site);
    const msg = e instanceof Error ? e.message : String(e);
    throw new KernelError(`kernel failed: ${msg}`, site);
  }
  node.outputs.forEach((name, i) => {
    if (name === '') return;
    const v = outs[i];
    if (v === undefined) throw new KernelError(`kernel produced no value for output ${i} '${name}'`, site);
    checkType(v, outputTypes[i], name, site);
    if (isTensor(v)) roundToDType(v);
    env.set(name, v);
  });
  return outs;
}

/** A computed value must agree with the static type (dtype, rank, static dims): catches inference bugs early. */
function checkType(v: RuntimeValue, t: ValueType | undefined, name: string, site: { model?: string; node: string; op: string }): void {
  if (t === undefined) return;
  if (isTensor(v)) {
    if (t.kind !== 'tensor') throw new KernelError(`output '${name}' is a tensor but its type is ${formatType(t)}`, site);
    const bad = v.dtype !== t.dtype || (t.shape !== undefined && (t.shape.length !== v.dims.length
      || t.shape.some((d, k) => typeof d === 'number' && d !== v.dims[k])));
    if (bad) throw new KernelError(`output '${name}' is ${v.dtype}[${v.dims.join(',')}] but inference said ${formatType(t)}`, site);
  } else if (v.kind !== t.kind) {
    throw new KernelError(`output '${name}' is a ${v.kind} but its type is ${formatType(t)}`, site);
  }
}

/** Run a model with feeds by input name; returns outputs by name. */
export function runModel(model: Model, feeds: Readonly<Record<string, RuntimeValue>>): Record<string, RuntimeValue> {
  const g = model.graph;
  const inputs = g.inputs.map((name) => {
    const v = feeds[name];
    if (v === undefined) throw new KernelError(`no value given for model input '${name}'`, { model: model.info.source });
    return v;
  });
  const outs = runGraph(g, inputs, { source: model.info.source });
  return Object.fromEntries(g.outputs.map((name, i) => [name, outs[i]!]));
}
