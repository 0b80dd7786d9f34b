// The `onnxc compile` command: MODEL -> the pass pipeline (-O3 by default) -> a deployable artifact folder, with the
// memory plan reported. Loaded only when compiling: it is what imports Binaryen.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../ir/errors.js';
import type { Model } from '../ir/graph.js';
import { fromValues, type Tensor } from '../ir/tensor.js';
import { isTensor } from '../ir/value.js';
import { parseLevel } from '../passes/pipelines.js';
import { existingDir, outputDir, parseNumber, parsePassOptions } from './cli-args.js';
import { parseDimSpecs } from '../lowering/dims.js';
import { load } from './cli-model.js';
import { progress } from './cli-progress.js';
import { compileToDir, type CompileTarget } from './compile.js';
import type { SimdMode } from '../backends/wasm/relaxed.js';
import { readValueFile } from './onnx/tensor-proto.js';
import { describeSparse } from '../backends/wasm/kernels/sparse-init.js';

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

export interface CompileOpts {
  target: CompileTarget | 'webgpu'; output: string; dim?: string[]; inputs?: string; optimize: boolean; embedLimit: string;
  optLevel?: string; passes?: string; passOption?: string[]; verify?: boolean; fix?: string[]; simd?: SimdMode; carry?: string[]; threads?: string;
}

/** `--fix NAME=V[,V...]`: the value an input is compiled for (a sample rate, a mode flag). Parsed by the input's
 *  declared dtype; a rank-0 input takes one value, a rank-1 input as many as its dim says. The artifact records it
 *  and the runtime refuses any other value for that input. */
export function parseFixes(model: Model, fixes: readonly string[] | undefined): Record<string, Tensor> | undefined {
  if (!fixes?.length) return undefined;
  const out: Record<string, Tensor> = {};
  for (const f of fixes) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new UsageError(`--fix expects NAME=VALUE[,VALUE...], got '${f}'`);
    const name = f.slice(0, eq), text = f.slice(eq + 1).split(',').map((v) => v.trim());
    const t = model.graph.types.get(name);
    if (!model.graph.inputs.includes(name) || t?.kind !== 'tensor') {
      throw new UsageError(`--fix: the model has no tensor input '${name}' (inputs: ${model.graph.inputs.join(', ')})`);
    }
    const shape = t.shape ?? [];
    if (shape.length > 1 || (shape.length === 1 && typeof shape[0] === 'number' && shape[0] !== text.length)) {
      throw new UsageError(`--fix: input '${name}' is ${t.dtype}[${shape.join(',')}]; --fix takes scalars and vectors of that length`);
    }
    const values = text.map((v) => {
      if (t.dtype === 'bool') {
        if (v === 'true' || v === '1') return true;
        if (v === 'false' || v === '0') return false;
      } else if (t.dtype === 'int64' || t.dtype === 'uint64') {
        if (/^-?\d+$/.test(v)) return BigInt(v);
      } else if (t.dtype !== 'string' && v !== '' && Number.isFinite(Number(v))) {
        const n = Number(v);
        if (!/int/.test(t.dtype) || Number.isInteger(n)) return n;
      }
      throw new UsageError(`--fix: '${v}' is not a ${t.dtype} value for input '${name}'`);
    });
    out[name] = fromValues(t.dtype, shape.length === 0 ? [] : [values.length], values);
  }
  return out;
}

/** `--carry IN=OUT`: state pairs the artifact feeds back from run to run (the pairs are checked against the model
 *  when the module is planned). */
function parseCarry(pairs: readonly string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const [input, output, ...rest] = p.split('=');
    if (!input || !output || rest.length) throw new UsageError(`--carry expects INPUT=OUTPUT, got '${p}'`);
    if (out[input] !== undefined) throw new UsageError(`--carry: input '${input}' is given twice`);
    out[input] = output;
  }
  return out;
}

export async function compileCommand(path: string, opts: CompileOpts): Promise<void> {
  if (opts.passes !== undefined && opts.optLevel !== undefined) throw new UsageError('give either -O or --passes, not both');
  const options = parsePassOptions(opts.passOption);
  const pipeline = { level: parseLevel(opts.optLevel ?? '3'), passes: opts.passes, options, verify: opts.verify };
  const embedLimit = parseNumber('--embed-limit', opts.embedLimit, { integer: true, min: 0 });
  const threads = parseNumber('--threads', opts.threads ?? '1', { integer: true, min: 1, max: 64 });
  if (threads > 1 && opts.target === 'webgpu') throw new UsageError('--threads is for the wasm target');
  outputDir('-o', opts.output);
  if (opts.inputs !== undefined) existingDir('--inputs', opts.inputs);
  const { fixed: dims, ranges: dimRanges } = parseDimSpecs(opts.dim);
  const bar = progress('compile');
  bar.update('importing');
  // a ranged dim stays symbolic in the imported graph (only fixed sizes are substituted at import)
  const model = load(path, { dim: Object.entries(dims).map(([k, v]) => `${k}=${v}`) });
  const fixedInputs = parseFixes(model, opts.fix);
  const carry = parseCarry(opts.carry);
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
  if (opts.target === 'webgpu') {
    if (carry) throw new UsageError('--carry is for the wasm target (the WebGPU runtime keeps no state between runs yet)');
    if (dimRanges.length) throw new UsageError('--dim NAME=LO..HI is for the wasm target (a WebGPU artifact is compiled for one size)');
    let w;
    try {
      w = (await import('../backends/webgpu/artifact.js')).compileWebGpuToDir(model, opts.output, { dims, inputShapes, fixedInputs }, pipeline);
    } finally {
      bar.done();
    }
    for (const [f, n] of Object.entries(w.files)) if (!f.startsWith('shader_')) console.log(`${f.padEnd(14)} ${kb(n)}`);
    const m = w.artifact.manifest;
    console.log(`shaders        ${m.shaders.length} (shader_K.wgsl), ${m.dispatches.length} dispatches`);
    console.log(`memory plan    arena ${kb(m.arena.bytes)}; weights ${kb(m.weights.bytes)} in weights.bin`);
    return;
  }
  let r;
  try {
    r = compileToDir(model, opts.target, opts.output, { dims, inputShapes, fixedInputs, optimize: opts.optimize, embedLimit, ...(opts.simd === 'relaxed' ? { simd: opts.simd } : {}), ...(carry ? { carry } : {}), ...(threads > 1 ? { threads } : {}), ...(dimRanges.length ? { dimRanges } : {}) }, pipeline);
  } finally {
    bar.done();
  }
  const a = r.artifact.manifest.arena;
  for (const [f, n] of Object.entries(r.files)) console.log(`${f.padEnd(14)} ${kb(n)}`);
  console.log(`kernels        ${r.artifact.kernels.length} functions${threads > 1 ? `; ${threads} threads` : ''}`);
  console.log(`memory plan    arena ${kb(a.bytes)} (lower bound ${kb(a.lowerBoundBytes)}, without reuse ${kb(a.totalBytes)}); weights ${kb(r.artifact.manifest.weights.bytes)}${r.artifact.manifest.weights.file ? ' in weights.bin' : ' embedded'}; memory ${r.artifact.manifest.pages} pages`);
  const sparse = describeSparse(r.artifact.manifest.sparseWeights);
  if (sparse) console.log(`sparse weights ${sparse}`);
}
