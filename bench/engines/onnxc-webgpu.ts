// onnxc's WebGPU target: compiled at -O3 for the data set's shapes (timed), written as the artifact folder
// `onnxc compile --target webgpu` writes, loaded back from it and run by runtime/webgpu on Dawn's adapter
// (lavapipe without a GPU), the one onnxruntime's WebGPU execution provider gets too.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { readWebGpuArtifact, writeWebGpuArtifact } from '../../backends/webgpu/artifact.js';
import { compileWebGpuModel } from '../../backends/webgpu/compile.js';
import { dawnDevice } from '../../backends/webgpu/dawn.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import type { DType } from '../../ir/dtype.js';
import { createSession } from '../../runtime/webgpu/session.js';
import type { Engine } from './types.js';

export const onnxcWebGpu: Engine = {
  name: 'onnxc-webgpu',
  summary: 'onnxc ahead-of-time WGSL (-O3), shapes fixed to the data set, run by runtime/webgpu on Dawn (the adapter ort-node-webgpu uses; its kernel forms, or ONNXC_WEBGPU_FORMS\'s)',
  async prepare(model, inputs, workDir) {
    const gpu = await dawnDevice();
    if (typeof gpu === 'string') throw new Error(gpu);
    const t0 = performance.now();
    const m = loadModel(model.path);
    const shapes = Object.fromEntries(Object.entries(inputs.feeds).map(([n, t]) => [n, t.dims]));
    const { artifact } = compileWebGpuModel(m.graph, { source: model.name, inputShapes: shapes });
    writeWebGpuArtifact(workDir, artifact);
    const compileMs = performance.now() - t0;
    const t1 = performance.now();
    const session = await createSession(readWebGpuArtifact(workDir), { device: gpu.device });
    const loadMs = performance.now() - t1;
    const names = session.outputNames;
    return {
      info: { compileMs, loadMs, weightBytes: artifact.weights.byteLength, loaderBytes: statSync(join(workDir, 'loader.js')).size },
      async run(feeds): Promise<Tensor[]> {
        const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, { type: t.dtype, dims: t.dims, data: t.data }])));
        return names.map((n) => {
          const o = out[n]!;
          const t = makeTensor(o.type as DType, o.dims);
          (t.data as Float32Array).set(o.data as Float32Array);
          return t;
        });
      },
      dispose: async () => session.release(),
    };
  },
};
