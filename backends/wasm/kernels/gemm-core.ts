// The one matrix-multiply core shared by MatMul, Gemm, Conv and the fused ops: C = act(alpha*A*B + beta*bias + Z),
// float32. When B's and C's rows are contiguous it runs a register-blocked micro-kernel (MR rows x 8 columns held
// in f32x4 accumulators, every offset static) with the epilogue applied in registers before the
// store; other strides take a plain loop nest with the same epilogue.

import type { Expr, Fn, Local } from '../fn.js';
import { LANES } from '../simd.js';
import { splatF32 } from '../math.js';

/** A float32 matrix operand: static base, optional dynamic byte offset (a local), element strides. */
export interface MatOperand {
  readonly base: number;
  readonly dyn?: Local;
  /** Elements between rows and between columns (0 for a broadcast axis). */
  readonly rs: number;
  readonly cs: number;
  /** B only: packed in column panels of NR (gemm-pack.ts); rs/cs are then unused. Needs N % 4 == 0, c.cs == 1. */
  readonly panels?: boolean;
}

/** An f32x4 formula applied to the result before it is stored (an activation); it may read its argument once. */
export type VecEpilogue = (fn: Fn, v: Expr) => Expr;

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
}

/** Rows per micro-tile: 4 rows x 2 vectors = 8 accumulators + 2 B vectors + 1 A splat fit x64's 16 xmm registers. */
export const MR = 4;
/** Columns per micro-tile (two f32x4). */
export const NR = 2 * LANES;
/** K steps per loop trip. Not unrolled: measured with bench --gemm-only on the model shapes, KU=1 runs 22-36
 *  GFLOP/s against 16-22 at KU=4 and 9-16 at KU=8 (presumably V8 hoists the unrolled loads and spills). */
const KU = 1;

export function gemm(fn: Fn, s: GemmSpec): Expr {
  if (s.M === 0 || s.N === 0) return fn.m.nop();
  const addendOk = (o?: MatOperand): boolean => o === undefined || o.cs === 0 || o.cs === 1;
  if (s.b.panels) {
    // the packing kernels check these before packing; a mismatch is a bug in the kernel, not in the model
    if (s.c.cs !== 1 || !addendOk(s.bias) || !addendOk(s.residual) || s.N % LANES !== 0) throw new Error('gemm: panel-packed B needs contiguous C rows and N % 4 == 0');
    return blocked(fn, s);
  }
  if (s.b.cs === 1 && s.c.cs === 1 && addendOk(s.bias) && addendOk(s.residual) && s.N >= LANES) return blocked(fn, s);
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
function epilogueV(fn: Fn, s: GemmSpec, v: Expr, bias?: () => Expr, res?: () => Expr): Expr {
  const V = fn.m.f32x4, alpha = s.alpha ?? 1, beta = s.beta ?? 1;
  let r = alpha === 1 ? v : V.mul(v, splatF32(fn, alpha));
  if (bias) r = V.add(r, beta === 1 ? bias() : V.mul(bias(), splatF32(fn, beta)));
  if (res) r = V.add(r, res());
  return s.act ? s.act(fn, r) : r;
}

function blocked(fn: Fn, s: GemmSpec): Expr {
  const m = fn.m, V = m.f32x4;
  const { M, N, K, a, b, c } = s;
  const mi = fn.i32(), ni = fn.i32(), ki = fn.i32();
  const pa = fn.i32(), pb = fn.i32(), pc = fn.i32(), pbias = fn.i32(), pres = fn.i32();
  const acc = Array.from({ length: MR }, () => [fn.v128(), fn.v128()] as const);
  const bv = [fn.v128(), fn.v128()] as const, av = fn.v128();
  const gi = (l: Local) => (): Expr => fn.get(l);

  /** One micro-tile of `rows` x `vecs` vectors at (mi, ni), both already set. */
  const tile = (rows: number, vecs: number): Expr[] => {
    const out: Expr[] = [];
    // pointers: A at row mi, B at column ni, C/bias/residual at (mi, ni)
    out.push(fn.set(pa, dynPlus(fn, a, mulC(fn, gi(mi), a.rs * 4))));
    // panels: column ni (a multiple of NR) starts panel ni/NR, K*NR floats each
    out.push(fn.set(pb, dynPlus(fn, b, mulC(fn, gi(ni), b.panels ? 4 * K : 4))));
    out.push(fn.set(pc, dynPlus(fn, c, byteOff(fn, c, gi(mi), gi(ni)))));
    if (s.bias) out.push(fn.set(pbias, dynPlus(fn, s.bias, byteOff(fn, s.bias, gi(mi), gi(ni)))));
    if (s.residual) out.push(fn.set(pres, dynPlus(fn, s.residual, byteOff(fn, s.residual, gi(mi), gi(ni)))));
    for (let r = 0; r < rows; r++) for (let j = 0; j < vecs; j++) out.push(fn.set(acc[r]![j]!, V.splat(fn.cf32(0))));
    // one K step at static offset u (elements along K from the pointers)
    const step = (u: number): Expr[] => {
      const st: Expr[] = [];
      const brs = b.panels ? NR : b.rs;
      for (let j = 0; j < vecs; j++) st.push(fn.set(bv[j]!, m.v128.load(b.base + 4 * (u * brs + j * LANES), 4, fn.get(pb))));
      for (let r = 0; r < rows; r++) {
        st.push(fn.set(av, m.v128.load32_splat(a.base + 4 * (r * a.rs + u * a.cs), 4, fn.get(pa))));
        for (let j = 0; j < vecs; j++) st.push(fn.set(acc[r]![j]!, V.add(fn.get(acc[r]![j]!), V.mul(fn.get(av), fn.get(bv[j]!)))));
      }
      return st;
    };
    const kFull = K - (K % KU);
    if (kFull > 0) {
      out.push(fn.loop(ki, 0, kFull, () => [
        ...Array.from({ length: KU }, (_, u) => step(u)).flat(),
        fn.set(pa, m.i32.add(fn.get(pa), fn.c32(4 * KU * a.cs))),
        fn.set(pb, m.i32.add(fn.get(pb), fn.c32(4 * KU * (b.panels ? NR : b.rs)))),
      ], KU));
    }
    for (let u = 0; u < K % KU; u++) out.push(...step(u));
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < vecs; j++) {
        const addend = (op: MatOperand | undefined, p: Local): (() => Expr) | undefined => {
          if (!op) return undefined;
          const off = op.base + 4 * (r * op.rs + j * LANES * op.cs);
          return op.cs === 1 ? () => m.v128.load(off, 4, fn.get(p)) : () => V.splat(m.f32.load(off, 4, fn.get(p)));
        };
        const v = epilogueV(fn, s, fn.get(acc[r]![j]!), addend(s.bias, pbias), addend(s.residual, pres));
        out.push(m.v128.store(c.base + 4 * (r * c.rs + j * LANES), 4, fn.get(pc), v));
      }
    }
    return out;
  };

  const n8 = N - (N % NR), n4 = N - (N % LANES), mFull = M - (M % MR);
  const rowsOf = (vecs: number): Expr[] => [
    fn.loop(mi, 0, mFull, () => tile(MR, vecs), MR),
    ...(M % MR ? [fn.set(mi, fn.c32(mFull)), ...tile(M % MR, vecs)] : []),
  ];
  const columnsOf = (rows: number): Expr[] => [
    fn.loop(ni, 0, n8, () => tile(rows, 2), NR),
    ...(n4 > n8 ? [fn.set(ni, fn.c32(n8)), ...tile(rows, 1)] : []),
  ];
  const body: Expr[] = [];
  if (N > M) {
    // wide B (a classifier, a transformer projection): keep one K x 8 panel of B hot and stream the rows of A past it
    body.push(fn.loop(ni, 0, n8, () => rowsOf(2), NR));
    if (n4 > n8) body.push(fn.set(ni, fn.c32(n8)), ...rowsOf(1));
  } else {
    // tall A (pixels x channels): keep MR rows of A hot and sweep B, which is small
    body.push(fn.loop(mi, 0, mFull, () => columnsOf(MR), MR));
    if (M % MR) body.push(fn.set(mi, fn.c32(mFull)), ...columnsOf(M % MR));
  }
  if (n4 < N) body.push(plain(fn, s, n4, N));
  return fn.block(body);
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
