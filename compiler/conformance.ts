// The conformance runner for folders in the ONNX backend-test layout: each case is a folder holding one
// `*.onnx` model and `test_data_set_*/{input,output}_K.pb`. Results are checked against an expected-failures
// manifest (every entry with a reason), so both a new failure and a stale entry are reported.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { OnnxcError, OnnxImportError, UsageError } from '../ir/errors.js';
import { makeTensor, setElement } from '../ir/tensor.js';
import { isStaticShape } from '../ir/types.js';
import { isDeterministic } from '../ops/traits.js';
import type { RuntimeValue } from '../ir/value.js';
import type { AnyBackend } from './backends.js';
import { compareValues, type Tolerance, BACKEND_TEST_TOLERANCE } from './compare.js';
import { loadModel } from './onnx/import.js';
import { decodeMessage, type ModelProtoMsg } from './onnx/proto.js';
import { readRegularFile } from './onnx/read-file.js';
import { readValueFile } from './onnx/tensor-proto.js';

export interface Case {
  /** Path relative to the suite root, e.g. 'test_abs'. */
  name: string;
  dir: string;
  model: string;
  dataSets: string[];
  /** The 'light' layout: `X.onnx` beside `X_output_K.pb` and no inputs; the inputs are all ones
   *  (the light models have every weight set to a constant, so their outputs test structure, not values). */
  lightOutputs?: string[];
}

export type Outcome = 'pass' | 'fail' | 'skip';

export interface CaseResult {
  name: string;
  outcome: Outcome;
  /** Ops of the case's model (from the file, even when import fails). */
  ops: string[];
  /** Why it failed or was skipped. */
  reason?: string;
  /** The error class for failures (OnnxImportError, UnsupportedOpError, mismatch, ...). */
  kind?: string;
  ms: number;
}

/** Find case folders under `root` (the root itself may be a case). */
export function findCases(root: string): Case[] {
  const out: Case[] = [];
  const visit = (dir: string, depth: number): void => {
    let entries: string[];
    try { entries = readdirSync(dir).sort(); } catch { return; }
    const models = entries.filter((e) => e.endsWith('.onnx') && statSync(join(dir, e)).isFile());
    const dataSets = entries.filter((e) => e.startsWith('test_data_set') && statSync(join(dir, e)).isDirectory());
    const before = out.length;
    if (models.length === 1 && dataSets.length > 0) {
      out.push({ name: relative(root, dir) || basename(dir), dir, model: join(dir, models[0]!), dataSets: dataSets.map((d) => join(dir, d)) });
      return;
    }
    for (const m of models) {
      const stem = m.slice(0, -'.onnx'.length);
      const outputs = entries.filter((e) => e.startsWith(`${stem}_output_`) && e.endsWith('.pb')).sort();
      if (outputs.length) {
        out.push({ name: join(relative(root, dir), stem), dir, model: join(dir, m), dataSets: [], lightOutputs: outputs.map((o) => join(dir, o)) });
      }
    }
    if (out.length > before) return;
    // a lone model without test data is reported as skipped, unless cases live further down
    if (depth <= 4) {
      for (const e of entries) {
        const p = join(dir, e);
        if (!e.startsWith('.') && statSync(p).isDirectory()) visit(p, depth + 1);
      }
    }
    if (out.length === before && models.length === 1) {
      out.push({ name: relative(root, dir) || basename(dir), dir, model: join(dir, models[0]!), dataSets: [] });
    }
  };
  visit(root, 0);
  return out;
}

function numbered(dir: string, prefix: string): string[] {
  const files = readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.pb'));
  return files.sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3))).map((f) => join(dir, f));
}

function opsOfFile(path: string): string[] {
  try {
    const m = decodeMessage<ModelProtoMsg>('ModelProto', readRegularFile(path, path));
    const ops = new Set<string>();
    for (const n of m.graph?.node ?? []) ops.add(n.domain && n.domain !== 'ai.onnx' ? `${n.domain}::${n.op_type}` : String(n.op_type));
    return [...ops].sort();
  } catch {
    return [];
  }
}

/** Run one case; the backend's runs may be asynchronous (webgpu), so this is too. */
export async function runCase(c: Case, backend: AnyBackend, tol: Tolerance = BACKEND_TEST_TOLERANCE): Promise<CaseResult> {
  const t0 = performance.now();
  const ops = opsOfFile(c.model);
  const done = (outcome: Outcome, reason?: string, kind?: string): CaseResult =>
    ({ name: c.name, outcome, ops, reason, kind, ms: performance.now() - t0 });
  if (c.lightOutputs) return runLightCase(c, backend, tol, done);
  if (c.dataSets.length === 0) return done('skip', 'no test_data_set folders');
  if (c.dataSets.every((ds) => numbered(ds, 'output_').length === 0)) return done('skip', 'no expected outputs (output_K.pb)');
  try {
    const model = loadModel(c.model);
    const prepared = backend.prepare(model);
    for (const ds of c.dataSets) {
      // the declared types settle what a file holds (an OptionalProto of one tensor reads like a SequenceProto)
      const g = model.graph;
      const inputs = numbered(ds, 'input_').map((f, i) => readValueFile(f, g.types.get(g.inputs[i] ?? '')));
      const expected = numbered(ds, 'output_').map((f, i) => readValueFile(f, g.types.get(g.outputs[i] ?? '')));
      const feeds: (RuntimeValue | undefined)[] = model.graph.inputs.map((_, i) => inputs[i]);
      const outs = await prepared.run(feeds);
      if (outs.length < expected.length) return done('fail', `${outs.length} outputs, expected ${expected.length}`, 'mismatch');
      for (let k = 0; k < expected.length; k++) {
        const d = compareValues(outs[k]!, expected[k]!, tol);
        if (d.mismatch) return done('fail', `${basename(ds)} output ${k} '${model.graph.outputs[k]}': ${d.mismatch}`, 'mismatch');
      }
    }
    return done('pass');
  } catch (e) {
    if (e instanceof OnnxcError) return done('fail', e.describe(), e.name);
    return done('fail', `internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`, 'InternalError');
  }
}

async function runLightCase(
  c: Case, backend: AnyBackend, tol: Tolerance, done: (o: Outcome, reason?: string, kind?: string) => CaseResult,
): Promise<CaseResult> {
  try {
    const model = loadModel(c.model);
    const inputs = model.graph.inputs.map((name) => {
      const t = model.graph.types.get(name);
      if (t?.kind !== 'tensor' || !isStaticShape(t.shape)) throw new OnnxImportError(`light case input '${name}' needs a static shape`);
      const x = makeTensor(t.dtype, t.shape);
      for (let i = 0; i < x.data.length; i++) setElement(t.dtype, x.data, i, 1);
      return x;
    });
    const outs = await backend.prepare(model).run(inputs);
    for (let k = 0; k < c.lightOutputs!.length; k++) {
      const d = compareValues(outs[k]!, readValueFile(c.lightOutputs![k]!), tol);
      if (d.mismatch) return done('fail', `output ${k}: ${d.mismatch}`, 'mismatch');
    }
    return done('pass');
  } catch (e) {
    if (e instanceof OnnxcError) return done('fail', e.describe(), e.name);
    return done('fail', `internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`, 'InternalError');
  }
}

export interface Manifest {
  /** case name -> reason it is expected to fail */
  expectedFailures: Record<string, string>;
}

/** Read an expected-failures manifest (none yet: an empty one). A file that is not such JSON is a UsageError that
 *  says what is wrong without quoting the file (JSON.parse's message quotes its bytes, control characters and all). */
export function readManifest(path: string): Manifest {
  if (!existsSync(path)) return { expectedFailures: {} };
  const bytes = readRegularFile(path, `manifest '${path}'`, undefined, UsageError);
  let m: unknown;
  try {
    m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new UsageError(`manifest '${path}' is not UTF-8 JSON`);
  }
  const failures = typeof m === 'object' && m !== null && !Array.isArray(m) ? (m as Partial<Manifest>).expectedFailures ?? {} : undefined;
  if (typeof failures !== 'object' || failures === null || Array.isArray(failures)
    || Object.values(failures).some((r) => typeof r !== 'string')) {
    throw new UsageError(`manifest '${path}' must be a JSON object {"expectedFailures": {"case": "reason", ...}}`);
  }
  return { expectedFailures: failures as Record<string, string> };
}

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  /** failures not in the manifest */
  unexpectedFailures: string[];
  /** manifest entries that now pass */
  unexpectedPasses: string[];
  perOp: Map<string, { passed: number; failed: number }>;
}

export function summarize(results: readonly CaseResult[], manifest?: Manifest, suite = ''): Summary {
  const s: Summary = { passed: 0, failed: 0, skipped: 0, unexpectedFailures: [], unexpectedPasses: [], perOp: new Map() };
  for (const r of results) {
    const key = suite ? `${suite}/${r.name}` : r.name;
    const expectedToFail = manifest?.expectedFailures[key] !== undefined;
    // a case of a random op (Bernoulli, training Dropout) can match numpy's draws by chance: its manifest entry is
    // not stale when it passes
    const random = r.ops.some((op) => !isDeterministic(op));
    if (r.outcome === 'pass') { s.passed++; if (expectedToFail && !random) s.unexpectedPasses.push(key); }
    else if (r.outcome === 'fail') { s.failed++; if (manifest && !expectedToFail) s.unexpectedFailures.push(key); }
    else s.skipped++;
    for (const op of r.ops.length ? r.ops : ['(unreadable)']) {
      const e = s.perOp.get(op) ?? { passed: 0, failed: 0 };
      if (r.outcome === 'pass') e.passed++; else if (r.outcome === 'fail') e.failed++;
      s.perOp.set(op, e);
    }
  }
  return s;
}
