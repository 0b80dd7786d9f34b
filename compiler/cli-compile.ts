// The `onnxc compile` command: MODEL -> the pass pipeline (-O3 by default) -> a deployable artifact folder, with the
// memory plan reported.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { OnnxImportError, UsageError } from '../ir/errors.js';
import { collect, parseDims, parsePassOptions } from './cli-args.js';
import { compileToDir, type CompileTarget } from './compile.js';
import { parseLevel } from '../passes/pipelines.js';
import { loadModel } from './onnx/import.js';
import { readValueFile } from './onnx/tensor-proto.js';
import { isTensor } from '../ir/value.js';

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

export function registerCompile(program: Command): void {
  program.command('compile')
    .description('compile a model ahead of time: writes model.wasm, weights, loader.js and manifest.json to -o DIR')
    .argument('<model>', 'ONNX model file')
    .addOption(new Option('--target <name>', 'target').choices(['wasm']).default('wasm'))
    .requiredOption('-o, --output <dir>', 'artifact folder')
    .option('--dim <name=value>', 'size of a symbolic dim (repeatable)', collect)
    .option('--inputs <dir>', 'take input shapes from input_K.pb in this folder')
    .option('-O, --opt-level <n>', 'pass pipeline level 0-3 (default 3)')
    .option('--passes <list>', 'explicit comma-separated pass list (instead of -O)')
    .option('--pass-option <key=value>', 'option for passes, e.g. fold-limit=4096 (repeatable)', collect)
    .option('--verify', 'run the IR and op verifiers after every pass')
    .option('--no-optimize', 'skip Binaryen optimisation')
    .option('--embed-limit <bytes>', 'weights larger than this go to weights.bin', String(1 << 20))
    .action((path: string, opts: { target: CompileTarget; output: string; dim?: string[]; inputs?: string; optimize: boolean; embedLimit: string; optLevel?: string; passes?: string; passOption?: string[]; verify?: boolean }) => {
      if (opts.passes !== undefined && opts.optLevel !== undefined) throw new UsageError('give either -O or --passes, not both');
      const options = parsePassOptions(opts.passOption);
      const pipeline = { level: parseLevel(opts.optLevel ?? '3'), passes: opts.passes, options, verify: opts.verify };
      if (!existsSync(path)) throw new OnnxImportError(`model file '${path}' does not exist`);
      const dims = parseDims(opts.dim);
      const model = loadModel(path, { dims });
      let inputShapes: Record<string, readonly number[]> | undefined;
      if (opts.inputs) {
        if (!existsSync(opts.inputs)) throw new UsageError(`inputs folder '${opts.inputs}' does not exist`);
        const files = readdirSync(opts.inputs);
        inputShapes = {};
        model.graph.inputs.forEach((name, k) => {
          if (!files.includes(`input_${k}.pb`)) return;
          const v = readValueFile(join(opts.inputs!, `input_${k}.pb`));
          if (isTensor(v)) inputShapes![name] = v.dims;
        });
      }
      const r = compileToDir(model, opts.target, opts.output, { dims, inputShapes, optimize: opts.optimize, embedLimit: Number(opts.embedLimit) }, pipeline);
      const a = r.artifact.manifest.arena;
      for (const [f, n] of Object.entries(r.files)) console.log(`${f.padEnd(14)} ${kb(n)}`);
      console.log(`kernels        ${r.artifact.kernels.length} functions`);
      console.log(`memory plan    arena ${kb(a.bytes)} (lower bound ${kb(a.lowerBoundBytes)}, without reuse ${kb(a.totalBytes)}); weights ${kb(r.artifact.manifest.weights.bytes)}${r.artifact.manifest.weights.file ? ' in weights.bin' : ' embedded'}; memory ${r.artifact.manifest.pages} pages`);
    });
}
