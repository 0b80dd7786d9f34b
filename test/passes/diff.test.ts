// `onnxc diff` and the line diff: a pass that deliberately breaks numbers (registered only here) is caught and
// named by --max-drift, both through diffModel and through the CLI; clean pipelines report zero drift.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../compiler/cli.js';
import { diffModel } from '../../compiler/diff.js';
import { formatDiff } from '../../compiler/diff-format.js';
import { diffLines, unifiedDiff } from '../../compiler/line-diff.js';
import { exportModel } from '../../compiler/onnx/export.js';
import type { Graph, Model } from '../../ir/graph.js';
import { fromValues } from '../../ir/tensor.js';
import { parseModel } from '../../ir/text/index.js';
import { getPass, registerPass } from '../../passes/index.js';
import { EXACT, defaultContext, definePass } from '../../passes/pass.js';
import { resolvePasses } from '../../passes/pipelines.js';

/** Scales the first graph output by 1.001: a 1e-3 relative drift that a -O pipeline must never cause. */
const breakNumbers = definePass({
  name: 'test-break-numbers',
  summary: 'TEST ONLY: multiply the first graph output by 1.001',
  requires: [],
  properties: { semantics: EXACT, idempotent: false },
  run(g: Graph): Graph {
    const out = g.outputs[0]!;
    const raw = `${out}_raw`;
    const nodes = g.nodes.map((n) => (n.outputs.includes(out) ? { ...n, outputs: n.outputs.map((o) => (o === out ? raw : o)) } : n));
    const types = new Map(g.types);
    types.set(raw, g.types.get(out)!);
    const inits = new Map(g.initializers);
    inits.set('test_k', fromValues('float32', [], [1.001]));
    types.set('test_k', { kind: 'tensor', dtype: 'float32', shape: [] });
    nodes.push({ name: 'test_scale', op: 'Mul', inputs: [raw, 'test_k'], outputs: [out], attrs: {} });
    return { ...g, nodes, initializers: inits, types };
  },
});

const MODEL: Model = parseModel(`model ir=10 opsets={"": 21}
graph g (x: float32[2,3]) -> (y: float32[2,3]) {
  const w: float32[2,3] = [1, 2, 3, 4, 5, 6]
  a: float32[2,3] = Identity(x) @id
  b: float32[2,3] = Add(a, w) @add1
  c: float32[2,3] = Add(a, w) @add2
  y: float32[2,3] = Mul(b, c) @mul
}`);
const INPUTS = [fromValues('float32', [2, 3], [0.5, -1, 2, 0.25, -0.5, 1])];

let unregister: () => void;
beforeAll(() => { unregister = registerPass(breakNumbers); });
afterAll(() => unregister());

describe('diffModel', () => {
  it('reports zero drift and the IR change for a clean pipeline', async () => {
    const r = await diffModel(MODEL, { passes: resolvePasses(['remove-noops', 'cse', 'dce']), inputs: INPUTS, ctx: defaultContext(), maxDrift: 0, verify: true });
    expect(r.firstOver).toBeUndefined();
    expect(r.passes.map((p) => [p.pass, p.changed, p.maxDrift])).toEqual([['remove-noops', true, 0], ['cse', true, 0], ['dce', false, 0]]);
    expect(r.passes[0]!.removed).toEqual(['id']);
    expect(r.passes[1]!.removed).toEqual(['add2']);
    expect(r.passes[1]!.textDiff).toContain('-  c: float32[2,3] = Add(x, w) @add2');
    expect(formatDiff(r, 'md')).toContain('| `cse` | changed | 3 → 2 |');
  });

  it('names the first pass whose drift crosses --max-drift, also with --tensors', async () => {
    for (const tensors of [false, true]) {
      const r = await diffModel(MODEL, { passes: resolvePasses(['remove-noops', 'test-break-numbers', 'cse']), inputs: INPUTS, ctx: defaultContext(), maxDrift: 1e-5, tensors });
      expect(r.firstOver).toBe('test-break-numbers');
      expect(r.passes[1]!.maxDrift).toBeGreaterThan(9e-4);
      expect(r.passes[1]!.maxDrift).toBeLessThan(1.1e-3);
      expect(r.passes[0]!.maxDrift).toBe(0);
      if (tensors) expect(r.passes[1]!.tensors!.length).toBeGreaterThan(0);
    }
  });
});

describe('onnxc diff / opt (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnxc-diff-'));
  const path = join(dir, 'model.onnx');
  writeFileSync(path, exportModel(MODEL));

  async function cli(args: string[]): Promise<{ code: number; out: string }> {
    let out = '';
    const w = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { out += String(s); return true; });
    const l = vi.spyOn(console, 'log').mockImplementation((s) => { out += `${String(s)}\n`; });
    const e = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    process.exitCode = undefined;
    try {
      const code = await main(args);
      return { code, out };
    } finally {
      w.mockRestore(); l.mockRestore(); e.mockRestore();
      process.exitCode = undefined;
    }
  }

  it('diff exits 1 and names the breaking pass; exits 0 for -O2', async () => {
    expect(getPass('test-break-numbers')).toBeDefined();
    const bad = await cli(['diff', path, '--passes', 'remove-noops,test-break-numbers,dce', '--max-drift', '1e-5', '--format', 'json', '--no-ort']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out).firstOver).toBe('test-break-numbers');
    const good = await cli(['diff', path, '-O2', '--max-drift', '1e-6', '--format', 'text', '--no-ort']);
    expect(good.code).toBe(0);
    expect(good.out).toContain('drift within 1.00e-6');
  });

  it('opt writes ONNX and prints IR after each change', async () => {
    const outPath = join(dir, 'opt.onnx');
    const r = await cli(['opt', path, '-O2', '--verify', '--print-ir-after-change', '-o', outPath]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('// -----// IR after remove-noops //----- //');
    expect(r.out).not.toContain('IR after constant-fold');
    const unknown = await cli(['opt', path, '--passes', 'no-such-pass']);
    expect(unknown.code).toBe(2);
  });
});

describe('line diff', () => {
  it('an edit script reproduces both sides and is minimal for a single change', () => {
    const line = fc.constantFrom('a', 'b', 'c');
    fc.assert(fc.property(fc.array(line, { maxLength: 12 }), fc.array(line, { maxLength: 12 }), (a, b) => {
      const ops = diffLines(a, b);
      expect(ops.filter((o) => o.kind !== 'add').map((o) => o.line)).toEqual(a);
      expect(ops.filter((o) => o.kind !== 'del').map((o) => o.line)).toEqual(b);
    }), { numRuns: 300 });
    expect(diffLines(['x', 'y', 'z'], ['x', 'q', 'z']).filter((o) => o.kind !== 'same')).toHaveLength(2);
  });

  it('formats unified hunks with context', () => {
    expect(unifiedDiff('a\nb\nc\n', 'a\nb\nc\n')).toBe('');
    expect(unifiedDiff('1\n2\n3\n4\n5\n6\n7\n8\n', '1\n2\n3\n4\nX\n6\n7\n8\n', { context: 1 })).toBe(
      '--- before\n+++ after\n@@ -4,3 +4,3 @@\n 4\n-5\n+X\n 6\n');
  });
});
