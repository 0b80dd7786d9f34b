// One fuzz case run: the mutant goes through import + inference, the -O2 passes, (for some) the reference on
// random inputs and (for a sample) the wasm compile, in process. A case passes when it ends in success or in a
// typed one-line OnnxcError; anything else is a finding.

import { runGraph } from '../../backends/reference/interpreter.js';
import type { compileWasmGraph } from '../../compiler/compile.js';
import { importModel } from '../../compiler/onnx/import.js';
import { randomInputs } from '../../compiler/random-inputs.js';
import { OnnxcError } from '../../ir/errors.js';
import type { Model } from '../../ir/graph.js';
import { runPasses } from '../../passes/manager.js';
import { pipelineForLevel } from '../../passes/pipelines.js';

/** The wasm compile, passed in: loading Binaryen is slow, so only callers that compile load it. */
export type CompileFn = typeof compileWasmGraph;

export type Stage = 'import' | 'passes' | 'run' | 'compile';

export interface CaseOutcome {
  /** 'ok', the OnnxcError class that ended it, or 'BUG' for a finding. */
  readonly outcome: string;
  readonly stage: Stage;
  /** For errors: the one line the CLI would print (for a finding, what was wrong with it). */
  readonly message?: string;
  readonly ms: number;
}

/** Messages of typed errors that wrap an untyped one: the importer, inference and the interpreter turn a stray
 *  TypeError into a typed error so the CLI stays clean, but for the fuzzer it is still a bug to fix. */
const WRAPPED = /^(cannot import model: (TypeError|RangeError|ReferenceError|SyntaxError|Error)|inference failed:|kernel failed:)/;

/** Judge a thrown value: a typed one-line error is fine; anything else is a finding. */
export function judge(e: unknown, stage: Stage, ms: number): CaseOutcome {
  if (!(e instanceof OnnxcError)) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { outcome: 'BUG', stage, message: `untyped ${msg.split('\n')[0]!.slice(0, 300)}`, ms };
  }
  const line = `${e.name}: ${e.describe()}`;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(line)) return { outcome: 'BUG', stage, message: `not one safe line: ${JSON.stringify(line.slice(0, 300))}`, ms };
  if (WRAPPED.test(e.message)) return { outcome: 'BUG', stage, message: `wrapped internal error: ${line.slice(0, 300)}`, ms };
  return { outcome: e.name, stage, message: line.slice(0, 300), ms };
}

/** Input shapes for a compile: symbolic dims taken as 1. */
function inputShapes(m: Model): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const name of m.graph.inputs) {
    const t = m.graph.types.get(name);
    if (t?.kind === 'tensor' && t.shape) out[name] = t.shape.map((d) => (typeof d === 'number' ? d : 1));
  }
  return out;
}

/** Run one mutant through the pipeline. */
export function runCase(bytes: Uint8Array, opts: { baseDir: string; compile?: CompileFn; run?: boolean; source?: string }): CaseOutcome {
  const t0 = performance.now();
  const source = opts.source ?? 'fuzz.onnx';
  let stage: Stage = 'import';
  try {
    const model = importModel(bytes, { source, baseDir: opts.baseDir });
    stage = 'passes';
    runPasses(model.graph, pipelineForLevel(2), { ctx: { source, options: new Map() } });
    if (opts.run) {
      // the reference on seeded random inputs (symbolic dims 1): kernels meet the mutated attributes and shapes
      stage = 'run';
      runGraph(model.graph, randomInputs(model.graph, {}, 1), { source });
    }
    if (opts.compile) {
      stage = 'compile';
      opts.compile(model.graph, { source, inputShapes: inputShapes(model), embedLimit: Infinity }, { level: 3 });
    }
    return { outcome: 'ok', stage, ms: performance.now() - t0 };
  } catch (e) {
    return judge(e, stage, performance.now() - t0);
  }
}
