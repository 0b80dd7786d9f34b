// MatMul (numpy batched semantics, 1-D operands), Gemm and Det; the family's registry (Einsum lives in
// matmul-einsum.ts). Float products accumulate in doubles; integer ones wrap exactly like C (32-bit via
// Math.imul, 64-bit via bigint).

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { isBigInt, isFloat } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { allocate, roundToDType, sizeOf } from '../ir/tensor.js';
import type { Dim, ValueType } from '../ir/types.js';
import type { AnyOpDef } from './schema.js';
import { attr, defineOp } from './schema.js';
import { broadcastDims, broadcastIndexer, broadcastShapes, expectDType, inType, input, optInType, optInput, tensorOf } from './util.js';
import { WIDE_NUMERIC, checkSize, expectDim, expectFloat, floatTensor, num } from './reduce-util.js';
import { einsumOps } from './matmul-einsum.js';

/** Accumulates sums of products in the arithmetic of one element type, then stores into its storage. */
export interface Accumulator {
  zero(): number | bigint;
  /** acc + a * b */
  fma(acc: number | bigint, a: number | bigint, b: number | bigint): number | bigint;
}

export function accumulatorFor(dtype: DType): Accumulator {
  if (isBigInt(dtype)) return { zero: () => 0n, fma: (acc, a, b) => (acc as bigint) + (a as bigint) * (b as bigint) };
  if (isFloat(dtype)) return { zero: () => 0, fma: (acc, a, b) => (acc as number) + (a as number) * (b as number) };
  // 32-bit wrap-around: narrower types wrap again when stored into their typed array
  return { zero: () => 0, fma: (acc, a, b) => ((acc as number) + Math.imul(a as number, b as number)) | 0 };
}

/** Batched matrix product on storage: out[batch, m, n] = sum_k a[.., m, k] * b[.., k, n] (after 1-D promotion). */
function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== b.dtype) throw new KernelError(`MatMul operands differ in type: ${a.dtype} vs ${b.dtype}`);
  if (a.dims.length === 0 || b.dims.length === 0) throw new KernelError('MatMul operands must have rank >= 1');
  const ad = a.dims.length === 1 ? [1, a.dims[0]!] : [...a.dims];
  const bd = b.dims.length === 1 ? [b.dims[0]!, 1] : [...b.dims];
  const m = ad[ad.length - 2]!; const k = ad[ad.length - 1]!;
  const k2 = bd[bd.length - 2]!; const n = bd[bd.length - 1]!;
  if (k !== k2) throw new KernelError(`MatMul inner dims differ: ${k} vs ${k2}`);
  const aBatch = ad.slice(0, -2); const bBatch = bd.slice(0, -2);
  const batch = broadcastDims(aBatch, bBatch);
  const outDims = [...batch, ...(a.dims.length > 1 ? [m] : []), ...(b.dims.length > 1 ? [n] : [])];
  const nb = sizeOf(batch);
  checkSize(nb * m * n);
  const ai = broadcastIndexer(aBatch, batch); const bi = broadcastIndexer(bBatch, batch);
  const acc = accumulatorFor(a.dtype);
  const ax = a.data as ArrayLike<number | bigint>; const bx = b.data as ArrayLike<number | bigint>;
  const out = allocate(a.dtype, nb * m * n) as unknown as (number | bigint)[];
  for (let p = 0; p < nb; p++) {
    const aOff = ai(p) * m * k; const bOff = bi(p) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = acc.zero();
        for (let q = 0; q < k; q++) s = acc.fma(s, ax[aOff + i * k + q]!, bx[bOff + q * n + j]!);
        out[(p * m + i) * n + j] = s;
      }
    }
  }
  return roundToDType({ dtype: a.dtype, dims: outDims, data: out as unknown as Tensor['data'] });
}

function inferMatMul(a: ValueType | undefined, b: ValueType | undefined): Dim[] | undefined {
  if (a?.kind !== 'tensor' || b?.kind !== 'tensor' || !a.shape || !b.shape) return undefined;
  if (a.shape.length === 0 || b.shape.length === 0) throw new ShapeError('MatMul operands must have rank >= 1');
  const ad = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const bd = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  expectDim(ad[ad.length - 1], bd[bd.length - 2]!, 'MatMul inner dim of A (vs B)');
  const batch = broadcastShapes(ad.slice(0, -2), bd.slice(0, -2));
  return [...batch, ...(a.shape.length > 1 ? [ad[ad.length - 2]!] : []), ...(b.shape.length > 1 ? [bd[bd.length - 1]!] : [])];
}

const matMulOp = defineOp({
  op: 'MatMul',
  attrs: {},
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const a = inType(ctx, 0); const b = inType(ctx, 1);
    expectDType(a, WIDE_NUMERIC, 'A');
    if (b.dtype !== a.dtype) throw new ShapeError(`B has element type ${b.dtype}; expected ${a.dtype} like A`);
    return [tensorOf(a.dtype, inferMatMul(a, b))];
  },
  run: (ctx) => [matmul(input(ctx, 0), input(ctx, 1))],
});

const gemm = defineOp({
  op: 'Gemm',
  attrs: { alpha: attr.float(1.0), beta: attr.float(1.0), transA: attr.int(0), transB: attr.int(0) },
  inputs: [2, 3],
  outputs: [1, 1],
  infer(ctx) {
    const a = inType(ctx, 0); const b = inType(ctx, 1); const c = optInType(ctx, 2);
    expectDType(a, WIDE_NUMERIC, 'A');
    for (const [t, w] of [[b, 'B'], [c, 'C']] as const) {
      if (t && t.dtype !== a.dtype) throw new ShapeError(`${w} has element type ${t.dtype}; expected ${a.dtype} like A`);
    }
    for (const [t, w] of [[a, 'A'], [b, 'B']] as const) {
      if (t.shape && t.shape.length !== 2) throw new ShapeError(`${w} must be 2-D, got rank ${t.shape.length}`);
    }
    const m = a.shape ? a.shape[ctx.attrs.transA ? 1 : 0]! : ctx.freshDim('M');
    const n = b.shape ? b.shape[ctx.attrs.transB ? 0 : 1]! : ctx.freshDim('N');
    if (a.shape && b.shape) expectDim(a.shape[ctx.attrs.transA ? 0 : 1], b.shape[ctx.attrs.transB ? 1 : 0]!, 'Gemm inner dim of A (vs B)');
    if (c?.shape) {
      if (c.shape.length > 2) throw new ShapeError(`C must have rank <= 2, got ${c.shape.length}`);
      const bc = broadcastShapes([m, n], c.shape);
      expectDim(bc[0], m, 'C broadcast rows'); expectDim(bc[1], n, 'C broadcast columns');
    }
    return [tensorOf(a.dtype, [m, n])];
  },
  run(ctx) {
    const { alpha, beta, transA, transB } = ctx.attrs;
    const a = input(ctx, 0); const b = input(ctx, 1); const c = optInput(ctx, 2);
    if (a.dims.length !== 2 || b.dims.length !== 2) throw new KernelError('Gemm A and B must be 2-D');
    const [m, k] = transA ? [a.dims[1]!, a.dims[0]!] : [a.dims[0]!, a.dims[1]!];
    const [k2, n] = transB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
    if (k !== k2) throw new KernelError(`Gemm inner dims differ: ${k} vs ${k2}`);
    checkSize(m * n);
    if (c && broadcastDims([m, n], c.dims).some((d, i) => d !== [m, n][i])) {
      throw new KernelError(`C dims [${c.dims.join(',')}] do not broadcast to [${m},${n}]`);
    }
    const ci = c ? broadcastIndexer(c.dims, [m, n]) : undefined;
    const ax = a.data as ArrayLike<number | bigint>; const bx = b.data as ArrayLike<number | bigint>;
    const aAt = (i: number, q: number): number | bigint => ax[transA ? q * m + i : i * k + q]!;
    const bAt = (q: number, j: number): number | bigint => bx[transB ? j * k + q : q * n + j]!;
    const acc = accumulatorFor(a.dtype);
    const exactInt = !isFloat(a.dtype) && alpha === 1 && beta === 1;
    const out = allocate(a.dtype, m * n) as unknown as (number | bigint)[];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = acc.zero();
        for (let q = 0; q < k; q++) s = acc.fma(s, aAt(i, q), bAt(q, j));
        const cv = c ? c.data[ci!(i * n + j)]! : undefined;
        if (exactInt) {
          out[i * n + j] = cv === undefined ? s : typeof s === 'bigint' ? s + (cv as bigint) : ((s as number) + (cv as number)) | 0;
        } else {
          const v = alpha * Number(s) + (cv === undefined ? 0 : beta * Number(cv));
          out[i * n + j] = isBigInt(a.dtype) ? BigInt(Number.isFinite(v) ? Math.trunc(v) : 0) : isFloat(a.dtype) ? v : Math.trunc(v) | 0;
        }
      }
    }
    return [roundToDType({ dtype: a.dtype, dims: [m, n], data: out as unknown as Tensor['data'] })];
  },
});

/** Determinant by LU decomposition with partial pivoting, in doubles. */
function det(m: Float64Array, n: number): number {
  let d = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    if (m[p * n + c] === 0) return 0;
    if (p !== c) {
      for (let j = 0; j < n; j++) { const t = m[c * n + j]!; m[c * n + j] = m[p * n + j]!; m[p * n + j] = t; }
      d = -d;
    }
    const piv = m[c * n + c]!;
    d *= piv;
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c]! / piv;
      for (let j = c; j < n; j++) m[r * n + j] = m[r * n + j]! - f * m[c * n + j]!;
    }
  }
  return d;
}

const detOp = defineOp({
  op: 'Det',
  attrs: {},
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectFloat(x, 'X');
    if (!x.shape) return [tensorOf(x.dtype)];
    if (x.shape.length < 2) throw new ShapeError(`X must have rank >= 2 ([*, M, M]), got ${x.shape.length}`);
    expectDim(x.shape[x.shape.length - 1], x.shape[x.shape.length - 2]!, 'Det matrix columns (vs rows)');
    return [tensorOf(x.dtype, x.shape.slice(0, -2))];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const r = x.dims.length;
    if (r < 2 || x.dims[r - 1] !== x.dims[r - 2]) throw new KernelError(`X must be [*, M, M], got [${x.dims.join(',')}]`);
    const n = x.dims[r - 1]!; const batch = sizeOf(x.dims.slice(0, -2));
    const out = new Float64Array(batch);
    for (let b = 0; b < batch; b++) {
      const m = new Float64Array(n * n);
      for (let i = 0; i < n * n; i++) m[i] = num(x, b * n * n + i);
      out[b] = det(m, n);
    }
    return [floatTensor(x.dtype, x.dims.slice(0, -2), out)];
  },
});

export const matmulOps: AnyOpDef[] = [matMulOp, gemm, detOp, ...einsumOps];
