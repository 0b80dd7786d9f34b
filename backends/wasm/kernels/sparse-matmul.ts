// A sparse MatMul/Gemm kernel for a constant B with few non-zeros: B is stored by output column (CSC: column
// starts, u16 input indices, float values: 6 bytes per non-zero), A is transposed into scratch so that, for each
// non-zero B[k, n], 16 rows of A's column k are one run of four f32x4 loads, multiplied by the splatted weight
// into four accumulators. Per multiply-add it costs 2-3x what the dense panel micro-kernel does (wasm SIMD has no
// gather), so it only wins when few weights remain: `sparseKernelMaxDensity`, measured with the timing case of
// test/wasm/sparse-matmul.test.ts (SPARSE_TIMING=1; min of 30 runs on a shared 2-core machine):
//   [64,1024]x[1024,256]: dense 0.630 ms; sparse at density 0.5 1.003, 0.3 0.387, 0.2 0.268, 0.1 0.165 ms
//   [1,256]x[256,1024]:   dense 0.022 ms; sparse at density 0.5 0.070, 0.3 0.041, 0.2 0.027, 0.1 0.014 ms
// so 50% and 2:4 pruned layers stay on the dense kernel (stored compressed, densified at load: sparse-init.ts).
// Wraps the dense kernel: every other form goes to it unchanged.

import { makeTensor } from '../../../ir/tensor.js';
import type { Expr } from '../fn.js';
import type { KernelContext, KernelGen, PlanContext } from './types.js';
import { broadcastStrides } from '../layout.js';
import { activationOf } from './fused-activation.js';
import { attrNum, input, output, prod } from './util.js';

/** Largest fraction of non-zero weights the sparse kernel takes for A with `rows` rows: above it the dense kernel
 *  is faster (the figures above; with few rows the dense kernel's B traffic is all there is, so the bar is lower). */
export const sparseKernelMaxDensity = (rows: number): number => (rows >= 16 ? 0.25 : 0.12);

/** Rows of A per register tile (four f32x4 accumulators). */
const TILE = 16;

/** An addend of the fused forms over the output seen as rows x N: element (r, n) at r * rs + n * cs. */
interface Addend { readonly input: number; readonly rs: number; readonly cs: number }

interface SparseForm {
  readonly M: number; readonly K: number; readonly N: number; readonly transB: boolean; readonly nnz: number;
  readonly addends: readonly Addend[];
}

const GEMMS = new Set(['Gemm', 'onnxc.FusedGemm']);
const MATMULS = new Set(['MatMul', 'onnxc.FusedMatMul']);

/** Strides of `dims` broadcast to the output `out` ([...rows, N]) with the leading dims flattened into one row
 *  index, or undefined when they do not flatten (a broadcast over some leading dims but not others). */
function flatStrides(dims: readonly number[], out: readonly number[]): { rs: number; cs: number } | undefined {
  const s = broadcastStrides(dims, out), lead = out.slice(0, -1);
  const rs = s[lead.length - 1] ?? 0;
  let want = rs;
  for (let i = lead.length - 1; i >= 0; i--) {
    if (lead[i] !== 1 && s[i] !== want) return undefined;
    want *= lead[i]!;
  }
  return { rs, cs: s[out.length - 1]! };
}

/** The form the sparse kernel takes, or undefined: float32 MatMul/Gemm (and their fused forms) with a 2-D constant B
 *  sparse enough, K < 65536 (u16 indices), Gemm without transA, alpha 1 and beta 1, addends that flatten over rows. */
export function sparseForm(ctx: PlanContext, maxDensity?: number): SparseForm | undefined {
  const a = ctx.inputs[0], b = ctx.inputs[1], y = ctx.outputs[0];
  if (!a || !b?.constant || !y || a.dtype !== 'float32' || b.dtype !== 'float32' || b.dims.length !== 2) return undefined;
  const gemm = GEMMS.has(ctx.node.op);
  if (!gemm && !MATMULS.has(ctx.node.op)) return undefined;
  if (!gemm && a.dims.length < 2) return undefined;
  const transB = gemm && attrNum(ctx, 'transB') !== 0;
  if (gemm && (attrNum(ctx, 'transA') !== 0 || attrNum(ctx, 'alpha') !== 1 || attrNum(ctx, 'beta') !== 1)) return undefined;
  const addends: Addend[] = [];
  for (const i of [2, 3]) {
    const t = ctx.inputs[i];
    if (!t) continue;
    const st = t.dtype === 'float32' ? flatStrides(t.dims, y.dims) : undefined;
    if (!st) return undefined;
    addends.push({ input: i, ...st });
  }
  const K = transB ? b.dims[1]! : b.dims[0]!, N = transB ? b.dims[0]! : b.dims[1]!;
  if (K >= 65536 || K === 0 || N === 0) return undefined;
  const d = b.constant.data as Float32Array;
  const M = prod(a.dims) / K;
  let nnz = 0;
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) nnz++;
  if (nnz > (maxDensity ?? sparseKernelMaxDensity(M)) * d.length) return undefined;
  return { M, K, N, transB, nnz, addends };
}

const rowsPadded = (M: number): number => Math.ceil(M / 4) * 4;

/** B by output column: starts (i32, N+1), input indices (u16), values (f32). */
function packCsc(ctx: PlanContext, f: SparseForm): [ReturnType<typeof makeTensor>, ReturnType<typeof makeTensor>, ReturnType<typeof makeTensor>] {
  const d = ctx.inputs[1]!.constant!.data as Float32Array;
  const at = (k: number, n: number): number => (f.transB ? n * f.K + k : k * f.N + n);
  const starts = new Int32Array(f.N + 1), idx = new Uint16Array(Math.max(1, f.nnz)), vals = new Float32Array(Math.max(1, f.nnz));
  let p = 0;
  for (let n = 0; n < f.N; n++) {
    starts[n] = p;
    for (let k = 0; k < f.K; k++) { const v = d[at(k, n)]!; if (v !== 0) { idx[p] = k; vals[p] = v; p++; } }
  }
  starts[f.N] = p;
  return [makeTensor('int32', [f.N + 1], starts), makeTensor('uint16', [idx.length], idx), makeTensor('float32', [vals.length], vals)];
}

/** The dense kernel `dense`, with the sparse path for the forms `sparseForm` takes (`maxDensity`: for measuring). */
export function withSparse(dense: KernelGen, maxDensity?: number): KernelGen {
  const form = (ctx: PlanContext): SparseForm | undefined => sparseForm(ctx, maxDensity);
  return {
    ...dense,
    scratch: (ctx) => { const f = form(ctx); return f ? f.K * rowsPadded(f.M) * 4 : dense.scratch?.(ctx) ?? 0; },
    prepack: (ctx) => { const f = form(ctx); return f ? packCsc(ctx, f) : dense.prepack?.(ctx) ?? []; },
    unread: (ctx) => (form(ctx) ? [1] : dense.unread?.(ctx) ?? []),
    emit: (ctx) => { const f = form(ctx); return f ? emitSparse(ctx, f) : dense.emit(ctx); },
  };
}

function emitSparse(ctx: KernelContext, f: SparseForm): Expr {
  const { fn, m } = ctx;
  const a = input(ctx, 0), y = output(ctx), act = activationOf(ctx);
  const [starts, idx, vals] = ctx.packed as [typeof a, typeof a, typeof a];
  const Mp = rowsPadded(f.M), xt = ctx.scratch.base, rowBytes = Mp * 4;
  const [i, k, n, p, end, off, r0] = [fn.i32(), fn.i32(), fn.i32(), fn.i32(), fn.i32(), fn.i32(), fn.i32()];
  const w = fn.v128();
  // A^T into scratch: XT[k][m] (rows past M are left as they are: their sums are never stored)
  const transpose = fn.loop(i, 0, f.M, (mi) => [
    fn.loop(k, 0, f.K, (ki) => [
      m.f32.store(xt, 4, m.i32.add(m.i32.shl(mi(), fn.c32(2)), m.i32.mul(ki(), fn.c32(rowBytes))),
        m.f32.load(a.ptr.base, 4, m.i32.shl(m.i32.add(m.i32.mul(mi(), fn.c32(f.K)), ki()), fn.c32(2)))),
    ]),
  ]);
  // one tile: `vecs` f32x4 accumulators over rows r0 .. r0 + 4*vecs, for column n
  const zero = (): Expr => m.v128.const(new Array(16).fill(0));
  // an addend's 4 values for rows row0..row0+3 of column n: one splat when it does not vary by row, else 4 loads
  // (a row past M reads row M-1: padded rows are computed, never stored)
  const addendVec = (ad: Addend, row0: () => Expr): Expr => {
    const t = ctx.inputs[ad.input]!;
    const colOff = m.i32.mul(fn.get(n), fn.c32(ad.cs * 4));
    if (ad.rs === 0) return m.f32x4.splat(m.f32.load(t.ptr.base, 4, colOff));
    let v = zero();
    for (let lane = 0; lane < 4; lane++) {
      // built twice, not shared: Binaryen's IR is a tree (backends/wasm/tree-check.ts)
      const row = (): Expr => m.i32.add(row0(), fn.c32(lane)), clamped = m.select(m.i32.lt_s(row(), fn.c32(f.M)), row(), fn.c32(f.M - 1));
      v = m.f32x4.replace_lane(v, lane, m.f32.load(t.ptr.base, 4, m.i32.add(m.i32.mul(clamped, fn.c32(ad.rs * 4)), m.i32.mul(fn.get(n), fn.c32(ad.cs * 4)))));
    }
    return v;
  };
  const tile = (vecs: number, rowStart: () => Expr): Expr[] => {
    const acc = Array.from({ length: vecs }, () => fn.v128());
    const stores: Expr[] = [];
    for (let v = 0; v < vecs; v++) {
      let sum: Expr = fn.get(acc[v]!);
      for (const ad of f.addends) sum = m.f32x4.add(sum, addendVec(ad, () => m.i32.add(rowStart(), fn.c32(4 * v))));
      stores.push(fn.set(acc[v]!, act ? act(fn, sum) : sum));
      for (let lane = 0; lane < 4; lane++) {
        const row = 4 * v + lane;
        // rows beyond M exist only in the last tile of a padded M
        const store = m.f32.store(y.ptr.base, 4, m.i32.shl(m.i32.add(m.i32.mul(m.i32.add(rowStart(), fn.c32(row)), fn.c32(f.N)), fn.get(n)), fn.c32(2)),
          m.f32x4.extract_lane(fn.get(acc[v]!), lane));
        stores.push(f.M % 4 === 0 ? store : m.if(m.i32.lt_s(m.i32.add(rowStart(), fn.c32(row)), fn.c32(f.M)), store));
      }
    }
    return [
      ...acc.map((l) => fn.set(l, zero())),
      fn.set(p, m.i32.load(starts.ptr.base, 4, m.i32.shl(fn.get(n), fn.c32(2)))),
      fn.set(end, m.i32.load(starts.ptr.base + 4, 4, m.i32.shl(fn.get(n), fn.c32(2)))),
      fn.loopDyn(i, fn.get(p), end, (pi) => [
        fn.set(w, m.f32x4.splat(m.f32.load(vals.ptr.base, 4, m.i32.shl(pi(), fn.c32(2))))),
        fn.set(off, m.i32.add(m.i32.mul(m.i32.load16_u(idx.ptr.base, 2, m.i32.shl(pi(), fn.c32(1))), fn.c32(rowBytes)), m.i32.shl(rowStart(), fn.c32(2)))),
        ...acc.map((l, v) => fn.set(l, m.f32x4.add(fn.get(l), m.f32x4.mul(fn.get(w), m.v128.load(xt + 16 * v, 4, fn.get(off)))))),
      ]),
      ...stores,
    ];
  };
  const full = Math.floor(Mp / TILE) * TILE, tailVecs = (Mp - full) / 4;
  const columns = fn.loop(n, 0, f.N, () => [
    fn.loop(r0, 0, full, () => tile(TILE / 4, () => fn.get(r0)), TILE),
    ...(tailVecs > 0 ? tile(tailVecs, () => fn.c32(full)) : []),
  ]);
  return fn.block([transpose, columns]);
}

/** The table with MatMul, Gemm and their fused forms taking the sparse path where `sparseForm` holds. */
export function withSparseKernels<T extends Readonly<Record<string, KernelGen>>>(table: T): T {
  const out: Record<string, KernelGen> = { ...table };
  for (const op of [...GEMMS, ...MATMULS]) if (table[op]) out[op] = withSparse(table[op]);
  return out as T;
}

/** Whether a node's pre-packed operands are the sparse kernel's (int32 starts, uint16 indices, float32 values). */
export function isSparsePacking(packed: readonly { readonly dtype: string }[]): boolean {
  return packed.length === 3 && packed[0]!.dtype === 'int32' && packed[1]!.dtype === 'uint16' && packed[2]!.dtype === 'float32';
}
