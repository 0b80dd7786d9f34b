// Ahead-of-time compilation to a deployable artifact, and the `wasm` backend the CLI and conformance runner use
// (compile for the shapes of the inputs at hand, then run through runtime/wasm like a deployed model would).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileWasm, type WasmArtifact, type WasmCompileOptions } from '../backends/wasm/compile.js';
import { KernelError, ShapeError, UnsupportedOpError, UsageError } from '../ir/errors.js';
import type { Model } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { RuntimeValue } from '../ir/value.js';
import { isTensor } from '../ir/value.js';
import { LOADER_JS } from '../runtime/wasm/loader-source.js';
import { createSessionSync, type TensorValue, type WasmSession } from '../runtime/wasm/session.js';
import type { Backend } from './backends.js';

export type CompileTarget = 'wasm';

export interface CompileReport {
  readonly dir: string;
  readonly files: Readonly<Record<string, number>>;
  readonly artifact: WasmArtifact;
}

/** Compile `model` for `target` into `dir`: model.wasm, weights.bin (when not embedded), loader.js, manifest.json. */
export function compileToDir(model: Model, target: CompileTarget, dir: string, opts: WasmCompileOptions = {}): CompileReport {
  if (target !== 'wasm') throw new UsageError(`unknown target '${String(target)}' (available: wasm)`);
  const artifact = compileWasm(model.graph, { source: model.info.source, ...opts });
  mkdirSync(dir, { recursive: true });
  const files: Record<string, number> = {};
  const write = (name: string, data: Uint8Array | string): void => {
    writeFileSync(join(dir, name), data);
    files[name] = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  };
  write('model.wasm', artifact.wasm);
  if (artifact.manifest.weights.file) write(artifact.manifest.weights.file, artifact.weights);
  write('loader.js', LOADER_JS);
  write('manifest.json', `${JSON.stringify(artifact.manifest, null, 1)}\n`);
  return { dir, files, artifact };
}

export function toTensorValue(t: Tensor): TensorValue {
  if (Array.isArray(t.data)) throw new UsageError(`string tensors cannot be fed to the wasm runtime`);
  return { type: t.dtype, dims: t.dims, data: t.data as TensorValue['data'] };
}

/** The `wasm` backend: compiles once per set of input shapes, runs through the shipped runtime. */
export const wasmBackend: Backend = {
  name: 'wasm',
  summary: 'WebAssembly SIMD module compiled with Binaryen, run by runtime/wasm (shapes fixed per compile)',
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
        // small integer inputs may be specialised on (below), so their values are part of the key
        const key = JSON.stringify([shapes, inputs.map((v) => (isTensor(v) && (v.dtype === 'int64' || v.dtype === 'int32') && v.data.length <= 64 ? Array.from(v.data as ArrayLike<number | bigint>, String) : null))]);
        let s = sessions.get(key);
        if (!s) {
          let a;
          try {
            a = compileWasm(g, { source: model.info.source, inputShapes: shapes, embedLimit: Infinity });
          } catch (e) {
            // shapes that depend on small integer inputs (pads, target shapes): specialise on their values too
            const small = Object.fromEntries(g.inputs.flatMap((n, i) => {
              const v = inputs[i];
              return isTensor(v) && (v.dtype === 'int64' || v.dtype === 'int32') && v.dims.length <= 1 && v.data.length <= 64 ? [[n, v]] : [];
            }));
            const needsValues = e instanceof ShapeError || (e instanceof UnsupportedOpError && /must be a constant/.test(e.message));
            if (!needsValues || Object.keys(small).length === 0) throw e;
            a = compileWasm(g, { source: model.info.source, inputShapes: shapes, embedLimit: Infinity, fixedInputs: small });
          }
          s = createSessionSync({ wasm: a.wasm, manifest: a.manifest });
          sessions.set(key, s);
        }
        const outs = s.runSync(feeds);
        return g.outputs.map((name) => {
          const o = outs[name]!;
          return { dtype: o.type as Tensor['dtype'], dims: [...o.dims], data: o.data } as Tensor;
        });
      },
    };
  },
};
