// The built CLI (bin/onnxc.js -> dist/) under a 4 GB address-space cap: commands that do not compile must not load
// Binaryen (its module reserves ~10 GB of virtual memory on import), and `--help` must not load any command.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildExamples } from '../models/build-examples.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'onnxc.js');
const built = existsSync(join(ROOT, 'dist', 'compiler', 'cli.js'));

function capped(args: string): { code: number; err: string } {
  // bash -c so the limit applies to node alone, not to vitest
  const r = spawnSync('bash', ['-c', `ulimit -v 4000000 && exec node ${JSON.stringify(BIN)} ${args}`], { encoding: 'utf8' });
  return { code: r.status ?? -1, err: r.stderr };
}

let dir: string, model: string, inputs: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'onnxc-limits-'));
  model = buildExamples(dir)[0]!;
  inputs = join(dir, 'tiny_cnn', 'test_data_set_0');
});

// CI builds dist/ (npm ci runs `prepare`); a checkout that never built has nothing to run here
describe.skipIf(!built)('the built CLI under ulimit -v 4000000 (skipped until `npm run build` made dist/)', () => {
  it.each([
    ['--help', () => '--help'],
    ['--version', () => '--version'],
    ['inspect', () => `inspect ${model}`],
    ['run --backend reference', () => `run ${model} --backend reference --inputs ${inputs}`],
    ['opt -O2', () => `opt ${model} -O2 -o ${join(dir, 'opt.onnx')}`],
    ['diff --no-ort', () => `diff ${model} --dim batch=2 --no-ort`],
  ])('%s works', (_what, args) => {
    const r = capped(args());
    expect(r.code, r.err).toBe(0);
  });

  it('compile still works without the cap (it is the command that loads Binaryen)', () => {
    const out = execFileSync('node', [BIN, 'compile', model, '--dim', 'batch=2', '-o', join(dir, 'art')], { encoding: 'utf8' });
    expect(out).toContain('model.wasm');
  });

  it('--help is quick (loads no command)', () => {
    const best = (args: string[]): number => Math.min(...[0, 1, 2].map(() => {
      const t0 = performance.now();
      execFileSync('node', args);
      return performance.now() - t0;
    }));
    // relative to a bare node start, so a loaded machine slows both: before lazy loading --help took 1.6-2 s
    // (every command's imports, Binaryen included) against ~0.05 s for node alone
    const bare = best(['-e', '0']), help = best([BIN, '--help']);
    expect(help, `--help ${help.toFixed(0)} ms, node alone ${bare.toFixed(0)} ms`).toBeLessThan(4 * bare + 400);
  });
});
