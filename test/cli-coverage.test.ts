// `onnxc coverage`: every node the target cannot lower is listed at once with its reason; exit 1 when any.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../compiler/cli.js';
import { coverageReport } from '../compiler/cli-coverage.js';
import { wasmBackend } from '../compiler/compile.js';
import { loadModel } from '../compiler/onnx/import.js';
import { fromValues } from '../ir/tensor.js';
import { exportModel } from '../compiler/onnx/export.js';
import { buildExamples } from '../models/build-examples.js';
import { GraphBuilder } from '../models/builder.js';

const dir = mkdtempSync(join(tmpdir(), 'onnxc-coverage-'));
afterEach(() => { vi.restoreAllMocks(); process.exitCode = undefined; });

/** Two string ops (no wasm kernels: the backend has no string tensors) beside a float op it does lower. */
function mixedModel(): string {
  const b = new GraphBuilder('mixed');
  const s = b.input('s', 'string', [3]);
  const lower = b.node('StringNormalizer', [s], { case_change_action: 'LOWER' }, 1, 'lower_it')[0]!;
  const upper = b.node('StringNormalizer', [lower], { case_change_action: 'UPPER' }, 1, 'upper_it')[0]!;
  const x = b.input('x', 'float32', [2, 2]);
  b.output(upper, b.op('Relu', [x]));
  const path = join(dir, 'mixed.onnx');
  writeFileSync(path, exportModel(b.model({ source: 'mixed' })));
  return path;
}

describe('onnxc coverage', () => {
  it('lists every unsupported node with its reason, and counts the supported ones', () => {
    const r = coverageReport(mixedModel(), { target: 'wasm' });
    expect(r.unsupported.map((u) => [u.node, u.op])).toEqual([['lower_it', 'StringNormalizer'], ['upper_it', 'StringNormalizer']]);
    for (const u of r.unsupported) expect(['missing-kernel', 'dtype']).toContain(u.reason);
    expect(r.supported).toBe(r.nodes - 2);
    expect(r.ops.find((o) => o.op === 'StringNormalizer')).toEqual({ op: 'StringNormalizer', nodes: 2, unsupported: 2 });
  });

  it('prints a table and the nodes, exit 1; exit 0 with JSON when all lower', async () => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
    expect(await main(['coverage', mixedModel()])).toBe(1);
    expect(out.join('\n')).toMatch(/cannot be lowered|2 cannot/);
    expect(out.join('\n')).toMatch(/lower_it \(StringNormalizer\): (missing-kernel|dtype): /);
    out.length = 0;
    process.exitCode = undefined;
    const example = buildExamples(dir)[0]!;
    expect(await main(['coverage', example, '--dim', 'batch=1', '--json'])).toBe(0);
    const json = JSON.parse(out.join('\n')) as { nodes: number; supported: number; unsupported: unknown[] };
    expect(json.unsupported).toEqual([]);
    expect(json.supported).toBe(json.nodes);
  });

  it('running such a model on the wasm backend names the model and the node, not the feed', () => {
    const path = mixedModel();
    const run = wasmBackend.prepare(loadModel(path)).run;
    expect(() => run([fromValues('string', [3], ['a', 'B', 'c']), fromValues('float32', [2, 2], [1, -2, 3, -4])]))
      .toThrow(/cannot be lowered by the wasm backend[^]*node 'lower_it' \(StringNormalizer\)/);
  });
});
