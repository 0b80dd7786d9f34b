// The `conformance` command: every case folder under DIR on one backend, per-op counts, the summary line last;
// exits 1 when a case fails, or, with --manifest, when a failure is not listed or a listed case now passes.

import { readFileSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { UsageError } from '../ir/errors.js';
import { loadBackend } from './backends.js';
import { existingDir, existingFile, outputFile, parseRegex } from './cli-args.js';
import { progress } from './cli-progress.js';
import { findCases, runCase, summarize, type CaseResult, type Manifest } from './conformance.js';

/** The expected-failures manifest, its mistakes as usage errors (never the file's bytes in the message). */
function readManifestFile(path: string): Manifest {
  existingFile('--manifest', path);
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--manifest '${path}' is not JSON (${(e as Error).message.slice(0, 80).replace(/[^\x20-\x7e]/g, '?')})`);
  }
  const ef = (m as { expectedFailures?: unknown } | null)?.expectedFailures;
  if (typeof m !== 'object' || m === null || (ef !== undefined && (typeof ef !== 'object' || ef === null || Object.values(ef).some((v) => typeof v !== 'string')))) {
    throw new UsageError(`--manifest '${path}' must be {"expectedFailures": {"suite/case": "reason", ...}}`);
  }
  return { expectedFailures: (ef ?? {}) as Record<string, string> };
}

export async function conformanceCommand(dir: string, opts: { backend: string; json?: string; filter?: string; manifest?: string; failures?: boolean }): Promise<void> {
  existingDir('suite folder', dir);
  const re = opts.filter !== undefined ? parseRegex('--filter', opts.filter) : undefined;
  if (opts.json !== undefined) outputFile('--json', opts.json);
  const manifest = opts.manifest !== undefined ? readManifestFile(opts.manifest) : undefined;
  const backend = await loadBackend(opts.backend);
  const cases = findCases(dir).filter((c) => !re || re.test(c.name));
  const bar = progress('conformance');
  const results: CaseResult[] = [];
  for (const [i, c] of cases.entries()) { bar.update(`${i}/${cases.length} ${c.name}`); results.push(await runCase(c, backend)); }
  bar.done();
  const suite = basename(resolve(dir));
  const s = summarize(results, manifest, suite);
  for (const [op, r] of [...s.perOp].sort((a, b) => a[0].localeCompare(b[0]))) {
    console.log(`${op.padEnd(36)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(4)} failed`);
  }
  if (opts.failures) {
    for (const r of results) if (r.outcome === 'fail') console.log(`FAIL ${r.name}: ${r.reason?.split('\n')[0]}`);
  }
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ suite, backend: backend.name, results }, null, 1));
  if (manifest) {
    for (const f of s.unexpectedFailures) console.log(`unexpected failure: ${f}: ${results.find((r) => `${suite}/${r.name}` === f)?.reason?.split('\n')[0]}`);
    for (const p of s.unexpectedPasses) console.log(`unexpected pass (remove it from the manifest): ${p}`);
  }
  console.log(`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`);
  const bad = manifest ? s.unexpectedFailures.length + s.unexpectedPasses.length : s.failed;
  if (bad) process.exitCode = 1;
}
