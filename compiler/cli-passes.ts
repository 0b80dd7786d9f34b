// The pass commands: `onnxc opt` (run a pipeline, write ONNX, print IR as MLIR's --print-ir-after-*) and
// `onnxc diff` (per-pass IR change and numeric drift). Loaded by cli.ts when one of them runs.

import { writeFileSync } from 'node:fs';
import { UsageError } from '../ir/errors.js';
import { printModel } from '../ir/text/index.js';
import { allPasses } from '../passes/index.js';
import type { Instrumentation } from '../passes/manager.js';
import { countNodes } from '../passes/manager.js';
import type { Pass, PassContext } from '../passes/pass.js';
import { levelPassNames, parseLevel, parsePassList, pipelineForLevel } from '../passes/pipelines.js';
import { outputFile, parseNumber, parsePassOptions, parseSeed } from './cli-args.js';
import { load, modelInputs } from './cli-model.js';
import { diffModel } from './diff.js';
import type { DiffFormat } from './diff-format.js';
import { formatDiff } from './diff-format.js';
import { exportModel } from './onnx/export.js';
import { runPortablePasses } from './opt-portable.js';
import { diffHtml } from './report-html.js';

export interface PipelineOpts { optLevel?: string; passes?: string; supportedOps?: string; passOption?: string[]; verify?: boolean; dim?: string[] }

/** The registry as help text: one line per pass, then the levels. */
export function passHelp(): string {
  const passes = allPasses();
  const w = Math.max(...passes.map((p) => p.name.length));
  const lines = passes.map((p) => `  ${p.name.padEnd(w)}  ${p.summary}`);
  const levels = ([0, 1, 2, 3] as const).map((l) => `  -O${l}: ${levelPassNames(l).join(', ') || '(none)'}`);
  return `\nPasses:\n${lines.join('\n')}\n\nLevels:\n${levels.join('\n')}\n`;
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

export type OptOpts = PipelineOpts & { output?: string; printIrAfterAll?: boolean; printIrAfterChange?: boolean; stats?: boolean };

export function optCommand(path: string, opts: OptOpts): void {
  if (opts.output !== undefined) outputFile('-o', opts.output);
  const passes = pipeline(opts);
  const model = load(path, opts);
  const hooks: Instrumentation[] = [{
    afterPass: (ev) => {
      if (opts.printIrAfterAll || (opts.printIrAfterChange && ev.changed)) {
        console.log(`// -----// IR after ${ev.pass.name}${ev.changed ? '' : ' (no change)'} //----- //`);
        process.stdout.write(printModel({ ...model, graph: ev.after }));
      }
      if (opts.stats) console.log(`${ev.pass.name.padEnd(16)} ${ev.changed ? 'changed  ' : 'no change'} nodes ${ev.nodesBefore} -> ${ev.nodesAfter}  ${ev.ms.toFixed(1)} ms`);
    },
  }];
  // portable ONNX: passes that would leave onnxc's backend ops in the file are skipped (compiler/opt-portable.ts)
  const { graph, skipped } = runPortablePasses(model.graph, passes, { ctx: context(path, opts), verify: opts.verify, hooks });
  if (opts.stats) for (const s of skipped) console.log(`${s.pass.padEnd(16)} skipped: it makes ${s.ops.join(', ')}, which only onnxc runs`);
  if (opts.output) writeFileSync(opts.output, exportModel({ ...model, graph }));
  console.error(`onnxc opt: ${countNodes(model.graph)} -> ${countNodes(graph)} nodes${opts.output ? `, wrote ${opts.output}` : ''}`);
}

export type DiffOpts = PipelineOpts & { inputs?: string; seed?: string; format: DiffFormat | 'html'; maxDrift?: string; tensors?: boolean; ort: boolean; calibration?: string };

export async function diffCommand(path: string, opts: DiffOpts): Promise<void> {
  parseSeed(opts.seed);
  const maxDrift = opts.maxDrift === undefined ? undefined : parseNumber('--max-drift', opts.maxDrift, { min: 0 });
  const passes = pipeline(opts);
  const model = load(path, opts);
  let ctx = context(path, opts);
  if (opts.calibration !== undefined) {
    // the compression passes (quantize-*, prune-*) get statistics and samples, as `onnxc quantize`/`prune` give them
    const { readCalibrationSet } = await import('./calibrate-data.js');
    const { calibrate } = await import('./calibrate.js');
    const { calibrationData } = await import('./prune-model.js');
    const samples = readCalibrationSet(opts.calibration, model.graph);
    ctx = { ...ctx, calibration: calibrate(model, samples).stats, calibrationData: calibrationData(samples, path) };
  }
  const report = await diffModel(model, {
    passes, inputs: modelInputs(model, opts), ctx,
    tensors: opts.tensors, ort: opts.ort, verify: opts.verify, ...(maxDrift !== undefined ? { maxDrift } : {}),
  });
  process.stdout.write(opts.format === 'html' ? diffHtml(report) : formatDiff(report, opts.format));
  if (report.firstOver !== undefined) process.exitCode = 1;
}
