// Issue 14 item 4: model-controlled strings (node, value, op, graph names) cannot break an error onto several
// lines, drive the terminal (ANSI escapes, C1 controls, bidi overrides) or inject Markdown/HTML into the `diff`
// report meant for a pull-request comment. Before, they were printed raw.

import { describe, expect, it } from 'vitest';
import { diffModel } from '../../compiler/diff.js';
import { formatDiff } from '../../compiler/diff-format.js';
import { importModel } from '../../compiler/onnx/import.js';
import { mdBlock, mdCode } from '../../compiler/report-escape.js';
import { OnnxcError, ShapeError, safeText } from '../../ir/errors.js';
import { fromValues } from '../../ir/tensor.js';
import { parseModel } from '../../ir/text/index.js';
import { defaultContext } from '../../passes/pass.js';
import { resolvePasses } from '../../passes/pipelines.js';
import { graph, model, node, vi } from '../onnx/build.js';

const EVIL = 'n\n\u001b[31mERROR: all good\u001b[0m\r\u009b2J\u202eevil\u2028';
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('errors stay one safe line', () => {
  it('a node name with newlines and ANSI escapes in an import error', () => {
    const bytes = model(graph([node('Add', ['x', `ghost${EVIL}`], ['y'], [], { name: EVIL, op_type: 'Add' })], [vi('x', 1, [2])], [vi('y', 1, [2])]));
    let err: unknown;
    try { importModel(bytes, { source: `m${EVIL}.onnx` }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(OnnxcError);
    const line = (err as OnnxcError).describe();
    expect(line).not.toMatch(UNSAFE);
    expect(line).toContain('\\x1b[31m');
    expect((err as Error).message).not.toMatch(UNSAFE);
  });

  it('site fields added later (node, op, model) are escaped too', () => {
    const e = new ShapeError(`bad ${EVIL}`).at({ model: EVIL, node: EVIL, op: EVIL });
    expect(e.describe()).not.toMatch(UNSAFE);
    expect(e.describe().split('\n')).toHaveLength(1);
  });

  it('a huge name is cut, not printed whole', () => {
    const e = new ShapeError('x').at({ node: 'a'.repeat(1_000_000) });
    expect(e.describe().length).toBeLessThan(400);
    expect(new ShapeError('y'.repeat(1_000_000)).message.length).toBeLessThan(3000);
  });

  it('safeText escapes every kind of control and is idempotent', () => {
    const s = safeText(EVIL);
    expect(s).not.toMatch(UNSAFE);
    expect(safeText(s)).toBe(s);
    expect(s).toContain('\\u202e');
    expect(s).toContain('\\x9b');
  });
});

describe('the diff report', () => {
  // quoted names in IR text take JSON escapes: a node whose name closes a code span and opens raw HTML,
  // and a table-splitting, line-breaking value name
  const name = 'id` <img src=x onerror=alert(1)> `|\n# heading';
  const out = 'y|<b>\n\u001b[31m';
  const MODEL = parseModel(`model ir=10 opsets={"": 21}
graph g (x: float32[2]) -> (${JSON.stringify(out)}: float32[2]) {
  a: float32[2] = Identity(x) @${JSON.stringify(name)}
  ${JSON.stringify(out)}: float32[2] = Relu(a) @relu
}`);

  it('Markdown: names stay inside code spans, no raw HTML, no broken table or new heading', async () => {
    const r = await diffModel(MODEL, { passes: resolvePasses(['remove-noops']), inputs: [fromValues('float32', [2], [1, -1])], ctx: defaultContext() });
    expect(r.passes[0]!.changed).toBe(true);
    const md = formatDiff(r, 'md');
    expect(md).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    // the name is in a span fenced by more backticks than it holds, so its backtick cannot close the span
    expect(md).toContain(mdCode(safeText(name)));
    expect(md).not.toMatch(/(^|[^`])`id` <img/);
    expect(md.split('\n').some((l) => l.startsWith('# heading'))).toBe(false);
    // every table row keeps the header's columns (a `|` inside a name is escaped)
    const cells = (row: string): number => row.replace(/\\\|/g, '').split('|').length - 2;
    const header = md.split('\n').find((l) => l.startsWith('| pass |'))!;
    const rows = md.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(cells(row)).toBe(cells(header));
  });

  it('text and JSON: one safe line per name', async () => {
    const r = await diffModel(MODEL, { passes: resolvePasses(['remove-noops']), inputs: [fromValues('float32', [2], [1, -1])], ctx: defaultContext() });
    const text = formatDiff(r, 'text');
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(text.split('\n').some((l) => l.startsWith('# heading'))).toBe(false);
    const json = formatDiff(r, 'json');
    expect(json).not.toMatch(/[\u0080-\u009f\u2028\u2029\u202a-\u202e]/);
    expect(() => JSON.parse(json)).not.toThrow();
  });

  it('a code block cannot be closed by the text inside it', () => {
    const block = mdBlock('a\n```\n<script>alert(1)</script>\n````', 'diff');
    const fence = block.split('\n')[0]!.replace('diff', '');
    expect(fence.length).toBeGreaterThan(4);
    expect(block.split('\n').filter((l) => l === fence)).toHaveLength(1);
  });
});

describe('inspect', () => {
  it('input, output and dim names print as one safe line each', async () => {
    const { formatSummary, summarizeModel } = await import('../../compiler/inspect.js');
    const bytes = model(graph([node('Relu', [`x${EVIL}`], [`y${EVIL}`])], [vi(`x${EVIL}`, 1, [`batch${EVIL}`, 2])], [vi(`y${EVIL}`, 1)]));
    const text = formatSummary(summarizeModel(importModel(bytes, { source: `m${EVIL}.onnx` })));
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u202e]/);
    expect(text.split('\n').some((l) => l.startsWith('\u001b') || l.startsWith('ERROR'))).toBe(false);
  });
});
