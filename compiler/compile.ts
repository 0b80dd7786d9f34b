// Ahead-of-time compilation to a deployable artifact, and the `wasm` backends the CLI and conformance runner use
// (compile for the shapes of the inputs at hand, then run through runtime/wasm like a deployed model would).
// Every compile goes through lowering/compile-for.ts with the wasm backend's declaration (backends/wasm/compile.ts).
// This module imports Binaryen: compiler/backends.ts loads it only when a wasm backend is used.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WASM_BACKEND, type WasmArtifact, type WasmCompileOptions } from '../backends/wasm/compile.js';
import { compileDynamic } from '../backends/wasm/dims-compile.js';
import type { DimRange } from '../lowering/dims.js';
import { withThreadScratch } from '../backends/wasm/parallel.js';
import { KernelError, UsageError } from '../ir/errors.js';
import type { Graph, Model } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { RuntimeValue } from '../ir/value.js';
import { bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits } from '../ir/float16.js';
import { isTensor } from '../ir/value.js';
import { checkInputs } from '../backends/reference/input-check.js';
import { compileFor, tryCompileFor, type PipelineChoice } from '../lowering/compile-for.js';
import { smallInputsToFix, specialisationKey } from '../lowering/specialise.js';
import { UnsupportedNodesError } from '../lowering/support.js';
import { loaderFiles } from '../runtime/wasm/loader-source.js';
import { OnnxcRuntimeError } from '../runtime/wasm/errors.js';
import { KernelTrap } from '../runtime/wasm/kernel-error.js';
import { createSessionSync, type FeedValue, type RunValue, type TensorValue, type WasmSession } from '../runtime/wasm/session.js';
import type { InputStructure } from '../lowering/sequences.js';
import type { ValueType } from '../ir/types.js';
import { BACKENDS, referenceBackend, type Backend } from './backends.js';

export type { PipelineChoice } from '../lowering/compile-for.js';

export type CompileTarget = 'wasm';

/** Compile for the wasm backend through the pipeline (default -O3); returns the artifact and the lowered graph. */
export function compileWasmGraph(g: Graph, opts: WasmCompileOptions, pipeline: PipelineChoice = {}): { artifact: WasmArtifact; graph: Graph } {
  // --threads: im2col scratch per thread (backends/wasm/parallel.ts)
  return compileFor(withThreadScratch(WASM_BACKEND, opts.threads ?? 1), g, opts, pipeline);
}

export interface CompileReport {
  readonly dir: string;
  readonly files: Readonly<Record<string, number>>;
  readonly artifact: WasmArtifact;
}

/** Compile `model` for `target` into `dir`: model.wasm, weights.bin (when not embedded), loader.js, manifest.json.
 *  The pipeline defaults to -O3; `{ level: 0 }` lowers the graph as imported. */
export function compileToDir(model: Model, target: CompileTarget, dir: string, opts: WasmCompileOptions & { readonly dimRanges?: readonly DimRange[] } = {}, pipeline: PipelineChoice = {}): CompileReport {
  if (target !== 'wasm') throw new UsageError(`unknown target '${String(target)}' (available: wasm)`);
  // dims given at run time (`--dim seq=1..128`): one module for every size in the ranges
  const { dimRanges, ...wasmOpts } = opts;
  const { artifact } = dimRanges?.length
    ? compileDynamic(model.graph, { source: model.info.source, ...wasmOpts }, dimRanges, pipeline)
    : compileWasmGraph(model.graph, { source: model.info.source, ...wasmOpts }, pipeline);
  mkdirSync(dir, { recursive: true });
  const files: Record<string, number> = {};
  const write = (name: string, data: Uint8Array | string): void => {
    writeFileSync(join(dir, name), data);
    files[name] = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  };
  write('model.wasm', artifact.wasm);
  if (artifact.manifest.weights.file) write(artifact.manifest.weights.file, artifact.weights);
  for (const [name, text] of Object.entries(loaderFiles())) write(name, text); // loader.js + loader.d.ts, built from runtime/
  write('manifest.json', `${JSON.stringify(artifact.manifest, null, 1)}\n`);
  return { dir, files, artifact };
}

export function toTensorValue(t: Tensor): TensorValue {
  if (Array.isArray(t.data)) throw new UsageError(`string tensors cannot be fed to the wasm runtime`);
  // the runtime takes 16-bit floats as their bits (Uint16Array), like onnxruntime-web
  if (t.dtype === 'float16') return { type: t.dtype, dims: t.dims, data: Uint16Array.from(t.data as Float32Array, numberToF16Bits) };
  if (t.dtype === 'bfloat16') return { type: t.dtype, dims: t.dims, data: Uint16Array.from(t.data as Float32Array, numberToBf16Bits) };
  return { type: t.dtype, dims: t.dims, data: t.data as TensorValue['data'] };
}


/** A run-time value as the wasm runtime takes it: sequences as arrays, an empty optional as null. */
function toFeedValue(v: RuntimeValue): FeedValue {
  if (isTensor(v)) return toTensorValue(v);
  if (v.kind === 'sequence') return v.items.map(toFeedValue);
  return v.value === undefined ? null : toFeedValue(v.value);
}

/** The structure a sequence or optional value is compiled for. */
function structureOf(v: RuntimeValue): InputStructure {
  if (isTensor(v)) return { kind: 'tensor', dims: v.dims };
  if (v.kind === 'sequence') return { kind: 'sequence', items: v.items.map(structureOf) };
  return { kind: 'optional', value: v.value === undefined ? null : structureOf(v.value) };
}

/** A runtime output back as an IR value, typed by the model's declared output type. */
function fromRunValue(v: RunValue, t: ValueType | undefined): RuntimeValue {
  if (t?.kind === 'sequence') return { kind: 'sequence', elemType: t.elem, items: (v as readonly RunValue[]).map((x) => fromRunValue(x, t.elem)) };
  if (t?.kind === 'optional') return { kind: 'optional', elemType: t.elem, value: v === null ? undefined : fromRunValue(v, t.elem) };
  return fromTensorValue(v as TensorValue);
}

/** A wasm backend: compiles (after `pipeline`) once per set of input shapes, runs through the shipped runtime. */
export const makeWasmBackend = (name: string, summary: string, pipeline: PipelineChoice): Backend => ({
  name,
  summary,
  prepare(model) {
    const sessions = new Map<string, WasmSession>();
    const source = model.info.source;
    const compile = (shapes: Record<string, readonly number[]>, inputs: readonly (RuntimeValue | undefined)[], structures: Record<string, InputStructure>): WasmArtifact => {
      const g = model.graph;
      const opts = { source, inputShapes: shapes, embedLimit: Infinity, structures };
      let r = tryCompileFor(WASM_BACKEND, g, opts, pipeline);
      if (r.ok) return r.artifact;
      // shapes or kernel operands that depend on small integer inputs (pads, target shapes): specialise on their
      // values too, when that is what the support check asked for
      const small = smallInputsToFix(g.inputs, inputs, r.unsupported);
      if (small) {
        r = tryCompileFor(WASM_BACKEND, g, { ...opts, fixedInputs: small }, pipeline);
        if (r.ok) return r.artifact;
      }
      throw new UnsupportedNodesError(r.unsupported, WASM_BACKEND.name, source);
    };
    return {
      run(inputs: readonly (RuntimeValue | undefined)[]): RuntimeValue[] {
        const g = model.graph;
        checkInputs(g, inputs, source);
        const feeds: Record<string, FeedValue> = {};
        const shapes: Record<string, readonly number[]> = {};
        // sequences and optionals: fed as arrays / null, compiled for their structure (lowering/sequences.ts)
        const structures: Record<string, InputStructure> = {};
        g.inputs.forEach((name, i) => {
          const v = inputs[i];
          if (v === undefined) throw new KernelError(`input '${name}' has no value`, { model: source });
          if (isTensor(v)) shapes[name] = v.dims;
          else structures[name] = structureOf(v);
        });
        // small integer (and float32: Resize scales/roi) inputs may be specialised on, so their values are part of the key
        const key = specialisationKey(shapes, inputs) + JSON.stringify(structures);
        let s = sessions.get(key);
        if (!s) {
          const a = compile(shapes, inputs, structures);
          s = createSessionSync({ wasm: a.wasm, manifest: a.manifest });
          sessions.set(key, s);
        }
        // converted after the compile, so that a model the backend refuses (string tensors) is named with its node
        g.inputs.forEach((name, i) => { feeds[name] = toFeedValue(inputs[i]!); });
        let outs;
        try { outs = s.runValuesSync(feeds); } catch (e) { throw fromRuntimeError(e, source); }
        return g.outputs.map((name) => fromRunValue(outs[name]!, g.types.get(name)));
      },
    };
  },
});

/** An error of the shipped runtime as the compiler's typed KernelError, so the CLI prints one line and exits 1. */
export function fromRuntimeError(e: unknown, source?: string): unknown {
  if (e instanceof KernelTrap) return new KernelError(e.detail, { model: source, node: e.node, op: e.op });
  // the runtime's message already names the model (and node): keep it as it is, without the runtime's prefix
  if (e instanceof OnnxcRuntimeError) return new KernelError(e.message.replace(/^onnxc: /, ''));
  return e;
}

/** The graph as imported, lowered kernel by kernel: what conformance checks (each kernel exact or within its own
 *  tolerance, no pass tolerances on top). */
export const wasmBackend: Backend = makeWasmBackend('wasm', 'WebAssembly SIMD module compiled with Binaryen, run by runtime/wasm (shapes fixed per compile; no passes)', { level: 0 });

/** What `onnxc compile` deploys: the -O3 pipeline (fusion, channels-last, decomposition to the kernel set) first. */
export const wasmO3Backend: Backend = makeWasmBackend('wasm-O3', 'the wasm backend after the -O3 pass pipeline, as `onnxc compile` builds it', { level: 3 });

/** A run backend by name, synchronously: for callers that have loaded the wasm backend anyway (tests, tools).
 *  Commands use compiler/backends.ts `loadBackend`, which imports this module only for a wasm backend. */
export function getBackend(name: string): Backend {
  const b = [referenceBackend, wasmBackend, wasmO3Backend].find((x) => x.name === name);
  if (!b) throw new UsageError(`unknown backend '${name}' (available: ${BACKENDS.map((x) => x.name).join(', ')})`);
  return b;
}

/** A runtime output as an IR tensor (16-bit float bits back to values). */
export function fromTensorValue(o: TensorValue): Tensor {
  if (o.type === 'float16') return { dtype: 'float16', dims: [...o.dims], data: Float32Array.from(o.data as Uint16Array, f16BitsToNumber) };
  if (o.type === 'bfloat16') return { dtype: 'bfloat16', dims: [...o.dims], data: Float32Array.from(o.data as Uint16Array, bf16BitsToNumber) };
  return { dtype: o.type as Tensor['dtype'], dims: [...o.dims], data: o.data } as Tensor;
}
