// RNN, GRU and LSTM in float32 on SIMD (constant W, R, B, P): the input projection of every time step, both
// directions, is one GEMM on the core (bias of W and R folded in where the cell allows); each step's recurrent
// product h·Rᵀ (all gates at once) is a matrix-vector product over R packed at compile time in column panels of 16
// (four f32x4 accumulators), and the gate equations run 4 hidden units per f32x4. Internally every gate block is
// padded to Hp = H rounded up to 4 (zero weight columns), so no loop has a scalar tail; outputs copy the H real
// units. Equations as ops/rnn.ts; sequence_lens, directions, layouts, clip, activations as the scalar kernel.

import binaryen from '../binaryen.js';
import { makeTensor, type Tensor } from '../../../ir/tensor.js';
import type { Expr, Fn, Local } from '../fn.js';
import { splatF32 } from '../math.js';
import { actV, type Act } from './rnn-act.js';
import { gemm } from './gemm-core.js';
import { packPanels, panelSize } from './gemm-pack.js';
import type { KernelContext, PlanContext, TensorRef } from './types.js';

export type Cell = 'RNN' | 'GRU' | 'LSTM';
export type { Act } from './rnn-act.js';

export interface RnnGeom {
  cell: Cell; G: number; seq: number; batch: number; K: number; H: number; Hp: number; nd: number; layout: number;
  lbr: boolean; coupled: boolean; clip?: number; reverseOnly: boolean; hasB: boolean; hasP: boolean;
}

/** Columns per GEMV panel: four f32x4 accumulators. Eight measured no faster (R, 48-64 KiB a direction, streams
 *  from L2 at that rate either way); two rows a turn did (GEMV_ROWS). */
const PW = 16;
const GEMV_ROWS = 2;

/** The geometry when the SIMD path takes the node (every tensor float32; W, R, B, P constants; H > 0). */
export function rnnGeometry(ctx: PlanContext, cell: Cell, base: Omit<RnnGeom, 'cell' | 'G' | 'Hp' | 'hasB' | 'hasP'>): RnnGeom | undefined {
  const W = ctx.inputs[1], R = ctx.inputs[2], B = ctx.inputs[3], P = cell === 'LSTM' ? ctx.inputs[7] : undefined;
  const all = [...ctx.inputs.filter((t, i) => t && i !== 4), ...ctx.outputs];
  if (all.some((t) => t && t.dtype !== 'float32')) return undefined;
  if (!W?.constant || !R?.constant || (B && !B.constant) || (P && !P.constant) || base.H === 0) return undefined;
  const G = cell === 'RNN' ? 1 : cell === 'GRU' ? 3 : 4;
  return { ...base, cell, G, Hp: Math.ceil(base.H / 4) * 4, hasB: !!B, hasP: !!P };
}

/** Column ranges [c0, c1) of one direction's padded recurrent matrix that are separate GEMVs: GRU without
 *  linear_before_reset multiplies its third gate by r⊙h, not h. */
const gemvBlocks = (g: RnnGeom): [number, number][] =>
  (g.cell === 'GRU' && !g.lbr ? [[0, 2 * g.Hp], [2 * g.Hp, 3 * g.Hp]] : [[0, g.G * g.Hp]]);

/** B[k, col] packed panel by panel (PW columns, the last one narrower), rows of the panel's width. */
function packGemv(src: (k: number, col: number) => number, K: number, c0: number, c1: number, out: Float32Array, at: number): void {
  let o = at;
  for (let p0 = c0; p0 < c1; p0 += PW) {
    const w = Math.min(PW, c1 - p0);
    for (let k = 0; k < K; k++) for (let j = 0; j < w; j++) out[o++] = src(k, p0 + j);
  }
}

/** Padded column (d, gate, j) of the stacked [nd, G*H, *] tensor: its row, or -1 for a padding column. */
const srcRow = (g: RnnGeom, gate: number, j: number): number => (j < g.H ? gate * g.H + j : -1);

/** Constants: W packed for the GEMM, R packed for the GEMVs, the folded input bias, GRU's Rb of the third gate
 *  (linear_before_reset) and the peepholes, each padded to Hp per gate. */
export function rnnPrepack(ctx: PlanContext, g: RnnGeom): Tensor[] {
  const W = ctx.inputs[1]!.constant!.data as Float32Array, R = ctx.inputs[2]!.constant!.data as Float32Array;
  const B = ctx.inputs[3]?.constant?.data as Float32Array | undefined, P = g.hasP ? ctx.inputs[7]!.constant!.data as Float32Array : undefined;
  const { G, H, Hp, K, nd } = g, NX = nd * G * Hp, gh = G * H;
  const col = (c: number): { d: number; row: number } => {
    const d = Math.floor(c / (G * Hp)), r = c % (G * Hp);
    return { d, row: srcRow(g, Math.floor(r / Hp), r % Hp) };
  };
  // Wᵀ as [K, NX]
  const wt = new Float32Array(K * NX);
  for (let c = 0; c < NX; c++) {
    const { d, row } = col(c);
    if (row >= 0) for (let k = 0; k < K; k++) wt[k * NX + c] = W[(d * gh + row) * K + k]!;
  }
  const out: Tensor[] = [makeTensor('float32', [panelSize(K, NX)], packPanels(wt, K, NX, NX, 1))];
  const rp = new Float32Array(nd * G * Hp * H);
  gemvBlocks(g).forEach(([c0, c1]) => {
    for (let d = 0; d < nd; d++) {
      packGemv((k, c) => { const row = srcRow(g, Math.floor(c / Hp), c % Hp); return row < 0 ? 0 : R[(d * gh + row) * H + k]!; },
        H, c0, c1, rp, d * G * Hp * H + c0 * H);
    }
  });
  out.push(makeTensor('float32', [rp.length], rp));
  if (B) {
    const bias = new Float32Array(NX);
    for (let c = 0; c < NX; c++) {
      const { d, row } = col(c);
      if (row < 0) continue;
      const third = g.cell === 'GRU' && g.lbr && row >= 2 * H;
      bias[c] = B[d * 2 * gh + row]! + (third ? 0 : B[d * 2 * gh + gh + row]!);
    }
    out.push(makeTensor('float32', [NX], bias));
    if (g.cell === 'GRU' && g.lbr) {
      const rb = new Float32Array(nd * Hp);
      for (let d = 0; d < nd; d++) for (let j = 0; j < H; j++) rb[d * Hp + j] = B[d * 2 * gh + gh + 2 * H + j]!;
      out.push(makeTensor('float32', [rb.length], rb));
    }
  }
  if (P) {
    const pp = new Float32Array(nd * 3 * Hp);
    for (let d = 0; d < nd; d++) for (let q = 0; q < 3; q++) for (let j = 0; j < H; j++) pp[(d * 3 + q) * Hp + j] = P[(d * 3 + q) * H + j]!;
    out.push(makeTensor('float32', [pp.length], pp));
  }
  return out;
}

/** Scratch: XW [seq*batch, nd*G*Hp], HR [G*Hp], h, c, tmp [Hp each]. */
export const rnnScratch = (g: RnnGeom): number => 4 * (g.seq * g.batch * g.nd * g.G * g.Hp + g.G * g.Hp + 3 * g.Hp);

/** y[0, N) = x[0, K) · B, B a packed block at static addresses (N a multiple of 4). Each panel keeps up to PW/4
 *  accumulators in registers; k advances GEMV_ROWS rows a turn (half the loop overhead per row). */
function gemv(fn: Fn, K: number, N: number, x: number, w: number, y: number): Expr {
  const m = fn.m, V = m.f32x4;
  const p = fn.i32(), kk = fn.i32(), kb = fn.i32(), pb = fn.i32(), av = fn.v128();
  const acc = Array.from({ length: PW / 4 }, () => fn.v128());
  // pb runs through the panels in order: each is K rows of its width, so it ends where the next begins
  const panel = (vecs: number, yAt: () => Expr): Expr[] => {
    const rows = (n: number): Expr[] => Array.from({ length: n }, (_, u) => [
      fn.set(av, m.v128.load32_splat(x + 4 * u, 4, fn.get(kb))),
      ...acc.slice(0, vecs).map((a, j) => fn.set(a, V.add(fn.get(a), V.mul(fn.get(av), m.v128.load(16 * (u * vecs + j), 4, fn.get(pb)))))),
    ]).flat();
    const U = GEMV_ROWS, turns = Math.floor(K / U);
    return [
      ...acc.slice(0, vecs).map((a) => fn.set(a, V.splat(fn.cf32(0)))),
      fn.set(kb, fn.c32(0)),
      ...(turns ? [fn.loop(kk, 0, turns, () => [
        ...rows(U),
        fn.set(kb, m.i32.add(fn.get(kb), fn.c32(4 * U))),
        fn.set(pb, m.i32.add(fn.get(pb), fn.c32(16 * U * vecs))),
      ])] : []),
      ...(K % U ? [...rows(K % U), fn.set(pb, m.i32.add(fn.get(pb), fn.c32(16 * (K % U) * vecs)))] : []),
      ...acc.slice(0, vecs).map((a, j) => m.v128.store(y + 16 * j, 4, yAt(), fn.get(a))),
    ];
  };
  const full = Math.floor(N / PW), tail = (N % PW) / 4;
  return fn.block([
    fn.set(pb, fn.c32(w)),
    fn.loop(p, 0, full, () => panel(PW / 4, () => m.i32.mul(fn.get(p), fn.c32(PW * 4)))),
    ...(tail ? panel(tail, () => fn.c32(full * PW * 4)) : []),
  ]);
}

export interface RnnIo {
  /** Statements setting `len` to batch entry b's sequence length (checked against [0, seq]). */
  readLen(b: () => Expr, len: Local): Expr[];
}

export function emitRnnGemm(ctx: KernelContext, g: RnnGeom, acts: Act[][], io: RnnIo): Expr {
  const { fn, m } = ctx, V = m.f32x4;
  const { G, H, Hp, K, nd, seq, batch, layout } = g, NX = nd * G * Hp;
  const X = ctx.inputs[0]!, H0 = ctx.inputs[5], C0 = g.cell === 'LSTM' ? ctx.inputs[6] : undefined;
  const [Y, YH, YC] = [ctx.outputs[0], ctx.outputs[1], ctx.outputs[2]];
  let pk = 0;
  const wp = ctx.packed[pk++]!.ptr.base, rp = ctx.packed[pk++]!.ptr.base;
  const bIn = g.hasB ? ctx.packed[pk++]!.ptr.base : undefined;
  const rbN = g.hasB && g.cell === 'GRU' && g.lbr ? ctx.packed[pk++]!.ptr.base : undefined;
  const pp = g.hasP ? ctx.packed[pk++]!.ptr.base : undefined;
  const s0 = ctx.scratch.base, XW = s0, HR = XW + seq * batch * NX * 4, HS = HR + G * Hp * 4, CS = HS + Hp * 4, TMP = CS + Hp * 4;
  const b = fn.i32(), s = fn.i32(), t = fn.i32(), len = fn.i32(), jb = fn.i32(), xw = fn.i32(), row = fn.i32();
  const c32 = (v: number): Expr => fn.c32(v);
  const clip = (v: Expr): Expr => (g.clip === undefined ? v : V.min(splatF32(fn, g.clip), V.max(splatF32(fn, -g.clip), v)));
  const ld = (base: number, dyn?: Local): Expr => m.v128.load(base, 4, dyn ? m.i32.add(fn.get(dyn), fn.get(jb)) : fn.get(jb));
  const st = (base: number, v: Expr): Expr => m.v128.store(base, 4, fn.get(jb), v);
  const xwG = (gate: number): Expr => ld(gate * Hp * 4, xw);
  const hrG = (gate: number): Expr => ld(HR + gate * Hp * 4);
  const overUnits = (body: () => Expr[]): Expr => fn.loop(jb, 0, Hp * 4, body, 16);

  const step = (d: number, act: Act[]): Expr[] => {
    const rd = rp + d * G * Hp * H * 4;
    const block = ([c0, c1]: [number, number], x: number): Expr => gemv(fn, H, c1 - c0, x, rd + c0 * H * 4, HR + c0 * 4);
    const [full, third] = gemvBlocks(g);
    switch (g.cell) {
      case 'RNN': return [block(full!, HS), overUnits(() => [st(HS, actV(fn, act[0]!, clip(V.add(xwG(0), hrG(0)))))])];
      case 'GRU': {
        const z = fn.v128(), r = fn.v128(), n = fn.v128();
        const gate = (q: number): Expr => actV(fn, act[0]!, clip(V.add(xwG(q), hrG(q))));
        const mix = (): Expr => st(HS, V.add(V.mul(V.sub(splatF32(fn, 1), fn.get(z)), fn.get(n)), V.mul(fn.get(z), ld(HS))));
        if (g.lbr) {
          const hn = rbN === undefined ? hrG(2) : V.add(hrG(2), ld(rbN + d * Hp * 4));
          return [block(full!, HS), overUnits(() => [
            fn.set(z, gate(0)), fn.set(r, gate(1)),
            fn.set(n, actV(fn, act[1]!, clip(V.add(xwG(2), V.mul(fn.get(r), hn))))), mix(),
          ])];
        }
        // z overwrites its pre-activation; r⊙h goes to tmp, the input of the third gate's product
        return [
          block(full!, HS),
          overUnits(() => [st(HR, gate(0)), st(TMP, V.mul(gate(1), ld(HS)))]),
          block(third!, TMP),
          overUnits(() => [fn.set(z, ld(HR)), fn.set(n, actV(fn, act[1]!, clip(V.add(xwG(2), hrG(2))))), mix()]),
        ];
      }
      case 'LSTM': {
        const c = fn.v128(), it = fn.v128(), ft = fn.v128();
        // gate order i, o, f, c; peepholes i, o, f
        const peep = (q: number, v: Expr): Expr => (pp === undefined ? v : V.add(v, V.mul(ld(pp + (d * 3 + q) * Hp * 4), fn.get(c))));
        return [block(full!, HS), overUnits(() => [
          fn.set(c, ld(CS)),
          fn.set(it, actV(fn, act[0]!, clip(peep(0, V.add(xwG(0), hrG(0)))))),
          fn.set(ft, g.coupled ? V.sub(splatF32(fn, 1), fn.get(it)) : actV(fn, act[0]!, clip(peep(2, V.add(xwG(2), hrG(2)))))),
          fn.set(c, V.add(V.mul(fn.get(ft), fn.get(c)), V.mul(fn.get(it), actV(fn, act[1]!, clip(V.add(xwG(3), hrG(3))))))),
          st(CS, fn.get(c)),
          st(HS, V.mul(actV(fn, act[0]!, clip(peep(1, V.add(xwG(1), hrG(1))))), actV(fn, act[2]!, fn.get(c)))),
        ])];
      }
    }
  };

  const copy = (dst: TensorRef | undefined, dstElem: () => Expr, src: number): Expr =>
    (dst ? m.memory.copy(m.i32.add(m.i32.shl(dstElem(), c32(2)), c32(dst.ptr.base)), c32(src), c32(H * 4)) : m.nop());
  const lin2 = (a: () => Expr, ka: number, bb: () => Expr, kb: number, k0: number): Expr =>
    m.i32.add(m.i32.add(m.i32.mul(a(), c32(ka)), m.i32.mul(bb(), c32(kb))), c32(k0));
  const gb = (): Expr => fn.get(b), gt = (): Expr => fn.get(t);
  // state [nd, batch, H] (layout 0) or [batch, nd, H]: element of (d, b, 0)
  const stateAt = (d: number): (() => Expr) => () => (layout === 0 ? m.i32.add(m.i32.mul(gb(), c32(H)), c32(d * batch * H)) : m.i32.add(m.i32.mul(gb(), c32(nd * H)), c32(d * H)));
  const perDirection = (d: number): Expr => {
    const reverse = g.reverseOnly || d === 1;
    // Y [seq, nd, batch, H] or [batch, seq, nd, H]: element of (t, d, b, 0)
    const yAt = (): Expr => (layout === 0 ? lin2(gt, nd * batch * H, gb, H, d * batch * H) : lin2(gb, seq * nd * H, gt, nd * H, d * H));
    return fn.loop(b, 0, batch, () => [
      ...io.readLen(gb, len),
      m.memory.fill(c32(HS), c32(0), c32(2 * Hp * 4)),
      H0 ? copy2(H0, stateAt(d), HS) : m.nop(),
      C0 ? copy2(C0, stateAt(d), CS) : m.nop(),
      fn.loopDyn(s, c32(0), len, (sv) => [
        fn.set(t, reverse ? m.i32.sub(m.i32.sub(fn.get(len), c32(1)), sv()) : sv()),
        // the projected row of (t, b): X is [seq, batch, K] or [batch, seq, K]
        fn.set(row, layout === 0 ? m.i32.add(m.i32.mul(gt(), c32(batch)), gb()) : m.i32.add(m.i32.mul(gb(), c32(seq)), gt())),
        fn.set(xw, m.i32.add(m.i32.mul(fn.get(row), c32(NX * 4)), c32(XW + d * G * Hp * 4))),
        ...step(d, acts[d]!),
        copy(Y, yAt, HS),
      ]),
      copy(YH, stateAt(d), HS),
      copy(YC, stateAt(d), CS),
    ]);
  };
  /** H floats of a state input at element `at` into scratch. */
  function copy2(src: TensorRef, at: () => Expr, dst: number): Expr {
    return m.memory.copy(c32(dst), m.i32.add(m.i32.shl(at(), c32(2)), c32(src.ptr.base)), c32(H * 4));
  }
  const project = gemm(fn, {
    M: seq * batch, N: NX, K,
    a: { base: X.ptr.base, rs: K, cs: 1 },
    b: { base: wp, rs: NX, cs: 1, panels: true },
    c: { base: XW, rs: NX, cs: 1 },
    ...(bIn !== undefined ? { bias: { base: bIn, rs: 0, cs: 1 } } : {}),
  });
  const zeroY = Y && Y.size ? m.memory.fill(c32(Y.ptr.base), c32(0), c32(Y.size * 4)) : m.nop();
  return fn.block([zeroY, project, ...Array.from({ length: nd }, (_, d) => perDirection(d))]);
}
