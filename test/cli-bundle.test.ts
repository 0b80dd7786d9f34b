// bin/onnxc.js runs the bundled CLI (dist/cli/, scripts/bundle-cli.mjs) only while it is newer than every file it
// was bundled from, and the bundle behaves as the modules it came from (same artifact bytes).

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildExamples } from '../models/build-examples.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'onnxc.js');

/** A package layout with stand-in CLIs that say which one ran. */
function fakePackage(): { root: string; run: (env?: Record<string, string>) => string } {
  const root = mkdtempSync(join(tmpdir(), 'onnxc-bin-'));
  for (const d of ['bin', 'dist/cli', 'dist/compiler', 'dist/ir']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(BIN, join(root, 'bin', 'onnxc.js'));
  const cli = (what: string): string => `export async function main() { console.log('${what}'); return 0; }\n`;
  writeFileSync(join(root, 'dist', 'compiler', 'cli.js'), cli('modules'));
  writeFileSync(join(root, 'dist', 'ir', 'errors.js'), '');
  const old = new Date(Date.now() - 60_000);
  utimesSync(join(root, 'dist', 'compiler', 'cli.js'), old, old);
  utimesSync(join(root, 'dist', 'ir', 'errors.js'), old, old);
  writeFileSync(join(root, 'dist', 'cli', 'cli.js'), cli('bundle'));
  writeFileSync(join(root, 'dist', 'cli', 'inputs.json'), JSON.stringify({ entry: 'cli.js', inputs: ['compiler/cli.js', 'ir/errors.js'] }));
  const run = (env: Record<string, string> = {}): string =>
    execFileSync('node', [join(root, 'bin', 'onnxc.js')], { encoding: 'utf8', env: { ...process.env, ONNXC_NO_BUNDLE: '', ...env } }).trim();
  return { root, run };
}

describe('bin/onnxc.js picks the bundle only while it is current', () => {
  it('runs the bundle when it is newer than its inputs', () => {
    expect(fakePackage().run()).toBe('bundle');
  });

  it('runs the modules when an input is newer (a tsc run since the bundle), or ONNXC_NO_BUNDLE=1', () => {
    const p = fakePackage();
    expect(p.run({ ONNXC_NO_BUNDLE: '1' })).toBe('modules');
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(p.root, 'dist', 'ir', 'errors.js'), later, later);
    expect(p.run()).toBe('modules');
  });

  it('runs the modules when the bundle is missing or its input list is unreadable', () => {
    const p = fakePackage();
    writeFileSync(join(p.root, 'dist', 'cli', 'inputs.json'), '{ not json');
    expect(p.run()).toBe('modules');
    const q = fakePackage();
    writeFileSync(join(q.root, 'dist', 'cli', 'inputs.json'), JSON.stringify({ entry: 'cli.js', inputs: ['ir/gone.js'] }));
    expect(q.run()).toBe('modules');
  });
});

/** Whether dist/cli/ exists and is newer than its inputs (what bin/onnxc.js checks). */
function bundleCurrent(): boolean {
  const list = join(ROOT, 'dist', 'cli', 'inputs.json');
  if (!existsSync(list)) return false;
  const { entry, inputs } = JSON.parse(readFileSync(list, 'utf8')) as { entry: string; inputs: string[] };
  const made = statSync(join(ROOT, 'dist', 'cli', entry)).mtimeMs;
  return inputs.every((f) => existsSync(join(ROOT, 'dist', f)) && statSync(join(ROOT, 'dist', f)).mtimeMs <= made);
}

describe.skipIf(!bundleCurrent())('the built bundle (skipped unless `npm run build` made a current dist/cli/)', () => {
  let model: string, dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'onnxc-bundle-'));
    model = buildExamples(dir)[0]!;
  });

  it('compiles to the same files as the unbundled modules', () => {
    const compile = (out: string, env: Record<string, string>): void => {
      execFileSync('node', [BIN, 'compile', model, '--dim', 'batch=2', '-o', join(dir, out)], { encoding: 'utf8', env: { ...process.env, ...env } });
    };
    compile('bundled', {});
    compile('modules', { ONNXC_NO_BUNDLE: '1' });
    const files = readdirSync(join(dir, 'modules')).sort();
    expect(readdirSync(join(dir, 'bundled')).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(dir, 'bundled', f)).equals(readFileSync(join(dir, 'modules', f))), f).toBe(true);
  });
});
