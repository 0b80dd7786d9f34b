// Rendering a DiffReport: plain text for terminals, Markdown for a pull-request comment, JSON for machines.

import { assertNever } from '../ir/errors.js';
import type { DiffReport, Drift, PassDiff } from './diff.js';
import { mdBlock, mdCode, mdText } from './report-escape.js';

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

/** GitHub refuses a comment over 65,536 characters; the Markdown report stays under this, leaving room for a
 *  wrapper the CI adds. */
export const MD_LIMIT = 60_000;

function markdown(r: DiffReport, limit = MD_LIMIT): string {
  // summary first (always whole), then per-pass details while they fit: each pass gets a fair share of what is
  // left, its IR diff trimmed to that share with a pointer to the full report
  const out: string[] = [`### onnxc diff: ${mdCode(r.model)}`, ''];
  const v = verdict(r);
  if (v) out.push(r.firstOver !== undefined ? `**${v}**` : `✅ ${v}`, '');
  out.push('| pass | status | nodes | added | removed | rewritten | max drift | worst output | its drift | time |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const p of r.passes) {
    const w = worst(p.outputs);
    out.push(`| \`${p.pass}\` | ${status(p)} | ${p.nodesBefore} → ${p.nodesAfter} | ${p.added.length} | ${p.removed.length} | ${p.rewritten.length} | ${fmt(p.maxDrift)} | ${w ? mdCode(w.name, true) : ''} | ${w ? fmt(w.rel) : ''} | ${p.ms.toFixed(1)} ms |`);
  }
  const o = ortLine(r);
  if (o) out.push('', mdText(o));
  const FULL = 'the full report: `onnxc diff --format text` (or `--format json`)';
  const changed = r.passes.filter((p) => p.changed);
  let used = out.join('\n').length + FULL.length + 200;
  for (const [i, p] of changed.entries()) {
    // a fair share of what is left, but at least enough to show a pass (many passes: the first ones in full view)
    const share = Math.max(Math.floor((limit - used) / (changed.length - i)), Math.min(2000, limit - used));
    const head = ['', `<details><summary><code>${p.pass}</code>: ${p.nodesBefore} → ${p.nodesAfter} nodes</summary>`, ''];
    // model-controlled names: code spans that cannot be closed early, a fence longer than any backtick run
    if (p.removed.length) head.push(`Removed: ${list(p.removed.map((n) => mdCode(n)))}  `);
    if (p.added.length) head.push(`Added: ${list(p.added.map((n) => mdCode(n)))}  `);
    if (p.rewritten.length) head.push(`Rewritten: ${list(p.rewritten.map((n) => mdCode(n)))}  `);
    if (p.tensors?.length) head.push(`Tensors compared: ${p.tensors.length}; worst ${mdCode(p.tensors[0]!.name)} ${fmt(p.tensors[0]!.rel)}  `);
    const headText = head.join('\n');
    if (headText.length + 300 > share) {
      out.push('', `_Details of ${changed.length - i} more changed passes left out to stay under GitHub's comment limit; see ${FULL}._`);
      break;
    }
    const body = fitLines(p.textDiff.trimEnd(), share - headText.length - 200);
    const section = [headText, '', mdBlock(body.text, 'diff'), ...(body.dropped ? ['', `_${body.dropped} more lines of this pass's IR diff left out; see ${FULL}._`] : []), '', '</details>'].join('\n');
    out.push(section);
    used += section.length + 1;
  }
  return `${out.join('\n')}\n`;
}

/** The first lines of `text` that fit in `budget` characters, and how many were dropped. */
function fitLines(text: string, budget: number): { text: string; dropped: number } {
  if (text.length <= budget) return { text, dropped: 0 };
  const lines = text.split('\n');
  let n = 0, size = 0;
  while (n < lines.length && size + lines[n]!.length + 1 <= budget) size += lines[n++]!.length + 1;
  return { text: lines.slice(0, n).join('\n'), dropped: lines.length - n };
}
