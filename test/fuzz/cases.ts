// One fuzz case: which seed model, which mutations (all from the case's seed), and what happened when the mutant
// went through import + inference, the -O2 passes and (for a sample) the wasm compile, in process. A case passes
// when it ends in success or in a typed one-line OnnxcError; anything else is a finding.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, existsSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileWasmGraph } from '../../compiler/compile.js';
import { importModel } from '../../compiler/onnx/import.js';
import { randomInputs } from '../../compiler/random-inputs.js';
import { runGraph } from '../../backends/reference/interpreter.js';
import { OnnxcError } from '../../ir/errors.js';
import type { Model } from '../../ir/graph.js';
import { runPasses } from '../../passes/manager.js';
import { pipelineForLevel } from '../../passes/pipelines.js';
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

export type Stage = 'import' | 'passes' | 'run' | 'compile';

export interface CaseOutcome {
  /** 'ok', the OnnxcError class that ended it, or 'BUG' for a finding. */
  readonly outcome: string;
  readonly stage: Stage;
  /** For errors: the one line the CLI would print (for a finding, what was wrong with it). */
  readonly message?: string;
  readonly ms: number;
}

/** Messages of typed errors that wrap an untyped one: the importer, inference and the interpreter turn a stray
 *  TypeError into a typed error so the CLI stays clean, but for the fuzzer it is still a bug to fix. */
const WRAPPED = /^(cannot import model: (TypeError|RangeError|ReferenceError|SyntaxError|Error)|inference failed:|kernel failed:)/;

/** Judge a thrown value: a typed one-line error is fine; anything else is a finding. */
export function judge(e: unknown, stage: Stage, ms: number): CaseOutcome {
  if (!(e instanceof OnnxcError)) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { outcome: 'BUG', stage, message: `untyped ${msg.split('\n')[0]!.slice(0, 300)}`, ms };
  }
  const line = `${e.name}: ${e.describe()}`;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(line)) return { outcome: 'BUG', stage, message: `not one safe line: ${JSON.stringify(line.slice(0, 300))}`, ms };
  if (WRAPPED.test(e.message)) return { outcome: 'BUG', stage, message: `wrapped internal error: ${line.slice(0, 300)}`, ms };
  return { outcome: e.name, stage, message: line.slice(0, 300), ms };
}

/** Input shapes for a compile: symbolic dims taken as 1. */
function inputShapes(m: Model): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const name of m.graph.inputs) {
    const t = m.graph.types.get(name);
    if (t?.kind === 'tensor' && t.shape) out[name] = t.shape.map((d) => (typeof d === 'number' ? d : 1));
  }
  return out;
}

/** Run one mutant through the pipeline. */
export function runCase(bytes: Uint8Array, opts: { baseDir: string; compile: boolean; run?: boolean; source?: string }): CaseOutcome {
  const t0 = performance.now();
  const source = opts.source ?? 'fuzz.onnx';
  let stage: Stage = 'import';
  try {
    const model = importModel(bytes, { source, baseDir: opts.baseDir });
    stage = 'passes';
    runPasses(model.graph, pipelineForLevel(2), { ctx: { source, options: new Map() } });
    if (opts.run) {
      // the reference on seeded random inputs (symbolic dims 1): kernels meet the mutated attributes and shapes
      stage = 'run';
      runGraph(model.graph, randomInputs(model.graph, {}, 1), { source });
    }
    if (opts.compile) {
      stage = 'compile';
      compileWasmGraph(model.graph, { source, inputShapes: inputShapes(model), embedLimit: Infinity }, { level: 3 });
    }
    return { outcome: 'ok', stage, ms: performance.now() - t0 };
  } catch (e) {
    return judge(e, stage, performance.now() - t0);
  }
}
