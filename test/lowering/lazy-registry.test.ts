// The backend registry loads a backend's code only when that backend is asked for: nothing compiler/backends.ts
// imports statically reaches Binaryen (which reserves ~10 GB of virtual memory when imported), so inspect, opt,
// diff and `run --backend reference` work under a small `ulimit -v`. Checked on the static import graph.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS, BackendUnavailableError, loadBackend } from '../../compiler/backends.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Modules reachable from `file` through static value imports (`import type` and `import()` do not load code). */
function staticClosure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  if (!file.startsWith(ROOT) || file.includes('node_modules')) return seen;
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(/^import\s+(?!type\b)[^'"]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm)) {
    const spec = m[1] ?? m[2]!;
    if (!spec.startsWith('.')) { seen.add(spec); continue; }
    staticClosure(join(dirname(file), spec.replace(/\.js$/, '.ts')), seen);
  }
  return seen;
}

describe('lazy backend registry', () => {
  it('imports no Binaryen statically (negative control: the wasm backend module does)', () => {
    const fromRegistry = staticClosure(join(ROOT, 'compiler', 'backends.ts'));
    // Binaryen loads through backends/wasm/binaryen.ts (its cache-backed loader), never from 'binaryen' directly
    const loader = join(ROOT, 'backends', 'wasm', 'binaryen.ts');
    expect([...fromRegistry].filter((m) => m === 'binaryen' || m === loader)).toEqual([]);
    expect(staticClosure(join(ROOT, 'compiler', 'compile.ts')).has(loader)).toBe(true);
  });

  it('loads each backend by name and refuses an unknown one with the list', async () => {
    for (const e of BACKENDS) {
      // webgpu without an adapter is refused with what to install (a typed error, not a crash)
      const b = await loadBackend(e.name).catch((err: unknown) => err);
      if (b instanceof BackendUnavailableError) expect(b.message).toMatch(/ci-webgpu-setup\.sh|npm package 'webgpu'/);
      else expect((b as { name: string }).name).toBe(e.name);
    }
    await expect(loadBackend('nope')).rejects.toThrow(/unknown backend 'nope' \(available: reference, wasm, wasm-O3, webgpu, webgpu-O3\)/);
  });
});
