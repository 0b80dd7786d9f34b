// The one matrix-multiply core shared by MatMul, Gemm, Conv and the fused ops: C = act(alpha*A*B + beta*bias + Z),
// float32. When B's and C's rows are contiguous it runs a register-blocked micro-kernel (mr rows x nv f32x4
// columns of accumulators, every offset static; the tile plan per shape is in gemm-plan.ts) with the epilogue
// applied in registers before the store; other strides take a plain loop nest with the same epilogue.

import type { Expr, Fn, Local } from '../fn.js';
import { LANES } from '../simd.js';
import { splatF32 } from '../math.js';
import { isRelaxed, madd } from '../relaxed.js';
import { NR, PEEL_MAX_K, tilePlan, type TilePlan } from './gemm-plan.js';
import { genericDims } from '../dims-mode.js';
import { gemmDyn } from './gemm-dyn.js';

export { NR, type TilePlan } from './gemm-plan.js';

/** A float32 matrix operand: static base, optional dynamic byte offset (a local), element strides. */
export interface MatOperand {
  readonly base: number;
  readonly dyn?: Local;
  /** Elements between rows and between columns (0 for a broadcast axis). */
  readonly rs: number;
  readonly cs: number;
  /** B only: packed in zero-padded column panels of NR (gemm-pack.ts); rs/cs are then unused. Needs c.cs == 1. */
  readonly panels?: boolean;
}

/** An f32x4 formula applied to the result before it is stored (an activation); it may read its argument once.
 *  `heavy`: a long formula (GELU), which blocked() applies in a pass over C after the products. */
export interface VecEpilogue {
  (fn: Fn, v: Expr): Expr;
  readonly heavy?: boolean;
}

export interface GemmSpec {
  readonly M: number; readonly N: number; readonly K: number;
  readonly a: MatOperand; readonly b: MatOperand; readonly c: MatOperand;
  readonly alpha?: number;
  /** Added after scaling: c += beta * bias[m, n] (Gemm's C, Conv's per-channel bias as rs=1, cs=0). */
  readonly bias?: MatOperand;
  readonly beta?: number;
  /** Added after the bias (a fused residual input). */
  readonly residual?: MatOperand;
  /** Applied last (a fused activation). */
  readonly act?: VecEpilogue;
  /** The register tile (default: tilePlan's choice for the shape); the GEMM microbenchmark sweeps it. */
  readonly plan?: TilePlan;
}

export function gemm(fn: Fn, s: GemmSpec): Expr {
  // a dynamic-dims sample: the generic form, every size split at run time (gemm-dyn.ts)
  if (genericDims()) return gemmDyn(fn, s);
  if (s.M === 0 || s.N === 0) return fn.m.nop();
  const addendOk = (o?: MatOperand): boolean => o === undefined || o.cs === 0 || o.cs === 1;
  if (s.b.panels) {
    // the packing kernels check these before packing; a mismatch is a bug in the kernel, not in the model
    if (s.c.cs !== 1 || !addendOk(s.bias) || !addendOk(s.residual)) throw new Error('gemm: panel-packed B needs contiguous C rows');
    return blocked(fn, s);
  }
  // (under 4 columns only as dot columns: the serial core's last N % 4 columns, which a threaded split may hand over
  // as a chunk of their own, must see the same instructions)
  if (s.b.cs === 1 && s.c.cs === 1 && addendOk(s.bias) && addendOk(s.residual) && (s.N >= LANES || dotTail(s.N, false, s.a.cs) === s.N)) return blocked(fn, s);
  return plain(fn, s, 0, s.N);
}

/** Byte-address helper: dyn local (if any) + an i32 expression, static base kept for the instruction's offset. */
function dynPlus(fn: Fn, op: MatOperand, e: Expr | undefined): Expr {
  const m = fn.m;
  if (op.dyn && e) return m.i32.add(fn.get(op.dyn), e);
  if (op.dyn) return fn.get(op.dyn);
  return e ?? fn.c32(0);
}

/** i32 expression `x * k` with the trivial cases folded. */
function mulC(fn: Fn, x: () => Expr, k: number): Expr | undefined {
  if (k === 0) return undefined;
  return k === 1 ? x() : fn.m.i32.mul(x(), fn.c32(k));
}
function add2(fn: Fn, a: Expr | undefined, b: Expr | undefined): Expr | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return fn.m.i32.add(a, b);
}
/** Byte offset (i32) of element (r, c) of `op`, without its base: (r*rs + c*cs) * 4. */
function byteOff(fn: Fn, op: MatOperand, r: () => Expr, c: () => Expr): Expr | undefined {
  return add2(fn, mulC(fn, r, op.rs * 4), mulC(fn, c, op.cs * 4));
}

/** The epilogue on a vector value at (row, col..col+3): alpha, bias, residual, activation. */
function epilogueV(fn: Fn, s: GemmSpec, v: Expr, bias?: () => Expr, res?: () => Expr, noAct = false): Expr {
  const V = fn.m.f32x4, alpha = s.alpha ?? 1, beta = s.beta ?? 1;
  let r = alpha === 1 ? v : V.mul(v, splatF32(fn, alpha));
  if (bias) r = V.add(r, beta === 1 ? bias() : V.mul(bias(), splatF32(fn, beta)));
  if (res) r = V.add(r, res());
  return s.act && !noAct ? s.act(fn, r) : r;
}

function blocked(fn: Fn, s: GemmSpec): Expr {
  const m = fn.m, V = m.f32x4;
  const { M, N, K, a, b, c } = s;
  const panels = b.panels === true;
  // the last N % 4 columns of an unpacked B, or 1-2 of a packed one (a vector tile would hold 1-2 valid lanes of 4):
  // dot products along K (dotColumns), every lane useful; the register tiles cover the columns before them
  const dotCols = dotTail(N, panels, a.cs);
  const Nm = N - dotCols;
  const { mr, nv, ku } = s.plan ?? tilePlan(M, Nm, K, isRelaxed(fn), panels);
  const W = nv * LANES;
  // a tile is one vector of a panel, or whole panels side by side (each K*NR floats after the previous)
  // (a tile wider than N runs once, from column 0: a panel boundary)
  if (panels && W !== LANES && W % NR !== 0 && Nm > W) throw new Error(`gemm: a ${nv}-vector tile does not cover whole ${NR}-column panels`);
  const perPanel = NR / LANES;
  /** Byte offset of B vector j at K step u from pb. */
  const bOff = (u: number, j: number): number => (panels
    ? Math.floor(j / perPanel) * K * NR * 4 + (j % perPanel) * LANES * 4 + u * NR * 4
    : 4 * (u * b.rs + j * LANES));
  // the last M % mr rows: a tile as wide as tilePlan gives that many rows, when whole main tiles fill it (a one-row
  // tile of 2 vectors is 2 add chains, bound by the add's latency; 1x24 has six): mobilenet_v2's 49x1280x320 spent
  // ~6% of its time in its 49th row's 1x8 tiles
  const tailM = M % mr;
  const tnv = ((): number => {
    if (!tailM || s.plan) return nv;
    const t = tilePlan(tailM, Nm, K, isRelaxed(fn), panels).nv;
    return t > nv && t % nv === 0 && (!panels || (t * LANES) % NR === 0) ? t : nv;
  })();
  const mi = fn.i32(), ni = fn.i32(), ki = fn.i32(), nc = fn.i32(), nj = fn.i32(), kend = fn.i32();
  // wide B, or a B past L1 (attention's K^T and V, ViT's MLP down-projection): keep one K x W panel of B hot and
  // stream A's rows past it, instead of every row band sweeping all of B from L2 (see WIDE_B_BYTES)
  const wideOrder = Nm > M || K * Nm * 4 > WIDE_B_BYTES;
  // the wide order's epilogue (bias, residual, activation; not alpha) in a pass over C after the products (epiPass),
  // when it has an addend or a heavy activation (VecEpilogue.heavy: GELU) and C is whole vectors: the tiles store
  // their sums and nothing else. The same K loop came out of V8 with and without a bias, yet a bias added in the tiles
  // cost 7% at 64x768x256 wherever the bias lay (51.3 -> 47.7 GFLOP/s). Tiles -> pass, modules built as bench/gemm.ts
  // does with gpt2_tiny's epilogues, best of 2 passes, load 8.4-8.7, hot B / B cold (each call the next of 24
  // copies): 64x768x256 + bias 47.4-48.1 -> 50.4 / 43.2-44.3 -> 45.3-46.4; 64x1024x256 + bias, GeluTanh 43.2-43.3
  // -> 46.2-46.3 / 40.3 -> 42.0-42.7; 64x256x1024 + bias, residual 47.4-47.6 -> 50.8-50.9 / 45.3-45.7 -> 48.0-48.3;
  // 64x256x256 + bias, residual 47.7-47.8 -> 50.7-50.9 / 45.5-45.7 -> 47.7-49.9. (A GELU alone had moved to a pass
  // before: in the tiles V8 interleaved a formula per accumulator and spilled; 64x1024x256 GeluTanh 43.9 -> 46.2,
  // Gelu 39.3 -> 41.8, ViT's 197x768x192 Gelu 37.0 -> 39.6. Not taken for SiLU, Sigmoid, Tanh alone, +1-2% at K
  // 192-256 and -3..-6% at 196x384x64, nor for a tall A: 3136x144x24 SiLU 21.4 -> 18.2, GeluTanh 26.5 -> 24.9.)
  // In the tall order, an activation over 32 columns or more: the same pass over each band of mr rows after its tiles
  // (the band's C still in L1; TALL_EPI_MIN_N).
  const epiAfter = dotCols === 0 && Nm % LANES === 0 && s.residual?.base !== c.base && (wideOrder
    ? s.act?.heavy === true || s.bias !== undefined || s.residual !== undefined
    : s.act !== undefined && Nm >= TALL_EPI_MIN_N);
  const pa = fn.i32(), pb = fn.i32(), pc = fn.i32(), pbias = fn.i32(), pres = fn.i32();
  const acc = Array.from({ length: mr }, () => Array.from({ length: Math.max(nv, tnv) }, () => fn.v128()));
  const bv = Array.from({ length: Math.max(nv, tnv) }, () => fn.v128()), av = fn.v128(), out = fn.v128();
  const gi = (l: Local) => (): Expr => fn.get(l);
  const bRow = panels ? NR : b.rs;

  /** One micro-tile of `rows` x `vecs` vectors at (mi, ni), both already set; the last vector holds `lastLanes`
   *  valid columns (fewer than 4 only in a panel-packed B's zero-padded tail); `w`: the column step ni moves by. */
  const tile = (rows: number, vecs: number, lastLanes = LANES, w = W): Expr[] => {
    const st: Expr[] = [];
    // pointers: A at row mi, B at column ni, C/bias/residual at (mi, ni)
    st.push(fn.set(pa, dynPlus(fn, a, mulC(fn, gi(mi), a.rs * 4))));
    // panels: column ni starts panel ni/NR (K*NR floats each), at ni % NR within it
    const bCol = panels
      ? (w % NR === 0 ? mulC(fn, gi(ni), 4 * K) : m.i32.add(m.i32.mul(m.i32.shr_u(fn.get(ni), fn.c32(Math.log2(NR))), fn.c32(4 * K * NR)), m.i32.shl(m.i32.and(fn.get(ni), fn.c32(NR - 1)), fn.c32(2))))
      : mulC(fn, gi(ni), 4);
    st.push(fn.set(pb, dynPlus(fn, b, bCol)));
    st.push(fn.set(pc, dynPlus(fn, c, byteOff(fn, c, gi(mi), gi(ni)))));
    if (s.bias && !epiAfter) st.push(fn.set(pbias, dynPlus(fn, s.bias, byteOff(fn, s.bias, gi(mi), gi(ni)))));
    if (s.residual && !epiAfter) st.push(fn.set(pres, dynPlus(fn, s.residual, byteOff(fn, s.residual, gi(mi), gi(ni)))));
    // one row of a static A (M = 1): the loop counter is A's byte offset, one pointer less to step
    const aByK = M === 1 && !a.dyn;
    // a one-row tile multiplies then adds even in a relaxed module: a fused madd's 4-cycle latency on each of
    // the 1x24 tile's six chains bounded it, where only the add's is on the chain here. (By tile, not by M: a
    // threaded row split's last chunk of one row must give the serial tail row's bits.)
    // `first`: the tile's first K step starts the accumulators with its products (acc = a*b: 0 + a*b and
    // fma(a, b, 0) but for a zero product's sign, -0 where zeroed accumulators gave +0), no zeroing and no add
    const mac = (x: Expr, y: Expr, acc: Expr, first: boolean): Expr => {
      if (first) return V.mul(x, y);
      return rows === 1 ? V.add(acc, V.mul(x, y)) : madd(fn, x, y, acc);
    };
    // one K step at static offset u (elements along K from the pointers): the B vectors once, then per row one
    // A splat and a multiply-accumulate into each of the row's accumulators
    const step = (u: number, aPtr: () => Expr = () => fn.get(pa), aU = u, first = false): Expr[] => {
      const e: Expr[] = [];
      for (let j = 0; j < vecs; j++) e.push(fn.set(bv[j]!, m.v128.load(b.base + bOff(u, j), 4, fn.get(pb))));
      for (let r = 0; r < rows; r++) {
        e.push(fn.set(av, m.v128.load32_splat(a.base + 4 * (r * a.rs + aU * a.cs), 4, aPtr())));
        for (let j = 0; j < vecs; j++) e.push(fn.set(acc[r]![j]!, mac(fn.get(av), fn.get(bv[j]!), fn.get(acc[r]![j]!), first)));
      }
      return e;
    };
    // a short K (PEEL_MAX_K) peels its first step, then steps the pointers past it (a static A: the loop's counter
    // starts one step on); K = 0 or a longer K zeroes the accumulators
    const peeled = K > 0 && K <= PEEL_MAX_K ? 1 : 0;
    if (peeled) {
      st.push(...step(0, aByK ? () => fn.c32(0) : undefined, 0, true));
      if (K > 1 && !aByK) st.push(fn.set(pa, m.i32.add(fn.get(pa), fn.c32(4 * a.cs))));
      if (K > 1) st.push(fn.set(pb, m.i32.add(fn.get(pb), fn.c32(4 * bRow))));
    } else {
      for (let r = 0; r < rows; r++) for (let j = 0; j < vecs; j++) st.push(fn.set(acc[r]![j]!, V.splat(fn.cf32(0))));
    }
    const kRest = K - peeled, kFull = kRest - (kRest % ku);
    if (kFull > 0 && aByK) {
      st.push(fn.loop(ki, 4 * peeled * a.cs, 4 * (peeled + kFull) * a.cs, () => [
        ...Array.from({ length: ku }, (_, u) => step(u, () => fn.get(ki))).flat(),
        fn.set(pb, m.i32.add(fn.get(pb), fn.c32(4 * ku * bRow))),
      ], 4 * ku * a.cs));
    } else if (kFull > ku && a.cs > 0) {
      // A's pointer is the loop's counter, run to its end: no trip count to step. V8 issues every instruction of a
      // K step through a 6-wide front end (the multiplies and adds, the B loads, the A splats, the pointer steps),
      // so one add less is ~4% (64x768x256 hot 46.6 -> 48.5 GFLOP/s, cold B 42.2 -> 43.8; gemm-plan.ts)
      const label = `K${fn.label()}`;
      st.push(fn.set(kend, m.i32.add(fn.get(pa), fn.c32(4 * kFull * a.cs))), m.loop(label, fn.block([
        ...Array.from({ length: ku }, (_, u) => step(u)).flat(),
        fn.set(pa, m.i32.add(fn.get(pa), fn.c32(4 * ku * a.cs))),
        fn.set(pb, m.i32.add(fn.get(pb), fn.c32(4 * ku * bRow))),
        m.br_if(label, m.i32.lt_u(fn.get(pa), fn.get(kend))),
      ])));
    } else if (kFull > 0) {
      st.push(fn.loop(ki, 0, kFull, () => [
        ...Array.from({ length: ku }, (_, u) => step(u)).flat(),
        fn.set(pa, m.i32.add(fn.get(pa), fn.c32(4 * ku * a.cs))),
        fn.set(pb, m.i32.add(fn.get(pb), fn.c32(4 * ku * bRow))),
      ], ku));
    }
    // (a static A past the loop: its offset from 0, B's from where the loop left pb)
    for (let u = 0; u < kRest % ku; u++) st.push(...(aByK ? step(u, () => fn.c32(0), peeled + kFull + u) : step(u)));
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < vecs; j++) {
        const lanes = j === vecs - 1 ? lastLanes : LANES;
        const addend = (op: MatOperand | undefined, p: Local): (() => Expr) | undefined => {
          if (!op) return undefined;
          const off = op.base + 4 * (r * op.rs + j * LANES * op.cs);
          if (op.cs === 0) return () => V.splat(m.f32.load(off, 4, fn.get(p)));
          if (lanes === LANES) return () => m.v128.load(off, 4, fn.get(p));
          // a partial vector reads only its valid lanes (the next bytes may be past the end of memory)
          return () => {
            let v = V.splat(fn.cf32(0));
            for (let l = 0; l < lanes; l++) v = V.replace_lane(v, l, m.f32.load(off + 4 * l, 4, fn.get(p)));
            return v;
          };
        };
        const v = epiAfter ? epilogueV(fn, s, fn.get(acc[r]![j]!), undefined, undefined, true) : epilogueV(fn, s, fn.get(acc[r]![j]!), addend(s.bias, pbias), addend(s.residual, pres));
        const cOff = c.base + 4 * (r * c.rs + j * LANES);
        if (lanes === LANES) st.push(m.v128.store(cOff, 4, fn.get(pc), v));
        else {
          st.push(fn.set(out, v));
          for (let l = 0; l < lanes; l++) st.push(m.f32.store(cOff + 4 * l, 4, fn.get(pc), V.extract_lane(fn.get(out), l)));
        }
      }
    }
    return st;
  };

  // columns: full tiles of w, then one narrower tile; a panel-packed B also covers N % 4 (its padding is zero),
  // an unpacked one leaves the last N % 4 columns to the plain loop
  const colsOf = (w: number): { nW: number; tailCols: number; tailVecs: number; tailLanes: number } => {
    const nW = Nm - (Nm % w), tailCols = panels ? Nm - nW : (Nm - nW) - ((Nm - nW) % LANES);
    return { nW, tailCols, tailVecs: Math.ceil(tailCols / LANES), tailLanes: tailCols % LANES || LANES };
  };
  const { nW, tailCols, tailVecs, tailLanes } = colsOf(W);
  const mFull = M - tailM;
  const rowsOf = (vecs: number, lanes: number): Expr[] => [
    fn.loop(mi, 0, mFull, () => tile(mr, vecs, lanes), mr),
    ...(tailM ? [fn.set(mi, fn.c32(mFull)), ...tile(tailM, vecs, lanes)] : []),
  ];
  /** Every column for `rows` rows from mi, in tiles of `vecs` vectors. */
  const columnsOf = (rows: number, vecs: number): Expr[] => {
    const w = vecs * LANES, t = colsOf(w);
    return [
      fn.loop(ni, 0, t.nW, () => tile(rows, vecs, LANES, w), w),
      ...(t.tailVecs ? [fn.set(ni, fn.c32(t.nW)), ...tile(rows, t.tailVecs, t.tailLanes, w)] : []),
    ];
  };
  const body: Expr[] = [];
  if (Nm === 0) { /* every column is a dot column */ } else if (wideOrder) {
    // wide B (a classifier, a transformer projection): keep one K x W panel of B hot and stream the rows of A past it
    // (with wider tail-row tiles: chunks of their width, the tail rows' tile after the main rows while it is hot)
    const Wt = tnv * LANES, nT = tnv === nv ? 0 : Nm - (Nm % Wt);
    if (nT > 0) {
      body.push(fn.loop(nc, 0, nT, () => [
        fn.loop(nj, 0, Wt, () => [fn.set(ni, m.i32.add(fn.get(nc), fn.get(nj))), fn.loop(mi, 0, mFull, () => tile(mr, nv), mr)], W),
        fn.set(ni, fn.get(nc)), fn.set(mi, fn.c32(mFull)), ...tile(tailM, tnv, LANES, Wt),
      ], Wt));
    }
    body.push(fn.loop(ni, nT, nW, () => rowsOf(nv, LANES), W));
    if (tailVecs) body.push(fn.set(ni, fn.c32(nW)), ...rowsOf(tailVecs, tailLanes));
  } else {
    // tall A (pixels x channels): keep mr rows of A hot and sweep B, which is small
    body.push(fn.loop(mi, 0, mFull, () => [...columnsOf(mr, nv), ...(epiAfter ? [epiPass(fn, s, Nm, { first: mi, count: mr })] : [])], mr));
    if (tailM) body.push(fn.set(mi, fn.c32(mFull)), ...columnsOf(tailM, tnv), ...(epiAfter ? [epiPass(fn, s, Nm, { first: mi, count: tailM })] : []));
  }
  const covered = nW + tailCols;
  // (whole vectors of N leave no columns to the plain loop, which would apply the activation itself)
  if (covered < Nm) body.push(plain(fn, s, covered, Nm));
  if (epiAfter && wideOrder) body.push(epiPass(fn, s, Nm));
  // dot columns two at a time (4 rows x 2 columns: 8 accumulators, 2 B vectors, the A vector)
  for (let n0 = Nm; n0 < N; n0 += 2) body.push(dotColumns(fn, s, n0, Math.min(2, N - n0)));
  return fn.block(body);
}

/** B bytes (K x N floats) past which the core takes the wide order for any M: A's rows streamed past one K x W
 *  panel of B held in L1 (32 KiB here), rather than each row band sweeping a B that L1 cannot hold. In-process A/B,
 *  strict, best of 3-4 passes (load 13), tall -> wide order, GFLOP/s: ViT attention (197 keys, B unpacked) Q K^T
 *  197x197x64 40.1 -> 47.5, P V 197x64x197 36.8 -> 46.5; im2col 84x64x576 49.0 -> 51.3; ViT MLP down 197x192x768
 *  48.3 -> 50.3 (B cold: 48.2 -> 49.1), 197x192x192 50.7 -> 51.3; 196x64x384 51.1 both; B under it stays tall
 *  (3136x144x24 49.5 / 49.6 either way). */
const WIDE_B_BYTES = 32 * 1024;

/** Columns from which the tall order applies an activation epilogue (with the bias and residual) in a pass over each
 *  band of rows after its tiles instead of in them. Strict SIMD's f32x4.max/min (Relu, Clip) are 8-9 instructions
 *  each in V8, and in the tiles they interleave with the next tile's K loop. Zen 4, modules as bench/gemm.ts builds
 *  them with a bias and the activation, best of 2 passes, two runs interleaved (load 7-10), tiles -> band pass,
 *  GFLOP/s: 3136x144x24 Relu 37.2 -> 40.1-40.2, GeluTanh 19.4-19.5 -> 23.9, SiLU 16.8 -> 17.9, Clip(0, 6) 30.7 ->
 *  33.8-34.2; 12544x64x25 Relu 37.0-37.1 -> 39.9-40.0, GeluTanh 20.0 -> 23.8-23.9; 784x32x144 Relu 45.9 -> 49.2;
 *  1024x36x20 Relu 32.0 -> 35.1, GeluTanh 16.5 -> 19.6-19.7. Not taken: 16 columns (12544x16x32 Relu 39.0-39.3 ->
 *  39.2, GeluTanh 23.3-23.4 -> 22.9-23.0), 24 (3136x24x144 Relu 42.3 -> 41.8-42.2), nor a bias or residual alone
 *  (3136x144x24 bias 46.2-46.4 -> 45.3-45.6, + residual 44.2-44.5 -> 43.5-43.7). mobilenet_v2 (onnxc bench --profile,
 *  two interleaved rounds, load 6): its expand convs (bias, Clip 0..6) 1.460 -> 1.337 ms at 112x112, 0.703 -> 0.637 at
 *  56x56, 0.284 -> 0.265 at 28x28; the sum of kernels 17.01 -> 16.62 ms. */
const TALL_EPI_MIN_N = 32;

/** C[m, 0..n) = act(C[m, 0..n) + beta*bias + residual) for every row, or `rows.count` rows from row `rows.first` (a
 *  tall order's band), alpha applied by the tiles, n a multiple of
 *  4, C's rows contiguous: one vector a trip, the loop run to the row's end pointer (the formula's constants stay in
 *  registers across it). The tiles stored the f32 their epilogue would have added to, and the pass adds and applies
 *  in the same order, so the bits are the same. Needs C apart from the residual (a residual read after C's store). */
function epiPass(fn: Fn, s: GemmSpec, n: number, rows?: { readonly first: Local; readonly count: number }): Expr {
  const m = fn.m, V = m.f32x4, c = s.c;
  const ri = fn.i32(), row = (): Expr => (rows ? m.i32.add(fn.get(rows.first), fn.get(ri)) : fn.get(ri));
  const p = fn.i32(), end = fn.i32(), pbias = fn.i32(), pres = fn.i32(), label = `E${fn.label()}`;
  const ld = (op: MatOperand, pl: Local) => (): Expr => (op.cs === 0 ? V.splat(m.f32.load(op.base, 4, fn.get(pl))) : m.v128.load(op.base, 4, fn.get(pl)));
  const step = (op: MatOperand | undefined, pl: Local): Expr[] => (op && op.cs !== 0 ? [fn.set(pl, m.i32.add(fn.get(pl), fn.c32(4 * LANES)))] : []);
  const noAlpha = { ...s, alpha: 1 };
  return fn.loop(ri, 0, rows ? rows.count : s.M, () => [
    fn.set(p, dynPlus(fn, c, mulC(fn, row, 4 * c.rs))),
    ...(s.bias ? [fn.set(pbias, dynPlus(fn, s.bias, mulC(fn, row, 4 * s.bias.rs)))] : []),
    ...(s.residual ? [fn.set(pres, dynPlus(fn, s.residual, mulC(fn, row, 4 * s.residual.rs)))] : []),
    fn.set(end, m.i32.add(fn.get(p), fn.c32(4 * n))),
    m.loop(label, fn.block([
      m.v128.store(c.base, 4, fn.get(p), epilogueV(fn, noAlpha, m.v128.load(c.base, 4, fn.get(p)), s.bias ? ld(s.bias, pbias) : undefined, s.residual ? ld(s.residual, pres) : undefined)),
      fn.set(p, m.i32.add(fn.get(p), fn.c32(4 * LANES))),
      ...step(s.bias, pbias), ...step(s.residual, pres),
      m.br_if(label, m.i32.lt_u(fn.get(p), fn.get(end))),
    ])),
  ]);
}

/** How many of the last columns of C = A B the core computes as dot products along K: N % 4 of an unpacked B
 *  (else a scalar loop), 1 or 2 of a panel-packed one (else a vector tile with one or two valid lanes of four; at 3
 *  the vector wins). A function of N % 4 alone, so a threaded split into chunks of whole panels or 1x24 tiles
 *  (parallel.ts) gives every column the same instructions as the serial core. Needs A's rows contiguous. */
export function dotTail(N: number, panels: boolean, aCs: number): number {
  const t = N % LANES;
  if (aCs !== 1) return 0;
  return panels ? (t === 1 || t === 2 ? t : 0) : t;
}

/** Columns n0..n0+cols-1 (1 or 2, within one f32x4 of B's row) as dot products along K: rows in eights or fours, per row
 *  and column an f32x4 of partial sums over K = 4q+i (A's row loaded as vectors, B's column gathered four K rows
 *  at a time), then the four rows' sums transposed into one vector, the epilogue on it, and lane-by-lane stores. */
function dotColumns(fn: Fn, s: GemmSpec, n0: number, cols: number): Expr {
  const m = fn.m, V = m.f32x4;
  const { M, K, a, b, c } = s;
  // rows a block: 8 for one column (8 accumulators share each gathered B vector), 4 for two
  const DR = cols === 1 ? 8 : 4, K4 = K - (K % LANES), q = K % LANES;
  const panels = b.panels === true;
  const bRowB = 4 * (panels ? NR : b.rs);
  // byte offset of B[0, n0] from the operand's base (n0 % 4 == 0 when cols == 2, so both share a panel row)
  const bCol0 = panels ? Math.floor(n0 / NR) * K * NR * 4 + (n0 % NR) * 4 : 4 * n0;
  const mi = fn.i32(), ki = fn.i32(), pa = fn.i32(), pb = fn.i32(), pc = fn.i32(), pbias = fn.i32(), pres = fn.i32();
  const acc = Array.from({ length: DR }, () => Array.from({ length: cols }, () => fn.v128()));
  const bv = Array.from({ length: cols }, () => fn.v128()), av = fn.v128(), out = fn.v128();
  const sh = (x: Expr, y: Expr, lanes: number[]): Expr => m.i8x16.shuffle(x, y, lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  /** `n` floats at byte offsets off(0..n-1) from local p into lanes 0..n-1 of a vector, the rest zero. */
  const gather = (n: number, p: Local, off: (l: number) => number): Expr => {
    let v = m.v128.load32_zero(off(0), 4, fn.get(p));
    for (let l = 1; l < n; l++) v = m.v128.load32_lane(off(l), 4, l, fn.get(p), v);
    return v;
  };
  const block = (rows: number): Expr[] => {
    const st: Expr[] = [
      fn.set(pa, dynPlus(fn, a, mulC(fn, () => fn.get(mi), a.rs * 4))),
      fn.set(pb, dynPlus(fn, b, undefined)),
      fn.set(pc, dynPlus(fn, c, mulC(fn, () => fn.get(mi), c.rs * 4))),
    ];
    if (s.bias) st.push(fn.set(pbias, dynPlus(fn, s.bias, mulC(fn, () => fn.get(mi), s.bias.rs * 4))));
    if (s.residual) st.push(fn.set(pres, dynPlus(fn, s.residual, mulC(fn, () => fn.get(mi), s.residual.rs * 4))));
    // a short K (PEEL_MAX_K, as the tiles) starts the accumulators with the first step's products (a zero product's
    // sign aside, the same sums), else zeroes them: 64x2x32 23.6 -> 25.1-25.2 GFLOP/s, 500x6x16 29.5-29.6 -> 30.6-30.7,
    // 1000x10x24 39.2-39.3 -> 40.2, 28x9x32 42.6-42.7 -> 42.8-43.0 (bench/gemm.ts modules, two interleaved runs, load 9)
    const peel = K > 0 && K <= PEEL_MAX_K;
    if (!peel) for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) st.push(fn.set(acc[r]![j]!, V.splat(fn.cf32(0))));
    // `lanes` K steps from the pointers: B's columns gathered, then each row's A vector into its accumulators
    // (`first`: their products start the accumulators)
    const step = (lanes: number, first = false): Expr[] => {
      const e: Expr[] = [];
      for (let j = 0; j < cols; j++) e.push(fn.set(bv[j]!, gather(lanes, pb, (l) => b.base + bCol0 + 4 * j + l * bRowB)));
      for (let r = 0; r < rows; r++) {
        const aOff = a.base + 4 * r * a.rs;
        e.push(fn.set(av, lanes === LANES ? m.v128.load(aOff, 4, fn.get(pa)) : gather(lanes, pa, (l) => aOff + 4 * l)));
        for (let j = 0; j < cols; j++) e.push(fn.set(acc[r]![j]!, first ? V.mul(fn.get(av), fn.get(bv[j]!)) : madd(fn, fn.get(av), fn.get(bv[j]!), fn.get(acc[r]![j]!))));
      }
      return e;
    };
    const advance = (): Expr[] => [
      fn.set(pa, m.i32.add(fn.get(pa), fn.c32(4 * LANES))),
      fn.set(pb, m.i32.add(fn.get(pb), fn.c32(LANES * bRowB))),
    ];
    if (K4 > 0 && peel) st.push(...step(LANES, true), ...(K4 > LANES || q ? advance() : []));
    if (K4 > (peel ? LANES : 0)) st.push(fn.loop(ki, peel ? LANES : 0, K4, () => [...step(LANES), ...advance()], LANES));
    if (q) st.push(...step(q, peel && K4 === 0));
    // rows r0..r0+3 (those under `rows`) of column j: partial-sum vectors x0..x3 -> [sum x0, sum x1, sum x2, sum x3]
    for (let j = 0; j < cols; j++) for (let r0 = 0; r0 < rows; r0 += 4) {
      const n = Math.min(4, rows - r0);
      const x = (r: number): Expr => (r < n ? fn.get(acc[r0 + r]![j]!) : V.splat(fn.cf32(0)));
      const half = (r: number): Expr => V.add(sh(x(r), x(r + 1), [0, 4, 1, 5]), sh(x(r), x(r + 1), [2, 6, 3, 7]));
      const h01 = acc[r0]![j]!, h23 = n > 2 ? acc[r0 + 2]![j]! : undefined;
      st.push(fn.set(h01, half(0)));
      if (h23) st.push(fn.set(h23, half(2)));
      const hi = (): Expr => (h23 ? fn.get(h23) : V.splat(fn.cf32(0)));
      const sums = V.add(sh(fn.get(h01), hi(), [0, 1, 4, 5]), sh(fn.get(h01), hi(), [2, 3, 6, 7]));
      // bias / residual at (mi + r0 + r, n0 + j): a splat when constant down the column, else gathered by row
      const addend = (op: MatOperand | undefined, p: Local): (() => Expr) | undefined => {
        if (!op) return undefined;
        const off0 = op.base + 4 * ((n0 + j) * op.cs + r0 * op.rs);
        if (op.rs === 0) return () => V.splat(m.f32.load(off0, 4, fn.get(p)));
        return () => gather(n, p, (r) => off0 + 4 * r * op.rs);
      };
      st.push(fn.set(out, epilogueV(fn, s, sums, addend(s.bias, pbias), addend(s.residual, pres))));
      for (let r = 0; r < n; r++) st.push(m.f32.store(c.base + 4 * ((r0 + r) * c.rs + n0 + j), 4, fn.get(pc), V.extract_lane(fn.get(out), r)));
    }
    return st;
  };
  const mFull = M - (M % DR);
  return fn.block([
    ...(mFull > 0 ? [fn.loop(mi, 0, mFull, () => block(DR), DR)] : []),
    ...(M % DR ? [fn.set(mi, fn.c32(mFull)), ...block(M % DR)] : []),
  ]);
}

/** The plain loop nest over columns [n0, n1): vectorised over N when contiguous, else scalar; same epilogue. */
function plain(fn: Fn, s: GemmSpec, n0: number, n1: number): Expr {
  const m = fn.m, V = m.f32x4;
  const { M, K } = s;
  const mi = fn.i32(), ni = fn.i32(), ki = fn.i32(), acc = fn.v128(), accS = fn.f32();
  const g = (l: Local) => (): Expr => fn.get(l);
  const addr = (op: MatOperand, r: () => Expr, c: () => Expr): { base: number; dyn: Expr } => ({ base: op.base, dyn: dynPlus(fn, op, byteOff(fn, op, r, c)) });
  const contiguous = s.b.cs === 1 && s.c.cs === 1 && [s.bias, s.residual].every((o) => o === undefined || o.cs === 1);
  const vecEnd = contiguous ? n0 + (n1 - n0) - ((n1 - n0) % LANES) : n0;
  const kLoopV = (): Expr => fn.loop(ki, 0, K, () => [
    fn.set(acc, V.add(fn.get(acc), V.mul(V.splat(fn.load('float32', addr(s.a, g(mi), g(ki)))), fn.loadV(addr(s.b, g(ki), g(ni)))))),
  ]);
  const kLoopS = (): Expr => fn.loop(ki, 0, K, () => [
    fn.set(accS, m.f32.add(fn.get(accS), m.f32.mul(fn.load('float32', addr(s.a, g(mi), g(ki))), fn.load('float32', addr(s.b, g(ki), g(ni)))))),
  ]);
  const finishV = (): Expr => fn.storeV(addr(s.c, g(mi), g(ni)), epilogueV(fn, s, fn.get(acc),
    s.bias ? () => fn.loadV(addr(s.bias!, g(mi), g(ni))) : undefined,
    s.residual ? () => fn.loadV(addr(s.residual!, g(mi), g(ni))) : undefined));
  // the scalar tail goes through the vector epilogue on a splat, so each formula is written once
  const finishS = (): Expr => fn.store('float32', addr(s.c, g(mi), g(ni)), m.f32x4.extract_lane(epilogueV(fn, s, V.splat(fn.get(accS)),
    s.bias ? () => V.splat(fn.load('float32', addr(s.bias!, g(mi), g(ni)))) : undefined,
    s.residual ? () => V.splat(fn.load('float32', addr(s.residual!, g(mi), g(ni)))) : undefined), 0));
  return fn.loop(mi, 0, M, () => [
    fn.loop(ni, n0, vecEnd, () => [fn.set(acc, V.splat(fn.cf32(0))), kLoopV(), finishV()], LANES),
    fn.loop(ni, vecEnd, n1, () => [fn.set(accS, fn.cf32(0)), kLoopS(), finishS()]),
  ]);
}
