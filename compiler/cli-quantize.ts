// The `onnxc quantize` command: declared here (cheap to load), implemented in calibrate-quantize.ts (loaded when it
// runs). Writes a standard ONNX model (QDQ / MatMulInteger / float16: ai.onnx ops only) and prints the report.

import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { UsageError } from '../ir/errors.js';
import { collect, existingDir, parseDims, parseNumber } from './cli-args.js';

interface QuantizeCliOptions {
  output: string; mode: string; calibration?: string; eval?: string; method: string; perChannel?: boolean;
  blockSize?: string; exclude?: string[]; maxDrift?: string; json?: boolean; randomSamples: string; dim?: string[];
}

export function registerQuantize(program: Command): void {
  program.command('quantize')
    .description('quantise a model (int8/int4/fp16) with calibration; writes ONNX and reports size, drift and top-1 agreement')
    .argument('<model>', 'ONNX model file')
    .requiredOption('-o, --output <file>', 'the quantised model (ONNX)')
    .addOption(new Option('--mode <mode>', 'what to quantise').choices(['static', 'dynamic', 'weights-int8', 'weights-int4', 'fp16']).makeOptionMandatory())
    .option('--calibration <dir>', 'calibration set: input_K.pb (a leading batch dim is split into samples) or a folder of such folders')
    .option('--eval <dir>', 'held-out set for the report, same layout')
    .addOption(new Option('--method <m>', 'activation range method (static)').choices(['minmax', 'percentile', 'entropy']).default('minmax'))
    .option('--per-channel', 'per-channel weight scales for static/dynamic (weights modes are always per channel or block)')
    .option('--block-size <n>', 'weights modes: block size along the reduction axis (0 = per channel; int4 default 64)')
    .option('--exclude <list>', 'op types or node names to keep in float (comma-separated, repeatable)', collect)
    .option('--max-drift <x>', 'keep the worst layers in float until every output drifts less than this (relative to its range)')
    .option('--random-samples <n>', 'without --calibration: seeded random samples to calibrate and report on', '32')
    .option('--dim <name=value>', 'size of a symbolic dim for random samples (repeatable)', collect)
    .option('--json', 'print the report as JSON')
    .action(async (path: string, opts: QuantizeCliOptions) => {
      const { loadModel } = await import('./onnx/import.js');
      const { readCalibrationSet } = await import('./calibrate-data.js');
      const { randomInputs } = await import('./random-inputs.js');
      const { quantizeModel, formatReport } = await import('./calibrate-quantize.js');
      const { ttyProgress } = await import('./calibrate.js');
      const model = loadModel(path, { dims: parseDims(opts.dim) });
      if (opts.mode === 'static' && !opts.calibration) throw new UsageError('--mode static needs --calibration DIR (activation ranges come from it)');
      const n = parseNumber('--random-samples', opts.randomSamples, { integer: true, min: 1, max: 10000 });
      const samples = opts.calibration ? readCalibrationSet(existingDir('--calibration', opts.calibration), model.graph)
        : Array.from({ length: n }, (_, i) => randomInputs(model.graph, parseDims(opts.dim), i + 1));
      const evalSamples = opts.eval ? readCalibrationSet(existingDir('--eval', opts.eval), model.graph) : undefined;
      const r = quantizeModel(model, samples, {
        mode: opts.mode as never, method: opts.method as never, perChannel: opts.perChannel,
        ...(opts.blockSize !== undefined ? { blockSize: parseNumber('--block-size', opts.blockSize, { integer: true, min: 0, max: 4096 }) } : {}),
        exclude: (opts.exclude ?? []).flatMap((e) => e.split(',')).map((s) => s.trim()).filter(Boolean),
        ...(opts.maxDrift !== undefined ? { maxDrift: parseNumber('--max-drift', opts.maxDrift, { min: 0 }) } : {}),
        progress: ttyProgress('calibrating'),
      }, evalSamples);
      writeFileSync(opts.output, r.bytes);
      console.log(opts.json ? JSON.stringify(r.report, null, 1) : formatReport(r.report));
    });
}
