// Binaryen's load cache (backends/wasm/binaryen-load.ts): a fresh folder is filled, the next load reads it, a
// damaged or stale file is rebuilt, an unwritable folder still works, and every way of loading gives an instance
// that emits the same bytes as a plain `import('binaryen')`. Also: no module imports 'binaryen' directly (two
// instances cannot share modules or expressions, and the direct import is the slow one).

import { readdirSync, readFileSync, writeFileSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  binaryenEntry, cacheDir, loadBinaryen, readCache, splitBinaryen, type BinaryenApi,
} from '../backends/wasm/binaryen-load.js';

const ROOT = join(import.meta.dirname, '..');

/** A small SIMD module through Binaryen's optimizer: its bytes must not depend on how Binaryen was loaded. */
function emitSample(b: BinaryenApi): Uint8Array {
  const m = new b.Module();
  try {
    m.setFeatures(b.Features.All);
    m.setMemory(1, 1, 'memory');
    const x = m.v128.load(0, 16, m.local.get(0, b.i32));
    const body = m.block(null, [
      m.v128.store(0, 16, m.local.get(0, b.i32), m.f32x4.add(x, m.f32x4.mul(m.v128.load(16, 16, m.local.get(0, b.i32)), m.f32x4.splat(m.f32.const(0.5))))),
      m.return(m.i32.add(m.local.get(0, b.i32), m.i32.mul(m.i32.const(3), m.i32.const(4)))),
    ], b.i32);
    m.addFunction('f', b.createType([b.i32]), b.i32, [], body);
    m.addFunctionExport('f', 'f');
    expect(m.validate()).toBeTruthy();
    m.optimize();
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

const fresh = (): string => mkdtempSync(join(tmpdir(), 'onnxc-binaryen-cache-'));
const cacheFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.bin'));

describe('binaryen load cache', () => {
  let reference: Uint8Array;

  it('a plain import is the reference', async () => {
    const r = await loadBinaryen({ cacheDir: 'off' });
    expect(r.info.how).toBe('import');
    reference = emitSample(r.binaryen);
    expect(reference.length).toBeGreaterThan(8);
  });

  it('fills a fresh folder, then loads from it; both emit the same bytes as the plain import', async () => {
    const dir = fresh();
    const first = await loadBinaryen({ cacheDir: dir });
    expect(first.info).toMatchObject({ how: 'split', wrote: true, reason: 'no cache file' });
    expect(cacheFiles(dir)).toHaveLength(1);
    expect(emitSample(first.binaryen)).toEqual(reference);
    const second = await loadBinaryen({ cacheDir: dir });
    expect(second.info).toEqual({ how: 'cache', file: first.info.file });
    expect(emitSample(second.binaryen)).toEqual(reference);
  });

  it('rebuilds a damaged cache file (flipped byte, truncated, garbage) and a stale one', async () => {
    const dir = fresh();
    const { info } = await loadBinaryen({ cacheDir: dir });
    const file = info.file!;
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1000] ^= 0x40;
    const stale = Buffer.from(good.toString('latin1').replace(/"stamp":"[^"]*"/, '"stamp":"0.0.0 1 2"'), 'latin1');
    const cases: [Buffer, string][] = [
      [flipped, 'checksum mismatch'], [good.subarray(0, good.length >> 1), 'wrong length'],
      [Buffer.from('not a cache file'), 'unreadable header'], [stale, 'stale (binaryen changed)'],
    ];
    for (const [bytes, reason] of cases) {
      writeFileSync(file, bytes);
      const r = await loadBinaryen({ cacheDir: dir });
      expect(r.info).toMatchObject({ how: 'split', reason, wrote: true, file });
      expect(readFileSync(file).equals(good), reason).toBe(true);
      expect(emitSample(r.binaryen)).toEqual(reference);
    }
    expect(cacheFiles(dir)).toHaveLength(1);
    // no temporary files left behind
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('works without a writable folder, and without one at all', async () => {
    const dir = fresh();
    const aFile = join(dir, 'plain-file');
    writeFileSync(aFile, 'x');
    // a folder under a regular file can never be created (even by root)
    const r = await loadBinaryen({ cacheDir: join(aFile, 'cache') });
    expect(r.info).toMatchObject({ how: 'split', wrote: false });
    expect(emitSample(r.binaryen)).toEqual(reference);
    const none = await loadBinaryen({ cacheDir: undefined });
    expect(none.info).toMatchObject({ how: 'split', wrote: false, reason: 'no cache folder' });
    expect(statSync(aFile).isFile()).toBe(true);
  });

  it('reads a missing file as a miss, not an error', () => {
    expect(readCache(join(fresh(), 'none.bin'), 'x')).toBe('no cache file');
  });
});

describe('binaryen.js split', () => {
  it('finds the glue and the wasm literal in the installed binaryen', () => {
    const parts = splitBinaryen(readFileSync(binaryenEntry().file, 'utf8'));
    expect(parts).toBeDefined();
    expect(parts!.literal.startsWith('`\\0asm')).toBe(true);
    expect(parts!.glue).not.toMatch(/import\.meta|export\s*\{/);
    expect(parts!.glue.length).toBeLessThan(1 << 20);
  });

  it('declines sources not in that shape (the caller then imports binaryen plainly)', () => {
    const ok = 'var a=f(`\\0asm\\x01`);var b=a;export{b as default};';
    expect(splitBinaryen(ok)).toBeDefined();
    for (const bad of [
      'export default 1;',
      'var a=f(`\\0asm`),c=f(`\\0asm`);export{a as default};', // two literals
      'var a=f(`\\0asm\\x01);export{a as default};', // unterminated
      'var a=f(`\\0asm${x}`);export{a as default};', // a substitution
      'var a=f(`\\0asm`);export default a;', // no `export{x as default}` at the end
      'import x from "y";var a=f(`\\0asm`);export{a as default};', // a static import
    ]) expect(splitBinaryen(bad), bad).toBeUndefined();
  });
});

describe('cache folder', () => {
  it('follows ONNXC_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache; off disables it', () => {
    expect(cacheDir({ ONNXC_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c');
    expect(cacheDir({ ONNXC_CACHE_DIR: 'off' })).toBe('off');
    expect(cacheDir({ ONNXC_CACHE_DIR: '0' })).toBe('off');
    expect(cacheDir({ XDG_CACHE_HOME: '/x' })).toBe(join('/x', 'onnxc'));
    expect(cacheDir({})).toMatch(/[\\/]\.cache[\\/]onnxc$|onnxc$/);
  });
});

describe('one Binaryen instance', () => {
  it("no module imports 'binaryen' itself (only backends/wasm/binaryen-load.ts, for the fallback)", () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) { if (e.name !== 'node_modules') walk(p); continue; }
        if (!e.name.endsWith('.ts') || p.endsWith(join('backends', 'wasm', 'binaryen-load.ts'))) continue;
        // code lines only (comments may name the import)
        const src = readFileSync(p, 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join('\n');
        if (/^\s*import\s+(?!type\b)[^;]*?from\s+['"]binaryen['"]|import\(\s*['"]binaryen['"]\s*\)/m.test(src)) offenders.push(relative(ROOT, p));
      }
    };
    for (const d of ['api', 'backends', 'bench', 'compiler', 'ir', 'lowering', 'models', 'ops', 'passes', 'runtime', 'scripts', 'test']) walk(join(ROOT, d));
    // import binaryen from '<relative path>/backends/wasm/binaryen.js' instead
    expect(offenders).toEqual([]);
  });
});
