// Integer matrix products: MatMulInteger (int32 accumulation) and QLinearMatMul (quantised in and out), with
// numpy matmul batching and per-row (A) / per-column (B) zero points and scales.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { getNumber, makeTensor, sizeOf } from '../ir/tensor.js';
import type { Dim, TensorType } from '../ir/types.js';
import type { AnyOpDef } from './schema.js';
import { defineOp } from './schema.js';
import { broadcastDims, broadcastIndexer, broadcastShapes, expectDType, inType, input, optInType, optInput, tensorOf } from './util.js';
import { INT8ISH, SCALE_TYPES, roundHalfEven, saturate } from './quant-util.js';

/** numpy matmul output shape (1-D operands are promoted and the promoted dim dropped). */
export function matmulShape(a: readonly Dim[] | undefined, b: readonly Dim[] | undefined): Dim[] | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a.length === 0 || b.length === 0) throw new ShapeError('matmul operands must have rank >= 1');
  const A = a.length === 1 ? [1, a[0]!] : a;
  const B = b.length === 1 ? [b[0]!, 1] : b;
  const k1 = A[A.length - 1]!, k2 = B[B.length - 2]!;
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    throw new ShapeError(`matmul inner dims differ: A has K=${k1}, B has K=${k2}`);
  }
  const out = [...broadcastShapes(A.slice(0, -2), B.slice(0, -2))];
  if (a.length > 1) out.push(A[A.length - 2]!);
  if (b.length > 1) out.push(B[B.length - 1]!);
  return out;
}

/** Batched integer product with zero points: calls `emit(outIndex, acc, row, col, aBatch, bBatch)` per output. */
function intMatmul(
  a: Tensor, b: Tensor, aZero: (batch: number, m: number) => number, bZero: (batch: number, n: number) => number,
  emit: (o: number, acc: number, m: number, n: number, ab: number, bb: number) => void,
): number[] {
  const A = a.dims.length === 1 ? [1, a.dims[0]!] : a.dims;
  const B = b.dims.length === 1 ? [b.dims[0]!, 1] : b.dims;
  const M = A[A.length - 2]!, K = A[A.length - 1]!, N = B[B.length - 1]!;
  if (B[B.length - 2] !== K) throw new KernelError(`matmul inner dims differ: ${K} vs ${B[B.length - 2]}`);
  const aBatch = A.slice(0, -2), bBatch = B.slice(0, -2);
  const batch = broadcastDims(aBatch, bBatch);
  const aAt = broadcastIndexer(aBatch, batch), bAt = broadcastIndexer(bBatch, batch);
  const nb = sizeOf(batch);
  // operands are 8/16-bit integer typed arrays (never bigint), read directly
  const ad = a.data as unknown as ArrayLike<number>, bd = b.data as unknown as ArrayLike<number>;
  const col = new Float64Array(K);
  for (let t = 0; t < nb; t++) {
    const ab = aAt(t), bb = bAt(t);
    for (let n = 0; n < N; n++) {
      const zb = bZero(bb, n);
      for (let k = 0; k < K; k++) col[k] = bd[(bb * K + k) * N + n]! - zb;
      for (let m = 0; m < M; m++) {
        const za = aZero(ab, m);
        const row = (ab * M + m) * K;
        let acc = 0;
        for (let k = 0; k < K; k++) acc += (ad[row + k]! - za) * col[k]!;
        emit((t * M + m) * N + n, acc, m, n, ab, bb);
      }
    }
  }
  const out = [...batch];
  if (a.dims.length > 1) out.push(M);
  if (b.dims.length > 1) out.push(N);
  return out;
}

/** Per-row (for A: rows = M) or per-column (for B: N) parameter lookup: a scalar, a vector of `count`
 *  elements, or a tensor with the operand's batch dims and a 1 in the reduced position. */
function perSlice(t: Tensor | undefined, count: number, what: string): (batch: number, i: number) => number {
  if (t === undefined) return () => 0;
  const n = sizeOf(t.dims);
  if (n === 1) { const v = getNumber(t, 0); return () => v; }
  if (t.dims.length === 1) {
    if (n !== count) throw new KernelError(`${what} has ${n} elements; expected 1 or ${count}`);
    return (_b, i) => getNumber(t, i);
  }
  return (b, i) => {
    const j = b * count + i;
    if (j >= n) throw new KernelError(`${what} of dims [${t.dims.join(',')}] does not fit the operand`);
    return getNumber(t, j);
  };
}

function rowsOf(t: Tensor): number { return t.dims.length === 1 ? 1 : t.dims[t.dims.length - 2]!; }
function colsOf(t: Tensor): number { return t.dims.length === 1 ? 1 : t.dims[t.dims.length - 1]!; }

function checkParam(t: TensorType | undefined, allowed: readonly DType[], what: string): void {
  if (t === undefined) return;
  expectDType(t, allowed, what);
}

const MatMulInteger = defineOp({
  op: 'MatMulInteger',
  attrs: {},
  inputs: [2, 4],
  outputs: [1, 1],
  infer(ctx) {
    const a = inType(ctx, 0), b = inType(ctx, 1);
    expectDType(a, INT8ISH, 'A');
    expectDType(b, INT8ISH, 'B');
    const za = optInType(ctx, 2), zb = optInType(ctx, 3);
    if (za && za.dtype !== a.dtype) throw new ShapeError(`a_zero_point type ${za.dtype} must match A type ${a.dtype}`);
    if (zb && zb.dtype !== b.dtype) throw new ShapeError(`b_zero_point type ${zb.dtype} must match B type ${b.dtype}`);
    return [tensorOf('int32', matmulShape(a.shape, b.shape))];
  },
  run(ctx) {
    const a = input(ctx, 0), b = input(ctx, 1);
    const za = perSlice(optInput(ctx, 2), rowsOf(a), 'a_zero_point');
    const zb = perSlice(optInput(ctx, 3), colsOf(b), 'b_zero_point');
    const vals: number[] = [];
    const dims = intMatmul(a, b, za, zb, (o, acc) => { vals[o] = acc; });
    return [makeTensor('int32', dims, Int32Array.from(vals))];
  },
});

const QLinearMatMul = defineOp({
  op: 'QLinearMatMul',
  attrs: {},
  inputs: [8, 8],
  outputs: [1, 1],
  infer(ctx) {
    const a = inType(ctx, 0), b = inType(ctx, 3), yz = inType(ctx, 7);
    expectDType(a, INT8ISH, 'a');
    expectDType(b, INT8ISH, 'b');
    expectDType(yz, INT8ISH, 'y_zero_point');
    for (const i of [1, 4, 6]) checkParam(inType(ctx, i), SCALE_TYPES, `input ${i} (scale)`);
    if (inType(ctx, 2).dtype !== a.dtype) throw new ShapeError('a_zero_point must have the type of a');
    if (inType(ctx, 5).dtype !== b.dtype) throw new ShapeError('b_zero_point must have the type of b');
    return [tensorOf(yz.dtype, matmulShape(a.shape, b.shape))];
  },
  run(ctx) {
    const a = input(ctx, 0), b = input(ctx, 3);
    const sa = perSlice(input(ctx, 1), rowsOf(a), 'a_scale'), za = perSlice(input(ctx, 2), rowsOf(a), 'a_zero_point');
    const sb = perSlice(input(ctx, 4), colsOf(b), 'b_scale'), zb = perSlice(input(ctx, 5), colsOf(b), 'b_zero_point');
    const ys = input(ctx, 6), yz = input(ctx, 7);
    if (sizeOf(ys.dims) !== 1 || sizeOf(yz.dims) !== 1) throw new KernelError('y_scale and y_zero_point must be scalars');
    const yScale = getNumber(ys, 0), yZero = getNumber(yz, 0), out = yz.dtype;
    const vals: number[] = [];
    const dims = intMatmul(a, b, za, zb, (o, acc, m, n, ab, bb) => {
      const real = acc * sa(ab, m) * sb(bb, n) / yScale;
      vals[o] = saturate(roundHalfEven(Math.fround(real)) + yZero, out);
    });
    const y = makeTensor(out, dims);
    (y.data as Int8Array | Uint8Array).set(vals);
    return [y];
  },
});

export const quantMatmulOps: AnyOpDef[] = [MatMulInteger, QLinearMatMul];
