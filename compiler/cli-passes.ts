// The pass commands: `onnxc opt` (run a pipeline, write ONNX, print IR as MLIR's --print-ir-after-*) and
// `onnxc diff` (per-pass IR change and numeric drift). Registered from cli.ts.

import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError } from '../ir/errors.js';
import type { Model } from '../ir/graph.js';
import { printModel } from '../ir/text/index.js';
import type { RuntimeValue } from '../ir/value.js';
import { allPasses } from '../passes/index.js';
import type { Instrumentation } from '../passes/manager.js';
import { countNodes, runPasses } from '../passes/manager.js';
import type { Pass, PassContext } from '../passes/pass.js';
import { levelPassNames, parseLevel, parsePassList, pipelineForLevel } from '../passes/pipelines.js';
import { collect, parsePassOptions } from './cli-args.js';
import { diffModel } from './diff.js';
import type { DiffFormat } from './diff-format.js';
import { formatDiff } from './diff-format.js';
import { exportModel } from './onnx/export.js';

export interface CliHelpers {
  load(path: string, opts: { dim?: string[] }): Model;
  modelInputs(model: Model, opts: { inputs?: string; dim?: string[]; seed?: string }): RuntimeValue[];
}

interface PipelineOpts { optLevel?: string; passes?: string; supportedOps?: string; passOption?: string[]; verify?: boolean; dim?: string[] }

/** The registry as help text: one line per pass, then the levels. */
function passHelp(): string {
  const passes = allPasses();
  const w = Math.max(...passes.map((p) => p.name.length));
  const lines = passes.map((p) => `  ${p.name.padEnd(w)}  ${p.summary}`);
  const levels = ([0, 1, 2, 3] as const).map((l) => `  -O${l}: ${levelPassNames(l).join(', ') || '(none)'}`);
  return `\nPasses:\n${lines.join('\n')}\n\nLevels:\n${levels.join('\n')}\n`;
}

function pipelineOptions(cmd: Command): Command {
  return cmd
    .option('-O, --opt-level <n>', 'optimisation level 0-3 (default 2 unless --passes is given)')
    .option('--passes <list>', 'explicit comma-separated pass list (instead of -O)')
    .option('--supported-ops <list>', 'ops the target backend implements; decompose rewrites the others')
    .option('--pass-option <key=value>', 'option for passes, e.g. fold-limit=4096, decompose=all (repeatable)', collect)
    .option('--verify', 'run the IR and op verifiers after every pass')
    .option('--dim <name=value>', 'give a symbolic dim a size (repeatable)', collect)
    .addHelpText('after', passHelp);
}

function pipeline(opts: PipelineOpts): Pass[] {
  if (opts.passes !== undefined && opts.optLevel !== undefined) throw new UsageError('give either -O or --passes, not both');
  return opts.passes !== undefined ? parsePassList(opts.passes) : pipelineForLevel(parseLevel(opts.optLevel ?? '2'));
}

function context(source: string, opts: PipelineOpts): PassContext {
  const options = parsePassOptions(opts.passOption);
  const supportedOps = opts.supportedOps !== undefined ? new Set(opts.supportedOps.split(',').map((s) => s.trim()).filter(Boolean)) : undefined;
  return { source, options, ...(supportedOps ? { supportedOps } : {}) };
}

export function registerPassCommands(program: Command, h: CliHelpers): void {
  pipelineOptions(program.command('opt')
    .description('run optimisation passes and write the result as ONNX')
    .argument('<model>', 'ONNX model file')
    .option('-o, --output <file>', 'write the optimised model here (ONNX)')
    .option('--print-ir-after-all', 'print the canonical IR after every pass')
    .option('--print-ir-after-change', 'print the canonical IR after every pass that changed it')
    .option('--stats', 'print node counts and time per pass'))
    .action((path: string, opts: PipelineOpts & { output?: string; printIrAfterAll?: boolean; printIrAfterChange?: boolean; stats?: boolean }) => {
      const model = h.load(path, opts);
      const hooks: Instrumentation[] = [{
        afterPass: (ev) => {
          if (opts.printIrAfterAll || (opts.printIrAfterChange && ev.changed)) {
            console.log(`// -----// IR after ${ev.pass.name}${ev.changed ? '' : ' (no change)'} //----- //`);
            process.stdout.write(printModel({ ...model, graph: ev.after }));
          }
          if (opts.stats) console.log(`${ev.pass.name.padEnd(16)} ${ev.changed ? 'changed  ' : 'no change'} nodes ${ev.nodesBefore} -> ${ev.nodesAfter}  ${ev.ms.toFixed(1)} ms`);
        },
      }];
      const { graph } = runPasses(model.graph, pipeline(opts), { ctx: context(path, opts), verify: opts.verify, hooks });
      if (opts.output) writeFileSync(opts.output, exportModel({ ...model, graph }));
      console.error(`onnxc opt: ${countNodes(model.graph)} -> ${countNodes(graph)} nodes${opts.output ? `, wrote ${opts.output}` : ''}`);
    });

  pipelineOptions(program.command('diff')
    .description('per pass: the IR change and the numeric drift of every output against the unoptimised model')
    .argument('<model>', 'ONNX model file')
    .option('--inputs <dir>', 'folder with input_K.pb; default: seeded random inputs')
    .option('--seed <n>', 'seed for random inputs', '1')
    .addOption(new Option('--format <f>', 'report format').choices(['text', 'md', 'json']).default('text'))
    .option('--max-drift <x>', 'exit 1 when an output drifts more than this (relative to its max |value|)')
    .option('--tensors', 'also compare every named tensor that survives the passes')
    .option('--no-ort', 'skip running the final model on onnxruntime-node'))
    .action(async (path: string, opts: PipelineOpts & { inputs?: string; seed?: string; format: DiffFormat; maxDrift?: string; tensors?: boolean; ort: boolean }) => {
      const model = h.load(path, opts);
      const maxDrift = opts.maxDrift === undefined ? undefined : Number(opts.maxDrift);
      if (maxDrift !== undefined && !(maxDrift >= 0)) throw new UsageError(`--max-drift expects a non-negative number, got '${opts.maxDrift}'`);
      const report = await diffModel(model, {
        passes: pipeline(opts), inputs: h.modelInputs(model, opts), ctx: context(path, opts),
        tensors: opts.tensors, ort: opts.ort, verify: opts.verify, ...(maxDrift !== undefined ? { maxDrift } : {}),
      });
      process.stdout.write(formatDiff(report, opts.format));
      if (report.firstOver !== undefined) process.exitCode = 1;
    });
}
