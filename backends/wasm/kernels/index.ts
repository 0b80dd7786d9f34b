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
import type { KernelGen, KernelTable } from './types.js';
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

// 3-D Convs (plain or fused) are refused as a form, so the decompose pass rewrites them as 2-D Convs over depth
// (a FusedConv first into its Conv and epilogue, then ops/decompose/conv3d.ts)
const only2d = (k: KernelGen): KernelGen => ({
  ...k,
  refuse: (ctx) => ((ctx.inputs[0]?.dims.length ?? 0) === 5 ? { reason: 'form', detail: '3 spatial dims (1 or 2 are handled)' } : k.refuse?.(ctx)),
});
const CONV_2D: KernelTable = { Conv: only2d(CONV['Conv']!), 'onnxc.FusedConv': only2d(FUSED_CONV['onnxc.FusedConv']!) };

export const KERNELS: KernelTable = { ...ELEMENTWISE, ...MOVEMENT, ...MATMUL, ...CONV_2D, ...POOL, ...NORM, ...REDUCE, ...ARG, ...INDEXING, ...RARE_OPS, ...FUSED_ELEMENTWISE, ...MATMUL_INT, ...MATMUL_INT8, ...CONV_INT8, ...CONV_INT8_SIMD, ...QLINEAR_KERNELS, ...CONTROL_FLOW, ...CONTROL_FLOW_SCAN, ...SEQUENCE_REVERSE };
