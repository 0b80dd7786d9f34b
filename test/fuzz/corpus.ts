// The fuzzer's cases: the seed models (ONNX node cases and the shared real models), and case k of a run built
// from the run seed alone (which seed model, which mutations), so a finding is rebuilt from (run seed, k).
// Imports no compiler code: the driver builds cases without loading Binaryen.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, existsSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caseSeed, mutate, Rng, type Mutant } from './mutate.js';

export interface Seed {
  /** Path relative to the shared data root, e.g. `onnx-backend/node/test_abs/model.onnx`. */
  readonly name: string;
  readonly path: string;
}

/** Seed models: every ONNX node case, and the shared real models (few, large: drawn less often). */
export function loadCorpus(shared: string): { node: Seed[]; models: Seed[] } {
  const node: Seed[] = [];
  const nodeDir = join(shared, 'onnx-backend', 'node');
  if (existsSync(nodeDir)) {
    for (const c of readdirSync(nodeDir).sort()) {
      const p = join(nodeDir, c, 'model.onnx');
      if (existsSync(p)) node.push({ name: `onnx-backend/node/${c}/model.onnx`, path: p });
    }
  }
  const models: Seed[] = [];
  const modelDir = join(shared, 'models');
  if (existsSync(modelDir)) {
    for (const m of readdirSync(modelDir).sort()) {
      const dir = join(modelDir, m);
      if (!statSync(dir).isDirectory()) continue;
      for (const f of readdirSync(dir).sort()) {
        // a cap keeps one case's import + passes near a second on a loaded machine
        if (f.endsWith('.onnx') && statSync(join(dir, f)).size <= 8 << 20) models.push({ name: `models/${m}/${f}`, path: join(dir, f) });
      }
    }
  }
  return { node, models };
}

const bytesCache = new Map<string, Uint8Array>();
function seedBytes(s: Seed): Uint8Array {
  let b = bytesCache.get(s.path);
  if (!b) { b = new Uint8Array(readFileSync(s.path)); bytesCache.set(s.path, b); }
  return b;
}

export interface CaseSpec {
  readonly index: number;
  readonly seed: number;
  readonly model: string;
  readonly mutant: Mutant;
  /** Whether this case also goes through the wasm compile. */
  readonly compile: boolean;
  /** Whether this case also runs on the reference backend. */
  readonly run: boolean;
}

/** Case `index` of run `runSeed`: deterministic, so a failing case is rebuilt from (runSeed, index). */
export function makeCase(corpus: { node: Seed[]; models: Seed[] }, runSeed: number, index: number, compileEvery: number): CaseSpec {
  const seed = caseSeed(runSeed, index);
  const r = new Rng(seed);
  const big = corpus.models.length > 0 && (r.chance(0.01) || corpus.node.length === 0);
  const pool = big ? corpus.models : corpus.node;
  const s = r.pick(pool);
  const other = r.pick(corpus.node.length ? corpus.node : pool);
  const mutant = mutate(seedBytes(s), seedBytes(other), r);
  return { index, seed, model: s.name, mutant, compile: compileEvery > 0 && index % compileEvery === 0,
    // the reference runs a real model in seconds: only the small node-case mutants are run
    run: !big && index % 2 === 1 };
}

/** A folder for external data to resolve in: a small weights file, a FIFO and a link to /dev/zero (hostile
 *  `location`s must be refused without blocking or reading forever). */
export function externalDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'onnxc-fuzz-'));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array(4096).map((_, i) => i & 0xff));
  try { execFileSync('mkfifo', [join(dir, 'fifo')]); } catch { /* no mkfifo on this platform */ }
  try { symlinkSync('/dev/zero', join(dir, 'zero')); } catch { /* no /dev/zero */ }
  return dir;
}

