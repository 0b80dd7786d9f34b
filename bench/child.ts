// Running a TypeScript file of the benchmark in a child Node process (for isolation and per-process figures):
// tsx's ESM loader, resolved from this package so the working directory does not matter.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export interface ChildResult<T> { readonly value?: T; readonly error?: string }

/** Run `file` with `args`; its last stdout line must be JSON. Node `flags` come before the loader. */
export function runTsChild<T>(file: string, args: readonly string[], timeoutMs: number, flags: readonly string[] = []): ChildResult<T> {
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const r = spawnSync(process.execPath, [...flags, '--import', loader, file, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 });
  const line = r.stdout?.trim().split('\n').pop();
  if (line?.startsWith('{')) return { value: JSON.parse(line) as T };
  if (r.error) return { error: r.error.message };
  const why = (r.stderr ?? '').trim().split('\n').find((l) => /error/i.test(l)) ?? `exit status ${r.status}${r.signal ? ` (${r.signal})` : ''}`;
  return { error: why.trim() };
}
