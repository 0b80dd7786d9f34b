// MatMul (numpy batching and broadcasting, 1-D operands) and Gemm (transposes, alpha, beta, C broadcast) on the
// register-blocked core. Gemm's constant B with transB=1 (what Linear layers export) is pre-packed to [K, N]
// at compile time so the core reads it as vec4 rows.

import type { Tensor } from '../../../ir/tensor.js';
import type { PlanContext, ValueRef } from '../../../lowering/protocol.js';
import { broadcastStrides, prod, refuseNonFloat } from './common.js';
import { gemmShader, type Operand2d } from './gemm-core.js';
import { MAX_WORKGROUPS_PER_DIM } from '../wgsl/module.js';
import { input, output, packed, type KernelDispatch, type WgKernel } from './types.js';

const batchStrides = (batch: readonly number[], out: readonly number[], matrix: number): number[] =>
  broadcastStrides(batch, out).map((s) => s * matrix);

function matmulShape(a: readonly number[], b: readonly number[]): { M: number; K: number; N: number; aBatch: number[]; bBatch: number[]; batch: number[] } {
  const a2 = a.length === 1 ? [1, a[0]!] : [...a], b2 = b.length === 1 ? [b[0]!, 1] : [...b];
  const aBatch = a2.slice(0, -2), bBatch = b2.slice(0, -2);
  const r = Math.max(aBatch.length, bBatch.length);
  const batch = Array.from({ length: r }, (_, i) => {
    const x = aBatch[i - (r - aBatch.length)] ?? 1, y = bBatch[i - (r - bBatch.length)] ?? 1;
    return x === 1 ? y : x;
  });
  return { M: a2[a2.length - 2]!, K: a2[a2.length - 1]!, N: b2[b2.length - 1]!, aBatch, bBatch, batch };
}

const tooManyBatches = (batch: readonly number[]) => (prod(batch) > MAX_WORKGROUPS_PER_DIM
  ? { reason: 'form' as const, detail: `${prod(batch)} matrix products in one MatMul; the webgpu kernel dispatches at most ${MAX_WORKGROUPS_PER_DIM}` } : undefined);

export const matmulKernel: WgKernel = {
  dtypes: ['float32'],
  refuse(ctx) {
    return refuseNonFloat(ctx) ?? tooManyBatches(matmulShape(ctx.inputs[0]!.dims, ctx.inputs[1]!.dims).batch);
  },
  lower(ctx): KernelDispatch[] {
    if (ctx.outputs[0]!.size === 0) return [];
    const { M, K, N, aBatch, bBatch, batch } = matmulShape(ctx.inputs[0]!.dims, ctx.inputs[1]!.dims);
    const sameAB = ctx.inputRoots[0] === ctx.inputRoots[1];
    const { shader, workgroups, subgroups, cpu } = gemmShader({
      M, N, K, batchDims: batch,
      a: { batch: batchStrides(aBatch, batch, M * K), outer: K, inner: 1 },
      b: { batch: batchStrides(bBatch, batch, K * N), outer: N, inner: 1 },
      sameAB,
    });
    return [{ shader, operands: [input(0), ...(sameAB ? [] : [input(1)]), output(0)], workgroups, ...(subgroups ? { subgroups } : {}), ...(cpu ? { cpu } : {}) }];
  },
};

const gemmAttrs = (ctx: PlanContext) => ({
  transA: Number(ctx.attrs['transA'] ?? 0) === 1, transB: Number(ctx.attrs['transB'] ?? 0) === 1,
  alpha: Number(ctx.attrs['alpha'] ?? 1), beta: Number(ctx.attrs['beta'] ?? 1),
});
/** Whether B is pre-packed: constant and transposed. */
const packB = (ctx: PlanContext): boolean => gemmAttrs(ctx).transB && ctx.inputs[1]!.constant !== undefined;

function transpose2d(t: Tensor): Tensor {
  const [r, c] = t.dims as [number, number];
  const src = t.data as Float32Array, out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = src[i * c + j]!;
  return { dtype: 'float32', dims: [c, r], data: out };
}

export const gemmKernel: WgKernel = {
  dtypes: ['float32'],
  refuse: (ctx) => refuseNonFloat(ctx),
  prepack: (ctx) => (packB(ctx) ? [transpose2d(ctx.inputs[1]!.constant!)] : []),
  unread: (ctx) => (packB(ctx) ? [1] : []),
  lower(ctx): KernelDispatch[] {
    const y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const { transA, transB, alpha, beta } = gemmAttrs(ctx);
    const [M, N] = y.dims as [number, number];
    const aD = ctx.inputs[0]!.dims, K = transA ? aD[0]! : aD[1]!;
    const prepacked = packB(ctx);
    const a: Operand2d = transA ? { batch: [], outer: 1, inner: M } : { batch: [], outer: K, inner: 1 };
    const b: Operand2d = transB && !prepacked ? { batch: [], outer: 1, inner: K } : { batch: [], outer: N, inner: 1 };
    const c = ctx.inputs[2] as ValueRef | undefined;
    const bias = c && beta !== 0 ? (() => { const st = broadcastStrides(c.dims, [M, N]); return { batch: [], outer: st[0]!, inner: st[1]!, beta }; })() : undefined;
    // Gemm(x, x) reads one buffer twice; a C in the same buffer as A or B is not merged: the device refuses the run
    // with its aliasing error (an OnnxcRuntimeError 'kernel', never a wrong answer)
    const sameAB = !prepacked && ctx.inputRoots[0] === ctx.inputRoots[1];
    const { shader, workgroups, subgroups, cpu } = gemmShader({ M, N, K, batchDims: [], a, b, alpha, sameAB, ...(bias ? { bias } : {}) });
    return [{ shader, operands: [input(0), ...(sameAB ? [] : [prepacked ? packed(0) : input(1)]), ...(bias ? [input(2)] : []), output(0)], workgroups, ...(subgroups ? { subgroups } : {}), ...(cpu ? { cpu } : {}) }];
  },
};
