// `onnxc bench --profile`: the per-kernel profile (compiler/kernel-profile.ts) names every run-time kernel once,
// with its op, and sums them by op; the text form lists ops and the slowest kernels.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../compiler/cli.js';
import type { KernelProfile } from '../compiler/kernel-profile.js';
import { buildExamples } from '../models/build-examples.js';

let model: string;
beforeAll(() => { model = buildExamples(mkdtempSync(join(tmpdir(), 'onnxc-profile-')))[0]!; });
afterEach(() => { vi.restoreAllMocks(); process.exitCode = undefined; });

function capture(): () => string {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return () => out.join('\n');
}

describe('onnxc bench --profile', () => {
  it('JSON: every kernel once, with op and times; the by-op table adds up to the kernels', async () => {
    const out = capture();
    expect(await main(['bench', model, '--dim', 'batch=2', '--runs', '3', '--warmup', '1', '--profile', '--json'])).toBe(0);
    const p = (JSON.parse(out()) as { profile: KernelProfile }).profile;
    expect(p.kernels.length).toBeGreaterThan(2);
    expect(new Set(p.kernels.map((k) => k.fn)).size).toBe(p.kernels.length);
    for (const k of p.kernels) {
      expect(k.op).not.toBe('');
      expect(k.minMs).toBeGreaterThanOrEqual(0);
      expect(k.medianMs).toBeGreaterThanOrEqual(k.minMs);
    }
    expect(p.byOp.reduce((s, o) => s + o.count, 0)).toBe(p.kernels.length);
    expect(p.byOp.map((o) => o.op)).toEqual(expect.arrayContaining([...new Set(p.kernels.map((k) => k.op))]));
    expect(p.byOp.some((o) => /Conv/.test(o.op))).toBe(true);
  });

  it('text: the whole run, time by op and the top kernels by node name', async () => {
    const out = capture();
    expect(await main(['bench', model, '--dim', 'batch=1', '--runs', '2', '--warmup', '0', '--profile'])).toBe(0);
    expect(out()).toMatch(/profile {4}run median [\d.]+ ms/);
    expect(out()).toMatch(/by op[\s\S]*Conv[\s\S]*top \d+ kernels/);
  });

  it('without --profile there is no profile', async () => {
    const out = capture();
    expect(await main(['bench', model, '--dim', 'batch=1', '--runs', '2', '--warmup', '0', '--json'])).toBe(0);
    expect(JSON.parse(out())).not.toHaveProperty('profile');
  });
});
