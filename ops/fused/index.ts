// onnxc's own fused ops (made by passes/fusion and passes/layout), each with exact reference semantics and a
// decomposition into standard ops for export.

import type { AnyOpDef } from '../schema.js';
import { fusedConvOps } from './conv.js';
import { fusedConvTransposeOps } from './conv-transpose.js';
import { fusedElementwiseOps } from './elementwise.js';
import { fusedMatMulOps } from './matmul.js';
import { dequantMatMulOps } from './dequant-matmul.js';
import { qlinearOps } from './qlinear.js';

export const fusedOps: AnyOpDef[] = [...fusedConvOps, ...fusedConvTransposeOps, ...fusedMatMulOps, ...fusedElementwiseOps, ...dequantMatMulOps, ...qlinearOps];
