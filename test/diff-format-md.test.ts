// `onnxc diff --format md` is a pull-request comment: it must stay under GitHub's 65,536-character limit however
// big the model, with the summary table whole and first, per-pass bodies trimmed with a pointer to the full report.

import { describe, expect, it } from 'vitest';
import type { DiffReport, PassDiff } from '../compiler/diff.js';
import { formatDiff, MD_LIMIT } from '../compiler/diff-format.js';

/** A vit-sized report: `passes` changed passes, each with an IR diff of `lines` lines. */
function bigReport(passes: number, lines: number): DiffReport {
  const pass = (i: number): PassDiff => ({
    pass: `pass-${i}`, changed: true, ms: 1, nodesBefore: 2000 - i, nodesAfter: 1999 - i,
    added: [], removed: [`/blocks.${i}/attn/Softmax`], rewritten: [`/blocks.${i}/mlp/fc1/MatMul`],
    textDiff: Array.from({ length: lines }, (_, k) => `-  %v${k}: float32[1,197,768] = MatMul(%x${k}, %w${k})  # block ${i}`).join('\n'),
    outputs: [{ name: 'logits', rel: 1e-7 * (i + 1), abs: 1e-6 }], maxDrift: 1e-7 * (i + 1),
  });
  return { model: 'vit_base.onnx', passes: Array.from({ length: passes }, (_, i) => pass(i)), ms: 1000 };
}

describe('diff --format md', () => {
  it('a small report is whole', () => {
    const md = formatDiff(bigReport(2, 10), 'md');
    expect(md).not.toContain('left out');
    expect(md.match(/<details>/g)).toHaveLength(2);
  });

  for (const [passes, lines] of [[3, 20_000], [40, 3_000], [200, 50]] as const) {
    it(`${passes} changed passes with ${lines}-line IR diffs stay under GitHub's limit`, () => {
      const md = formatDiff(bigReport(passes, lines), 'md');
      expect(md.length).toBeLessThan(MD_LIMIT);
      expect(MD_LIMIT).toBeLessThan(65_536);
      // the summary table is whole and comes before any details
      const table = md.split('\n').filter((l) => /^\| `pass-\d+` \|/.test(l));
      expect(table).toHaveLength(passes);
      expect(md.indexOf('<details>')).toBeGreaterThan(md.indexOf('| `pass-0` |'));
      expect(md).toMatch(/left out.*onnxc diff --format text/);
      // every opened fence and details block is closed
      expect(md.match(/<details>/g)?.length ?? 0).toBe(md.match(/<\/details>/g)?.length ?? 0);
    });
  }

  it('names the worst output and its drift in separate columns', () => {
    const md = formatDiff(bigReport(1, 1), 'md');
    expect(md).toContain('| worst output | its drift |');
    expect(md).toMatch(/\| `logits` \| 1\.00e-7 \|/);
  });
});
