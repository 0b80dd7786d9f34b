// The CLI contract: exit codes, one clear line for bad input (no stack trace), the conformance summary line.

import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../compiler/cli.js';
import { buildExamples } from '../models/build-examples.js';
import { runOrt } from '../compiler/ort.js';
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
});
