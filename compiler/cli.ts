// The onnxc command line. Errors print one line naming what and where (exit 1; usage errors exit 2);
// --verbose adds the stack.

import { mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { OnnxcError, OnnxImportError, UsageError } from '../ir/errors.js';
import type { Model } from '../ir/graph.js';
import type { RuntimeValue } from '../ir/value.js';
import { isTensor } from '../ir/value.js';
import { BACKENDS, getBackend } from './backends.js';
import { collect, parseDims } from './cli-args.js';
import { registerCompile } from './cli-compile.js';
import { compareValues, tensorError } from './compare.js';
import { findCases, readManifest, runCase, summarize, type CaseResult } from './conformance.js';
import { formatSummary, summarizeModel } from './inspect.js';
import { loadModel } from './onnx/import.js';
import { encodeTensorProto, readValueFile } from './onnx/tensor-proto.js';
import { exportModel } from './onnx/export.js';
import { registerPassCommands } from './cli-passes.js';
import { randomInputs } from './random-inputs.js';

function readInputs(dir: string, model: Model): RuntimeValue[] {
  if (!existsSync(dir)) throw new UsageError(`inputs folder '${dir}' does not exist`);
  const files = readdirSync(dir).filter((f) => /^input_\d+\.pb$/.test(f));
  const values: RuntimeValue[] = [];
  model.graph.inputs.forEach((name, k) => {
    const f = `input_${k}.pb`;
    if (!files.includes(f)) throw new UsageError(`inputs folder '${dir}' has no ${f} for input '${name}'`);
    values.push(readValueFile(join(dir, f)));
  });
  return values;
}

function modelInputs(model: Model, opts: { inputs?: string; dim?: string[]; seed?: string }): RuntimeValue[] {
  if (opts.inputs) return readInputs(opts.inputs, model);
  return randomInputs(model.graph, parseDims(opts.dim), Number(opts.seed ?? 1));
}

function load(path: string, opts: { dim?: string[] }): Model {
  if (!existsSync(path)) throw new OnnxImportError(`model file '${path}' does not exist`);
  return loadModel(path, { dims: parseDims(opts.dim) });
}

export function buildProgram(): Command {
  const program = new Command('onnxc')
    .description('Ahead-of-time compiler for ONNX models')
    .option('--verbose', 'show stack traces on errors')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program.command('inspect')
    .description('inputs/outputs with dtypes and shapes, op histogram, parameter count, opsets')
    .argument('<model>', 'ONNX model file')
    .option('--json', 'print JSON')
    .option('--dim <name=value>', 'give a symbolic dim a size (repeatable)', collect)
    .action((path: string, opts: { json?: boolean; dim?: string[] }) => {
      const s = summarizeModel(load(path, opts));
      console.log(opts.json ? JSON.stringify(s, null, 2) : formatSummary(s));
    });

  program.command('run')
    .description('run a model on a backend; reads input_K.pb, writes output_K.pb')
    .argument('<model>', 'ONNX model file')
    .addOption(new Option('--backend <name>', 'backend').choices(BACKENDS.map((b) => b.name)).default('reference'))
    .option('--inputs <dir>', 'folder with input_K.pb (TensorProto) in the model input order; default: seeded random inputs')
    .option('--output-dir <dir>', 'write output_K.pb here')
    .option('--dim <name=value>', 'size of a symbolic dim, for random inputs (repeatable)', collect)
    .option('--seed <n>', 'seed for random inputs', '1')
    .action((path: string, opts: { backend: string; inputs?: string; outputDir?: string; dim?: string[]; seed?: string }) => {
      const model = load(path, opts);
      const inputs = modelInputs(model, opts);
      const outs = getBackend(opts.backend).prepare(model).run(inputs);
      if (opts.outputDir) mkdirSync(opts.outputDir, { recursive: true });
      outs.forEach((v, k) => {
        const name = model.graph.outputs[k]!;
        console.log(`${name}: ${describeValue(v)}`);
        if (opts.outputDir) {
          if (!isTensor(v)) throw new UsageError(`output '${name}' is a ${v.kind}; only tensors can be written as output_K.pb`);
          writeFileSync(join(opts.outputDir, `output_${k}.pb`), encodeTensorProto(v, name));
        }
      });
    });

  program.command('conformance')
    .description('run every ONNX backend-test case folder under DIR and report per op')
    .argument('<dir>', 'suite folder (cases: model.onnx + test_data_set_*)')
    .addOption(new Option('--backend <name>', 'backend').choices(BACKENDS.map((b) => b.name)).default('reference'))
    .option('--json <file>', 'write per-case results as JSON')
    .option('--filter <regex>', 'only cases whose name matches')
    .option('--manifest <file>', 'expected-failures manifest: exit 1 on a failure not in it or an entry that now passes')
    .option('--failures', 'print each failing case with its reason')
    .action((dir: string, opts: { backend: string; json?: string; filter?: string; manifest?: string; failures?: boolean }) => {
      if (!existsSync(dir)) throw new UsageError(`suite folder '${dir}' does not exist`);
      const backend = getBackend(opts.backend);
      const re = opts.filter ? new RegExp(opts.filter) : undefined;
      const cases = findCases(dir).filter((c) => !re || re.test(c.name));
      const results: CaseResult[] = cases.map((c) => runCase(c, backend));
      const suite = basename(resolve(dir));
      const manifest = opts.manifest ? readManifest(opts.manifest) : undefined;
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
      if (manifest && (s.unexpectedFailures.length || s.unexpectedPasses.length)) process.exitCode = 1;
    });

  registerCompile(program);

  program.command('check')
    .description('run onnxc and onnxruntime-node on the same inputs; report errors per output')
    .argument('<model>', 'ONNX model file')
    .addOption(new Option('--backend <name>', 'onnxc backend').choices(BACKENDS.map((b) => b.name)).default('reference'))
    .option('--inputs <dir>', 'folder with input_K.pb; default: seeded random inputs')
    .option('--dim <name=value>', 'size of a symbolic dim (repeatable)', collect)
    .option('--seed <n>', 'seed for random inputs', '1')
    .option('--tolerance <x>', 'max abs error allowed, relative to the output\'s max |value|', '1e-4')
    .option('--exported', 'give onnxruntime the model as onnxc exports it (checks the exporter too)')
    .action(async (path: string, opts: { backend: string; inputs?: string; dim?: string[]; seed?: string; tolerance: string; exported?: boolean }) => {
      const { runOrt } = await import('./ort.js');
      const model = load(path, opts);
      const inputs = modelInputs(model, opts);
      const ours = getBackend(opts.backend).prepare(model).run(inputs);
      const feeds = Object.fromEntries(model.graph.inputs.map((n, i) => [n, inputs[i]!]));
      const theirs = await runOrt(opts.exported ? exportModel(model) : resolve(path), feeds);
      const tol = Number(opts.tolerance);
      let bad = 0;
      model.graph.outputs.forEach((name, k) => {
        const a = ours[k]!, e = theirs.values[k]!;
        if (!isTensor(a)) { console.log(`${name}: onnxc gave a ${a.kind}`); bad++; return; }
        const d = compareValues(a, e, { rtol: 0, atol: Infinity });
        if (d.mismatch) { console.log(`${name}: ${d.mismatch}`); bad++; return; }
        const err = tensorError(a, e);
        const limit = tol * Math.max(err.maxExpected, 1e-30);
        const ok = err.maxAbs <= limit;
        if (!ok) bad++;
        console.log(`${name}: max abs ${err.maxAbs.toExponential(3)}  max rel ${err.maxRel.toExponential(3)}  (|max| ${err.maxExpected.toExponential(3)})  ${ok ? 'ok' : `ABOVE TOLERANCE ${limit.toExponential(3)}`}`);
      });
      if (bad) process.exitCode = 1;
    });

  registerPassCommands(program, { load, modelInputs });
  return program;
}

function describeValue(v: RuntimeValue): string {
  if (isTensor(v)) {
    const n = v.data.length;
    const head = Array.from({ length: Math.min(n, 6) }, (_, i) => String(v.data[i])).join(', ');
    return `${v.dtype}[${v.dims.join(',')}] ${n > 6 ? `[${head}, ...]` : `[${head}]`}`;
  }
  return v.kind === 'sequence' ? `sequence of ${v.items.length}` : v.value === undefined ? 'optional (empty)' : `optional (${describeValue(v.value)})`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes('--verbose');
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (e instanceof UsageError) { console.error(`onnxc: ${e.describe()}`); if (verbose) console.error(e.stack); return 2; }
    if (e instanceof OnnxcError) { console.error(`onnxc: ${e.name}: ${e.describe()}`); if (verbose) console.error(e.stack); return 1; }
    console.error(`onnxc: internal error: ${e instanceof Error ? e.message : String(e)}`);
    if (verbose && e instanceof Error) console.error(e.stack);
    return 1;
  }
}
