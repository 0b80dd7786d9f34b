// `onnxc inspect`: what a model takes and gives, what it is made of.

import type { Graph, Model } from '../ir/graph.js';
import { sizeOf } from '../ir/tensor.js';
import { formatType } from '../ir/types.js';
import { safeText } from '../ir/errors.js';

export interface ModelSummary {
  source?: string;
  irVersion?: number;
  producer?: string;
  opsets: Record<string, number>;
  inputs: { name: string; type: string }[];
  outputs: { name: string; type: string }[];
  nodes: number;
  ops: Record<string, number>;
  parameters: number;
  parameterBytes: number;
  initializers: number;
}

function walk(g: Graph, visit: (g: Graph) => void): void {
  visit(g);
  for (const n of g.nodes) {
    for (const a of Object.values(n.attrs)) {
      if (a.kind === 'graph') walk(a.value, visit);
      else if (a.kind === 'graphs') a.value.forEach((s) => walk(s, visit));
    }
  }
}

export function summarizeModel(model: Model): ModelSummary {
  const g = model.graph;
  const ops: Record<string, number> = {};
  let nodes = 0, parameters = 0, parameterBytes = 0, initializers = 0;
  walk(g, (sg) => {
    for (const n of sg.nodes) { ops[n.op] = (ops[n.op] ?? 0) + 1; nodes++; }
    for (const t of sg.initializers.values()) {
      const n = sizeOf(t.dims);
      parameters += n;
      parameterBytes += t.dtype === 'string' ? 0 : (t.data as ArrayBufferView).byteLength;
      initializers++;
    }
  });
  const sorted = Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  return {
    source: model.info.source, irVersion: model.info.irVersion, producer: model.info.producer,
    opsets: { ...(model.info.opsets ?? {}) },
    inputs: g.inputs.map((name) => ({ name, type: formatType(g.types.get(name)!) })),
    outputs: g.outputs.map((name) => ({ name, type: formatType(g.types.get(name)!) })),
    nodes, ops: sorted, parameters, parameterBytes, initializers,
  };
}

export function formatSummary(s: ModelSummary): string {
  const lines: string[] = [];
  lines.push(`model     ${s.source ?? '(unnamed)'}`);
  lines.push(`ir        ${s.irVersion ?? '?'}   producer ${s.producer || '?'}`);
  lines.push(`opsets    ${Object.entries(s.opsets).map(([d, v]) => `${d || 'ai.onnx'}:${v}`).join(' ')}`);
  lines.push('inputs');
  for (const i of s.inputs) lines.push(`  ${i.name}: ${i.type}`);
  lines.push('outputs');
  for (const o of s.outputs) lines.push(`  ${o.name}: ${o.type}`);
  lines.push(`nodes     ${s.nodes}`);
  lines.push(`params    ${s.parameters.toLocaleString('en-US')} in ${s.initializers} initializers (${(s.parameterBytes / 1024).toFixed(1)} KiB)`);
  lines.push('ops');
  for (const [op, n] of Object.entries(s.ops)) lines.push(`  ${op.padEnd(28)} ${n}`);
  // names, dim symbols and the producer come from the model: no line breaks or terminal escapes of theirs
  return lines.map((l) => safeText(l)).join('\n');
}
