// The pipeline behind `onnxc opt` and the API's optimize(): portable ONNX, as onnxsim users expect. A pass whose
// result holds onnxc's own ops (fused kernels, channels-last forms: `onnxc.*`, made for a backend) is skipped,
// since the exporter could only write those back decomposed (CastLike, Identity, ...), with more nodes than the
// model had; standard-op rewrites (folding, CSE, no-op removal, BatchNorm into Conv, Gelu/LayerNorm/Attention
// recognition) stay.

import type { Graph } from '../ir/graph.js';
import { opCounts, runPasses, type PassEvent, type RunPassesOptions } from '../passes/manager.js';
import type { Pass } from '../passes/pass.js';

const backendOps = (g: Graph): Set<string> => new Set([...opCounts(g).keys()].filter((op) => op.startsWith('onnxc.')));

export interface PortableResult {
  readonly graph: Graph;
  readonly events: readonly PassEvent[];
  /** Passes left out, each with the backend ops it would have introduced. */
  readonly skipped: readonly { readonly pass: string; readonly ops: readonly string[] }[];
}

export function runPortablePasses(graph: Graph, passes: readonly Pass[], opts: RunPassesOptions = {}): PortableResult {
  let g = graph;
  const events: PassEvent[] = [];
  const skipped: { pass: string; ops: string[] }[] = [];
  let known = backendOps(graph);
  for (const p of passes) {
    const r = runPasses(g, [p], opts);
    const introduced = [...backendOps(r.graph)].filter((op) => !known.has(op));
    if (introduced.length) { skipped.push({ pass: p.name, ops: introduced }); continue; }
    events.push(...r.events);
    g = r.graph;
    known = backendOps(g);
  }
  return { graph: g, events, skipped };
}
