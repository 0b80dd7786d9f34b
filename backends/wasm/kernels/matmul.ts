// MatMul (numpy batching and broadcasting) and Gemm (transposes, alpha/beta, broadcast C) on the shared
// gemm core, and their fused forms onnxc.FusedMatMul/onnxc.FusedGemm (bias, residual, activation applied in the
// core's epilogue). Gemm's constant transposed B is pre-packed at compile time so the inner loop reads rows.

import { makeTensor } from '../../../ir/tensor.js';
import type { Expr } from '../fn.js';
import { broadcastStrides, collapse, nest } from '../layout.js';
import { activationOf } from './fused-activation.js';
import { gemm, type GemmSpec, type MatOperand, type VecEpilogue } from './gemm-core.js';
import { claimGrid, gemmItem, itemsFor, parallelGemm, parallelOf, splitGemm } from '../parallel.js';
import { packPanels, panelable, panelSize } from './gemm-pack.js';
import type { KernelContext, KernelGen, PlanContext, TensorRef } from './types.js';
import { attrNum, input, output, requireDType, strides, withDTypes } from './util.js';

/** Addends broadcast into the product and an activation (the fused forms). */
interface Epilogue { readonly addends: readonly TensorRef[]; readonly act?: VecEpilogue }

/** A constant 2-D float32 B (a weight) whose column count the panel path takes. */
function packableB(ctx: PlanContext): { K: number; N: number; data: Float32Array } | undefined {
  const b = ctx.inputs[1];
  if (!b?.constant || b.dtype !== 'float32' || b.dims.length !== 2 || !panelable(b.dims[1]!)) return undefined;
  return { K: b.dims[0]!, N: b.dims[1]!, data: b.constant.data as Float32Array };
}

/** MatMul's constant B packed in column panels at compile time; the original is not laid out. */
const matmulPacking: Pick<KernelGen, 'unread' | 'prepack'> = {
  unread: (ctx) => (packableB(ctx) ? [1] : []),
  prepack(ctx) {
    const p = packableB(ctx);
    return p ? [makeTensor('float32', [panelSize(p.K, p.N)], packPanels(p.data, p.K, p.N, p.N, 1))] : [];
  },
};

const plainMatmul: KernelGen = { ...matmulPacking, emit: (ctx) => emitMatMul(ctx, { addends: [] }) };
const fusedMatmul: KernelGen = {
  ...matmulPacking,
  emit: (ctx) => emitMatMul(ctx, { addends: [ctx.inputs[2], ctx.inputs[3]].filter((t): t is TensorRef => t !== undefined), act: activationOf(ctx) }),
};

function emitMatMul(ctx: KernelContext, epi: Epilogue): Expr {
    const a = input(ctx, 0), b = input(ctx, 1), y = output(ctx), fn = ctx.fn, m = ctx.m;
    for (const t of [a, b, ...epi.addends]) requireDType(ctx, t, ['float32']);
    const ad = a.dims.length === 1 ? [1, a.dims[0]!] : [...a.dims];
    const bd = b.dims.length === 1 ? [b.dims[0]!, 1] : [...b.dims];
    const M = ad[ad.length - 2]!, K = ad[ad.length - 1]!, N = bd[bd.length - 1]!;
    const batch = a.dims.length <= 2 && b.dims.length <= 2 ? [] : (() => {
      const ab = ad.slice(0, -2), bb = bd.slice(0, -2), r = Math.max(ab.length, bb.length);
      return Array.from({ length: r }, (_, i) => Math.max(ab[i - r + ab.length] ?? 1, bb[i - r + bb.length] ?? 1));
    })();
    const sa = broadcastStrides(ad.slice(0, -2), batch).map((s) => s * M * K);
    const sb = broadcastStrides(bd.slice(0, -2), batch).map((s) => s * K * N);
    const sc = strides(batch).map((s) => s * M * N);
    // each addend's strides over [...batch, M, N] (Y drops M or N when A or B was 1-D: those axes get stride 0)
    const full = epi.addends.map((t) => {
      const s = broadcastStrides(t.dims, y.dims);
      if (b.dims.length === 1) s.push(0);
      if (a.dims.length === 1) s.splice(s.length - 1, 0, 0);
      return s;
    });
    const c = collapse(batch, [sa, sb, sc, ...full.map((s) => s.slice(0, -2))]);
    const [la, lb, lc] = [fn.i32(), fn.i32(), fn.i32()];
    const ladd = epi.addends.map(() => fn.i32());
    const ops: MatOperand[] = epi.addends.map((t, j) => ({ base: t.ptr.base, dyn: ladd[j], rs: full[j]!.at(-2)!, cs: full[j]!.at(-1)! }));
    const spec: GemmSpec = {
      M, N, K,
      a: { base: a.ptr.base, dyn: la, rs: K, cs: 1 },
      // a packed B is 2-D, so broadcast along every batch axis: lb stays 0
      b: ctx.packed[0] ? { base: ctx.packed[0].ptr.base, dyn: lb, rs: N, cs: 1, panels: true } : { base: b.ptr.base, dyn: lb, rs: N, cs: 1 },
      c: { base: y.ptr.base, dyn: lc, rs: N, cs: 1 },
      ...addends(ops), act: epi.act,
    };
    const setOffsets = ([oa, ob, oc, ...oadd]: Expr[]): Expr[] => [
      fn.set(la, m.i32.shl(oa!, fn.c32(2))), fn.set(lb, m.i32.shl(ob!, fn.c32(2))), fn.set(lc, m.i32.shl(oc!, fn.c32(2))),
      ...oadd.map((o, j) => fn.set(ladd[j]!, m.i32.shl(o, fn.c32(2)))),
    ];
    const par = parallelOf(ctx), batches = c.dims.reduce((x, y) => x * y, 1);
    const items = par ? itemsFor(batches * M * N * K, par.threads) : 1;
    const split = par && items >= 2 ? splitGemm(M, N, K, par.threads, Math.ceil(items / batches)) : undefined;
    if (par && items >= 2 && batches * (split?.count ?? 1) >= 2) {
      // threads: items are (batch, chunk of one product); a batch's operand offsets from its decoded index
      par.used = true;
      return claimGrid(fn, [...c.dims, split?.count ?? 1], (idx) => [
        ...setOffsets(c.sets.map((st) => c.dims.reduce<Expr>((acc, _, d) => (st[d] ? m.i32.add(acc, m.i32.mul(idx[d]!(), fn.c32(st[d]!))) : acc), fn.c32(0)))),
        split ? gemmItem(fn, spec, split, idx[c.dims.length]!) : gemm(fn, spec),
      ]);
    }
    return nest(fn, c.dims, c.sets, (offs) => [...setOffsets(offs), gemm(fn, spec)]);
}

/** Up to two addends as the core's bias and residual (a sum of both when there are more is not needed: the fused
 *  ops have at most two). */
function addends(ops: readonly MatOperand[]): { bias?: MatOperand; residual?: MatOperand } {
  return { ...(ops[0] ? { bias: ops[0] } : {}), ...(ops[1] ? { residual: ops[1] } : {}) };
}

function gemmKernel(fused: boolean): KernelGen {
  return {
  unread: (ctx) => (ctx.inputs[1]?.constant && ctx.inputs[1].dtype === 'float32' && (attrNum(ctx, 'transB') !== 0 || panelable(output(ctx).dims[1]!)) ? [1] : []),
  prepack(ctx) {
    const b = input(ctx, 1), y = output(ctx);
    const transB = attrNum(ctx, 'transB') !== 0, N = y.dims[1]!, K = transB ? b.dims[1]! : b.dims[0]!;
    if (!b.constant || b.dtype !== 'float32' || (!transB && !panelable(N))) return [];
    const src = b.constant.data as Float32Array;
    // column panels when N allows (the micro-kernel's loads then walk memory linearly), else B^T once so the
    // vector loop reads contiguous rows
    if (panelable(N)) return [makeTensor('float32', [panelSize(K, N)], packPanels(src, K, N, transB ? 1 : N, transB ? K : 1))];
    const packed = makeTensor('float32', [K, N]);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) packed.data[k * N + n] = src[n * K + k]!;
    return [packed];
  },
  emit(ctx) {
    const a = input(ctx, 0), b = input(ctx, 1), y = output(ctx), fn = ctx.fn;
    for (const t of [a, b]) requireDType(ctx, t, ['float32']);
    const z = fused ? ctx.inputs[3] : undefined;
    let residual: MatOperand | undefined;
    if (z) {
      requireDType(ctx, z, ['float32']);
      const s = broadcastStrides(z.dims, y.dims);
      residual = { base: z.ptr.base, rs: s[0]!, cs: s[1]! };
    }
    const transA = attrNum(ctx, 'transA') !== 0, transB = attrNum(ctx, 'transB') !== 0;
    const [M, N] = y.dims as [number, number];
    const K = transA ? a.dims[0]! : a.dims[1]!;
    let bOp = transB ? { base: b.ptr.base, rs: 1, cs: K } : { base: b.ptr.base, rs: N, cs: 1 };
    if (ctx.packed[0]) bOp = { base: ctx.packed[0].ptr.base, rs: N, cs: 1, ...(panelable(N) ? { panels: true } : {}) };
    const cIn = ctx.inputs[2];
    let bias;
    if (cIn) {
      requireDType(ctx, cIn, ['float32']);
      const s = broadcastStrides(cIn.dims, [M, N]);
      bias = { base: cIn.ptr.base, rs: s[0]!, cs: s[1]! };
    }
    const body: Expr = parallelGemm(ctx, {
      M, N, K,
      a: transA ? { base: a.ptr.base, rs: 1, cs: M } : { base: a.ptr.base, rs: K, cs: 1 },
      b: bOp, c: { base: y.ptr.base, rs: N, cs: 1 },
      alpha: attrNum(ctx, 'alpha'), bias, beta: attrNum(ctx, 'beta'),
      residual, act: fused ? activationOf(ctx) : undefined,
    });
    return body;
  },
  };
}

export const MATMUL: Readonly<Record<string, KernelGen>> = withDTypes(['float32'], {
  MatMul: plainMatmul, Gemm: gemmKernel(false), 'onnxc.FusedMatMul': fusedMatmul, 'onnxc.FusedGemm': gemmKernel(true),});
