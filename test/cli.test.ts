// The CLI contract: exit codes, one clear line for bad input (no stack trace), the conformance summary line.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../compiler/cli.js';
import { buildExamples } from '../models/build-examples.js';
import { runOrt } from '../compiler/ort.js';
import { BACKENDS } from '../compiler/backends.js';
import { BACKEND_NAMES } from '../compiler/cli.js';
import type { Tensor } from '../ir/tensor.js';
import { encodeTensorProto, readValueFile } from '../compiler/onnx/tensor-proto.js';

let dir: string;
let model: string;

function capture(): { out: () => string; err: () => string } {
  const out: string[] = [], err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err.push(String(s)); return true; });
  return { out: () => out.join('\n'), err: () => err.join('\n') };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'onnxc-cli-'));
  model = buildExamples(dir)[0]!;
});
afterEach(() => { vi.restoreAllMocks(); process.exitCode = undefined; });

describe('onnxc CLI', () => {
  it('inspect lists inputs, outputs, ops and parameters', async () => {
    const c = capture();
    expect(await main(['inspect', model])).toBe(0);
    expect(c.out()).toContain('image: float32[batch,3,32,32]');
    expect(c.out()).toMatch(/Conv\s+2/);
    expect(c.out()).toContain('params');
  });

  it('run writes output_K.pb for the given inputs', async () => {
    const outDir = join(dir, 'out');
    const c = capture();
    const code = await main(['run', model, '--backend', 'reference', '--inputs', join(dir, 'tiny_cnn', 'test_data_set_0'), '--output-dir', outDir]);
    expect(code, c.err()).toBe(0);
    expect(existsSync(join(outDir, 'output_0.pb'))).toBe(true);
    expect(c.out()).toContain('probs: float32[2,10]');
  });

  it('run without inputs needs --dim for symbolic dims (usage error, exit 2)', async () => {
    const c = capture();
    expect(await main(['run', model])).toBe(2);
    expect(c.err()).toContain('--dim batch=N');
    vi.restoreAllMocks();
    const c2 = capture();
    expect(await main(['run', model, '--dim', 'batch=3'])).toBe(0);
    expect(c2.out()).toContain('probs: float32[3,10]');
  });

  it('a missing model file is one line, exit 1', async () => {
    const c = capture();
    expect(await main(['inspect', join(dir, 'nope.onnx')])).toBe(1);
    expect(c.err().trim().split('\n')).toHaveLength(1);
    expect(c.err()).toContain('nope.onnx');
  });

  it('a truncated model is one line naming the file, exit 1, no stack trace', async () => {
    const bytes = readFileSync(model);
    const bad = join(mkdtempSync(join(tmpdir(), 'onnxc-bad-')), 'truncated.onnx');
    writeFileSync(bad, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const c = capture();
    expect(await main(['inspect', bad])).toBe(1);
    const lines = c.err().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('truncated.onnx');
    expect(c.err()).not.toMatch(/\n\s+at /);
  });

  it('an unknown command or flag is a usage error (exit 2)', async () => {
    capture();
    expect(await main(['frobnicate'])).toBe(2);
    expect(await main(['inspect', model, '--no-such-flag'])).toBe(2);
  });

  it('conformance prints per-op lines and the summary line last', async () => {
    // expected outputs from onnxruntime, so the case is a real comparison
    const ds = join(dir, 'tiny_cnn', 'test_data_set_0');
    const input = readValueFile(join(ds, 'input_0.pb'));
    const ort = await runOrt(model, { image: input });
    writeFileSync(join(ds, 'output_0.pb'), encodeTensorProto(ort.values[0]!, 'probs'));
    const c = capture();
    expect(await main(['conformance', dir])).toBe(0);
    const lines = c.out().trim().split('\n');
    expect(lines.at(-1)).toMatch(/^\d+ passed, \d+ failed, \d+ skipped$/);
    expect(lines.at(-1)).toBe('1 passed, 0 failed, 0 skipped');
  });

  it('conformance exits 1 when a case fails, 0 when a manifest lists that failure', async () => {
    const suite = mkdtempSync(join(tmpdir(), 'onnxc-suite-'));
    const ds = join(suite, 'bad_case', 'test_data_set_0');
    mkdirSync(ds, { recursive: true });
    copyFileSync(model, join(suite, 'bad_case', 'model.onnx'));
    const input = readValueFile(join(dir, 'tiny_cnn', 'test_data_set_0', 'input_0.pb')) as Tensor;
    writeFileSync(join(ds, 'input_0.pb'), encodeTensorProto(input, 'image'));
    const ort = await runOrt(model, { image: input });
    const wrong = ort.values[0]! as { dtype: 'float32'; dims: number[]; data: Float32Array };
    writeFileSync(join(ds, 'output_0.pb'), encodeTensorProto({ ...wrong, data: wrong.data.map((v) => v + 1) }, 'probs'));
    let c = capture();
    expect(await main(['conformance', suite])).toBe(1);
    expect(c.out()).toContain('0 passed, 1 failed, 0 skipped');
    vi.restoreAllMocks(); process.exitCode = undefined;
    const manifest = join(suite, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ expectedFailures: { [`${basename(suite)}/bad_case`]: 'wrong on purpose' } }));
    c = capture();
    expect(await main(['conformance', suite, '--manifest', manifest]), c.out()).toBe(0);
  });

  it('opt -O2 writes portable ONNX: no onnxc ops and no more nodes than it read', async () => {
    const out = join(dir, 'opt.onnx');
    const c = capture();
    expect(await main(['opt', model, '-O2', '-o', out, '--stats']), c.err()).toBe(0);
    expect(c.out()).toMatch(/fuse-conv-epilogue\s+skipped: it makes onnxc\.FusedConv/);
    vi.restoreAllMocks();
    const c2 = capture();
    expect(await main(['inspect', out, '--json'])).toBe(0);
    expect(await main(['inspect', model, '--json'])).toBe(0);
    const [after, before] = c2.out().split(/\n(?=\{)/).map((j) => JSON.parse(j) as { nodes: number; ops: Record<string, number> });
    expect(Object.keys(after!.ops).filter((op) => op.startsWith('onnxc.'))).toEqual([]);
    expect(after!.nodes).toBeLessThanOrEqual(before!.nodes);
  });

  it('--version prints the version; no arguments prints help and exits 1', async () => {
    const c = capture();
    const w = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await main(['--version'])).toBe(0);
    expect(String(w.mock.calls[0]?.[0])).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(await main([])).toBe(1);
    expect(c.err()).toContain('Usage: onnxc');
  });

  it('the backend names the CLI declares are the registry\'s', () => {
    expect([...BACKEND_NAMES]).toEqual(BACKENDS.map((b) => b.name));
  });

  // each mistake: exit 2, one line naming the option, never "internal error", nothing run
  const file = (): string => { const f = join(dir, 'a-file'); writeFileSync(f, 'x'); return f; };
  const badJson = (): string => { const f = join(dir, 'bad.json'); writeFileSync(f, '{not json'); return f; };
  const mistakes: [string, () => string[], RegExp][] = [
    ['--seed abc', () => ['run', model, '--dim', 'batch=2', '--seed', 'abc'], /--seed expects an integer/],
    ['--seed 1.5', () => ['diff', model, '--dim', 'batch=2', '--seed', '1.5', '--no-ort'], /--seed expects an integer/],
    ['--inputs naming a file', () => ['run', model, '--inputs', file()], /--inputs .* is not a folder/],
    ['-o naming a file (compile)', () => ['compile', model, '--dim', 'batch=2', '-o', file()], /-o .* exists and is not a folder/],
    ['-o naming a folder (opt)', () => ['opt', model, '-o', dir], /-o .* is a folder/],
    ['--filter ((', () => ['conformance', dir, '--filter', '(('], /--filter is not a valid regular expression/],
    ['a non-JSON --manifest', () => ['conformance', dir, '--manifest', badJson()], /--manifest .* is not JSON/],
    ['--tolerance x', () => ['check', model, '--dim', 'batch=2', '--tolerance', 'x'], /--tolerance expects a number/],
    ['--max-drift -1', () => ['diff', model, '--dim', 'batch=2', '--max-drift', '-1'], /--max-drift expects a number >= 0/],
    ['--dim batch=abc', () => ['run', model, '--dim', 'batch=abc'], /--dim expects NAME=VALUE/],
    ['--runs 0', () => ['bench', model, '--dim', 'batch=2', '--runs', '0'], /--runs expects an integer/],
  ];
  for (const [what, args, message] of mistakes) {
    it(`usage mistake: ${what} -> exit 2, one line`, async () => {
      const c = capture();
      expect(await main(args())).toBe(2);
      const lines = c.err().trim().split('\n');
      expect(lines, c.err()).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).not.toContain('internal error');
      expect(c.out()).toBe('');
    });
  }
});
