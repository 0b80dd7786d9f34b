// onnxruntime-node, CPU, one thread, all graph optimisations: the native reference for speed and for outputs.

import type { Engine } from './types.js';
import { ortSession, type OrtPackage } from './ort-session.js';

export const ortNode: Engine = {
  name: 'ort-node-cpu',
  summary: 'onnxruntime-node CPU, intraOp 1 / interOp 1 threads, graphOptimizationLevel all (native reference)',
  async prepare(model) {
    const ort = (await import('onnxruntime-node')) as unknown as OrtPackage;
    return ortSession(ort, model.path, {
      executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3,
    });
  },
};
