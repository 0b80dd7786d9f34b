// The webgpu backend as the CLI and the conformance runner would run a model: compile at -O3 once per set of input
// shapes (through the lowering core), run on Dawn, map the runtime's errors onto the OnnxcError family. Runs are
// asynchronous (WebGPU reads results back with mapAsync), so this is the adapter compiler/backends.ts registers
// once its `Prepared.run` may return a promise; until then tests and bench/webgpu.ts use it directly.

import type { Model } from '../../ir/graph.js';
import { KernelError } from '../../ir/errors.js';
import type { Tensor } from '../../ir/tensor.js';
import { isTensor, type RuntimeValue } from '../../ir/value.js';
import { compileFor, type PipelineChoice } from '../../lowering/compile-for.js';
import { checkInputs } from '../reference/input-check.js';
import { OnnxcRuntimeError } from '../../runtime/wasm/errors.js';
import { createSession, type WebGpuSession } from '../../runtime/webgpu/session.js';
import { webgpuBackend } from './backend.js';
import { dawnDevice } from './dawn.js';

export interface AsyncPrepared {
  run(inputs: readonly (RuntimeValue | undefined)[]): Promise<RuntimeValue[]>;
}

export const WEBGPU_SUMMARY = 'WGSL compute shaders run by runtime/webgpu on Dawn (lavapipe without a GPU), after the -O3 pipeline';

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
      const key = JSON.stringify(shapes);
      let s = sessions.get(key);
      if (!s) {
        s = (async () => {
          const gpu = await dawnDevice();
          if (typeof gpu === 'string') throw new KernelError(gpu, { model: source });
          return createSession(compileFor(webgpuBackend, g, { source, inputShapes: shapes }, pipeline).artifact, { device: gpu.device });
        })();
        sessions.set(key, s);
      }
      const session = await s;
      try {
        const outs = await session.run(feeds);
        return g.outputs.map((n) => ({ dtype: outs[n]!.type, dims: [...outs[n]!.dims], data: outs[n]!.data }) as Tensor);
      } catch (e) {
        // the runtime's message already names the model (and node): keep it, without the runtime's prefix
        if (e instanceof OnnxcRuntimeError) throw new KernelError(e.message.replace(/^onnxc: /, ''));
        throw e;
      }
    },
  };
}
