// The `onnxc prune` command: declared here (cheap to load), implemented in prune-model.ts (loaded when it runs).
// Writes a standard ONNX model (smaller dense layers for channels; zeros for weights/2:4) and prints the report.

import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { collect, existingDir, parseNumber, parseDims } from './cli-args.js';

interface PruneCliOptions {
  output: string; calibration: string; mode: string; sparsity?: string; maxDrift?: string; exclude?: string[];
  eval?: string; json?: boolean; refit: boolean; criterion?: string; dim?: string[]; embeddings?: string;
}

export function registerPrune(program: Command): void {
  program.command('prune')
    .description('prune a model (whole channels, or weights / 2:4) with re-fitting on calibration data; writes ONNX and reports params, FLOPs, drift and top-1 agreement')
    .argument('<model>', 'ONNX model file')
    .requiredOption('-o, --output <file>', 'the pruned model (ONNX)')
    .requiredOption('--calibration <dir>', 'calibration set: input_K.pb (a leading batch dim is split into samples) or a folder of such folders')
    .addOption(new Option('--mode <mode>', 'what to prune').choices(['channels', 'weights', '2:4']).default('channels'))
    .option('--sparsity <s>', 'fraction of the prunable channels (or weights) to remove, 0 <= S < 1')
    .option('--max-drift <x>', 'prune most where it costs least until an output drifts this much (relative to its range)')
    .option('--exclude <list>', 'op types or node names to leave whole (comma-separated, repeatable)', collect)
    .option('--eval <dir>', 'held-out set for the report, same layout; with output_K.pb files, top-1 accuracy against them too (an integer output_K.pb holds class labels, one per row; a float one, expected scores)')
    .addOption(new Option('--criterion <c>', 'channel importance (default: reconstruction, chosen for the next layer\'s least-squares fit, where it can be measured, else activation)').choices(['l1', 'l2', 'activation', 'reconstruction']))
    .option('--embeddings <s>', 'weights and 2:4 modes: prune the embedding (Gather) tables too, S of their weights (ranked by how often the calibration reads each row), or fp16: round them to float16 instead; default dense')
    .option('--no-refit', 'do not re-fit the remaining weights on the calibration set')
    .option('--dim <name=value>', 'size of a symbolic dim (repeatable)', collect)
    .option('--json', 'print the report as JSON')
    .action(async (path: string, opts: PruneCliOptions) => {
      const { loadModel } = await import('./onnx/import.js');
      const { readCalibrationSet } = await import('./calibrate-data.js');
      const { ttyProgress } = await import('./calibrate.js');
      const { pruneModel, formatPruneReport } = await import('./prune-model.js');
      const { readEvalSet } = await import('./prune-report.js');
      const model = loadModel(path, { dims: parseDims(opts.dim) });
      const samples = readCalibrationSet(existingDir('--calibration', opts.calibration), model.graph);
      const evalSet = opts.eval ? readEvalSet(existingDir('--eval', opts.eval), model.graph) : undefined;
      const r = pruneModel(model, samples, {
        mode: opts.mode as never, refit: opts.refit,
        ...(opts.sparsity !== undefined ? { sparsity: parseNumber('--sparsity', opts.sparsity, { min: 0, max: 0.99 }) } : {}),
        ...(opts.maxDrift !== undefined ? { maxDrift: parseNumber('--max-drift', opts.maxDrift, { min: 0 }) } : {}),
        exclude: (opts.exclude ?? []).flatMap((e) => e.split(',')).map((s) => s.trim()).filter(Boolean),
        ...(opts.criterion ? { criterion: opts.criterion } : {}), ...(opts.embeddings ? { embeddings: opts.embeddings } : {}),
        progress: ttyProgress('calibrating'),
      }, evalSet);
      writeFileSync(opts.output, r.bytes);
      console.log(opts.json ? JSON.stringify(r.report, null, 1) : formatPruneReport(r.report));
    });
}
