// The pass manager: runs a list of passes over a graph, checks each pass's requirements, calls instrumentation
// hooks before and after each pass (IR snapshots, timing, node counts), and optionally verifies after every pass
// so a broken rewrite is named the moment it happens.

import { OnnxcError, VerifyError } from '../ir/errors.js';
import type { Graph } from '../ir/graph.js';
import { isStaticShape, sameType } from '../ir/types.js';
import { verifyGraph } from '../ir/verify.js';
import { verifyOps } from '../ops/verify-ops.js';
import { subgraphsIn } from './graph-util.js';
import type { Pass, PassContext, Requirement } from './pass.js';
import { defaultContext } from './pass.js';

export interface PassEvent {
  readonly pass: Pass;
  /** Position in the pipeline. */
  readonly index: number;
  readonly before: Graph;
  readonly after: Graph;
  /** after !== before. */
  readonly changed: boolean;
  /** Set when the pass did not run because a requirement failed. */
  readonly skipped?: string;
  readonly ms: number;
  readonly nodesBefore: number;
  readonly nodesAfter: number;
}

export interface Instrumentation {
  beforePass?(pass: Pass, graph: Graph, index: number): void;
  afterPass?(event: PassEvent): void;
}

export interface RunPassesOptions {
  readonly ctx?: PassContext;
  /** Run the IR and op verifiers after every pass (tests, `--verify`). */
  readonly verify?: boolean;
  readonly hooks?: readonly Instrumentation[];
}

export interface PipelineResult {
  readonly graph: Graph;
  readonly events: readonly PassEvent[];
}

/** Nodes in the graph and all its subgraphs. */
export function countNodes(graph: Graph): number {
  let n = 0;
  for (const node of graph.nodes) {
    n++;
    for (const sub of subgraphsIn(node)) n += countNodes(sub);
  }
  return n;
}

/** Op histogram of the graph and its subgraphs. */
export function opCounts(graph: Graph, into = new Map<string, number>()): Map<string, number> {
  for (const node of graph.nodes) {
    into.set(node.op, (into.get(node.op) ?? 0) + 1);
    for (const sub of subgraphsIn(node)) opCounts(sub, into);
  }
  return into;
}

export function runPasses(graph: Graph, passes: readonly Pass[], opts: RunPassesOptions = {}): PipelineResult {
  const ctx = opts.ctx ?? defaultContext();
  const hooks = opts.hooks ?? [];
  const events: PassEvent[] = [];
  let g = graph;
  passes.forEach((pass, index) => {
    for (const h of hooks) h.beforePass?.(pass, g, index);
    const missing = unmet(pass.requires, g);
    const t0 = performance.now();
    let after = g;
    if (missing === undefined) {
      try {
        after = pass.run(g, ctx);
      } catch (e) {
        if (e instanceof OnnxcError) { e.message = `pass '${pass.name}': ${e.message}`; throw e.at({ model: ctx.source }); }
        throw e;
      }
    }
    const ms = performance.now() - t0;
    if (opts.verify && after !== g) verifyAfter(pass, g, after);
    const event: PassEvent = {
      pass, index, before: g, after, changed: after !== g, ms, nodesBefore: countNodes(g), nodesAfter: countNodes(after),
      ...(missing !== undefined ? { skipped: missing } : {}),
    };
    events.push(event);
    for (const h of hooks) h.afterPass?.(event);
    g = after;
  });
  return { graph: g, events };
}

/** Why a requirement fails on this graph, or undefined when all hold. */
function unmet(requires: readonly Requirement[], g: Graph): string | undefined {
  for (const r of requires) {
    switch (r) {
      case 'typed': break; // the verifier's rule; every graph the manager sees has it
      case 'static-shapes':
        for (const t of g.types.values()) {
          if (t.kind === 'tensor' && !isStaticShape(t.shape)) return 'the graph has symbolic or unknown dims';
        }
        break;
    }
  }
  return undefined;
}

/** The verifiers, plus the interface rule: graph input and output names and types do not change. */
export function verifyAfter(pass: Pass, before: Graph, after: Graph): void {
  const fail = (msg: string): never => { throw new VerifyError(`after pass '${pass.name}': ${msg}`); };
  try {
    verifyGraph(after);
    verifyOps(after);
  } catch (e) {
    if (e instanceof OnnxcError) { e.message = `after pass '${pass.name}': ${e.message}`; throw e; }
    throw e;
  }
  const sameNames = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!sameNames(before.inputs, after.inputs)) fail(`graph inputs changed from (${before.inputs.join(', ')}) to (${after.inputs.join(', ')})`);
  if (!sameNames(before.outputs, after.outputs)) fail(`graph outputs changed from (${before.outputs.join(', ')}) to (${after.outputs.join(', ')})`);
  for (const name of [...before.inputs, ...before.outputs]) {
    const a = before.types.get(name);
    const b = after.types.get(name);
    if (a && b && !sameType(a, b)) fail(`the type of graph input/output '${name}' changed`);
  }
}
