// The webgpu backend as the CLI and the conformance runner run a model (compiler/backends.ts registers it): compile
// through the lowering core once per set of input shapes, run on Dawn, map the runtime's errors onto the
// OnnxcError family. Runs are asynchronous (WebGPU reads results back with mapAsync). Loading it without an
// adapter (or without the `webgpu` package) is a BackendUnavailableError that says what to install.

import type { Model } from '../../ir/graph.js';
import { BackendUnavailableError } from '../../compiler/backends.js';
import { KernelError } from '../../ir/errors.js';
import type { Tensor } from '../../ir/tensor.js';
import { isTensor, type RuntimeValue } from '../../ir/value.js';
import type { PipelineChoice } from '../../lowering/compile-for.js';
import { checkInputs } from '../reference/input-check.js';
import { OnnxcRuntimeError } from '../../runtime/wasm/errors.js';
import { createSession, type WebGpuSession } from '../../runtime/webgpu/session.js';
import { compileWebGpuModel, tryCompileWebGpuModel } from './compile.js';
import { withFixedInputs } from '../../lowering/prepare.js';
import { smallInputsToFix, specialisationKey } from '../../lowering/specialise.js';
import { UnsupportedNodesError } from '../../lowering/support.js';
import type { WebGpuArtifact } from '../../runtime/webgpu/types.js';
import { dawnDevice } from './dawn.js';

export { BackendUnavailableError };

export interface AsyncPrepared {
  run(inputs: readonly (RuntimeValue | undefined)[]): Promise<RuntimeValue[]>;
}

export interface AsyncBackend {
  readonly name: string;
  readonly summary: string;
  prepare(model: Model): AsyncPrepared;
}

export const WEBGPU_SUMMARY = 'WGSL compute shaders run by runtime/webgpu on Dawn (lavapipe without a GPU); kernels as the model is written (no passes)';
export const WEBGPU_O3_SUMMARY = 'the webgpu backend after the -O3 pass pipeline, as `onnxc compile --target webgpu` builds it';

/** The registry's webgpu backends: `webgpu` (-O0, what conformance checks) and `webgpu-O3` (what compile deploys).
 *  Refused up front, with what to install, when Dawn finds no adapter. */
export async function loadWebGpuBackend(name: 'webgpu' | 'webgpu-O3' = 'webgpu'): Promise<AsyncBackend> {
  const gpu = await dawnDevice();
  if (typeof gpu === 'string') throw new BackendUnavailableError(`backend '${name}': ${gpu}`);
  const pipeline: PipelineChoice = { level: name === 'webgpu' ? 0 : 3 };
  return { name, summary: name === 'webgpu' ? WEBGPU_SUMMARY : WEBGPU_O3_SUMMARY, prepare: (model) => prepareWebGpu(model, pipeline) };
}

export function prepareWebGpu(model: Model, pipeline: PipelineChoice = { level: 3 }): AsyncPrepared {
  const sessions = new Map<string, Promise<WebGpuSession>>();
  const source = model.info.source;
  const g = model.graph;
  return {
    async run(inputs) {
      checkInputs(g, inputs, source);
      const shapes: Record<string, readonly number[]> = {};
      const feeds: Record<string, { type: string; dims: readonly number[]; data: unknown }> = {};
      g.inputs.forEach((name, i) => {
        const v = inputs[i];
        if (!isTensor(v)) throw new KernelError(`input '${name}' must be a tensor for the webgpu backend`, { model: source });
        shapes[name] = v.dims;
        feeds[name] = { type: v.dtype, dims: v.dims, data: v.data };
      });
      // small integer and float32 inputs (Resize scales, target shapes) may be specialised on, as the wasm backend does
      const key = specialisationKey(shapes, inputs);
      let s = sessions.get(key);
      if (!s) {
        s = (async () => {
          const gpu = await dawnDevice();
          if (typeof gpu === 'string') throw new BackendUnavailableError(gpu, { model: source });
          return createSession(compileSpecialised(g, inputs, shapes, source, pipeline), { device: gpu.device });
        })();
        sessions.set(key, s);
        // a failed compile is not cached: the next run with these shapes reports it again
        s.catch(() => sessions.delete(key));
      }
      const session = await s;
      try {
        // inputs the compile fixed as constants are not fed
        const outs = await session.run(Object.fromEntries(Object.entries(feeds).filter(([n]) => session.inputNames.includes(n))));
        return g.outputs.map((n) => ({ dtype: outs[n]!.type, dims: [...outs[n]!.dims], data: outs[n]!.data }) as Tensor);
      } catch (e) {
        // the runtime's message already names the model (and node): keep it, without the runtime's prefix
        if (e instanceof OnnxcRuntimeError) throw new KernelError(e.message.replace(/^onnxc: /, ''));
        throw e;
      }
    },
  };
}


/** The artifact for these shapes; when the support check asks for values a small input holds, specialised on them. */
function compileSpecialised(g: Model['graph'], inputs: readonly (RuntimeValue | undefined)[], shapes: Record<string, readonly number[]>, source: string | undefined, pipeline: PipelineChoice): WebGpuArtifact {
  const r = tryCompileWebGpuModel(g, { source, inputShapes: shapes }, pipeline);
  if (r.ok) return r.artifact;
  const small = smallInputsToFix(g.inputs, inputs, r.unsupported);
  if (!small) throw new UnsupportedNodesError(r.unsupported, 'webgpu', source);
  const rest = Object.fromEntries(Object.entries(shapes).filter(([n]) => !small[n]));
  return compileWebGpuModel(withFixedInputs(g, small), { source, inputShapes: rest }, pipeline).artifact;
}
