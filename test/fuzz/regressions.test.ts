// Replays the fuzz regression corpus (test/fuzz/regressions/) and a small seeded fuzz run in `npm test`: each case
// must end in success or a typed one-line OnnxcError within its time budget. The full run is `npm run fuzz`.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withLimits } from '../../ir/limits.js';
import { KernelError } from '../../ir/errors.js';
import { missingReason, SHARED } from '../helpers/shared.js';
import { compileWasmGraph } from '../../compiler/compile.js';
import { judge, runCase } from './cases.js';
import { externalDataDir, loadCorpus, makeCase } from './corpus.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, 'regressions');
const files = existsSync(dir) ? readdirSync(dir).sort() : [];
const baseDir = externalDataDir();
const LIMITS = { maxElements: 2 ** 24, maxTensorBytes: 2 ** 27, maxLoopIterations: 10_000 };
const BUDGET_MS = 10_000;

function expectClean(out: ReturnType<typeof runCase>, what: string): void {
  expect(out.outcome, `${what}: ${out.message ?? ''}`).not.toBe('BUG');
  expect(out.ms, `${what} took ${out.ms.toFixed(0)} ms`).toBeLessThan(BUDGET_MS);
}

describe('fuzz regressions', () => {
  const onnx = files.filter((f) => f.endsWith('.onnx'));
  it('the corpus holds the hand-made cases from issue 14', () => expect(onnx.filter((f) => f.startsWith('hand-')).length).toBeGreaterThanOrEqual(6));
  it.each(onnx)('%s', (f) => {
    const meta = files.includes(f.replace(/\.onnx$/, '.json')) ? JSON.parse(readFileSync(join(dir, f.replace(/\.onnx$/, '.json')), 'utf8')) as { compile?: boolean } : {};
    const bytes = new Uint8Array(readFileSync(join(dir, f)));
    expectClean(withLimits(LIMITS, () => runCase(bytes, { baseDir, compile: (meta.compile ?? true) ? compileWasmGraph : undefined, run: true })), f);
  }, 60_000);

  const recipes = files.filter((f) => f.endsWith('.json') && !files.includes(f.replace(/\.json$/, '.onnx')));
  const corpus = loadCorpus(SHARED);
  // recipes exist only for mutants of big shared models; they need the shared data to be rebuilt
  if (recipes.length) it.skipIf(corpus.node.length === 0)(`recipes rebuilt from the shared models (${recipes.length}) ${corpus.node.length ? '' : missingReason('onnx-backend', 'node')}`, () => {
    for (const f of recipes) {
      const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { runSeed: number; index: number; compileEvery: number };
      const spec = makeCase(corpus, r.runSeed, r.index, r.compileEvery);
      expectClean(withLimits(LIMITS, () => runCase(spec.mutant.bytes, { baseDir, compile: spec.compile ? compileWasmGraph : undefined, run: spec.run })), f);
    }
  }, 120_000);
});

describe('fuzz smoke run (the CI run is npm run fuzz)', () => {
  const corpus = loadCorpus(SHARED);
  it.skipIf(corpus.node.length === 0)(`200 seeded cases end cleanly ${corpus.node.length ? '' : missingReason('onnx-backend', 'node')}`, () => {
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const spec = makeCase(corpus, 7, i, 50);
      const out = withLimits(LIMITS, () => runCase(spec.mutant.bytes, { baseDir, compile: spec.compile ? compileWasmGraph : undefined, run: spec.run }));
      expectClean(out, `case ${i} (${spec.model}, ${spec.mutant.steps.join(' + ')})`);
      outcomes.set(out.outcome, (outcomes.get(out.outcome) ?? 0) + 1);
    }
    // the mutations must reach past the decoder: some cases import and some fail later than the protobuf
    expect(outcomes.get('ok') ?? 0).toBeGreaterThan(5);
  }, 300_000);

  it('the judge flags untyped, multi-line and wrapped errors', () => {
    expect(judge(new TypeError('x is undefined'), 'import', 1).outcome).toBe('BUG');
    expect(judge(new KernelError('kernel failed: boom'), 'run', 1).outcome).toBe('BUG');
    expect(judge(new KernelError('index 9 out of range'), 'run', 1).outcome).toBe('KernelError');
    const multi = new KernelError('x');
    Object.defineProperty(multi, 'message', { value: 'one\ntwo' });
    expect(judge(multi, 'run', 1).outcome).toBe('BUG');
  });
});
