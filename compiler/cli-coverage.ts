// `onnxc coverage MODEL --target wasm|webgpu`: before deploying, which nodes the target can run and, for each it cannot,
// why (missing kernel, dtype, dynamic shape, data-dependent value, unsupported form): the graph as `compile` would
// lower it (the same pipeline), per op and per node, as a table or JSON. Exit 1 when some node cannot be lowered.

import { WASM_BACKEND } from '../backends/wasm/compile.js';
import { webgpuBackend } from '../backends/webgpu/backend.js';
import { webgpuGraph } from '../backends/webgpu/compile.js';
import { parseLevel } from '../passes/pipelines.js';
import { optimizeFor } from '../lowering/compile-for.js';
import type { UnsupportedNode } from '../lowering/protocol.js';
import { unsupportedNodes } from '../lowering/support.js';
import { existingDir, parseDims } from './cli-args.js';
import { load, readInputs } from './cli-model.js';
import { isTensor } from '../ir/value.js';

/** Node and model names come from the model: one printable line each (no escapes or newlines reach the terminal). */
const safeText = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

export interface CoverageReport {
  readonly model: string;
  readonly target: string;
  /** Run-time nodes after the pipeline (what the target is asked to lower). */
  readonly nodes: number;
  readonly supported: number;
  readonly ops: readonly { op: string; nodes: number; unsupported: number }[];
  readonly unsupported: readonly UnsupportedNode[];
}

export interface CoverageOpts { dim?: string[]; inputs?: string; optLevel?: string; target: string }

export function coverageReport(path: string, opts: CoverageOpts): CoverageReport {
  const dims = parseDims(opts.dim);
  const level = parseLevel(opts.optLevel ?? '3');
  if (opts.inputs !== undefined) existingDir('--inputs', opts.inputs);
  const model = load(path, opts);
  const source = model.info.source ?? path;
  // input shapes from input_K.pb fix symbolic dims as compile --inputs does
  const inputShapes = opts.inputs === undefined ? undefined : Object.fromEntries(readInputs(opts.inputs, model).flatMap((v, i) => (isTensor(v) ? [[model.graph.inputs[i]!, v.dims]] : [])));
  // webgpu: the graph as its compile sees it (float16 widened, QDQ folded, int64 inputs narrowed), its kernels
  const webgpu = opts.target === 'webgpu';
  const backend = webgpu ? webgpuBackend : WASM_BACKEND;
  const graph = webgpu ? webgpuGraph(model.graph, source).graph : model.graph;
  const { prepared } = optimizeFor(backend, graph, { source, dims, ...(inputShapes ? { inputShapes } : {}) }, { level });
  const unsupported = unsupportedNodes(backend, prepared);
  const bad = new Map<string, number>();
  for (const u of unsupported) bad.set(u.op, (bad.get(u.op) ?? 0) + 1);
  const count = new Map<string, number>();
  for (const n of prepared.nodes) count.set(n.op, (count.get(n.op) ?? 0) + 1);
  const ops = [...count].map(([op, nodes]) => ({ op, nodes, unsupported: bad.get(op) ?? 0 })).sort((a, b) => b.unsupported - a.unsupported || b.nodes - a.nodes || a.op.localeCompare(b.op));
  return { model: source, target: opts.target, nodes: prepared.nodes.length, supported: prepared.nodes.length - unsupported.length, ops, unsupported };
}

export function coverageCommand(path: string, opts: CoverageOpts & { json?: boolean }): void {
  const r = coverageReport(path, opts);
  if (opts.json) {
    console.log(JSON.stringify(r, null, 1));
  } else {
    console.log(`${safeText(r.model)} on ${r.target}: ${r.supported} of ${r.nodes} run-time nodes can be lowered${r.unsupported.length ? `, ${r.unsupported.length} cannot` : ''}`);
    const w = Math.max(4, ...r.ops.map((o) => o.op.length));
    console.log(`\n${'op'.padEnd(w)}  nodes  unsupported`);
    for (const o of r.ops) console.log(`${o.op.padEnd(w)}  ${String(o.nodes).padStart(5)}  ${o.unsupported ? String(o.unsupported).padStart(11) : ''}`);
    if (r.unsupported.length) {
      console.log('\nunsupported nodes:');
      for (const u of r.unsupported) console.log(`  ${safeText(u.node)} (${u.op}): ${u.reason}: ${safeText(u.detail)}`);
    }
  }
  if (r.unsupported.length) process.exitCode = 1;
}
