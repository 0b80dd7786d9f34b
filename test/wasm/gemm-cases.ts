// GEMM core cases whose B is panel-packed at a width that is not a multiple of 4 (kernels/gemm-pack.ts): shared by
// gemm-tail.test.ts (against the reference) and relaxed-simd.test.ts (relaxed against strict).

import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor } from './helpers.js';

export interface TailCase {
  name: string; g: ReturnType<GraphBuilder['build']>; inputs: Tensor[];
  /** One row and no dot column: its tiles multiply then add in a relaxed module too (gemm-core.ts), no relaxed_madd. */
  oneRow?: boolean;
}

function matmul(aDims: number[], K: number, N: number, fused: boolean): TailCase {
  const b = new GraphBuilder();
  const a = b.input('a', 'float32', aDims);
  const w = b.weight('w', randTensor([K, N], 2));
  const M = aDims.at(-2) ?? 1;
  const inputs = [randTensor(aDims, 1)];
  let y;
  if (fused) {
    const z = b.input('z', 'float32', [M, N]);
    inputs.push(randTensor([M, N], 4));
    y = b.op('onnxc.FusedMatMul', [a, w, b.weight('bias', randTensor([N], 3)), z], { activation: 'Relu' });
  } else y = b.op('MatMul', [a, w]);
  b.output(y);
  return { name: `${fused ? 'FusedMatMul +bias +Z' : 'MatMul'} [${aDims}] x const [${K},${N}]`, g: b.build(), inputs };
}

function gemm(M: number, K: number, N: number, transB: number, bias: number[]): TailCase {
  const b = new GraphBuilder();
  const a = b.input('a', 'float32', [M, K]);
  const w = b.weight('w', randTensor(transB ? [N, K] : [K, N], 2));
  b.output(b.op('Gemm', [a, w, b.weight('c', randTensor(bias, 3))], { transB, alpha: 0.5, beta: 2 }));
  return { name: `Gemm ${M}x${K}x${N} transB=${transB} C[${bias}]`, g: b.build(), inputs: [randTensor([M, K], 1)] };
}

function conv(x: [number, number, number, number], oc: number, k: number, residual: boolean): TailCase {
  const b = new GraphBuilder();
  const [N, H, W, C] = x, p = (k - 1) >> 1;
  const ins = [b.input('x', 'float32', x), b.weight('w', randTensor([oc, C, k, k], 5)), b.weight('b', randTensor([oc], 6))];
  const inputs = [randTensor(x, 7)];
  if (residual) { ins.push(b.input('z', 'float32', [N, H, W, oc])); inputs.push(randTensor([N, H, W, oc], 8)); }
  b.output(b.op('onnxc.FusedConv', ins, { kernel_shape: [k, k], channels_last: 1, activation: 'Relu', pads: [p, p, p, p] }));
  return { name: `NHWC conv x[${x}] oc ${oc} k${k}${residual ? ' +Z' : ''}`, g: b.build(), inputs };
}

export const TAIL_CASES: readonly TailCase[] = [
  matmul([7, 13], 13, 9, false),      // tall, N = 8 + 1
  matmul([3, 17], 17, 30, false),     // wide, N = 24 + 4 + 2
  matmul([2, 5, 11], 11, 6, true),    // batched, one 8-wide tile with 6 valid columns, bias and Z lane by lane
  matmul([9, 4], 4, 7, true),
  gemm(5, 7, 13, 1, [5, 1]),          // C broadcast per row (a splat, cs = 0)
  gemm(6, 9, 5, 0, [5]),
  { ...gemm(1, 20, 11, 1, [11]), oneRow: true }, // M = 1: the 1x24 tile's tail, 3 vectors, the last partial
  matmul([1, 33], 33, 53, true),      // M = 1: two full 24-column tiles (three panels each), a 4-column tail, a dot column
  gemm(2, 19, 37, 0, [2, 1]),         // M = 2: the 2x16 tile, then 5 columns
  conv([1, 6, 7, 5], 9, 3, true),     // super-resolution-10's last conv: 9 output channels
  conv([2, 4, 4, 3], 5, 1, false),    // 1x1 direct, 5 channels
];
