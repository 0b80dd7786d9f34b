// The `onnxc compile` command: MODEL -> the pass pipeline (-O3 by default) -> a deployable artifact folder, with the
// memory plan reported. Loaded only when compiling: it is what imports Binaryen.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../ir/errors.js';
import { isTensor } from '../ir/value.js';
import { parseLevel } from '../passes/pipelines.js';
import { existingDir, outputDir, parseDims, parseNumber, parsePassOptions } from './cli-args.js';
import { load } from './cli-model.js';
import { progress } from './cli-progress.js';
import { compileToDir, type CompileTarget } from './compile.js';
import { readValueFile } from './onnx/tensor-proto.js';

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

export interface CompileOpts {
  target: CompileTarget; output: string; dim?: string[]; inputs?: string; optimize: boolean; embedLimit: string;
  optLevel?: string; passes?: string; passOption?: string[]; verify?: boolean;
}

export function compileCommand(path: string, opts: CompileOpts): void {
  if (opts.passes !== undefined && opts.optLevel !== undefined) throw new UsageError('give either -O or --passes, not both');
  const options = parsePassOptions(opts.passOption);
  const pipeline = { level: parseLevel(opts.optLevel ?? '3'), passes: opts.passes, options, verify: opts.verify };
  const embedLimit = parseNumber('--embed-limit', opts.embedLimit, { integer: true, min: 0 });
  outputDir('-o', opts.output);
  if (opts.inputs !== undefined) existingDir('--inputs', opts.inputs);
  const dims = parseDims(opts.dim);
  const bar = progress('compile');
  bar.update('importing');
  const model = load(path, opts);
  let inputShapes: Record<string, readonly number[]> | undefined;
  if (opts.inputs !== undefined) {
    const files = readdirSync(opts.inputs);
    inputShapes = {};
    model.graph.inputs.forEach((name, k) => {
      if (!files.includes(`input_${k}.pb`)) return;
      const v = readValueFile(join(opts.inputs!, `input_${k}.pb`));
      if (isTensor(v)) inputShapes![name] = v.dims;
    });
  }
  bar.update(`optimising and lowering ${model.graph.nodes.length} nodes`);
  let r;
  try {
    r = compileToDir(model, opts.target, opts.output, { dims, inputShapes, optimize: opts.optimize, embedLimit }, pipeline);
  } finally {
    bar.done();
  }
  const a = r.artifact.manifest.arena;
  for (const [f, n] of Object.entries(r.files)) console.log(`${f.padEnd(14)} ${kb(n)}`);
  console.log(`kernels        ${r.artifact.kernels.length} functions`);
  console.log(`memory plan    arena ${kb(a.bytes)} (lower bound ${kb(a.lowerBoundBytes)}, without reuse ${kb(a.totalBytes)}); weights ${kb(r.artifact.manifest.weights.bytes)}${r.artifact.manifest.weights.file ? ' in weights.bin' : ' embedded'}; memory ${r.artifact.manifest.pages} pages`);
}
