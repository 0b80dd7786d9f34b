// The `onnxc quantize` command: declared here (cheap to load), implemented in calibrate-quantize.ts (loaded when it
// runs). Writes a standard ONNX model (QDQ / MatMulInteger / float16: ai.onnx ops only) and prints the report.

import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { UsageError } from '../ir/errors.js';
import type { Model } from '../ir/graph.js';
import { collect, existingDir, parseDims, parseNumber } from './cli-args.js';

interface QuantizeCliOptions {
  output: string; mode: string; calibration?: string; eval?: string; method: string; perChannel?: boolean;
  blockSize?: string; exclude?: string[]; maxDrift?: string; json?: boolean; randomSamples: string; dim?: string[]; reduceRange?: boolean;
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
    .option('--reduce-range', 'static: 7-bit weights in [-64, 63] (as onnxruntime\'s reduce_range), which compile --simd relaxed multiplies on the relaxed int8 dot')
    .option('--exclude <list>', 'op types or node names to keep in float (comma-separated, repeatable)', collect)
    .option('--max-drift <x>', 'keep the worst layers in float until every output drifts less than this (relative to its range)')
    .option('--random-samples <n>', 'without --calibration: seeded random samples to calibrate and report on', '32')
    .option('--dim <name=value>', 'fix a symbolic dim to this size: the output model is written with it (and random samples take it); repeatable', collect)
    .option('--json', 'print the report as JSON')
    .action(async (path: string, opts: QuantizeCliOptions) => {
      const { loadModel } = await import('./onnx/import.js');
      const { readCalibrationSet } = await import('./calibrate-data.js');
      const { randomInputs } = await import('./random-inputs.js');
      const { quantizeModel, formatReport } = await import('./calibrate-quantize.js');
      const { ttyProgress } = await import('./calibrate.js');
      const dims = parseDims(opts.dim);
      const model = loadModel(path, { dims });
      if (Object.keys(dims).length) checkDims(loadModel(path), dims);
      if (opts.reduceRange && opts.mode !== 'static') throw new UsageError(`--reduce-range applies to --mode static (7-bit Conv/MatMul/Gemm weights), not --mode ${opts.mode}`);
      if (opts.mode === 'static' && !opts.calibration) throw new UsageError('--mode static needs --calibration DIR (activation ranges come from it)');
      const n = parseNumber('--random-samples', opts.randomSamples, { integer: true, min: 1, max: 10000 });
      const samples = opts.calibration ? readCalibrationSet(existingDir('--calibration', opts.calibration), model.graph)
        : Array.from({ length: n }, (_, i) => randomInputs(model.graph, parseDims(opts.dim), i + 1));
      const evalSamples = opts.eval ? readCalibrationSet(existingDir('--eval', opts.eval), model.graph) : undefined;
      const r = quantizeModel(model, samples, {
        mode: opts.mode as never, method: opts.method as never, perChannel: opts.perChannel,
        ...(opts.reduceRange ? { reduceRange: true } : {}),
        ...(opts.blockSize !== undefined ? { blockSize: parseNumber('--block-size', opts.blockSize, { integer: true, min: 0, max: 4096 }) } : {}),
        exclude: (opts.exclude ?? []).flatMap((e) => e.split(',')).map((s) => s.trim()).filter(Boolean),
        ...(opts.maxDrift !== undefined ? { maxDrift: parseNumber('--max-drift', opts.maxDrift, { min: 0 }) } : {}),
        progress: ttyProgress('calibrating'),
      }, evalSamples);
      writeFileSync(opts.output, r.bytes);
      console.log(opts.json ? JSON.stringify(r.report, null, 1) : formatReport(r.report));
    });
}

/** Every --dim names a symbolic dim of the model (as imported without sizes); a size for a name the model lacks would
 *  be silently ignored and the output written with its dims unchanged, so it is refused. */
function checkDims(model: Model, dims: Readonly<Record<string, number>>): void {
  const names = new Set<string>();
  for (const t of model.graph.types.values()) if (t.kind === 'tensor') for (const d of t.shape ?? []) if (typeof d === 'string' && !d.startsWith('?')) names.add(d);
  for (const [k, v] of Object.entries(dims)) {
    if (!names.has(k)) throw new UsageError(`--dim ${k}=${v}: the model has no symbolic dim '${k}' (${names.size ? `its symbolic dims: ${[...names].sort().join(', ')}` : 'all its dims are fixed'})`);
    if (v < 1) throw new UsageError(`--dim ${k}=${v}: a dim's size must be at least 1`);
  }
}
