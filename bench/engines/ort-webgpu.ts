// onnxruntime-node's WebGPU execution provider (its own bundled Dawn, on the same adapter onnxc-webgpu uses:
// lavapipe without a GPU): the peer onnxc's WebGPU backend is measured against.

import type { Engine } from './types.js';
import { ortSession, type OrtPackage } from './ort-session.js';

export const ortNodeWebGpu: Engine = {
  name: 'ort-node-webgpu',
  summary: "onnxruntime-node WebGPU execution provider (executionProviders ['webgpu']), graphOptimizationLevel all",
  async prepare(model) {
    const ort = (await import('onnxruntime-node')) as unknown as OrtPackage;
    return ortSession(ort, model.path, { executionProviders: ['webgpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  },
};
