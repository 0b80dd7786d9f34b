// `npm run conformance`: every ONNX backend suite of the shared data on the reference backend, checked against
// test/conformance/expected-failures.json. Exits 1 on a failure not in the manifest or an entry that now passes;
// says so (and exits 0) when the shared data is absent.
//   npx tsx scripts/conformance-suites.ts [--backend B] [--update-manifest] [suite ...]

import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getBackend } from '../compiler/backends.js';
import { findCases, readManifest, runCase, summarize, type CaseResult } from '../compiler/conformance.js';

const SHARED = resolve(process.env.ONNXC_SHARED ?? join(import.meta.dirname, '..', '..', 'shared'));
const MANIFEST = join(import.meta.dirname, '..', 'test', 'conformance', 'expected-failures.json');
const SUITES = ['node', 'simple', 'pytorch-converted', 'pytorch-operator', 'light', 'real'];

const args = process.argv.slice(2);
const update = args.includes('--update-manifest');
const bi = args.indexOf('--backend');
const backend = getBackend(bi >= 0 ? args[bi + 1]! : 'reference');
const suites = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--backend');
const root = join(SHARED, 'onnx-backend');
if (!existsSync(root)) {
  console.log(`conformance: shared data not found at ${root} (set ONNXC_SHARED); nothing run`);
  process.exit(0);
}

const manifest = readManifest(MANIFEST);
const next: Record<string, string> = {};
let bad = 0;
let total = { passed: 0, failed: 0, skipped: 0 };
for (const suite of suites.length ? suites : SUITES) {
  const dir = join(root, suite);
  if (!existsSync(dir)) { console.log(`${suite}: not found, skipped`); continue; }
  const t0 = performance.now();
  const results: CaseResult[] = findCases(dir).map((c) => runCase(c, backend));
  const s = summarize(results, manifest, suite);
  for (const r of results) {
    if (r.outcome !== 'fail') continue;
    const key = `${suite}/${r.name}`;
    next[key] = manifest.expectedFailures[key] ?? `${r.kind}: ${(r.reason ?? '').split('\n')[0]!.slice(0, 200)}`;
  }
  for (const f of s.unexpectedFailures) console.log(`  unexpected failure ${f}: ${results.find((r) => `${suite}/${r.name}` === f)?.reason?.split('\n')[0]}`);
  for (const p of s.unexpectedPasses) console.log(`  unexpected pass ${p} (remove it from the manifest)`);
  bad += s.unexpectedFailures.length + s.unexpectedPasses.length;
  total = { passed: total.passed + s.passed, failed: total.failed + s.failed, skipped: total.skipped + s.skipped };
  console.log(`${suite}: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
if (update) {
  const keep = Object.fromEntries(Object.entries(manifest.expectedFailures).filter(([k]) => !suites.length || !suites.some((s) => k.startsWith(`${s}/`))));
  const merged = Object.fromEntries(Object.entries({ ...keep, ...next }).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(MANIFEST, `${JSON.stringify({ expectedFailures: merged }, null, 1)}\n`);
  console.log(`manifest updated: ${Object.keys(merged).length} expected failures`);
}
console.log(`conformance: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
if (bad && !update) { console.log(`${bad} results differ from the manifest`); process.exitCode = 1; }
