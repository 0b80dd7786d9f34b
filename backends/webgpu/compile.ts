// Compiling a model for WebGPU: the rewrites only this backend needs (float16 computed in float32:
// widen-float16.ts; quantize/dequantize round trips and dynamic quantization in float32: fold-qdq.ts, fold-dynamic-quant.ts; int64 inputs narrowed to int32 with a run-time range check: narrow-int64.ts), then the lowering core (compileFor with the webgpu declaration), and the
// narrowed inputs marked in the manifest so the runtime takes int64 feeds for them. Every webgpu compile (the CLI,
// the registry's backends, tests, benchmarks) goes through here.

import type { Graph } from '../../ir/graph.js';
import { compileFor, tryCompileFor, type CompileResult, type PipelineChoice } from '../../lowering/compile-for.js';
import type { ShapeOptions } from '../../lowering/prepare.js';
import type { WebGpuArtifact } from '../../runtime/webgpu/types.js';
import { webgpuBackend } from './backend.js';
import { narrowInt64Inputs } from './narrow-int64.js';
import { foldDynamicQuant } from './fold-dynamic-quant.js';
import { foldQdq } from './fold-qdq.js';
import { widenFloat16 } from './widen-float16.js';

/** The graph as the webgpu backend's lowering sees it (before the pass pipeline), and the narrowed inputs. */
export function webgpuGraph(graph: Graph, source?: string): { graph: Graph; narrowed: string[] } {
  return narrowInt64Inputs(foldDynamicQuant(foldQdq(widenFloat16(graph, source), source), source), source);
}

const mark = (a: WebGpuArtifact, narrowed: readonly string[]): WebGpuArtifact => (narrowed.length === 0 ? a : {
  ...a,
  manifest: { ...a.manifest, inputs: a.manifest.inputs.map((i) => (narrowed.includes(i.name) ? { ...i, feed: 'int64' as const } : i)) },
});

/** Compile for webgpu; throws UnsupportedNodesError listing every node it cannot lower. */
export function compileWebGpuModel(graph: Graph, opts: ShapeOptions, pipeline: PipelineChoice = { level: 3 }): { artifact: WebGpuArtifact; graph: Graph } {
  const w = webgpuGraph(graph, opts.source);
  const r = compileFor(webgpuBackend, w.graph, opts, pipeline);
  return { artifact: mark(r.artifact, w.narrowed), graph: r.graph };
}

/** As compileWebGpuModel, the unsupported nodes returned instead of thrown. */
export function tryCompileWebGpuModel(graph: Graph, opts: ShapeOptions, pipeline: PipelineChoice = { level: 3 }): CompileResult<WebGpuArtifact> {
  const w = webgpuGraph(graph, opts.source);
  const r = tryCompileFor<WebGpuArtifact, unknown>(webgpuBackend, w.graph, opts, pipeline);
  return r.ok ? { ...r, artifact: mark(r.artifact, w.narrowed) } : r;
}
