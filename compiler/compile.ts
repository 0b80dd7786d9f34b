// Ahead-of-time compilation to a deployable artifact, and the `wasm` backends the CLI and conformance runner use
// (compile for the shapes of the inputs at hand, then run through runtime/wasm like a deployed model would).
// Before lowering, the pass pipeline runs with the wasm backend's op set (optimize-wasm.ts).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WasmArtifact, WasmCompileOptions } from '../backends/wasm/compile.js';
import { KernelError, ShapeError, UnsupportedOpError, UnsupportedTypeError, UsageError } from '../ir/errors.js';
import { upcastFloat16 } from '../passes/upcast-float16.js';
import type { Graph, Model } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { RuntimeValue } from '../ir/value.js';
import { bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits } from '../ir/float16.js';
import { isTensor } from '../ir/value.js';
import { loaderFiles } from '../runtime/wasm/loader-source.js';
import { createSessionSync, type TensorValue, type WasmSession } from '../runtime/wasm/session.js';
import type { Backend } from './backends.js';
import { compileOptimized, type PipelineChoice } from './optimize-wasm.js';

export type CompileTarget = 'wasm';

/** Compile through the pipeline; when a kernel has no 16-bit float version, compute those ops in float32 between
 *  Casts (passes/upcast-float16.ts) and compile again, rather than refusing a float16 model. */
function compileWasmGraph(g: Graph, opts: WasmCompileOptions, pipeline: PipelineChoice): { artifact: WasmArtifact } {
  try {
    return compileOptimized(g, opts, pipeline);
  } catch (e) {
    if (!(e instanceof UnsupportedTypeError) || !/float16|bfloat16/.test(e.message)) throw e;
    const wide = upcastFloat16(g, opts.source);
    if (wide === g) throw e;
    return compileOptimized(wide, opts, pipeline);
  }
}

export interface CompileReport {
  readonly dir: string;
  readonly files: Readonly<Record<string, number>>;
  readonly artifact: WasmArtifact;
}

/** Compile `model` for `target` into `dir`: model.wasm, weights.bin (when not embedded), loader.js, manifest.json.
 *  The pipeline defaults to -O3; `{ level: 0 }` lowers the graph as imported. */
export function compileToDir(model: Model, target: CompileTarget, dir: string, opts: WasmCompileOptions = {}, pipeline: PipelineChoice = {}): CompileReport {
  if (target !== 'wasm') throw new UsageError(`unknown target '${String(target)}' (available: wasm)`);
  const { artifact } = compileWasmGraph(model.graph, { source: model.info.source, ...opts }, pipeline);
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

/** A wasm backend: compiles (after `pipeline`) once per set of input shapes, runs through the shipped runtime. */
export const makeWasmBackend = (name: string, summary: string, pipeline: PipelineChoice): Backend => {
  const compileWasm = (g: Graph, opts: WasmCompileOptions): WasmArtifact => compileWasmGraph(g, opts, pipeline).artifact;
  return {
  name,
  summary,
  prepare(model) {
    const sessions = new Map<string, WasmSession>();
    return {
      run(inputs: readonly (RuntimeValue | undefined)[]): RuntimeValue[] {
        const g = model.graph;
        const feeds: Record<string, TensorValue> = {};
        const shapes: Record<string, readonly number[]> = {};
        g.inputs.forEach((name, i) => {
          const v = inputs[i];
          if (!isTensor(v)) throw new KernelError(`input '${name}' must be a tensor for the wasm backend`, { model: model.info.source });
          feeds[name] = toTensorValue(v);
          shapes[name] = v.dims;
        });
        // small integer (and float32: Resize scales/roi) inputs may be specialised on (below), so their values are part of the key
        const key = JSON.stringify([shapes, inputs.map((v) => (isTensor(v) && (v.dtype === 'int64' || v.dtype === 'int32' || v.dtype === 'float32') && v.data.length <= 64 ? Array.from(v.data as ArrayLike<number | bigint>, String) : null))]);
        let s = sessions.get(key);
        if (!s) {
          let a;
          try {
            a = compileWasm(g, { source: model.info.source, inputShapes: shapes, embedLimit: Infinity });
          } catch (e) {
            // shapes that depend on small integer inputs (pads, target shapes): specialise on their values too
            const small = Object.fromEntries(g.inputs.flatMap((n, i) => {
              const v = inputs[i];
              return isTensor(v) && (v.dtype === 'int64' || v.dtype === 'int32' || v.dtype === 'float32') && v.dims.length <= 1 && v.data.length <= 64 ? [[n, v]] : [];
            }));
            const needsValues = e instanceof ShapeError || (e instanceof UnsupportedOpError && /must be a constant|has no wasm kernel/.test(e.message));
            if (!needsValues || Object.keys(small).length === 0) throw e;
            a = compileWasm(g, { source: model.info.source, inputShapes: shapes, embedLimit: Infinity, fixedInputs: small });
          }
          s = createSessionSync({ wasm: a.wasm, manifest: a.manifest });
          sessions.set(key, s);
        }
        const outs = s.runSync(feeds);
        return g.outputs.map((name) => {
          const o = outs[name]!;
          return fromTensorValue(o);
        });
      },
    };
  },
  };
};

/** The graph as imported, lowered kernel by kernel: what conformance checks (each kernel exact or within its own
 *  tolerance, no pass tolerances on top). */
export const wasmBackend: Backend = makeWasmBackend('wasm', 'WebAssembly SIMD module compiled with Binaryen, run by runtime/wasm (shapes fixed per compile; no passes)', { level: 0 });

/** What `onnxc compile` deploys: the -O3 pipeline (fusion, channels-last, decomposition to the kernel set) first. */
export const wasmO3Backend: Backend = makeWasmBackend('wasm-O3', 'the wasm backend after the -O3 pass pipeline, as `onnxc compile` builds it', { level: 3 });

/** A runtime output as an IR tensor (16-bit float bits back to values). */
export function fromTensorValue(o: TensorValue): Tensor {
  if (o.type === 'float16') return { dtype: 'float16', dims: [...o.dims], data: Float32Array.from(o.data as Uint16Array, f16BitsToNumber) };
  if (o.type === 'bfloat16') return { dtype: 'bfloat16', dims: [...o.dims], data: Float32Array.from(o.data as Uint16Array, bf16BitsToNumber) };
  return { dtype: o.type as Tensor['dtype'], dims: [...o.dims], data: o.data } as Tensor;
}
