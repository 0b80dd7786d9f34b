// The `inspect`, `run` and `check` commands (loaded by cli.ts when one of them runs). The backend registry is
// imported only by run/check, so `inspect` never loads a backend.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../ir/errors.js';
import type { Graph } from '../ir/graph.js';
import type { RuntimeValue } from '../ir/value.js';
import { isTensor } from '../ir/value.js';
import { outputDir, parseNumber, parseSeed } from './cli-args.js';
import { load, modelInputs, type InputOpts } from './cli-model.js';
import { compareValues, tensorError } from './compare.js';
import { formatSummary, summarizeModel } from './inspect.js';
import { exportModel } from './onnx/export.js';
import { encodeTensorProto } from './onnx/tensor-proto.js';

export function inspectCommand(path: string, opts: { json?: boolean; dim?: string[] }): void {
  const s = summarizeModel(load(path, opts));
  console.log(opts.json ? JSON.stringify(s, null, 2) : formatSummary(s));
}

export async function runCommand(path: string, opts: InputOpts & { backend: string; outputDir?: string }): Promise<void> {
  parseSeed(opts.seed);
  if (opts.outputDir !== undefined) outputDir('--output-dir', opts.outputDir);
  const model = load(path, opts);
  const inputs = modelInputs(model, opts);
  const { loadBackend } = await import('./backends.js');
  const outs = await (await loadBackend(opts.backend)).prepare(model).run(inputs);
  if (opts.outputDir) mkdirSync(opts.outputDir, { recursive: true });
  outs.forEach((v, k) => {
    const name = model.graph.outputs[k]!;
    console.log(`${name}: ${describeValue(v)}`);
    if (opts.outputDir) {
      if (!isTensor(v)) throw new UsageError(`output '${name}' is a ${v.kind}; only tensors can be written as output_K.pb`);
      writeFileSync(join(opts.outputDir, `output_${k}.pb`), encodeTensorProto(v, name));
    }
  });
}

/** `check`'s tolerance for `output` when --tolerance is not given, relative to the output's max |value|: 1e-4 for
 *  float32 results; where the output is a 16-bit float, or a float computed from 16-bit floats somewhere in the
 *  graph (a float16 model with float32 outputs), about that format's epsilon: 1e-3 for float16 (2^-10), 1e-2 for
 *  bfloat16 (2^-7). Other outputs (integers, bool) compare at 1e-4, which only exact values meet in practice. */
export function defaultTolerance(graph: Graph, output: string): number {
  const TOL: Readonly<Record<string, number>> = { bfloat16: 1e-2, float16: 1e-3 };
  const t = graph.types.get(output);
  const dtype = t?.kind === 'tensor' ? t.dtype : undefined;
  if (dtype && TOL[dtype]) return TOL[dtype]!;
  if (dtype !== 'float32' && dtype !== 'float64') return 1e-4;
  const inside = new Set<string>();
  for (const v of graph.types.values()) if (v.kind === 'tensor') inside.add(v.dtype);
  for (const w of graph.initializers.values()) inside.add(w.dtype);
  return inside.has('bfloat16') ? TOL['bfloat16']! : inside.has('float16') ? TOL['float16']! : 1e-4;
}

export async function checkCommand(path: string, opts: InputOpts & { backend: string; tolerance?: string; exported?: boolean }): Promise<void> {
  parseSeed(opts.seed);
  const given = opts.tolerance === undefined ? undefined : parseNumber('--tolerance', opts.tolerance, { min: 0 });
  const { runOrt } = await import('./ort.js');
  const model = load(path, opts);
  const inputs = modelInputs(model, opts);
  const { loadBackend } = await import('./backends.js');
  const ours = await (await loadBackend(opts.backend)).prepare(model).run(inputs);
  const feeds = Object.fromEntries(model.graph.inputs.map((n, i) => [n, inputs[i]!]));
  const theirs = await runOrt(opts.exported ? exportModel(model) : resolve(path), feeds);
  let bad = 0;
  model.graph.outputs.forEach((name, k) => {
    const a = ours[k]!, e = theirs.values[k]!;
    if (!isTensor(a)) { console.log(`${name}: onnxc gave a ${a.kind}`); bad++; return; }
    const d = compareValues(a, e, { rtol: 0, atol: Infinity });
    if (d.mismatch) { console.log(`${name}: ${d.mismatch}`); bad++; return; }
    const err = tensorError(a, e);
    const limit = (given ?? defaultTolerance(model.graph, name)) * Math.max(err.maxExpected, 1e-30);
    const ok = err.maxAbs <= limit;
    if (!ok) bad++;
    console.log(`${name}: max abs ${err.maxAbs.toExponential(3)}  max rel ${err.maxRel.toExponential(3)}  (|max| ${err.maxExpected.toExponential(3)})  ${ok ? 'ok' : `ABOVE TOLERANCE ${limit.toExponential(3)}`}`);
  });
  if (bad) process.exitCode = 1;
}

function describeValue(v: RuntimeValue): string {
  if (isTensor(v)) {
    const n = v.data.length;
    const head = Array.from({ length: Math.min(n, 6) }, (_, i) => String(v.data[i])).join(', ');
    return `${v.dtype}[${v.dims.join(',')}] ${n > 6 ? `[${head}, ...]` : `[${head}]`}`;
  }
  return v.kind === 'sequence' ? `sequence of ${v.items.length}` : v.value === undefined ? 'optional (empty)' : `optional (${describeValue(v.value)})`;
}
