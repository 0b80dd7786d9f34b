// `npm run conformance`: every ONNX backend suite of the shared data on the reference backend, checked against
// test/conformance/expected-failures.json. Exits 1 on a failure not in the manifest or an entry that now passes;
// says so (and exits 0) when the shared data is absent.
// With --backend wasm the manifest is test/conformance/expected-failures-wasm.json (`npm run conformance` runs the
// node suite on wasm too); a case that also fails on the reference backend keeps the reference's reason. With
// --backend webgpu (expected-failures-webgpu.json) the node suite is its float32-only cases; without an adapter the
// run is skipped with one line, or fails where ONNXC_REQUIRE_WEBGPU=1 (CI).
//   npx tsx scripts/conformance-suites.ts [--backend B] [--update-manifest] [suite ...]

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadBackend } from '../compiler/backends.js';
import { findCases, readManifest, runCase, summarize, type CaseResult } from '../compiler/conformance.js';

const SHARED = resolve(process.env.ONNXC_SHARED ?? join(import.meta.dirname, '..', '..', 'shared'));
const REF_MANIFEST = join(import.meta.dirname, '..', 'test', 'conformance', 'expected-failures.json');
// real/ holds only download links (data.json), no models, so it is not a suite here.
const SUITES = ['node', 'simple', 'pytorch-converted', 'pytorch-operator', 'light'];

/** A manifest reason for a new failure: the known categories in words, otherwise the error without paths. */
function reasonFor(r: CaseResult): string {
  const msg = (r.reason ?? '').split('\n')[0]!.replace(/\S*\.onnx: /g, '');
  const type = /element type (\w+)/.exec(msg);
  if (r.kind === 'UnsupportedTypeError' && type) {
    return `element type ${type[1]} is recognised but not computed (onnxc computes with the 14 standard ONNX types)`;
  }
  const domainOp = /op ([\w.]+)::(\w+)/.exec(msg);
  if (r.kind === 'UnsupportedOpError' && domainOp) return `${domainOp[1]}::${domainOp[2]}: only ai.onnx ops are implemented`;
  if (/ImageDecoder/.test(msg)) return 'ImageDecoder: decoding image files is out of scope for a model compiler';
  if (/bernoulli|training_dropout/.test(r.name)) return "random op: expected values come from numpy's generator, not reproducible bit for bit (shape and dtype checked in unit tests)";
  if (/dft_inverse/.test(r.name)) return 'expected output carries float32 FFT noise (~2e-7 where the exact value is 0), beyond atol 1e-7; onnxruntime fails it too';
  return `${r.kind}: ${msg.slice(0, 200)}`;
}

const args = process.argv.slice(2);
const update = args.includes('--update-manifest');
const bi = args.indexOf('--backend');
const backendName = bi >= 0 ? args[bi + 1]! : 'reference';
// webgpu: no adapter skips with one line, except where CI requires one (ONNXC_REQUIRE_WEBGPU=1 fails the run)
const backend = await loadBackend(backendName).catch((e: unknown) => {
  if (!backendName.startsWith('webgpu') || process.env.ONNXC_REQUIRE_WEBGPU === '1' || !(e instanceof Error)) throw e;
  console.log(`conformance --backend ${backendName}: skipped (${e.message.split('\n')[0]})`);
  process.exit(0);
});
// webgpu computes float32 only: its node suite run is the float32-only cases (node-float32-only-cases.txt)
const only = (suite: string): ((name: string) => boolean) => {
  const list = join(SHARED, 'onnx-backend', `${suite}-float32-only-cases.txt`);
  if (!backend.name.startsWith('webgpu') || !existsSync(list)) return () => true;
  const names = new Set(readFileSync(list, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
  return (name) => names.has(name);
};
const suites = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--backend');
const root = join(SHARED, 'onnx-backend');
if (!existsSync(root)) {
  console.log(`conformance: shared data not found at ${root} (set ONNXC_SHARED); nothing run`);
  process.exit(0);
}

const MANIFEST = backend.name === 'reference' ? REF_MANIFEST : join(import.meta.dirname, '..', 'test', 'conformance', `expected-failures-${backend.name}.json`);
const manifest = readManifest(MANIFEST);
const refManifest = backend.name === 'reference' ? manifest : readManifest(REF_MANIFEST);
const next: Record<string, string> = {};
let bad = 0;
let total = { passed: 0, failed: 0, skipped: 0 };
for (const suite of suites.length ? suites : SUITES) {
  const dir = join(root, suite);
  if (!existsSync(dir)) { console.log(`${suite}: not found, skipped`); continue; }
  const t0 = performance.now();
  const results: CaseResult[] = [];
  const keep = only(suite);
  for (const c of findCases(dir).filter((x) => keep(x.name))) results.push(await runCase(c, backend));
  const s = summarize(results, manifest, suite);
  for (const r of results) {
    if (r.outcome !== 'fail') continue;
    const key = `${suite}/${r.name}`;
    const ref = backend.name === 'reference' ? undefined : refManifest.expectedFailures[key];
    next[key] = manifest.expectedFailures[key] ?? (ref ? `fails on the reference backend too: ${ref}` : reasonFor(r));
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
