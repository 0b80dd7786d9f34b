// The WebGPU backend as the lowering core sees it: a declared value (kernel table, capabilities, emit). Limits
// are WebGPU's defaults, so an artifact runs on any adapter: 256-byte binding offsets, 128 MiB per binding,
// 256 MiB per buffer. WebGPU has no 64-bit integers: int64 exists only as constants that kernels narrow at
// compile time (their `refuse` turns away run-time int64 values).

import type { Backend } from '../../lowering/backend.js';
import type { ValueRef } from '../../lowering/protocol.js';
import type { WebGpuArtifact } from '../../runtime/webgpu/types.js';
import { emitWebGpu } from './emit.js';
import { WEBGPU_KERNELS } from './kernels/index.js';
import type { WgKernel } from './kernels/types.js';

export const WEBGPU_LIMITS = { bindingAlign: 256, maxBindingBytes: 128 * 2 ** 20, maxBufferBytes: 256 * 2 ** 20 } as const;

export const webgpuBackend: Backend<ValueRef, WgKernel, unknown, WebGpuArtifact> = {
  name: 'webgpu',
  kernels: WEBGPU_KERNELS,
  capabilities: {
    dtypes: ['float32', 'int32', 'uint32', 'int64', 'bool'],
    float16: false,
    int64: false,
    buffers: { align: WEBGPU_LIMITS.bindingAlign, maxBufferBytes: WEBGPU_LIMITS.maxBindingBytes, maxArenaBytes: WEBGPU_LIMITS.maxBufferBytes },
    weightAlign: WEBGPU_LIMITS.bindingAlign,
    // no channels-last kernels yet: layout-nhwc would only add Transposes around every Conv (mobilenet_v2 at -O3:
    // 106 Transpose dispatches). The Attention kernel recomputes a row's scores per output element: gpt2_tiny's four
    // fused attentions took 4.3 s of a 4.5 s run on lavapipe, against ~0.2 s for its MatMul/Softmax/MatMul chain
    slowerFusions: ['layout-nhwc', 'fuse-attention'],
  },
  weightLayouts: [],
  planRef: (v) => v,
  emit: (plan) => emitWebGpu(plan),
};
