// compileFor(backend, graph, options): the one driver every backend goes through. Fix the input shapes (once),
// compute 16-bit float nodes the backend has no kernels for in float32, run the pass pipeline with the backend's
// capabilities in the pass context, decompose what it lacks, prepare (fold what is static, prune), check support —
// every unsupported node reported at once with its reason — then plan memory and let the backend emit. Every
// decision is a question asked of the backend's declaration; nothing is retried on an error.

import type { Graph } from '../ir/graph.js';
import { decomposeGraph } from '../passes/decompose.js';
import { runPasses, type RunPassesOptions } from '../passes/manager.js';
import type { Pass, PassContext, TargetQuery } from '../passes/pass.js';
import { packWeightsPass } from '../passes/layout/pack-weights.js';
import { parsePassList, pipelineForLevel, type OptLevel } from '../passes/pipelines.js';
import { refuses16, upcastFloat16 } from '../passes/upcast-float16.js';
import { getOp } from '../ops/index.js';
import type { AnyBackend } from './backend.js';
import { planLowering } from './plan.js';
import { specialize, staticEval, withFixedInputs, type PreparedGraph, type ShapeOptions } from './prepare.js';
import type { UnsupportedNode } from './protocol.js';
import { maybeLowerSequences, SequenceRefusal } from './sequences.js';
import { graphNodeRefusal, UnsupportedNodesError, unsupportedNodes } from './support.js';

export interface PipelineChoice {
  /** -O level (default 3); ignored when `passes` is given. */
  readonly level?: OptLevel;
  /** Explicit comma-separated pass list. */
  readonly passes?: string;
  /** Free-form pass options (`fold-limit=4096`). */
  readonly options?: ReadonlyMap<string, string>;
  /** Verify the IR after every pass. */
  readonly verify?: boolean;
  readonly hooks?: RunPassesOptions['hooks'];
}

/** The pass-context view of a backend: its op set and its answer, node by node, to "would you lower this?". */
export function targetQuery(backend: AnyBackend): TargetQuery {
  return { name: backend.name, refusal: (node, graph) => graphNodeRefusal(backend, node, graph) };
}

export const backendOps = (backend: AnyBackend): ReadonlySet<string> => new Set(Object.keys(backend.kernels));

const lowerable = (backend: AnyBackend, op: string): boolean =>
  op in backend.kernels || getOp(op)?.decompose !== undefined;

/** The passes `choice` names, less fusions into ops the backend can neither run nor decompose, and (for -O levels)
 *  fusions the backend declares slower than the ops they replace. */
export function pipelineFor(backend: AnyBackend, choice: PipelineChoice): Pass[] {
  const explicit = choice.passes !== undefined;
  const passes = explicit ? parsePassList(choice.passes!) : pipelineForLevel(choice.level ?? 3);
  const slower = new Set(backend.capabilities.slowerFusions ?? []);
  const kept = passes.filter((p) => (explicit || !slower.has(p.name)) && (p.produces ?? []).every((op) => lowerable(backend, op)));
  return backend.weightLayouts.length ? [...kept, packWeightsPass(backend.weightLayouts)] : kept;
}

export function passContext(backend: AnyBackend, source: string | undefined, choice: PipelineChoice): PassContext {
  return { source, options: new Map(choice.options ?? []), supportedOps: backendOps(backend), target: targetQuery(backend) };
}

/** The graph as the backend will lower it: shapes fixed, 16-bit nodes it lacks upcast, pipeline run, what it
 *  lacks decomposed, then prepared (static values folded, nodes pruned). */
export function optimizeFor(backend: AnyBackend, graph: Graph, opts: ShapeOptions, choice: PipelineChoice = {}): { graph: Graph; prepared: PreparedGraph } {
  const source = opts.source ?? graph.name;
  const ctx = passContext(backend, source, choice);
  // fixed inputs become constants first, so the passes fold what they decide
  let g = specialize(withFixedInputs(graph, opts.fixedInputs), { ...opts, source });
  // sequences and optionals become tensors for the structures given, Ifs on compile-time conditions are inlined
  // (lowering/sequences.ts)
  const seq = maybeLowerSequences(g, graph.inputs, opts.structures ?? {}, source);
  if (seq) g = seq.graph;
  g = upcastFloat16(g, source, refuses16(ctx.target!, g));
  const passes = pipelineFor(backend, choice);
  if (passes.length) g = runPasses(g, passes, { ctx, verify: choice.verify, hooks: choice.hooks }).graph;
  g = decomposeGraph(g, ctx);
  // a decomposition may bring 16-bit ops of its own
  g = upcastFloat16(g, source, refuses16(ctx.target!, g));
  return { graph: g, prepared: staticEval(g, source, { inputs: seq?.declaredInputs ?? graph.inputs, fixed: opts.fixedInputs ?? {}, ...(opts.carry ? { carry: opts.carry } : {}), ...(seq?.layouts ? { layouts: seq.layouts } : {}) }) };
}

export type CompileResult<A> =
  | { readonly ok: true; readonly artifact: A; readonly graph: Graph }
  | { readonly ok: false; readonly unsupported: readonly UnsupportedNode[]; readonly graph: Graph };

/** Compile for `backend`; unsupported nodes come back as data (all of them), for callers that decide what to do
 *  (specialise on input values, print a coverage report). */
export function tryCompileFor<A, O>(backend: AnyBackend & { emit(plan: never, options: O): A }, graph: Graph, opts: ShapeOptions & O, choice: PipelineChoice = {}): CompileResult<A> {
  let optimized;
  try {
    optimized = optimizeFor(backend, graph, opts, choice);
  } catch (e) {
    // a sequence whose layout depends on run-time values: a refusal like any other (callers may specialise)
    if (e instanceof SequenceRefusal) return { ok: false, unsupported: [e.refused], graph };
    throw e;
  }
  const { graph: g, prepared } = optimized;
  const unsupported = unsupportedNodes(backend, prepared);
  if (unsupported.length) return { ok: false, unsupported, graph: g };
  return { ok: true, artifact: backend.emit(planLowering(backend, prepared) as never, opts) as A, graph: g };
}

/** Compile for `backend`, or an UnsupportedNodesError listing every node it cannot lower. */
export function compileFor<A, O>(backend: AnyBackend & { emit(plan: never, options: O): A }, graph: Graph, opts: ShapeOptions & O, choice: PipelineChoice = {}): { artifact: A; graph: Graph } {
  const r = tryCompileFor(backend, graph, opts, choice);
  if (!r.ok) throw new UnsupportedNodesError(r.unsupported, backend.name, opts.source ?? graph.name);
  return r;
}

/** Every node of `graph` (after the pipeline) that `backend` cannot lower, with its reason: what a coverage report
 *  prints. Input shapes must be given (or static) as for compiling. */
export function coverage(backend: AnyBackend, graph: Graph, opts: ShapeOptions, choice: PipelineChoice = {}): UnsupportedNode[] {
  return unsupportedNodes(backend, optimizeFor(backend, graph, opts, choice).prepared);
}
