// The wasm backend's kernel table: ONNX op name -> kernel generator. An op missing here is a compile-time
// UnsupportedOpError naming the node (no silent fallback).

import { CONV } from './conv.js';
import { ELEMENTWISE } from './elementwise-ops.js';
import { INDEXING } from './indexing.js';
import { MATMUL } from './matmul.js';
import { MOVEMENT } from './movement.js';
import { NORM } from './norm.js';
import { POOL } from './pool.js';
import { ARG, REDUCE } from './reduce.js';
import type { KernelTable } from './types.js';
import { RARE_OPS } from './rare-ops.js';
import { FUSED_CONV } from './fused-conv.js';
import { FUSED_ELEMENTWISE } from './fused-elementwise.js';
import { MATMUL_INT } from './matmul-int.js';
import { MATMUL_INT8 } from './matmul-int8.js';
import { CONTROL_FLOW } from './control-flow.js';
import { CONTROL_FLOW_SCAN } from './control-flow-scan.js';
import { SEQUENCE_REVERSE } from './sequence-reverse.js';
import { CONV_INT8 } from './conv-int8.js';
import { CONV_INT8_SIMD } from './conv-int8-simd.js';
import { QLINEAR_KERNELS } from './qlinear.js';

export const KERNELS: KernelTable = { ...ELEMENTWISE, ...MOVEMENT, ...MATMUL, ...CONV, ...POOL, ...NORM, ...REDUCE, ...ARG, ...INDEXING, ...RARE_OPS, ...FUSED_CONV, ...FUSED_ELEMENTWISE, ...MATMUL_INT, ...MATMUL_INT8, ...CONV_INT8, ...CONV_INT8_SIMD, ...QLINEAR_KERNELS, ...CONTROL_FLOW, ...CONTROL_FLOW_SCAN, ...SEQUENCE_REVERSE };
