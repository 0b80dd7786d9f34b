// Rendering a DiffReport: plain text for terminals, Markdown for a pull-request comment, JSON for machines.

import { assertNever } from '../ir/errors.js';
import type { DiffReport, Drift, PassDiff } from './diff.js';

export type DiffFormat = 'text' | 'md' | 'json';

export function formatDiff(r: DiffReport, format: DiffFormat): string {
  switch (format) {
    case 'text': return text(r);
    case 'md': return markdown(r);
    case 'json': return `${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1)}\n`;
    default: return assertNever(format, 'diff format');
  }
}

const fmt = (x: number): string => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x));
const worst = (ds: readonly Drift[]): Drift | undefined => ds.reduce<Drift | undefined>((w, d) => (w === undefined || d.rel > w.rel ? d : w), undefined);
const list = (xs: readonly string[], max = 8): string => (xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')}, … (${xs.length - max} more)`);

function verdict(r: DiffReport): string {
  if (r.threshold === undefined) return '';
  return r.firstOver !== undefined
    ? `DRIFT ABOVE ${fmt(r.threshold)}: first crossed by pass '${r.firstOver}'`
    : `drift within ${fmt(r.threshold)}`;
}

function ortLine(r: DiffReport): string | undefined {
  if (r.ort === undefined) return undefined;
  if ('error' in r.ort) return `onnxruntime on the final model: failed: ${r.ort.error.split('\n')[0]}`;
  return `onnxruntime on the final model vs reference on the original: max drift ${fmt(r.ort.maxDrift)}`;
}

function text(r: DiffReport): string {
  const out: string[] = [`onnxc diff ${r.model} (${r.passes.length} passes, ${r.ms.toFixed(0)} ms)`];
  for (const p of r.passes) {
    out.push('', `== ${p.pass}: ${status(p)}  nodes ${p.nodesBefore} -> ${p.nodesAfter}  ${p.ms.toFixed(1)} ms  drift ${fmt(p.maxDrift)}`);
    if (!p.changed) continue;
    if (p.added.length) out.push(`  added: ${list(p.added)}`);
    if (p.removed.length) out.push(`  removed: ${list(p.removed)}`);
    if (p.rewritten.length) out.push(`  rewritten: ${list(p.rewritten)}`);
    for (const d of p.outputs) out.push(`  output ${d.name}: drift ${fmt(d.rel)} (max abs ${fmt(d.abs)})`);
    if (p.tensors?.length) out.push(`  tensors: ${p.tensors.length} compared, worst ${p.tensors[0]!.name} ${fmt(p.tensors[0]!.rel)}`);
    out.push(p.textDiff.trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
  }
  const o = ortLine(r);
  if (o) out.push('', o);
  const v = verdict(r);
  if (v) out.push(v);
  return `${out.join('\n')}\n`;
}

function status(p: PassDiff): string {
  return p.skipped !== undefined ? `skipped (${p.skipped})` : p.changed ? 'changed' : 'no change';
}

function markdown(r: DiffReport): string {
  const out: string[] = [`### onnxc diff: \`${r.model}\``, ''];
  const v = verdict(r);
  if (v) out.push(r.firstOver !== undefined ? `**${v}**` : `✅ ${v}`, '');
  out.push('| pass | status | nodes | added | removed | rewritten | max drift | worst output | time |', '|---|---|---|---|---|---|---|---|---|');
  for (const p of r.passes) {
    const w = worst(p.outputs);
    out.push(`| \`${p.pass}\` | ${status(p)} | ${p.nodesBefore} → ${p.nodesAfter} | ${p.added.length} | ${p.removed.length} | ${p.rewritten.length} | ${fmt(p.maxDrift)} | ${w ? `${w.name} ${fmt(w.rel)}` : ''} | ${p.ms.toFixed(1)} ms |`);
  }
  const o = ortLine(r);
  if (o) out.push('', o);
  for (const p of r.passes) {
    if (!p.changed) continue;
    out.push('', `<details><summary><code>${p.pass}</code>: ${p.nodesBefore} → ${p.nodesAfter} nodes</summary>`, '');
    if (p.removed.length) out.push(`Removed: ${list(p.removed.map((n) => `\`${n}\``))}  `);
    if (p.added.length) out.push(`Added: ${list(p.added.map((n) => `\`${n}\``))}  `);
    if (p.rewritten.length) out.push(`Rewritten: ${list(p.rewritten.map((n) => `\`${n}\``))}  `);
    if (p.tensors?.length) out.push(`Tensors compared: ${p.tensors.length}; worst \`${p.tensors[0]!.name}\` ${fmt(p.tensors[0]!.rel)}  `);
    out.push('', '```diff', p.textDiff.trimEnd(), '```', '', '</details>');
  }
  return `${out.join('\n')}\n`;
}
