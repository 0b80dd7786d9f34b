// The pass pipeline in front of the wasm backend: fix the input shapes, run -O0..-O3 (or an explicit list) with the
// backend's op set as ctx.supportedOps (so the layout pass only makes channels-last ops that have kernels), then
// `decompose` whatever the kernel table lacks. A fused node a kernel turns down at lowering (a FusedElementwise
// step without a vector formula, say) is decomposed and the graph lowered again: never a wrong answer, never a
// silent fallback at run time.

import { compileWasm, specialize, type WasmArtifact, type WasmCompileOptions } from '../backends/wasm/compile.js';
import { KERNELS } from '../backends/wasm/kernels/index.js';
import { UnsupportedOpError, UnsupportedTypeError } from '../ir/errors.js';
import type { Graph } from '../ir/graph.js';
import { getOp } from '../ops/index.js';
import { DECOMPOSE_RULES } from '../passes/decompose-rules.js';
import { decomposeGraph } from '../passes/decompose.js';
import { runPasses, type RunPassesOptions } from '../passes/manager.js';
import type { Pass, PassContext } from '../passes/pass.js';
import { parsePassList, pipelineForLevel, type OptLevel } from '../passes/pipelines.js';

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

/** The ops the wasm kernel table implements: what passes may produce and what decompose lowers to. */
export const WASM_OPS: ReadonlySet<string> = new Set(Object.keys(KERNELS));

/** Ops a fusion pass creates; the pass is left out when the backend has no kernel and no decomposition for it. */
const PRODUCES: Readonly<Record<string, string>> = {
  'fuse-attention': 'Attention', 'fuse-gelu': 'Gelu', 'fuse-layernorm': 'LayerNormalization', 'fuse-rmsnorm': 'RMSNormalization',
};

const lowerable = (op: string): boolean => WASM_OPS.has(op) || getOp(op)?.decompose !== undefined || DECOMPOSE_RULES.has(op);

/** Fusions the -O levels leave out for wasm because the fused kernel is slower than the unfused ops' kernels
 *  (measured with bench/perf-kernels.ts). fuse-attention: kernels/attention.ts is scalar f64 loops (written for
 *  breadth: masks, caches, softcap), 2.5 ms per gpt2_tiny layer against ~0.3 ms for the MatMul/Softmax/Transpose
 *  it replaces (gpt2_tiny -O3 43.9 -> ~33 ms). An explicit `passes` list still runs it. */
const SLOWER_ON_WASM: ReadonlySet<string> = new Set(['fuse-attention']);

/** The passes `choice` names, less fusions into ops the wasm backend cannot run (or runs slower, for -O levels). */
export function wasmPipeline(choice: PipelineChoice): Pass[] {
  const explicit = choice.passes !== undefined;
  const passes = explicit ? parsePassList(choice.passes!) : pipelineForLevel(choice.level ?? 3);
  return passes.filter((p) => {
    if (!explicit && SLOWER_ON_WASM.has(p.name)) return false;
    const op = PRODUCES[p.name];
    return op === undefined || lowerable(op);
  });
}

function context(source: string | undefined, choice: PipelineChoice, extraDecompose: readonly string[]): PassContext {
  const options = new Map(choice.options ?? []);
  if (extraDecompose.length) options.set('decompose', [options.get('decompose') ?? '', ...extraDecompose].filter(Boolean).join(','));
  return { source, options, supportedOps: WASM_OPS };
}

/** The graph as the wasm backend lowers it: shapes fixed, pipeline run, unsupported ops decomposed. */
export function optimizeForWasm(graph: Graph, opts: WasmCompileOptions, choice: PipelineChoice = {}, extraDecompose: readonly string[] = []): Graph {
  const fixed = opts.fixedInputs ?? {};
  // fixed inputs become constants first, so the passes fold what they decide
  const g0: Graph = Object.keys(fixed).length === 0 ? graph : {
    ...graph, inputs: graph.inputs.filter((n) => !fixed[n]), initializers: new Map([...graph.initializers, ...Object.entries(fixed)]),
  };
  const ctx = context(opts.source, choice, extraDecompose);
  const g = specialize(g0, opts);
  const passes = wasmPipeline(choice);
  const { graph: optimized } = passes.length ? runPasses(g, passes, { ctx, verify: choice.verify, hooks: choice.hooks }) : { graph: g };
  return decomposeGraph(optimized, ctx);
}

/** Rounds of "a kernel turned a fused node down: decompose that op and lower again". */
const MAX_RETRIES = 4;

/** Optimise, then lower; returns the artifact and the graph that was lowered. */
export function compileOptimized(graph: Graph, opts: WasmCompileOptions, choice: PipelineChoice = {}): { artifact: WasmArtifact; graph: Graph } {
  const extra: string[] = [];
  for (let round = 0; ; round++) {
    const g = optimizeForWasm(graph, opts, choice, extra);
    // fixed inputs were folded into g's initializers above; the manifest still lists them from the original graph
    const withFixed: Graph = { ...g, inputs: graph.inputs.filter((n) => g.inputs.includes(n) || opts.fixedInputs?.[n] !== undefined) };
    try {
      return { artifact: compileWasm(withFixed, opts), graph: g };
    } catch (e) {
      const op = e instanceof UnsupportedOpError || e instanceof UnsupportedTypeError ? e.site.op : undefined;
      const decomposable = op !== undefined && op.startsWith('onnxc.') && getOp(op)?.decompose !== undefined;
      if (!decomposable || extra.includes(op) || round >= MAX_RETRIES) throw e;
      extra.push(op);
    }
  }
}
