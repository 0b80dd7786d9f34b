// The onnxc command line. Every command and option is declared here; a command's implementation (cli-*.ts) is
// imported only when it runs, so `--help` is quick and commands that do not compile never load Binaryen (whose
// module reserves ~10 GB of address space on import). Errors print one line (exit 1; usage errors exit 2).

import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { startBinaryen } from '../backends/wasm/binaryen-start.js';
import { OnnxcError, UsageError } from '../ir/errors.js';
import { collect } from './cli-args.js';
import { registerPrune } from './cli-prune.js';
import { registerQuantize } from './cli-quantize.js';

/** The backends' names (compiler/backends.ts; test/cli.test.ts checks the two lists agree), kept here so that
 *  declaring `--backend` does not load any backend. */
export const BACKEND_NAMES = ['reference', 'wasm', 'wasm-O3', 'webgpu', 'webgpu-O3'] as const;

/** package.json's version: one folder up from source (compiler/), two from the build (dist/compiler/). */
export function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const p = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (p.name === 'onnxc' && p.version) return p.version;
    } catch { /* not this one */ }
  }
  return 'unknown';
}

// filled by main() before parsing `opt`/`diff` help, so the pass registry is loaded only for those commands
let passHelpText = '';

const backendOption = (what = 'backend'): Option => new Option('--backend <name>', what).choices(BACKEND_NAMES).default('reference');
const seedOption = (cmd: Command): Command => cmd.option('--seed <n>', 'seed for random inputs (a non-negative integer)', '1');

function pipelineOptions(cmd: Command): Command {
  return cmd
    .option('-O, --opt-level <n>', 'optimisation level 0-3 (default 2 unless --passes is given)')
    .option('--passes <list>', 'explicit comma-separated pass list (instead of -O)')
    .option('--supported-ops <list>', 'ops the target backend implements; decompose rewrites the others')
    .option('--pass-option <key=value>', 'option for passes, e.g. fold-limit=4096, decompose=all (repeatable)', collect)
    .option('--verify', 'run the IR and op verifiers after every pass')
    .option('--dim <name=value>', 'give a symbolic dim a size (repeatable)', collect)
    .addHelpText('after', () => passHelpText);
}

export function buildProgram(): Command {
  const program = new Command('onnxc')
    .description('Ahead-of-time compiler for ONNX models')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--verbose', 'show stack traces on errors')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program.command('inspect')
    .description('inputs/outputs with dtypes and shapes, op histogram, parameter count, opsets')
    .argument('<model>', 'ONNX model file')
    .option('--json', 'print JSON')
    .option('--dim <name=value>', 'give a symbolic dim a size (repeatable)', collect)
    .action(async (path: string, opts) => (await import('./cli-run.js')).inspectCommand(path, opts));

  seedOption(program.command('run')
    .description('run a model on a backend; reads input_K.pb, writes output_K.pb')
    .argument('<model>', 'ONNX model file')
    .addOption(backendOption())
    .option('--inputs <dir>', 'folder with input_K.pb (TensorProto) in the model input order; default: seeded random inputs')
    .option('--output-dir <dir>', 'write output_K.pb here')
    .option('--dim <name=value>', 'size of a symbolic dim, for random inputs (repeatable)', collect))
    .action(async (path: string, opts) => (await import('./cli-run.js')).runCommand(path, opts));

  program.command('conformance')
    .description('run every ONNX backend-test case folder under DIR and report per op (exit 1 when a case fails)')
    .argument('<dir>', 'suite folder (cases: model.onnx + test_data_set_*)')
    .addOption(backendOption())
    .option('--json <file>', 'write per-case results as JSON')
    .option('--filter <regex>', 'only cases whose name matches')
    .option('--manifest <file>', 'expected-failures manifest: listed failures pass; exit 1 on a failure not in it or an entry that now passes')
    .option('--failures', 'print each failing case with its reason')
    .action(async (dir: string, opts) => (await import('./cli-conformance.js')).conformanceCommand(dir, opts));

  program.command('compile')
    .description('compile a model ahead of time: writes model.wasm (webgpu: WGSL shaders), weights, loader.js and manifest.json to -o DIR')
    .argument('<model>', 'ONNX model file')
    .addOption(new Option('--target <name>', 'target').choices(['wasm', 'webgpu']).default('wasm'))
    .addOption(new Option('--simd <mode>', 'wasm: strict SIMD (runs everywhere) or relaxed (fused multiply-adds; needs relaxed SIMD: current browsers, Node 20 with --experimental-wasm-relaxed-simd)').choices(['strict', 'relaxed']).default('strict'))
    .requiredOption('-o, --output <dir>', 'artifact folder')
    .option('--dim <name=value>', 'size of a symbolic dim, or LO..HI: given at run time within the range (wasm; repeatable)', collect)
    .option('--inputs <dir>', 'take input shapes from input_K.pb in this folder')
    .option('--fix <name=value>', 'compile for this value of an input (a sample rate, a mode flag): Ifs on it fold away; the runtime refuses other values (repeatable)', collect)
    .option('--threads <n>', 'wasm: build for n threads (shared memory + atomics; the runtime starts n-1 workers, or runs on one thread where the page is not cross-origin isolated)', '1')
    .option('--carry <input=output>', 'wasm: recurrent state the runtime feeds back from run to run without copies (session.run(feeds, { carry }) with the same pair; repeatable)', collect)
    .option('-O, --opt-level <n>', 'pass pipeline level 0-3 (default 3)')
    .option('--passes <list>', 'explicit comma-separated pass list (instead of -O)')
    .option('--pass-option <key=value>', 'option for passes, e.g. fold-limit=4096 (repeatable)', collect)
    .option('--verify', 'run the IR and op verifiers after every pass')
    .option('--no-optimize', 'skip Binaryen optimisation')
    .option('--embed-limit <bytes>', 'weights larger than this go to weights.bin', String(1 << 20))
    .action(async (path: string, opts) => { startBinaryen(); return (await import('./cli-compile.js')).compileCommand(path, opts); });

  seedOption(program.command('check')
    .description('run onnxc and onnxruntime-node on the same inputs; report errors per output')
    .argument('<model>', 'ONNX model file')
    .addOption(backendOption('onnxc backend'))
    .option('--inputs <dir>', 'folder with input_K.pb; default: seeded random inputs')
    .option('--dim <name=value>', 'size of a symbolic dim (repeatable)', collect)
    .option('--tolerance <x>', 'max abs error allowed, relative to the output\'s max |value| (default: 1e-4; 1e-3 where the output or, for a float output, the values it is computed from are float16, 1e-2 for bfloat16)')
    .option('--exported', 'give onnxruntime the model as onnxc exports it (checks the exporter too)'))
    .action(async (path: string, opts) => (await import('./cli-run.js')).checkCommand(path, opts));

  pipelineOptions(program.command('opt')
    .description('run optimisation passes and write the result as ONNX')
    .argument('<model>', 'ONNX model file')
    .option('-o, --output <file>', 'write the optimised model here (ONNX)')
    .option('--print-ir-after-all', 'print the canonical IR after every pass')
    .option('--print-ir-after-change', 'print the canonical IR after every pass that changed it')
    .option('--stats', 'print node counts and time per pass'))
    .action(async (path: string, opts) => (await import('./cli-passes.js')).optCommand(path, opts));

  pipelineOptions(seedOption(program.command('diff')
    .description('per pass: the IR change and the numeric drift of every output against the unoptimised model')
    .argument('<model>', 'ONNX model file')
    .option('--inputs <dir>', 'folder with input_K.pb; default: seeded random inputs'))
    .addOption(new Option('--format <f>', 'report format (html: one self-contained file with charts)').choices(['text', 'md', 'json', 'html']).default('text'))
    .option('--max-drift <x>', 'exit 1 when an output drifts more than this (relative to its max |value|)')
    .option('--calibration <dir>', 'calibration set for the compression passes (e.g. --passes prune-channels,quantize-static --pass-option prune-sparsity=0.5)')
    .option('--tensors', 'also compare every named tensor that survives the passes')
    .option('--no-ort', 'skip running the final model on onnxruntime-node'))
    .action(async (path: string, opts) => (await import('./cli-passes.js')).diffCommand(path, opts));

  seedOption(program.command('bench')
    .description('compile a model to wasm and time its runs (latency percentiles, sizes); `npm run bench` in the repository adds onnxruntime peers')
    .argument('<model>', 'ONNX model file')
    .option('--dim <name=value>', 'size of a symbolic dim (repeatable)', collect)
    .option('--inputs <dir>', 'folder with input_K.pb (their shapes fix the symbolic dims)')
    .option('--runs <n>', 'timed runs', '50')
    .option('--warmup <n>', 'untimed runs first', '5')
    .option('--ort', 'also time onnxruntime-node (an optional peer dependency) on the same inputs')
    .option('--html <file>', 'write latency and size bars as one self-contained HTML file')
    .option('--profile', 'also time each kernel alone: time per op and the slowest kernels')
    .option('--json', 'print JSON'))
    .action(async (path: string, opts) => { startBinaryen(); return (await import('./cli-bench.js')).benchCommand(path, opts); });

  registerQuantize(program);
  registerPrune(program);

  program.command('coverage')
    .description('which nodes a target can run, and why not for the others (missing kernel, dtype, dynamic shape, data-dependent); exit 1 if any cannot')
    .argument('<model>', 'ONNX model file')
    .addOption(new Option('--target <name>', 'target').choices(['wasm', 'webgpu']).default('wasm'))
    .option('--dim <name=value>', 'size of a symbolic dim (repeatable)', collect)
    .option('--inputs <dir>', 'take input shapes from input_K.pb in this folder')
    .option('-O, --opt-level <n>', 'pass pipeline level 0-3, as compile (default 3)')
    .option('--json', 'print JSON')
    .action(async (path: string, opts) => (await import('./cli-coverage.js')).coverageCommand(path, opts));

  program.command('demo')
    .description('the quick start: write the bundled example model, compile it to wasm, run the artifact and check it')
    .argument('[dir]', 'folder for examples/ and out/', '.')
    .action(async (dir: string) => { startBinaryen(); return (await import('./cli-demo.js')).demoCommand(dir); });

  return program;
}

const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help']);

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes('--verbose');
  if (argv.length === 0) {
    process.stderr.write(program.helpInformation());
    return 1;
  }
  if ((argv.includes('opt') || argv.includes('diff')) && (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help')) {
    passHelpText = (await import('./cli-passes.js')).passHelp();
  }
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return HELP_CODES.has(e.code) ? 0 : 2;
    if (e instanceof UsageError) { console.error(`onnxc: ${e.describe()}`); if (verbose) console.error(e.stack); return 2; }
    if (e instanceof OnnxcError) { console.error(`onnxc: ${e.name}: ${e.describe()}`); if (verbose) console.error(e.stack); return 1; }
    console.error(`onnxc: internal error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    if (verbose && e instanceof Error) console.error(e.stack);
    return 1;
  }
}
