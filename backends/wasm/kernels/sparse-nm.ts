// The N:M sparse MatMul/Gemm kernel with columns of B in the SIMD lanes (2:4 and 4:8 along K), reading B compressed.
// Per column quad (4 output columns, one f32x4), K group g and slot s (the s-th kept weight of the group, in K
// order) it stores the 4 kept values and one code of 2-bit positions (4:8: a u16, 2-bit position in its half plus
// a half bit per lane). The code indexes a 4 KiB table of i8x16.swizzle masks, so one swizzle of A's group vector
// gives each lane the A element its column kept: no gather. Per kept weight it does about what the dense
// micro-kernel does per weight (a swizzle where the dense kernel splats), so it could only gain where B's bytes are
// the cost (17/32 of dense at 2:4); here it measured 1.05-2.3x the dense kernel's time at M = 1 (sparse-cost.ts), so
// the cost model leaves those layers dense; sparse-nm-rows.ts is the kernel for several rows. Slots are summed in K
// order, as the dense kernel sums: with finite A it gives the dense kernel's bits (but for the sign of a zero sum).

import { makeTensor, type Tensor } from '../../../ir/tensor.js';
import binaryen from '../binaryen.js';
import type { Expr, Local } from '../fn.js';
import { isRelaxed, madd } from '../relaxed.js';
import type { VecEpilogue } from './gemm-core.js';
import type { KernelContext } from './types.js';
import { input, output } from './util.js';

/** An N:M pattern along K: at most `n` non-zeros in every aligned group of `m` weights of an output column. */
export interface NmPattern { readonly n: 2 | 4; readonly m: 4 | 8 }
export const PATTERNS: readonly NmPattern[] = [{ n: 2, m: 4 }, { n: 4, m: 8 }];
export const patternName = (p: NmPattern): string => `${p.n}:${p.m}`;

/** Register tile: rows of A (mr) by column quads (nv). */
export interface NmTile { readonly mr: number; readonly nv: number }

/** The tile per pattern and rows: accumulators + A group vectors (two at 4:8) + mask, weights and a temporary
 *  within V8's 15 xmm registers. bench/sparse-kernels.ts --tiles measures the alternatives. */
export function nmTile(p: NmPattern, rows: number): NmTile {
  if (rows === 1) return { mr: 1, nv: 6 };
  if (rows === 2) return { mr: 2, nv: 4 };
  return p.m === 4 ? { mr: 4, nv: 2 } : { mr: 2, nv: 2 };
}

/** Whether B [K, N] (element (k, n) at `at(k, n)`) keeps at most p.n weights in every group of p.m of every column
 *  (and K, N fit the kernels: K a multiple of m, N of 4). */
export function nmFits(p: NmPattern, K: number, N: number, at: (k: number, n: number) => number): boolean {
  if (K % p.m !== 0 || N % 4 !== 0 || K === 0) return false;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < K; g += p.m) {
      let c = 0;
      for (let k = g; k < g + p.m; k++) if (at(k, n) !== 0) c++;
      if (c > p.n) return false;
    }
  }
  return true;
}

/** The compressed B: values [N/4][G][n][4] float32 and codes [N/4][G][n] (u8 at m=4, u16 at m=8). A group with
 *  fewer than n non-zeros is padded with zero weights at its first unkept positions; slots stay in K order. */
export function packNm(p: NmPattern, K: number, N: number, at: (k: number, n: number) => number): { values: Float32Array; codes: Uint8Array | Uint16Array } {
  const G = K / p.m, Q = N / 4;
  const values = new Float32Array(Q * G * p.n * 4);
  const codes = p.m === 4 ? new Uint8Array(Q * G * p.n) : new Uint16Array(Q * G * p.n);
  for (let q = 0; q < Q; q++) {
    for (let g = 0; g < G; g++) {
      for (let l = 0; l < 4; l++) {
        const n = 4 * q + l;
        const kept: number[] = [];
        for (let j = 0; j < p.m; j++) if (at(g * p.m + j, n) !== 0) kept.push(j);
        for (let j = 0; kept.length < p.n; j++) if (!kept.includes(j)) kept.push(j);
        kept.sort((a, b) => a - b);
        kept.forEach((pos, s) => {
          const slot = (q * G + g) * p.n + s;
          values[slot * 4 + l] = at(g * p.m + pos, n);
          codes[slot]! |= ((pos & 3) << (2 * l)) | ((pos >> 2) << (8 + l));
        });
      }
    }
  }
  return { values, codes };
}

/** The dense B back from the packed form (the oracle of the packing). */
export function unpackNm(p: NmPattern, K: number, N: number, values: Float32Array, codes: Uint8Array | Uint16Array): Float32Array {
  const G = K / p.m, out = new Float32Array(K * N);
  for (let q = 0; q < N / 4; q++) for (let g = 0; g < G; g++) for (let s = 0; s < p.n; s++) {
    const slot = (q * G + g) * p.n + s, c = codes[slot]!;
    for (let l = 0; l < 4; l++) {
      const pos = ((c >> (2 * l)) & 3) | (((c >> (8 + l)) & 1) << 2);
      out[(g * p.m + pos) * N + 4 * q + l] = values[slot * 4 + l]!;
    }
  }
  return out;
}

/** Swizzle masks: 256 of 16 bytes (code c: lane l takes bytes 4*((c >> 2l) & 3) + 0..3), then 16 of 16 bytes
 *  adding 16 to the lanes of the upper half (bit l of h) for 4:8. One table serves every layer. */
export const TABLE_BYTES = 256 * 16 + 16 * 16;
export function swizzleTable(): Uint8Array {
  const t = new Uint8Array(TABLE_BYTES);
  for (let c = 0; c < 256; c++) for (let i = 0; i < 16; i++) t[c * 16 + i] = 4 * ((c >> (2 * (i >> 2))) & 3) + (i & 3);
  for (let h = 0; h < 16; h++) for (let i = 0; i < 16; i++) t[4096 + h * 16 + i] = ((h >> (i >> 2)) & 1) * 16;
  return t;
}

/** The kernel's pre-packed constants: values, codes, table. */
export function nmPacked(p: NmPattern, K: number, N: number, at: (k: number, n: number) => number): Tensor[] {
  const { values, codes } = packNm(p, K, N, at);
  return [
    makeTensor('float32', [values.length], values),
    codes instanceof Uint8Array ? makeTensor('uint8', [codes.length], codes) : makeTensor('uint16', [codes.length], codes),
    makeTensor('uint8', [TABLE_BYTES], swizzleTable()),
  ];
}

/** An addend over the output seen as rows x N: element (r, n) at r * rs + n * cs (cs 0 or 1). */
export interface NmAddend { readonly input: number; readonly rs: number; readonly cs: number }

export interface NmSpec {
  readonly pattern: NmPattern; readonly rows: number; readonly K: number; readonly N: number;
  readonly addends: readonly NmAddend[]; readonly act?: VecEpilogue; readonly tile?: NmTile;
}

// binaryen.js has no wrapper for relaxed_swizzle
const api = binaryen as unknown as { _BinaryenBinary(m: number, op: number, a: Expr, b: Expr): Expr; RelaxedSwizzleVecI8x16: number };

/** Y[rows, N] = act(A[rows, K] B + addends), B from ctx.packed (values, codes, table). */
export function emitNm(ctx: KernelContext, s: NmSpec): Expr {
  const { fn, m } = ctx;
  const { pattern: p, rows: M, K, N } = s;
  const a = input(ctx, 0), y = output(ctx);
  const [vals, codes, table] = ctx.packed as [typeof a, typeof a, typeof a];
  const G = K / p.m, Q = N / 4, S = p.n, cb = p.m === 4 ? 1 : 2;
  const { mr, nv } = s.tile ?? nmTile(p, M);
  // 2:4 masks index one vector: relaxed_swizzle (one pshufb) is exact there; 4:8 relies on out-of-range lanes being 0
  const swz = (v: Expr, mask: Expr): Expr => (p.m === 4 && isRelaxed(fn) ? api._BinaryenBinary((m as unknown as { ptr: number }).ptr, api.RelaxedSwizzleVecI8x16, v, mask) : m.i8x16.swizzle(v, mask));
  const [i, j, gi, pa, pv, pc, py] = [fn.i32(), fn.i32(), fn.i32(), fn.i32(), fn.i32(), fn.i32(), fn.i32()];
  const mask = fn.v128(), maskHi = fn.v128(), w = fn.v128();
  const acc = Array.from({ length: mr }, () => Array.from({ length: nv }, () => fn.v128()));
  const av = Array.from({ length: mr }, () => fn.v128()), ah = Array.from({ length: mr }, () => fn.v128());
  const perQuad = G * S; // slots per column quad

  const tile = (rows: number, quads: number): Expr[] => {
    const st: Expr[] = [
      // A at row i; values and codes at quad j; Y at (i, 4j)
      fn.set(pa, m.i32.mul(fn.get(i), fn.c32(K * 4))),
      fn.set(pv, m.i32.mul(fn.get(j), fn.c32(perQuad * 16))),
      fn.set(pc, m.i32.mul(fn.get(j), fn.c32(perQuad * cb))),
    ];
    for (let r = 0; r < rows; r++) for (let q = 0; q < quads; q++) st.push(fn.set(acc[r]![q]!, m.v128.const(new Array(16).fill(0))));
    const group: Expr[] = [];
    for (let r = 0; r < rows; r++) {
      group.push(fn.set(av[r]!, m.v128.load(a.ptr.base + r * K * 4, 4, fn.get(pa))));
      if (p.m === 8) group.push(fn.set(ah[r]!, m.v128.load(a.ptr.base + r * K * 4 + 16, 4, fn.get(pa))));
    }
    for (let sl = 0; sl < S; sl++) {
      for (let q = 0; q < quads; q++) {
        const codeAt = codes.ptr.base + (q * perQuad + sl) * cb;
        if (p.m === 4) {
          group.push(fn.set(mask, m.v128.load(table.ptr.base, 16, m.i32.shl(m.i32.load8_u(codeAt, 1, fn.get(pc)), fn.c32(4)))));
        } else {
          const code = (): Expr => m.i32.load16_u(codeAt, 2, fn.get(pc));
          group.push(fn.set(mask, m.i8x16.add(
            m.v128.load(table.ptr.base, 16, m.i32.shl(m.i32.and(code(), fn.c32(255)), fn.c32(4))),
            m.v128.load(table.ptr.base + 4096, 16, m.i32.shl(m.i32.shr_u(code(), fn.c32(8)), fn.c32(4))))));
          group.push(fn.set(maskHi, m.v128.xor(fn.get(mask), m.v128.const(new Array(16).fill(16)))));
        }
        group.push(fn.set(w, m.v128.load(vals.ptr.base + (q * perQuad + sl) * 16, 4, fn.get(pv))));
        for (let r = 0; r < rows; r++) {
          const x = p.m === 4 ? swz(fn.get(av[r]!), fn.get(mask)) : m.v128.or(swz(fn.get(av[r]!), fn.get(mask)), swz(fn.get(ah[r]!), fn.get(maskHi)));
          group.push(fn.set(acc[r]![q]!, madd(fn, x, fn.get(w), fn.get(acc[r]![q]!))));
        }
      }
    }
    st.push(fn.loop(gi, 0, G, () => [
      ...group,
      fn.set(pa, m.i32.add(fn.get(pa), fn.c32(p.m * 4))),
      fn.set(pv, m.i32.add(fn.get(pv), fn.c32(S * 16))),
      fn.set(pc, m.i32.add(fn.get(pc), fn.c32(S * cb))),
    ]));
    st.push(fn.set(py, m.i32.add(m.i32.mul(fn.get(i), fn.c32(N * 4)), m.i32.shl(fn.get(j), fn.c32(4)))));
    for (let r = 0; r < rows; r++) {
      for (let q = 0; q < quads; q++) {
        let v: Expr = fn.get(acc[r]![q]!);
        for (const ad of s.addends) v = m.f32x4.add(v, addendVec(ctx, ad, i, j, r, q));
        if (s.act) v = s.act(fn, v);
        st.push(m.v128.store(y.ptr.base + 4 * (r * N + 4 * q), 4, fn.get(py), v));
      }
    }
    return st;
  };

  const qFull = Q - (Q % nv), mFull = M - (M % mr);
  const columns = (rows: number): Expr[] => [
    fn.loop(j, 0, qFull, () => tile(rows, nv), nv),
    ...(Q % nv ? [fn.set(j, fn.c32(qFull)), ...tile(rows, Q % nv)] : []),
  ];
  return fn.block([
    fn.loop(i, 0, mFull, () => columns(mr), mr),
    ...(M % mr ? [fn.set(i, fn.c32(mFull)), ...columns(M % mr)] : []),
  ]);
}

/** An addend's 4 values at row i + r, columns 4(j + q) .. +3: one vector load, or a splat when it is one per row. */
function addendVec(ctx: KernelContext, ad: NmAddend, i: Local, j: Local, r: number, q: number): Expr {
  const { fn, m } = ctx;
  const t = ctx.inputs[ad.input]!;
  const rowOff = ad.rs ? m.i32.mul(fn.get(i), fn.c32(ad.rs * 4)) : undefined;
  const colOff = ad.cs ? m.i32.shl(fn.get(j), fn.c32(4)) : undefined;
  const off = rowOff && colOff ? m.i32.add(rowOff, colOff) : rowOff ?? colOff ?? fn.c32(0);
  const at = t.ptr.base + 4 * (r * ad.rs + 4 * q * ad.cs);
  return ad.cs ? m.v128.load(at, 4, off) : m.f32x4.splat(m.f32.load(at, 4, off));
}
