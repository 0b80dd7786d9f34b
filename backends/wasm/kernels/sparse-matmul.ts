// A sparse MatMul/Gemm kernel for a constant B with few non-zeros: B is stored by output column (CSC: column
// starts, u16 input indices, float values: 6 bytes per non-zero), A is transposed into scratch so that, for each
// non-zero B[k, n], 16 rows of A's column k are one run of four f32x4 loads, multiplied by the splatted weight
// into four accumulators. It is taken below `sparseKernelMaxDensity` (measured with the timing case of
// test/wasm/sparse-matmul.test.ts, SPARSE_TIMING=1), and up to half non-zero where the measured cost table
// (sparse-cost.ts, bench/sparse-kernels.ts at 50%) has it faster than the dense kernel (0.75-0.87x at 16 rows,
// 0.88-0.94x at 64 on the gpt2_tiny/bert-tiny shapes, 5x slower at one row); where its form would store B in more
// bytes than the bitmask form (at 50%: 0.75x of dense against 0.53x), weights.bin keeps B in the bitmask form and
// the weights' init builds the CSC form from it at load (sparse-init.ts csc_build). Elsewhere a pruned layer stays on the
// dense kernel (stored compressed, densified at load: sparse-init.ts). B with 2:4 or 4:8 structure along K can
// instead take an N:M kernel that reads it compressed (sparse-nm.ts, sparse-nm-rows.ts), chosen the same way; of
// the candidates the one measured fastest is taken. Wraps the dense kernel: every other form goes to it unchanged.

import { makeTensor } from '../../../ir/tensor.js';
import type { Expr } from '../fn.js';
import type { KernelContext, KernelGen, PlanContext } from './types.js';
import { broadcastStrides } from '../layout.js';
import { activationOf } from './fused-activation.js';
import { attrNum, input, output, prod } from './util.js';
import { emitNm, nmFits, nmPacked, patternName, PATTERNS, type NmPattern, type NmTile } from './sparse-nm.js';
import { sparseBytes } from '../../../lowering/sparse-weights.js';
import { measuredCost, NM_TAKE_RATIO, nmCost, type NmKernel } from './sparse-cost.js';
import { emitNmRows, packNmRows, rowsScratch } from './sparse-nm-rows.js';
import { claimGrid, itemsFor, parallelOf } from '../parallel.js';

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
  // the row stride is the innermost lead dim's that is not 1 (a dim of 1 has stride 0 and says nothing)
  let rs: number | undefined, want = 0;
  for (let i = lead.length - 1; i >= 0; i--) {
    if (lead[i] === 1) continue;
    if (rs === undefined) { rs = s[i]!; want = rs; }
    if (s[i] !== want) return undefined;
    want *= lead[i]!;
  }
  return { rs: rs ?? 0, cs: s[out.length - 1]! };
}

/** The shape common to both sparse kernels: float32 MatMul/Gemm (and their fused forms) with a 2-D constant B,
 *  Gemm without transA, alpha 1 and beta 1, addends that flatten over rows; B's element (k, n) at `at(k, n)`. */
interface MatmulForm extends Omit<SparseForm, 'nnz'> { readonly at: (k: number, n: number) => number; readonly data: Float32Array }

function matmulForm(ctx: PlanContext): MatmulForm | undefined {
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
  if (K === 0 || N === 0) return undefined;
  const data = b.constant.data as Float32Array;
  return { M: prod(a.dims) / K, K, N, transB, addends, data, at: transB ? (k, n) => data[n * K + k]! : (k, n) => data[k * N + n]! };
}

/** The form the CSC kernel takes, or undefined: a matmulForm with K < 65536 (u16 indices) and B sparse enough. */
export function sparseForm(ctx: PlanContext, maxDensity?: number): SparseForm | undefined {
  const f = matmulForm(ctx);
  if (!f || f.K >= 65536) return undefined;
  let nnz = 0;
  for (let i = 0; i < f.data.length; i++) if (f.data[i] !== 0) nnz++;
  if (nnz > (maxDensity ?? sparseKernelMaxDensity(f.M)) * f.data.length) return undefined;
  return { M: f.M, K: f.K, N: f.N, transB: f.transB, nnz, addends: f.addends };
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

/** The CSC form built at load (sparse-init.ts, `csc_build`): zero-filled starts, indices and values of the sizes
 *  packCsc gives plus one slot (indices rounded to whole words), then B by output column ([N, K] float32), which weights.bin stores
 *  in the bitmask form; the weights' init expands B and fills the three from it, in packCsc's order. */
function cscAtLoad(ctx: PlanContext, f: SparseForm): ReturnType<typeof makeTensor>[] {
  const d = ctx.inputs[1]!.constant!.data as Float32Array;
  const bt = new Float32Array(f.N * f.K);
  for (let n = 0; n < f.N; n++) for (let k = 0; k < f.K; k++) bt[n * f.K + k] = d[f.transB ? n * f.K + k : k * f.N + n]!;
  // one slot more than the count: csc_build writes every weight at the next slot, kept or not
  const nz = f.nnz + 2 - (f.nnz & 1);
  return [makeTensor('int32', [f.N + 1]), makeTensor('uint16', [nz]), makeTensor('float32', [f.nnz + 1]), makeTensor('float32', [f.N, f.K], bt)];
}

/** How withSparse chooses: the CSC kernel up to `maxDensity` (default: sparseKernelMaxDensity, and up to half
 *  non-zero where sparse-cost.ts measured it faster than the dense kernel on the nearest shape); the N:M kernel
 *  'measured' (where sparse-cost.ts measured it faster than the dense kernel on the nearest shape), 'always'
 *  (wherever B fits 2:4 or 4:8: for measuring and tests) or 'never'; `tile` overrides the N:M register tile. */
export interface SparseChoice {
  readonly maxDensity?: number; readonly nm?: 'measured' | 'always' | 'never'; readonly tile?: NmTile;
  /** With nm 'always': which N:M kernel (default: rows of A in lanes from 4 rows up, else columns). */
  readonly nmKernel?: NmKernel;
  /** false: a measured CSC layer whose CSC form stores larger than the bitmask form stays dense (as before the CSC
   *  form was built at load); default true. */
  readonly cscAtLoad?: boolean;
}

/** What was chosen for a node, for compile's report: the kernel, the form that made B a candidate ('2:4', '4:8',
 *  or '50%': at most half non-zero, for the CSC kernel) and the measured sparse/dense ratio that decided. */
export interface SparseDecision {
  readonly kernel: 'csc' | 'nm' | 'dense'; readonly pattern?: string; readonly nmKernel?: NmKernel; readonly ratio?: number;
  /** Dense although measured faster: the sparse kernel's form of B would take more bytes than the compressed one. */
  readonly larger?: boolean;
  /** The CSC form is built at load from B's stored (bitmask) form: weights.bin keeps the smaller form. */
  readonly atLoad?: boolean;
}

type Choice = { kind: 'csc'; f: SparseForm; atLoad?: boolean } | { kind: 'nm'; f: MatmulForm; p: NmPattern; k: NmKernel } | undefined;

const decisions = new WeakMap<object, SparseDecision>();
/** The choice made for `node` while it was planned (undefined: B not sparse in any form a sparse kernel takes). */
export const sparseDecision = (node: object): SparseDecision | undefined => decisions.get(node);

/** Density up to which the CSC kernel's measurements (bench/sparse-kernels.ts, at 50%) stand for a layer: fewer
 *  non-zeros only take it less time. */
const CSC_MEASURED_DENSITY = 0.5;

function choose(ctx: PlanContext, o: SparseChoice): Choice {
  decisions.delete(ctx.node);
  // the CSC kernel below the density floor (or forced by maxDensity)
  const floor = sparseForm(ctx, o.maxDensity);
  if (floor) { decisions.set(ctx.node, { kernel: 'csc' }); return { kind: 'csc', f: floor }; }
  const f = matmulForm(ctx);
  if (!f) return undefined;
  type Candidate = { choice: Exclude<Choice, undefined>; decision: SparseDecision; ratio?: number };
  const candidates: Candidate[] = [];
  // measured: the CSC kernel at up to half non-zero where the table has it faster at 50%; where its form (6 bytes a
  // non-zero) would store more than the bitmask form (at 50% CSC takes 0.75x of dense against 0.53x, bert-tiny's
  // weights.bin 0.52x -> 0.69x), weights.bin's size comes first: B is stored in the bitmask form and the CSC form
  // built from it at load
  const csc50 = o.maxDensity === undefined ? sparseForm(ctx, CSC_MEASURED_DENSITY) : undefined;
  const half = csc50 && 4 * (csc50.N + 1) + 6 * csc50.nnz <= sparseBytes(csc50.K * csc50.N, csc50.nnz) ? csc50 : undefined;
  const cscCost = csc50 && measuredCost('50%', f.M, f.K, f.N, ['csc']);
  if (half && cscCost) candidates.push({ choice: { kind: 'csc', f: half }, decision: { kernel: 'csc', pattern: '50%', ratio: cscCost.ratio }, ratio: cscCost.ratio });
  // a larger CSC form is built at load from the bitmask form (o.cscAtLoad, the default): weights.bin stays small
  if (csc50 && !half && cscCost && o.cscAtLoad !== false) candidates.push({ choice: { kind: 'csc', f: csc50, atLoad: true }, decision: { kernel: 'csc', pattern: '50%', ratio: cscCost.ratio, atLoad: true }, ratio: cscCost.ratio });
  const larger: SparseDecision | undefined = csc50 && !half && cscCost && o.cscAtLoad === false ? { kernel: 'dense', pattern: '50%', ratio: cscCost.ratio, ...(cscCost.ratio <= NM_TAKE_RATIO ? { larger: true } : {}) } : undefined;
  const p = o.nm === 'never' ? undefined : PATTERNS.find((q) => nmFits(q, f.K, f.N, f.at));
  if (p) {
    // the rows kernel reads code units of 8 K positions
    const kernels: NmKernel[] = f.K % 8 === 0 ? ['cols', 'rows'] : ['cols'];
    const cost = nmCost(p, f.M, f.K, f.N, kernels);
    const forced = o.nmKernel ?? (f.M >= 4 && f.K % 8 === 0 ? 'rows' : 'cols');
    const k = o.nm === 'always' ? forced : cost?.kernel as NmKernel ?? forced;
    const decision: SparseDecision = { kernel: 'nm', pattern: patternName(p), nmKernel: k, ...(cost ? { ratio: cost.ratio } : {}) };
    if (o.nm === 'always') { decisions.set(ctx.node, decision); return { kind: 'nm', f, p, k }; }
    candidates.push({ choice: { kind: 'nm', f, p, k }, decision, ...(cost ? { ratio: cost.ratio } : {}) });
  }
  const best = candidates.filter((c) => c.ratio !== undefined).sort((a, b) => a.ratio! - b.ratio!)[0];
  if (best && best.ratio! <= NM_TAKE_RATIO) { decisions.set(ctx.node, best.decision); return best.choice; }
  const shown = best ?? candidates[0];
  if (shown) decisions.set(ctx.node, { ...shown.decision, kernel: 'dense' });
  else if (larger) decisions.set(ctx.node, larger);
  return undefined;
}

/** The dense kernel `dense`, with the sparse paths where `choice` takes them (a number: the CSC kernel's density
 *  bar, N:M as measured). */
export function withSparse(dense: KernelGen, choice: number | SparseChoice = {}): KernelGen {
  const o: SparseChoice = typeof choice === 'number' ? { maxDensity: choice } : choice;
  // planning asks several times per node (scratch, prepack, unread, emit): decide once per node, B and shapes (a
  // pruned graph keeps the original's node objects with new weights; a dynamic-dims compile plans one node at
  // several sizes)
  const memo = new WeakMap<object, { b: unknown; sig: string; choice: Choice }>();
  const form = (ctx: PlanContext): Choice => {
    const b = ctx.inputs[1]?.constant, sig = [...ctx.inputs, ...ctx.outputs].map((t) => (t ? `${t.dtype}[${t.dims.join(',')}]` : '-')).join(' ');
    const hit = memo.get(ctx.node);
    if (hit && hit.b === b && hit.sig === sig) return hit.choice;
    const choice = choose(ctx, o);
    memo.set(ctx.node, { b, sig, choice });
    return choice;
  };
  return {
    ...dense,
    scratch: (ctx) => {
      const c = form(ctx);
      if (!c) return dense.scratch?.(ctx) ?? 0;
      return c.kind === 'csc' ? c.f.K * rowsPadded(c.f.M) * 4 : c.k === 'rows' ? rowsScratch(c.f.M, c.f.K) : 0;
    },
    prepack: (ctx) => {
      const c = form(ctx);
      if (!c) return dense.prepack?.(ctx) ?? [];
      return c.kind === 'csc' ? (c.atLoad ? cscAtLoad(ctx, c.f) : packCsc(ctx, c.f)) : c.k === 'rows' ? packNmRows(c.p, c.f.K, c.f.N, c.f.at) : nmPacked(c.p, c.f.K, c.f.N, c.f.at);
    },
    unread: (ctx) => (form(ctx) ? [1] : dense.unread?.(ctx) ?? []),
    emit: (ctx) => {
      const c = form(ctx);
      if (!c) return dense.emit(ctx);
      if (c.kind === 'csc') return emitSparse(ctx, c.f);
      const spec = { pattern: c.p, rows: c.f.M, K: c.f.K, N: c.f.N, addends: c.f.addends, act: activationOf(ctx), ...(o.tile ? { tile: o.tile } : {}) };
      return c.k === 'rows' ? emitNmRows(ctx, spec) : emitNm(ctx, spec);
    },
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
  const column = (): Expr[] => [
    fn.loop(r0, 0, full, () => tile(TILE / 4, () => fn.get(r0)), TILE),
    ...(tailVecs > 0 ? tile(tailVecs, () => fn.c32(full)) : []),
  ];
  const par = parallelOf(ctx);
  const items = par ? Math.min(f.N, itemsFor(f.M * f.nnz, par.threads)) : 1;
  if (par && items >= 2) {
    // threads: items are runs of output columns, each transposing all of A first (every store writes its final
    // value, so a racing store rewrites the same bytes another item reads); each output element by the same
    // instructions in the same order as on one thread
    // (once per thread: `ready` is this thread's local, so a thread that claims several items transposes once)
    const size = Math.ceil(f.N / items), count = Math.ceil(f.N / size), lo = fn.i32(), hi = fn.i32(), ready = fn.i32();
    par.used = true;
    return fn.block([fn.set(ready, fn.c32(0)), claimGrid(fn, [count], ([ci]) => [
      m.if(m.i32.eqz(fn.get(ready)), fn.block([transpose, fn.set(ready, fn.c32(1))])),
      fn.set(lo, m.i32.mul(ci!(), fn.c32(size))),
      fn.set(hi, m.select(m.i32.lt_s(m.i32.add(fn.get(lo), fn.c32(size)), fn.c32(f.N)), m.i32.add(fn.get(lo), fn.c32(size)), fn.c32(f.N))),
      fn.loopDyn(n, fn.get(lo), hi, column),
    ])]);
  }
  return fn.block([transpose, fn.loop(n, 0, f.N, column)]);
}

/** The table with MatMul, Gemm and their fused forms taking the sparse path where `sparseForm` holds. */
export function withSparseKernels<T extends Readonly<Record<string, KernelGen>>>(table: T): T {
  const out: Record<string, KernelGen> = { ...table };
  for (const op of [...GEMMS, ...MATMULS]) if (table[op]) out[op] = withSparse(table[op]);
  return out as T;
}

/** Whether a node's pre-packed operands are a sparse kernel's: the CSC kernel's (int32 starts, uint16 indices,
 *  float32 values; built at load: then B by column as well) or the N:M kernel's (float32 values, uint8/uint16 codes, the uint8 swizzle table). */
export function isSparsePacking(packed: readonly { readonly dtype: string }[]): boolean {
  const d = packed.map((t) => t.dtype).join(',');
  return d === 'int32,uint16,float32' || d === 'int32,uint16,float32,float32' || d === 'float32,uint8,uint8' || d === 'float32,uint16,uint8' || d === 'float32,uint8' || d === 'float32,uint16';
}
