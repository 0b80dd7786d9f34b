// Self-contained HTML reports (one file, inline SVG and CSS, nothing fetched): `onnxc diff --format html` (node
// counts and drift per pass per output) and `onnxc bench --html` (latency and size bars against peers). For
// people who look rather than read; every model-controlled string is escaped.

import type { DiffReport } from './diff.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (x: number): string => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x));
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; } code { font-size: 12px; } pre { font-size: 12px; background: #f6f6f6; padding: 8px; overflow-x: auto; }
svg text { font: 11px system-ui, sans-serif; } .legend span { margin-right: 1em; }
</style></head><body>
<h1>${esc(title)}</h1>
${body}
</body></html>
`;
}

/** Horizontal bars, one row per label, with the value written at the bar's end. */
export function barChart(rows: readonly { label: string; value: number; color?: string }[], unit: string, id: string): string {
  const w = 640, rowH = 22, left = 180;
  const max = Math.max(...rows.map((r) => r.value), 1e-30);
  const bars = rows.map((r, i) => {
    const len = Math.max(1, ((w - left - 90) * r.value) / max);
    const y = i * rowH + 4;
    return `<text x="${left - 6}" y="${y + 14}" text-anchor="end">${esc(r.label)}</text>`
      + `<rect class="bar" x="${left}" y="${y}" width="${len.toFixed(1)}" height="${rowH - 6}" fill="${r.color ?? PALETTE[0]}"/>`
      + `<text x="${(left + len + 4).toFixed(1)}" y="${y + 14}">${esc(`${r.value.toPrecision(3)} ${unit}`)}</text>`;
  });
  return `<svg id="${id}" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${rows.length * rowH + 8}" role="img">${bars.join('')}</svg>`;
}

/** Node count after each pass (bars) and the drift of every output after each pass (log-scale lines). */
function diffCharts(r: DiffReport): string {
  const n = r.passes.length;
  // room below the axis and to the right for the rotated pass names
  const w = Math.max(480, 28 * n + 220), h = 300, left = 60, top = 16, bottom = 160;
  const x = (i: number): number => left + (i + 0.5) * ((w - left - 120) / Math.max(n, 1));
  const maxNodes = Math.max(1, ...r.passes.map((p) => Math.max(p.nodesBefore, p.nodesAfter)));
  const bw = Math.max(4, (w - left - 120) / Math.max(n, 1) - 6);
  const labels = r.passes.map((p, i) => `<text transform="translate(${x(i).toFixed(1)},${h - bottom + 12}) rotate(45)">${esc(p.pass)}</text>`).join('');
  const nodeBars = r.passes.map((p, i) => {
    const bh = ((h - top - bottom) * p.nodesAfter) / maxNodes;
    return `<rect class="nodes" x="${(x(i) - bw / 2).toFixed(1)}" y="${(h - bottom - bh).toFixed(1)}" width="${bw.toFixed(1)}" height="${bh.toFixed(1)}" fill="${p.changed ? PALETTE[0] : '#bbb'}"><title>${esc(`${p.pass}: ${p.nodesBefore} -> ${p.nodesAfter} nodes`)}</title></rect>`;
  }).join('');
  const nodes = `<h2>Nodes after each pass</h2><svg id="nodes" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img">`
    + `<text x="4" y="${top + 4}">${maxNodes}</text><line x1="${left}" y1="${h - bottom}" x2="${w - 10}" y2="${h - bottom}" stroke="#888"/>${nodeBars}${labels}</svg>`;
  // drift: log10 from 1e-12 (and exact zeros) up to the largest seen
  const outputs = [...new Set(r.passes.flatMap((p) => p.outputs.map((d) => d.name)))];
  const finite = r.passes.flatMap((p) => p.outputs.map((d) => d.rel)).filter((v) => Number.isFinite(v) && v > 0);
  const lo = -12, hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(1e-12, ...finite))));
  const y = (v: number): number => {
    const l = v > 0 ? Math.min(hi, Math.max(lo, Math.log10(v))) : lo;
    return top + ((hi - l) / (hi - lo)) * (h - top - bottom);
  };
  const lines = outputs.map((name, k) => {
    const pts = r.passes.map((p, i) => { const d = p.outputs.find((o) => o.name === name); return d ? `${x(i).toFixed(1)},${y(Number.isFinite(d.rel) ? d.rel : 10 ** hi).toFixed(1)}` : ''; }).filter(Boolean);
    return `<polyline class="drift" fill="none" stroke="${PALETTE[k % PALETTE.length]}" stroke-width="2" points="${pts.join(' ')}"><title>${esc(name)}</title></polyline>`;
  }).join('');
  const threshold = r.threshold !== undefined && r.threshold > 0 ? `<line x1="${left}" x2="${w - 10}" y1="${y(r.threshold).toFixed(1)}" y2="${y(r.threshold).toFixed(1)}" stroke="#d62728" stroke-dasharray="4 3"/>` : '';
  const legend = outputs.map((o, k) => `<span style="color:${PALETTE[k % PALETTE.length]}">&#9632; ${esc(o)}</span>`).join('');
  const drift = `<h2>Drift of each output after each pass (relative to its max |value|, log scale)</h2><p class="legend">${legend}</p>`
    + `<svg id="drift" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img"><text x="4" y="${top + 4}">1e${hi}</text>`
    + `<text x="4" y="${h - bottom}">&#8804;1e${lo}</text><line x1="${left}" y1="${h - bottom}" x2="${w - 10}" y2="${h - bottom}" stroke="#888"/>${threshold}${lines}${labels}</svg>`;
  return nodes + drift;
}

export function diffHtml(r: DiffReport): string {
  const rows = r.passes.map((p) => {
    const worst = p.outputs.reduce<{ name: string; rel: number } | undefined>((w, d) => (!w || d.rel > w.rel ? d : w), undefined);
    return `<tr><td><code>${esc(p.pass)}</code></td><td>${p.skipped !== undefined ? `skipped (${esc(p.skipped)})` : p.changed ? 'changed' : 'no change'}</td><td>${p.nodesBefore} &#8594; ${p.nodesAfter}</td><td>${fmt(p.maxDrift)}</td><td>${worst ? `<code>${esc(worst.name)}</code>` : ''}</td><td>${worst ? fmt(worst.rel) : ''}</td><td>${p.ms.toFixed(1)} ms</td></tr>`;
  }).join('\n');
  const verdict = r.threshold === undefined ? '' : `<p><strong>${r.firstOver !== undefined ? `Drift above ${fmt(r.threshold)}: first crossed by pass <code>${esc(r.firstOver)}</code>` : `Drift within ${fmt(r.threshold)}`}</strong></p>`;
  const details = r.passes.filter((p) => p.changed).map((p) => {
    const lines = p.textDiff.trimEnd().split('\n');
    const shown = lines.length > 4000 ? `${lines.slice(0, 4000).join('\n')}\n… ${lines.length - 4000} more lines (onnxc diff --format text)` : lines.join('\n');
    return `<details><summary><code>${esc(p.pass)}</code>: ${p.nodesBefore} &#8594; ${p.nodesAfter} nodes</summary><pre>${esc(shown)}</pre></details>`;
  }).join('\n');
  return page(`onnxc diff: ${r.model}`, `${verdict}<table><tr><th>pass</th><th>status</th><th>nodes</th><th>max drift</th><th>worst output</th><th>its drift</th><th>time</th></tr>\n${rows}</table>\n${diffCharts(r)}\n<h2>IR changes</h2>\n${details}`);
}

export interface BenchRow { readonly engine: string; readonly medianMs: number; readonly p90Ms: number; readonly bytes?: number }

/** Latency (median) and artifact size bars, onnxc and whatever peers were measured. */
export function benchHtml(model: string, rows: readonly BenchRow[]): string {
  const colors = rows.map((_, i) => PALETTE[i % PALETTE.length]!);
  const latency = barChart(rows.map((r, i) => ({ label: r.engine, value: r.medianMs, color: colors[i] })), 'ms', 'latency');
  const sized = rows.filter((r) => r.bytes !== undefined);
  const size = sized.length ? `<h2>Size</h2>${barChart(sized.map((r) => ({ label: r.engine, value: r.bytes! / 1024, color: colors[rows.indexOf(r)] })), 'KiB', 'size')}` : '';
  const table = rows.map((r) => `<tr><td>${esc(r.engine)}</td><td>${r.medianMs.toFixed(3)}</td><td>${r.p90Ms.toFixed(3)}</td><td>${r.bytes !== undefined ? (r.bytes / 1024).toFixed(1) : ''}</td></tr>`).join('');
  return page(`onnxc bench: ${model}`, `<table><tr><th>engine</th><th>median ms</th><th>p90 ms</th><th>size KiB</th></tr>${table}</table><h2>Latency (median)</h2>${latency}${size}`);
}
