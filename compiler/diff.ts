// `onnxc diff`: what each pass of a pipeline did to a model. Per pass: the nodes added, removed and rewritten, a
// unified diff of the canonical IR text, and the numeric drift of every graph output (optionally of every named
// tensor that survives) against the unoptimised model on the reference backend; for the final model also
// onnxruntime-node's drift. Drift is max |got - want| relative to the output's max |want|, cumulative per pass.

import { runGraph } from '../backends/reference/interpreter.js';
import type { Graph, Model, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { sameDims } from '../ir/tensor.js';
import { printGraph } from '../ir/text/index.js';
import type { RuntimeValue } from '../ir/value.js';
import { isTensor } from '../ir/value.js';
import type { PassEvent } from '../passes/manager.js';
import { runPasses } from '../passes/manager.js';
import type { Pass, PassContext } from '../passes/pass.js';
import { tensorError } from './compare.js';
import { safeText } from './report-escape.js';
import { unifiedDiff } from './line-diff.js';
import { exportModel } from './onnx/export.js';

export interface Drift {
  readonly name: string;
  /** max |got - want| / max |want|; Infinity when shapes or kinds differ or a value went missing. */
  readonly rel: number;
  readonly abs: number;
}

export interface PassDiff {
  readonly pass: string;
  readonly changed: boolean;
  readonly skipped?: string;
  readonly ms: number;
  readonly nodesBefore: number;
  readonly nodesAfter: number;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly rewritten: readonly string[];
  readonly textDiff: string;
  /** Graph outputs, cumulative against the unoptimised model. */
  readonly outputs: readonly Drift[];
  /** With --tensors: every named tensor in both graphs, worst first. */
  readonly tensors?: readonly Drift[];
  readonly maxDrift: number;
}

export interface DiffReport {
  readonly model: string;
  readonly passes: readonly PassDiff[];
  /** The final model on onnxruntime-node (as onnxc exports it) against the unoptimised model on the reference. */
  readonly ort?: { readonly outputs: readonly Drift[]; readonly maxDrift: number } | { readonly error: string };
  readonly threshold?: number;
  /** The first pass whose cumulative drift exceeds the threshold. */
  readonly firstOver?: string;
  readonly ms: number;
}

export interface DiffOptions {
  readonly passes: readonly Pass[];
  readonly inputs: readonly RuntimeValue[];
  readonly ctx: PassContext;
  readonly tensors?: boolean;
  readonly maxDrift?: number;
  readonly ort?: boolean;
  readonly verify?: boolean;
}

export async function diffModel(model: Model, opts: DiffOptions): Promise<DiffReport> {
  const t0 = performance.now();
  const reference = execute(model.graph, opts.inputs, opts.tensors ?? false);
  const { graph: final, events } = runPasses(model.graph, opts.passes, { ctx: opts.ctx, verify: opts.verify });
  const passes: PassDiff[] = [];
  let last: Execution = reference;
  let lastOutputs: Drift[] = compareOutputs(model.graph, reference, reference);
  let lastTensors: Drift[] | undefined = opts.tensors ? [] : undefined;
  for (const ev of events) {
    if (ev.changed) {
      last = execute(ev.after, opts.inputs, opts.tensors ?? false);
      lastOutputs = compareOutputs(ev.after, last, reference);
      lastTensors = opts.tensors ? compareTensors(last, reference) : undefined;
    }
    passes.push(passDiff(ev, lastOutputs, lastTensors));
  }
  const threshold = opts.maxDrift;
  const firstOver = threshold === undefined ? undefined : passes.find((p) => p.maxDrift > threshold)?.pass;
  let ort: DiffReport['ort'];
  if (opts.ort) ort = await ortDrift({ ...model, graph: final }, opts.inputs, reference);
  // names in the report come from the model: one safe line each, for every format (text, JSON, Markdown)
  return {
    model: safeText(model.info.source ?? model.graph.name, 200), passes, ort, ms: performance.now() - t0,
    ...(threshold !== undefined ? { threshold } : {}), ...(firstOver !== undefined ? { firstOver } : {}),
  };
}

interface Execution {
  readonly outputs: readonly RuntimeValue[];
  readonly named: ReadonlyMap<string, Tensor>;
}

function execute(graph: Graph, inputs: readonly RuntimeValue[], keepAll: boolean): Execution {
  const named = new Map<string, Tensor>();
  const onNode = keepAll
    ? (node: Node, outs: readonly (RuntimeValue | undefined)[]): void => {
      node.outputs.forEach((o, i) => { const v = outs[i]; if (o && v !== undefined && isTensor(v)) named.set(o, v); });
    }
    : undefined;
  const outputs = runGraph(graph, inputs, { onNode });
  return { outputs, named };
}

function drift(rawName: string, got: RuntimeValue | undefined, want: RuntimeValue | undefined): Drift {
  const name = safeText(rawName, 200);
  if (got === undefined || want === undefined || !isTensor(got) || !isTensor(want)) {
    return { name, rel: got === want ? 0 : got !== undefined && want !== undefined && !isTensor(got) && !isTensor(want) ? 0 : Infinity, abs: 0 };
  }
  if (got.dtype !== want.dtype || !sameDims(got.dims, want.dims)) return { name, rel: Infinity, abs: Infinity };
  const e = tensorError(got, want);
  return { name, abs: e.maxAbs, rel: e.maxAbs === 0 ? 0 : e.maxAbs / Math.max(e.maxExpected, 1e-30) };
}

function compareOutputs(graph: Graph, got: Execution, want: Execution): Drift[] {
  return graph.outputs.map((name, k) => drift(name, got.outputs[k], want.outputs[k]));
}

function compareTensors(got: Execution, want: Execution): Drift[] {
  const out: Drift[] = [];
  for (const [name, t] of got.named) {
    const w = want.named.get(name);
    if (w !== undefined) out.push(drift(name, t, w));
  }
  return out.sort((a, b) => b.rel - a.rel);
}

const safe = (name: string): string => safeText(name, 200);

function passDiff(ev: PassEvent, outputs: readonly Drift[], tensors: readonly Drift[] | undefined): PassDiff {
  const { added, removed, rewritten } = ev.changed ? nodeChanges(ev.before, ev.after) : { added: [], removed: [], rewritten: [] };
  const diffText = ev.changed ? unifiedDiff(printGraph(ev.before), printGraph(ev.after), { from: `before ${ev.pass.name}`, to: `after ${ev.pass.name}` }) : '';
  // the IR text quotes odd names JSON-style, which leaves C1 controls and bidi overrides: escape per line
  const textDiff = diffText.split('\n').map((l) => safeText(l)).join('\n');
  // a loop, not Math.max(...): --tensors on a big model compares more values than the stack holds arguments
  const maxDrift = [...outputs, ...(tensors ?? [])].reduce((m, d) => Math.max(m, d.rel), 0);
  return {
    pass: ev.pass.name, changed: ev.changed, ms: ev.ms, nodesBefore: ev.nodesBefore, nodesAfter: ev.nodesAfter,
    added: added.map(safe), removed: removed.map(safe), rewritten: rewritten.map(safe), textDiff, outputs, maxDrift,
    ...(tensors !== undefined ? { tensors } : {}), ...(ev.skipped !== undefined ? { skipped: ev.skipped } : {}),
  };
}

/** Node names added, removed, and kept but changed (op, inputs, outputs or attributes), subgraphs included: a node
 *  inside an If/Loop/Scan body is keyed by its path (`loop/body/add`), so a rewrite inside a body is named, and the
 *  node holding the body is not itself "rewritten" just because its body changed. */
export function nodeChanges(before: Graph, after: Graph): { added: string[]; removed: string[]; rewritten: string[] } {
  const b = nodesByPath(before);
  const a = nodesByPath(after);
  const added = [...a.keys()].filter((n) => !b.has(n));
  const removed = [...b.keys()].filter((n) => !a.has(n));
  const rewritten = [...a].filter(([name, n]) => { const o = b.get(name); return o !== undefined && o !== n && signature(o) !== signature(n); }).map(([name]) => name);
  return { added, removed, rewritten };
}

function nodesByPath(g: Graph, prefix = '', into = new Map<string, Node>()): Map<string, Node> {
  for (const n of g.nodes) {
    const path = `${prefix}${n.name}`;
    into.set(path, n);
    for (const [k, attr] of Object.entries(n.attrs)) {
      if (attr.kind === 'graph') nodesByPath(attr.value, `${path}/${k}/`, into);
      else if (attr.kind === 'graphs') attr.value.forEach((sub, i) => nodesByPath(sub, `${path}/${k}[${i}]/`, into));
    }
  }
  return into;
}

function signature(n: Node): string {
  const attrs = Object.keys(n.attrs).sort().map((k) => {
    const a = n.attrs[k]!;
    return a.kind === 'tensor' || a.kind === 'graph' || a.kind === 'graphs' || a.kind === 'tensors' ? `${k}:${a.kind}` : `${k}:${JSON.stringify(a.value)}`;
  });
  return JSON.stringify([n.op, n.inputs, n.outputs, attrs]);
}

async function ortDrift(model: Model, inputs: readonly RuntimeValue[], reference: Execution): Promise<DiffReport['ort']> {
  try {
    const { runOrt } = await import('./ort.js');
    const feeds = Object.fromEntries(model.graph.inputs.map((n, k) => [n, inputs[k]!]));
    const got = await runOrt(exportModel(model), feeds);
    const outputs = model.graph.outputs.map((name, k) => drift(name, got.values[k], reference.outputs[k]));
    return { outputs, maxDrift: Math.max(0, ...outputs.map((d) => d.rel)) };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { error: safeText(msg.split('\n')[0] ?? '', 500) };
  }
}
