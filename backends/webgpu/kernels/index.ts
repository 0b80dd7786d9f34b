// The WebGPU backend's kernel table: op name -> kernel. An op missing here is reported by the lowering core as
// `missing-kernel` (or decomposed, when its OpDef can).

import type { KernelTableOf } from '../../../lowering/backend.js';
import { ELEMENTWISE } from './elementwise-ops.js';
import { elementwiseKernel } from './elementwise.js';
import { CAST_KERNELS } from './cast.js';
import { convKernel, fusedConvKernel } from './conv.js';
import { gatherKernel } from './gather.js';
import { INDEX_MAP_KERNELS } from './index-map.js';
import { MOVEMENT_KERNELS } from './movement.js';
import { POOL_KERNELS } from './pool.js';
import { BATCHNORM_KERNELS, REDUCE_KERNELS } from './reduce.js';
import { clipKernel, SCALAR_MAP_KERNELS } from './scalar-map.js';
import { ATTENTION_KERNELS } from './attention.js';
import { STATE_KERNELS } from './state-ops.js';
import { RESIZE_KERNELS } from './resize.js';
import { GRID_SAMPLE_KERNELS } from './grid-sample.js';
import { LP_POOL_KERNELS } from './pool-nd.js';
import { CONV_TRANSPOSE_KERNELS } from './conv-transpose.js';
import { NORM_KERNELS } from './norm-ops.js';
import { RNN_KERNELS } from './rnn.js';
import { MISC_KERNELS } from './misc-ops.js';
import { DEFORM_CONV_KERNELS } from './deform-conv.js';
import { DFT_KERNELS } from './dft.js';
import { AXIS_KERNELS } from './axis-ops.js';
import { SCATTER_KERNELS } from './scatter.js';
import { SOFTMAX_KERNELS } from './softmax.js';
import { ARG_KERNELS } from './argmax.js';
import { gemmKernel, matmulKernel } from './matmul.js';
import { MODEL_INDEX_MAP_KERNELS } from './models-index-map.js';
import type { WgKernel } from './types.js';

const elementwise = Object.fromEntries(Object.keys(ELEMENTWISE).map((op) => [op, elementwiseKernel]));

export const WEBGPU_KERNELS: KernelTableOf<WgKernel> = {
  ...MODEL_INDEX_MAP_KERNELS,
  ...elementwise,
  Clip: clipKernel,
  MatMul: matmulKernel,
  Gemm: gemmKernel,
  Conv: convKernel,
  'onnxc.FusedConv': fusedConvKernel,
  ...POOL_KERNELS,
  ...SOFTMAX_KERNELS,
  ...ARG_KERNELS,
  ...MOVEMENT_KERNELS,
  Gather: gatherKernel,
  ...CAST_KERNELS,
  ...INDEX_MAP_KERNELS,
  ...REDUCE_KERNELS,
  ...BATCHNORM_KERNELS,
  ...SCALAR_MAP_KERNELS,
  ...ATTENTION_KERNELS,
  ...STATE_KERNELS,
  ...RESIZE_KERNELS,
  ...GRID_SAMPLE_KERNELS,
  ...LP_POOL_KERNELS,
  ...CONV_TRANSPOSE_KERNELS,
  ...NORM_KERNELS,
  ...RNN_KERNELS,
  ...MISC_KERNELS,
  ...DEFORM_CONV_KERNELS,
  ...DFT_KERNELS,
  ...AXIS_KERNELS,
  ...SCATTER_KERNELS,
};
