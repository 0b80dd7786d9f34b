// The N:M sparse MatMul/Gemm kernel for several rows of A (2:4 and 4:8 along K), reading B compressed: rows of A go
// in the SIMD lanes instead of columns, so the "gather" that wasm SIMD lacks becomes an address: A is transposed
// into scratch by strips of 8 rows ([strip][k][8]), and each kept weight B[k, n] (value splatted) multiplies the
// two f32x4 of row k of the strip. Its position k comes from a 2-bit code (3-bit at 4:8): per kept weight a
// splat, a few integer ops and two multiply-adds, no swizzle, so at half the weights it does about half the
// dense kernel's vector work. Slots are summed in K order, as the dense kernel sums (same bits for finite A but for
// the sign of a zero sum). Few rows waste the padded lanes: sparse-nm.ts (columns in lanes) takes those.

import { makeTensor, type Tensor } from '../../../ir/tensor.js';
import type { Expr } from '../fn.js';
import { madd } from '../relaxed.js';
import type { NmAddend, NmPattern, NmSpec } from './sparse-nm.js';
import type { KernelContext } from './types.js';
import { input, output } from './util.js';
import { claimGrid, itemsFor, parallelOf } from '../parallel.js';

/** Rows per strip (two f32x4 per column) and columns per register tile: two accumulators. Measured against 4-32
 *  rows and 1-4 columns (bench/sparse-kernels.ts, 2:4, [64,256]x[256,1024], sparse/dense): 8x1 0.86-0.96, 16x1
 *  1.12-1.14, 16x2 1.36-1.46, 32x1 1.35, 4x1 1.53: more accumulators ran slower, not faster. */
const R = 8, NC = 1;
/** Slots per code unit: one byte per two groups at 2:4 (2-bit positions), one u16 per group at 4:8 (3-bit). */
const SLOTS = 4;
const unitBytes = (p: NmPattern): number => (p.m === 4 ? 1 : 2);
/** K positions one code unit spans. */
const unitSpan = (p: NmPattern): number => (p.m === 4 ? 8 : 8);

export const stripRows = (M: number): number => Math.ceil(M / R) * R;
export const rowsScratch = (M: number, K: number): number => stripRows(M) * K * 4;

/** B's kept values by column ([N][K/m][n], K order) and per column one code unit per 8 K positions: slot s's
 *  position within its unit is bits 2s.. (2:4: unit = two groups, slots 0-1 in the first; 4:8: bits 3s..). */
export function packNmRows(p: NmPattern, K: number, N: number, at: (k: number, n: number) => number): Tensor[] {
  const units = K / unitSpan(p);
  const values = new Float32Array(N * units * SLOTS), codes = p.m === 4 ? new Uint8Array(N * units) : new Uint16Array(N * units);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < K / p.m; g++) {
      const kept: number[] = [];
      for (let j = 0; j < p.m; j++) if (at(g * p.m + j, n) !== 0) kept.push(j);
      for (let j = 0; kept.length < p.n; j++) if (!kept.includes(j)) kept.push(j);
      kept.sort((a, b) => a - b);
      kept.forEach((pos, s) => {
        const slot = g * p.n + s, u = Math.floor(slot / SLOTS), su = slot % SLOTS;
        values[(n * units + u) * SLOTS + su] = at(g * p.m + pos, n);
        codes[n * units + u]! |= pos << ((p.m === 4 ? 2 : 3) * su);
      });
    }
  }
  return [makeTensor('float32', [values.length], values), codes instanceof Uint8Array ? makeTensor('uint8', [codes.length], codes) : makeTensor('uint16', [codes.length], codes)];
}

/** Y[rows, N] = act(A[rows, K] B + addends), B from ctx.packed (values, codes), A^T strips in ctx.scratch. */
export function emitNmRows(ctx: KernelContext, s: NmSpec): Expr {
  const { fn, m } = ctx;
  const { pattern: p, rows: M, K, N } = s;
  const a = input(ctx, 0), y = output(ctx);
  const [vals, codes] = ctx.packed as [typeof a, typeof a];
  const at = ctx.scratch.base, units = K / unitSpan(p), strips = stripRows(M) / R, stripBytes = K * R * 4;
  const [st, k, v, n, u, pa, pv, pc, code, off] = Array.from({ length: 10 }, () => fn.i32());
  const rows = Array.from({ length: 4 }, () => fn.v128()), tr = Array.from({ length: 4 }, () => fn.v128());
  const out: Expr[] = [];

  // A^T by strips: full groups of 4 rows by 4x4 transposes of f32x4; the last strip's rows past M are zeroed (finite
  // lanes, never stored) and its last partial group of 4 rows copied one element at a time. Every store writes its
  // final value once (the padded lanes only are zeroed, not the whole strip), so on threads each column item can
  // transpose all of A into the shared scratch while others read it: a racing store rewrites the same bytes
  const full4 = Math.floor(M / 4);
  const sh = (x: Expr, y2: Expr, lanes: number[]): Expr => m.i8x16.shuffle(x, y2, lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  if (stripRows(M) > M) {
    const pad = stripRows(M) - M, last = at + (strips - 1) * stripBytes + (M % R) * 4;
    out.push(fn.loop(k, 0, K, (ki) => Array.from({ length: pad }, (_, l) => m.f32.store(last + 4 * l, 4, m.i32.shl(ki(), fn.c32(Math.log2(R * 4))), fn.cf32(0)))));
  }
  // v: group of 4 rows; k: K step of 4. A at (4v + r, k); AT at strip 4v/R, row k + j, lanes 4v % R ..
  out.push(fn.loop(v, 0, full4, () => [
    fn.set(pa, m.i32.mul(fn.get(v), fn.c32(4 * K * 4))),
    fn.set(off, m.i32.add(m.i32.mul(m.i32.shr_u(fn.get(v), fn.c32(Math.log2(R / 4))), fn.c32(stripBytes)), m.i32.shl(m.i32.and(fn.get(v), fn.c32(R / 4 - 1)), fn.c32(4)))),
    fn.loop(k, 0, K, () => [
      ...rows.map((r, i) => fn.set(r, m.v128.load(a.ptr.base + i * K * 4, 4, fn.get(pa)))),
      fn.set(tr[0]!, sh(fn.get(rows[0]!), fn.get(rows[1]!), [0, 4, 1, 5])),
      fn.set(tr[1]!, sh(fn.get(rows[2]!), fn.get(rows[3]!), [0, 4, 1, 5])),
      fn.set(tr[2]!, sh(fn.get(rows[0]!), fn.get(rows[1]!), [2, 6, 3, 7])),
      fn.set(tr[3]!, sh(fn.get(rows[2]!), fn.get(rows[3]!), [2, 6, 3, 7])),
      m.v128.store(at, 4, fn.get(off), sh(fn.get(tr[0]!), fn.get(tr[1]!), [0, 1, 4, 5])),
      m.v128.store(at + R * 4, 4, fn.get(off), sh(fn.get(tr[0]!), fn.get(tr[1]!), [2, 3, 6, 7])),
      m.v128.store(at + 2 * R * 4, 4, fn.get(off), sh(fn.get(tr[2]!), fn.get(tr[3]!), [0, 1, 4, 5])),
      m.v128.store(at + 3 * R * 4, 4, fn.get(off), sh(fn.get(tr[2]!), fn.get(tr[3]!), [2, 3, 6, 7])),
      fn.set(pa, m.i32.add(fn.get(pa), fn.c32(16))),
      fn.set(off, m.i32.add(fn.get(off), fn.c32(4 * R * 4))),
    ], 4),
  ]));
  for (let r = 4 * full4; r < M; r++) {
    const dst = at + Math.floor(r / R) * stripBytes + (r % R) * 4;
    out.push(fn.loop(k, 0, K, (ki) => [m.f32.store(dst, 4, m.i32.shl(ki(), fn.c32(Math.log2(R * 4))), m.f32.load(a.ptr.base + r * K * 4, 4, m.i32.shl(ki(), fn.c32(2))))]));
  }

  // per strip, per NC columns: NC*R/4 accumulators over the strip's R rows
  const acc = Array.from({ length: NC }, () => Array.from({ length: R / 4 }, () => fn.v128()));
  const codeL = Array.from({ length: NC }, () => fn.i32()), w = fn.v128(), res = fn.v128();
  const bits = p.m === 4 ? 2 : 3, posMask = (1 << bits) - 1, rowShift = Math.log2(R * 4);
  const colVals = units * SLOTS * 4, colCodes = units * unitBytes(p);
  const tile = (cols: number): Expr[] => {
    const body: Expr[] = [];
    for (let c = 0; c < cols; c++) body.push(fn.set(codeL[c]!, unitBytes(p) === 1 ? m.i32.load8_u(codes.ptr.base + c * colCodes, 1, fn.get(pc)) : m.i32.load16_u(codes.ptr.base + c * colCodes, 2, fn.get(pc))));
    for (let sl = 0; sl < SLOTS; sl++) {
      // the unit's K base of this slot's group: 2:4 slots 2-3 are in the unit's second group (4 positions on)
      const groupOff = (p.m === 4 ? 4 * (sl >> 1) : 0) * R * 4;
      for (let c = 0; c < cols; c++) {
        const sft = rowShift - bits * sl;
        const shifted = sft >= 0 ? m.i32.shl(fn.get(codeL[c]!), fn.c32(sft)) : m.i32.shr_u(fn.get(codeL[c]!), fn.c32(-sft));
        body.push(fn.set(off, m.i32.add(fn.get(pa), m.i32.and(shifted, fn.c32(posMask << rowShift)))));
        body.push(fn.set(w, m.v128.load32_splat(vals.ptr.base + c * colVals + sl * 4, 4, fn.get(pv))));
        for (let q = 0; q < R / 4; q++) body.push(fn.set(acc[c]![q]!, madd(fn, fn.get(w), m.v128.load(at + groupOff + 16 * q, 16, fn.get(off)), fn.get(acc[c]![q]!))));
      }
    }
    const st2: Expr[] = [
      fn.set(pa, m.i32.mul(fn.get(st), fn.c32(stripBytes))),
      fn.set(pv, m.i32.mul(fn.get(n), fn.c32(colVals))),
      fn.set(pc, m.i32.mul(fn.get(n), fn.c32(colCodes))),
      ...acc.slice(0, cols).flat().map((l) => fn.set(l, m.v128.const(new Array(16).fill(0)))),
      fn.loop(u, 0, units, () => [
        ...body,
        fn.set(pa, m.i32.add(fn.get(pa), fn.c32(unitSpan(p) * R * 4))),
        fn.set(pv, m.i32.add(fn.get(pv), fn.c32(SLOTS * 4))),
        fn.set(pc, m.i32.add(fn.get(pc), fn.c32(unitBytes(p)))),
      ]),
    ];
    // epilogue per column and 4 rows, then one store per element (rows of a column are N apart in Y)
    for (let c = 0; c < cols; c++) {
      for (let q = 0; q < R / 4; q++) {
        let val: Expr = fn.get(acc[c]![q]!);
        for (const ad of s.addends) val = m.f32x4.add(val, addendRows(ctx, ad, st, n, c, q, M));
        if (s.act) val = s.act(fn, val);
        st2.push(fn.set(res, val));
        for (let l = 0; l < 4; l++) {
          const row = (): Expr => m.i32.add(m.i32.mul(fn.get(st), fn.c32(R)), fn.c32(4 * q + l));
          const store = m.f32.store(y.ptr.base + 4 * c, 4, m.i32.shl(m.i32.add(m.i32.mul(row(), fn.c32(N)), fn.get(n)), fn.c32(2)), m.f32x4.extract_lane(fn.get(res), l));
          st2.push(M % R === 0 ? store : m.if(m.i32.lt_s(row(), fn.c32(M)), store));
        }
      }
    }
    return st2;
  };
  const nFull = N - (N % NC);
  const par = NC === 1 ? parallelOf(ctx) : undefined;
  const items = par ? Math.min(N, itemsFor(M * K * N * p.n / p.m, par.threads)) : 1;
  if (par && items >= 2) {
    // threads: items are runs of output columns, each with the transpose above (idempotent stores) and then every
    // strip for its columns; each output element by the same instructions in the same K order as on one thread
    // (once per thread: `ready` is this thread's local, so a thread that claims several items transposes once)
    const size = Math.ceil(N / items), count = Math.ceil(N / size), lo = fn.i32(), hi = fn.i32(), ready = fn.i32();
    par.used = true;
    const transpose = fn.block(out);
    return fn.block([fn.set(ready, fn.c32(0)), claimGrid(fn, [count], ([ci]) => [
      m.if(m.i32.eqz(fn.get(ready)), fn.block([transpose, fn.set(ready, fn.c32(1))])),
      fn.set(lo, m.i32.mul(ci!(), fn.c32(size))),
      fn.set(hi, m.select(m.i32.lt_s(m.i32.add(fn.get(lo), fn.c32(size)), fn.c32(N)), m.i32.add(fn.get(lo), fn.c32(size)), fn.c32(N))),
      fn.loop(st, 0, strips, () => [fn.loopDyn(n, fn.get(lo), hi, () => tile(1))]),
    ])]);
  }
  out.push(fn.loop(st, 0, strips, () => [
    fn.loop(n, 0, nFull, () => tile(NC), NC),
    ...(N % NC ? [fn.set(n, fn.c32(nFull)), ...tile(N % NC)] : []),
  ]));
  return fn.block(out);
}

/** An addend's values at rows R*st + 4q .. +3 (a row past M reads row M-1: computed, never stored), column n + c. */
function addendRows(ctx: KernelContext, ad: NmAddend, st: ReturnType<KernelContext['fn']['i32']>, n: ReturnType<KernelContext['fn']['i32']>, c: number, q: number, M: number): Expr {
  const { fn, m } = ctx;
  const t = ctx.inputs[ad.input]!;
  const colOff = (): Expr => m.i32.mul(m.i32.add(fn.get(n), fn.c32(c)), fn.c32(ad.cs * 4));
  if (ad.rs === 0) return m.f32x4.splat(m.f32.load(t.ptr.base, 4, colOff()));
  let v: Expr = m.v128.const(new Array(16).fill(0));
  for (let l = 0; l < 4; l++) {
    // built twice, not shared: Binaryen's IR is a tree (backends/wasm/tree-check.ts)
    const row = (): Expr => m.i32.add(m.i32.mul(fn.get(st), fn.c32(R)), fn.c32(4 * q + l));
    const clamped = M % R === 0 ? row() : m.select(m.i32.lt_s(row(), fn.c32(M)), row(), fn.c32(M - 1));
    v = m.f32x4.replace_lane(v, l, m.f32.load(t.ptr.base, 4, m.i32.add(m.i32.mul(clamped, fn.c32(ad.rs * 4)), colOff())));
  }
  return v;
}
