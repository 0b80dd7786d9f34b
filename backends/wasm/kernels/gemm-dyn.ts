// The GEMM core in generic form, for dynamic-dims compiles (backends/wasm/dims-mode.ts): the same 4x8 register
// tile as gemm-core.ts, with every split of M, N and K (whole tiles, one-row and one-vector tails, scalar
// columns) computed at run time from the size constants, so the code is one shape for every size and the sizes
// are constants the dynamic compile turns into dim expressions. Static compiles never come here.

import type { Expr, Fn, Local } from '../fn.js';
import { floorTo, guardedLoop } from '../dims-mode.js';
import { splatF32 } from '../math.js';
import { madd } from '../relaxed.js';
import { LANES } from '../simd.js';
import { NR } from './gemm-plan.js';
import type { GemmSpec, MatOperand } from './gemm-core.js';

const MR = 4, NV = 2, W = NV * LANES;

function epilogue(fn: Fn, s: GemmSpec, v: Expr, bias?: () => Expr, res?: () => Expr): Expr {
  const V = fn.m.f32x4, alpha = s.alpha ?? 1, beta = s.beta ?? 1;
  let r = alpha === 1 ? v : V.mul(v, splatF32(fn, alpha));
  if (bias) r = V.add(r, beta === 1 ? bias() : V.mul(bias(), splatF32(fn, beta)));
  if (res) r = V.add(r, res());
  return s.act ? s.act(fn, r) : r;
}

export function gemmDyn(fn: Fn, s: GemmSpec): Expr {
  const m = fn.m, V = m.f32x4;
  const { M, N, K, a, b, c } = s;
  const panels = b.panels === true;
  const addendOk = (o?: MatOperand): boolean => o === undefined || o.cs === 0 || o.cs === 1;
  const vectorised = (panels || b.cs === 1) && c.cs === 1 && addendOk(s.bias) && addendOk(s.residual);
  const mi = fn.i32(), ni = fn.i32(), ki = fn.i32();
  const pa = fn.i32(), pb = fn.i32(), pc = fn.i32(), pbias = fn.i32(), pres = fn.i32();
  const g = (l: Local) => (): Expr => fn.get(l);
  const dyn = (op: MatOperand, e: Expr): Expr => (op.dyn ? m.i32.add(fn.get(op.dyn), e) : e);
  const mul = (x: Expr, k: number): Expr => (k === 1 ? x : m.i32.mul(x, fn.c32(k)));
  /** Byte offset of (row, col) of an operand (its dyn local included, base excluded). */
  const at = (op: MatOperand, r: () => Expr, col: () => Expr): Expr => dyn(op, m.i32.add(mul(r(), op.rs * 4), mul(col(), op.cs * 4)));
  /** Byte offset of B column `col` at K row 0 (panels: K*NR floats per panel). */
  const bCol = (col: () => Expr): Expr => dyn(b, panels
    ? m.i32.add(m.i32.mul(m.i32.shr_u(col(), fn.c32(Math.log2(NR))), fn.c32(4 * K * NR)), m.i32.shl(m.i32.and(col(), fn.c32(NR - 1)), fn.c32(2)))
    : mul(col(), b.cs * 4));
  const bRow = panels ? NR : b.rs;

  const body: Expr[] = [];
  if (vectorised) {
    const acc = Array.from({ length: MR }, () => Array.from({ length: NV }, () => fn.v128()));
    const bv = Array.from({ length: NV }, () => fn.v128()), av = fn.v128();
    // B vector j of a tile: the next vector of the same panel or the next panel
    const bOff = (j: number): number => (panels ? Math.floor(j / (NR / LANES)) * K * NR * 4 + (j % (NR / LANES)) * LANES * 4 : 4 * j * LANES);
    const tile = (rows: number, vecs: number): Expr[] => {
      const st: Expr[] = [
        fn.set(pa, dyn(a, mul(fn.get(mi), a.rs * 4))),
        fn.set(pb, bCol(g(ni))),
        fn.set(pc, at(c, g(mi), g(ni))),
      ];
      if (s.bias) st.push(fn.set(pbias, at(s.bias, g(mi), g(ni))));
      if (s.residual) st.push(fn.set(pres, at(s.residual, g(mi), g(ni))));
      for (let r = 0; r < rows; r++) for (let j = 0; j < vecs; j++) st.push(fn.set(acc[r]![j]!, V.splat(fn.cf32(0))));
      st.push(guardedLoop(fn, ki, () => fn.c32(0), () => fn.c32(K), () => {
        const e: Expr[] = [];
        for (let j = 0; j < vecs; j++) e.push(fn.set(bv[j]!, m.v128.load(b.base + bOff(j), 4, fn.get(pb))));
        for (let r = 0; r < rows; r++) {
          e.push(fn.set(av, m.v128.load32_splat(a.base + 4 * r * a.rs, 4, fn.get(pa))));
          for (let j = 0; j < vecs; j++) e.push(fn.set(acc[r]![j]!, madd(fn, fn.get(av), fn.get(bv[j]!), fn.get(acc[r]![j]!))));
        }
        e.push(fn.set(pa, m.i32.add(fn.get(pa), fn.c32(4 * a.cs))), fn.set(pb, m.i32.add(fn.get(pb), fn.c32(4 * bRow))));
        return e;
      }));
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < vecs; j++) {
          const addend = (op: MatOperand | undefined, p: Local): (() => Expr) | undefined => {
            if (!op) return undefined;
            const off = op.base + 4 * (r * op.rs + j * LANES * op.cs);
            return op.cs === 0 ? () => V.splat(m.f32.load(off, 4, fn.get(p))) : () => m.v128.load(off, 4, fn.get(p));
          };
          st.push(m.v128.store(c.base + 4 * (r * c.rs + j * LANES), 4, fn.get(pc), epilogue(fn, s, fn.get(acc[r]![j]!), addend(s.bias, pbias), addend(s.residual, pres))));
        }
      }
      return st;
    };
    // rows: whole tiles of MR, then one row at a time
    const rows = (vecs: number): Expr[] => [
      guardedLoop(fn, mi, () => fn.c32(0), floorTo(fn, M, MR), () => tile(MR, vecs), MR),
      guardedLoop(fn, mi, floorTo(fn, M, MR), () => fn.c32(M), () => tile(1, vecs)),
    ];
    const cols = (r: number): Expr[] => [
      guardedLoop(fn, ni, () => fn.c32(0), floorTo(fn, N, W), () => tile(r, NV), W),
      guardedLoop(fn, ni, floorTo(fn, N, W), floorTo(fn, N, LANES), () => tile(r, 1), LANES),
    ];
    // the loop order is chosen by the operand's kind, never by size (a size would give two code shapes): a packed
    // weight keeps one K x W slice hot while the rows of A stream past (columns outside), a run-time B (attention's
    // K^T or V, small) is swept under MR rows of A kept hot (rows outside), as gemm-core does for those shapes
    if (panels) {
      body.push(guardedLoop(fn, ni, () => fn.c32(0), floorTo(fn, N, W), () => rows(NV), W));
      body.push(guardedLoop(fn, ni, floorTo(fn, N, W), floorTo(fn, N, LANES), () => rows(1), LANES));
    } else {
      body.push(guardedLoop(fn, mi, () => fn.c32(0), floorTo(fn, M, MR), () => cols(MR), MR));
      body.push(guardedLoop(fn, mi, floorTo(fn, M, MR), () => fn.c32(M), () => cols(1)));
    }
  }
  // the columns left (all of them when B or C is strided): one dot product each, the same epilogue on a splat
  const accS = fn.f32();
  const bAt = (k: () => Expr, col: () => Expr): Expr => m.i32.add(bCol(col), mul(k(), bRow * 4));
  const scalarAddend = (op: MatOperand | undefined): (() => Expr) | undefined => (op ? () => V.splat(m.f32.load(op.base, 4, at(op, g(mi), g(ni)))) : undefined);
  body.push(guardedLoop(fn, ni, vectorised ? floorTo(fn, N, LANES) : () => fn.c32(0), () => fn.c32(N), () => [
    guardedLoop(fn, mi, () => fn.c32(0), () => fn.c32(M), () => [
      fn.set(accS, fn.cf32(0)),
      guardedLoop(fn, ki, () => fn.c32(0), () => fn.c32(K), () => [
        fn.set(accS, m.f32.add(fn.get(accS), m.f32.mul(m.f32.load(a.base, 4, at(a, g(mi), g(ki))), m.f32.load(b.base, 4, bAt(g(ki), g(ni)))))),
      ]),
      m.f32.store(c.base, 4, at(c, g(mi), g(ni)), V.extract_lane(epilogue(fn, s, V.splat(fn.get(accS)), scalarAddend(s.bias), scalarAddend(s.residual)), 0)),
    ]),
  ]));
  return fn.block(body);
}
