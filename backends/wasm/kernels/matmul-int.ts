// onnxc.DequantMatMul: Y = act(A @ dequant(B_q) (+ bias)) with the integer weight kept integer in memory: int8, int4
// packed two per byte (an int4 weight, as quantize-weights' 4-bit mode makes, or int8 whose values all fit [-8, 7]), or
// 2 bits, four per byte (values all in [-2, 1]: quantize-weights' 2-bit layers).
// B is packed once into panels of 8 columns; the micro-kernel (4 rows x 8 columns of f32x4 accumulators, like
// gemm-core's) widens each K step's 8 weights to f32 in registers. Per-column scales are applied once in the
// epilogue; block-wise scales multiply the widened weights of their block.

import { makeTensor, type Tensor } from '../../../ir/tensor.js';
import type { Expr, Local } from '../fn.js';
import { floorTo, genericDims, guardedLoop } from '../dims-mode.js';
import type { KernelContext, KernelGen, PlanContext } from './types.js';
import { attrNum, input, output } from './util.js';
import { activationOf } from './fused-activation.js';

/** Rows per micro-tile and columns per panel (two f32x4), as gemm-core. */
const MR = 4, NR = 8;

interface Layout { readonly K: number; readonly N: number; readonly P: number; readonly bits: 8 | 4 | 2; readonly bs: number; readonly nb: number }

function layout(ctx: PlanContext): Layout {
  const b = input(ctx, 1), [K, N] = b.dims as [number, number];
  const q = b.constant!.data as Int8Array;
  let lo = 0, hi = 0;
  for (let i = 0; i < q.length; i++) { lo = Math.min(lo, q[i]!); hi = Math.max(hi, q[i]!); }
  const bits = lo >= -2 && hi <= 1 ? 2 : lo >= -8 && hi <= 7 ? 4 : 8;
  const bs = attrNum(ctx, 'block_size');
  return { K, N, P: Math.ceil(N / NR), bits, bs, nb: bs > 0 ? Math.ceil(K / bs) : 1 };
}

/** Bytes of one K row of a panel: 8 (int8), 4 (int4), 2 (2 bits). */
const rowBytesOf = (L: Layout): number => (NR * L.bits) / 8;

/** Panels of NR columns, K rows each: 8 bytes a row (int8), 4 (int4: byte j = column j | column j+4 << 4), or 2 (2 bits:
 *  column j in bits 2j, 2j+1 of the row's little-endian 16-bit word; 2 bytes of padding after the last row, which the
 *  kernel's 4-byte load reads past). */
function packB(q: Int8Array, L: Layout): Tensor {
  const rowBytes = rowBytesOf(L), out = new Int8Array(L.P * L.K * rowBytes + (L.bits === 2 ? 2 : 0));
  if (L.bits === 2) {
    for (let p = 0; p < L.P; p++) {
      for (let k = 0; k < L.K; k++) {
        let word = 0;
        for (let j = 0; j < NR; j++) { const n = p * NR + j; word |= ((n < L.N ? q[k * L.N + n]! : 0) & 3) << (2 * j); }
        const at = (p * L.K + k) * 2;
        out[at] = (word & 0xff) << 24 >> 24;
        out[at + 1] = (word >> 8) << 24 >> 24;
      }
    }
    return makeTensor('int8', [out.length], out);
  }
  for (let p = 0; p < L.P; p++) {
    for (let k = 0; k < L.K; k++) {
      const at = (p * L.K + k) * rowBytes;
      for (let j = 0; j < NR; j++) {
        const n = p * NR + j, v = n < L.N ? q[k * L.N + n]! : 0;
        if (L.bits === 8) out[at + j] = v;
        else if (j < NR / 2) out[at + j] = (out[at + j]! & 0xf0) | (v & 0x0f);
        else out[at + j - NR / 2] = ((out[at + j - NR / 2]! & 0x0f) | ((v & 0x0f) << 4)) << 24 >> 24;
      }
    }
  }
  return makeTensor('int8', [out.length], out);
}

/** [rows, N] padded to [rows, P * NR] with zeros. */
function padColumns(src: Float32Array, rows: number, N: number, P: number): Tensor {
  const out = new Float32Array(rows * P * NR);
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * N, (r + 1) * N), r * P * NR);
  return makeTensor('float32', [out.length], out);
}

/** Rows from which a panel is widened once into f32 scratch and the row tiles read it (each tile would otherwise
 *  widen the same weights again: 16 times for gpt2_tiny's 64 rows). */
const WIDEN_ONCE_ROWS = 2 * MR;

export const dequantMatMul: KernelGen = {
  dtypes: ['float32', 'int8', 'int4', 'int2'],
  scratch: (ctx) => (input(ctx, 0).size / input(ctx, 1).dims[0]! >= WIDEN_ONCE_ROWS ? input(ctx, 1).dims[0]! * NR * 4 : 0),
  constInputs: [1, 2, 3],
  unread: (ctx) => [1, 2, ...(ctx.inputs[3] ? [3] : [])],
  prepack(ctx) {
    const L = layout(ctx);
    const s = input(ctx, 2).constant!.data as Float32Array, bias = ctx.inputs[3]?.constant?.data as Float32Array | undefined;
    return [packB(input(ctx, 1).constant!.data as Int8Array, L), padColumns(s, L.nb, L.N, L.P), ...(bias ? [padColumns(bias, 1, L.N, L.P)] : [])];
  },
  emit(ctx) {
    const L = layout(ctx);
    const a = input(ctx, 0), y = output(ctx);
    const MT = a.size / L.K;
    return emitDequantMatMul(ctx, L, MT, a.ptr.base, y.ptr.base);
  },
};

/** v128 bytes of the i32x4 multipliers 2^(30 - 2(4h + l)), l = 0..3. */
function laneShifts(h: number): number[] {
  const out: number[] = [];
  for (let l = 0; l < 4; l++) { const v = 2 ** (30 - 2 * (4 * h + l)); out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff); }
  return out;
}

function emitDequantMatMul(ctx: KernelContext, L: Layout, MT: number, aBase: number, yBase: number): Expr {
  const { fn, m } = ctx, V = m.f32x4;
  const [bP, sP, biasP] = ctx.packed;
  const act = activationOf(ctx);
  const rowBytes = rowBytesOf(L), panelBytes = L.K * rowBytes, sRow = L.P * NR * 4;
  const pi = fn.i32(), mi = fn.i32(), ki = fn.i32(), kb = fn.i32(), pa = fn.i32(), pb = fn.i32(), ps = fn.i32();
  const acc = Array.from({ length: MR }, () => [fn.v128(), fn.v128()] as const);
  const bv = [fn.v128(), fn.v128()] as const, sv = [fn.v128(), fn.v128()] as const, raw = fn.v128(), av = fn.v128();
  const g = (l: Local): Expr => fn.get(l);
  const c = (n: number): Expr => fn.c32(n);

  /** B's 8 weights at pb as two f32x4 (times the block scales when blocked). */
  const loadB = (): Expr[] => {
    const out: Expr[] = [];
    if (L.bits === 2) {
      // the row's 16-bit word in every i32 lane; lane l of half h times 2^(30 - 2(4h + l)) puts column 4h + l's two
      // bits on top, an arithmetic shift by 30 brings them back sign-extended
      out.push(fn.set(raw, m.v128.load32_splat(bP!.ptr.base, 1, g(pb))));
      for (let h = 0; h < 2; h++) out.push(fn.set(bv[h]!, V.convert_i32x4_s(m.i32x4.shr_s(m.i32x4.mul(g(raw), m.v128.const(laneShifts(h))), c(30)))));
    } else if (L.bits === 8) {
      out.push(fn.set(raw, m.v128.load8x8_s(bP!.ptr.base, 1, g(pb))));
      out.push(fn.set(bv[0], V.convert_i32x4_s(m.i32x4.extend_low_i16x8_s(g(raw)))));
      out.push(fn.set(bv[1], V.convert_i32x4_s(m.i32x4.extend_high_i16x8_s(g(raw)))));
    } else {
      const widen = (x: Expr): Expr => V.convert_i32x4_s(m.i32x4.extend_low_i16x8_s(m.i16x8.extend_low_i8x16_s(x)));
      out.push(fn.set(raw, m.v128.load32_zero(bP!.ptr.base, 1, g(pb))));
      out.push(fn.set(bv[0], widen(m.i8x16.shr_s(m.i8x16.shl(g(raw), c(4)), c(4)))));
      out.push(fn.set(bv[1], widen(m.i8x16.shr_s(g(raw), c(4)))));
    }
    if (L.bs > 0) for (let j = 0; j < 2; j++) out.push(fn.set(bv[j]!, V.mul(g(bv[j]!), g(sv[j]!))));
    return out;
  };
  const once = MT >= WIDEN_ONCE_ROWS, sc = ctx.scratch.base;
  /** One K step for `rows` rows: A splat per row times both B vectors (widened here, or read from scratch). */
  const step = (rows: number): Expr[] => {
    const out = once ? [0, 1].map((j) => fn.set(bv[j]!, m.v128.load(sc + 16 * j, 4, g(pb)))) : loadB();
    for (let r = 0; r < rows; r++) {
      out.push(fn.set(av, m.v128.load32_splat(aBase + 4 * r * L.K, 4, g(pa))));
      for (let j = 0; j < 2; j++) out.push(fn.set(acc[r]![j]!, V.add(g(acc[r]![j]!), V.mul(g(av), g(bv[j]!)))));
    }
    out.push(fn.set(pa, m.i32.add(g(pa), c(4))), fn.set(pb, m.i32.add(g(pb), c(once ? NR * 4 : rowBytes))));
    return out;
  };
  /** Panel pi widened to f32 (block scales applied) into scratch: K rows of 8 floats. */
  const widenPanel = (): Expr[] => {
    const store = (): Expr[] => [...loadB(), ...[0, 1].map((j) => m.v128.store(sc + 16 * j, 4, g(pa), g(bv[j]!))),
      fn.set(pa, m.i32.add(g(pa), c(NR * 4))), fn.set(pb, m.i32.add(g(pb), c(rowBytes)))];
    const out: Expr[] = [fn.set(pa, c(0)), fn.set(pb, m.i32.mul(g(pi), c(panelBytes)))];
    if (L.bs === 0) out.push(fn.loop(ki, 0, L.K, store));
    else {
      const full = Math.floor(L.K / L.bs), tail = L.K % L.bs;
      out.push(fn.set(ps, m.i32.mul(g(pi), c(NR * 4))));
      out.push(fn.loop(kb, 0, full, () => [...loadScales(), fn.loop(ki, 0, L.bs, store), fn.set(ps, m.i32.add(g(ps), c(sRow)))]));
      if (tail) out.push(...loadScales(), fn.loop(ki, 0, tail, store));
    }
    return out;
  };
  const loadScales = (): Expr[] => [0, 1].map((j) => fn.set(sv[j]!, m.v128.load(sP!.ptr.base + 16 * j, 4, g(ps))));
  /** A tile of `rows` rows at row mi, panel pi, with `cols` valid columns (8 but in the last panel). */
  const tile = (rows: number, cols: number): Expr[] => {
    const out: Expr[] = [
      fn.set(pa, m.i32.mul(g(mi), c(4 * L.K))),
      fn.set(pb, once ? c(0) : m.i32.mul(g(pi), c(panelBytes))),
    ];
    for (let r = 0; r < rows; r++) for (let j = 0; j < 2; j++) out.push(fn.set(acc[r]![j]!, V.splat(fn.cf32(0))));
    if (L.bs === 0 || once) out.push(fn.loop(ki, 0, L.K, () => step(rows)));
    else {
      const full = Math.floor(L.K / L.bs), tail = L.K % L.bs;
      out.push(fn.set(ps, m.i32.mul(g(pi), c(NR * 4))));
      out.push(fn.loop(kb, 0, full, () => [...loadScales(), fn.loop(ki, 0, L.bs, () => step(rows)), fn.set(ps, m.i32.add(g(ps), c(sRow)))]));
      if (tail) out.push(...loadScales(), fn.loop(ki, 0, tail, () => step(rows)));
    }
    // epilogue: per-column scale, bias, store the valid columns of each row
    out.push(fn.set(ps, m.i32.mul(g(pi), c(NR * 4))));
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < 2; j++) {
        const n0 = 4 * j;
        if (n0 >= cols) continue;
        let v: Expr = g(acc[r]![j]!);
        if (L.bs === 0) v = V.mul(v, m.v128.load(sP!.ptr.base + 16 * j, 4, g(ps)));
        if (biasP) v = V.add(v, m.v128.load(biasP.ptr.base + 16 * j, 4, g(ps)));
        if (act) v = act(fn, v);
        // row mi + r, column pi*8 + n0: byte offset (mi + r) * N * 4 + pi * 32 + n0 * 4
        const addr = m.i32.add(m.i32.mul(g(mi), c(4 * L.N)), m.i32.mul(g(pi), c(NR * 4)));
        const off = yBase + 4 * (r * L.N + n0);
        if (cols - n0 >= 4) out.push(m.v128.store(off, 4, addr, v));
        else {
          out.push(fn.set(av, v));
          for (let l = 0; l < cols - n0; l++) out.push(m.f32.store(off + 4 * l, 4, m.i32.add(m.i32.mul(g(mi), c(4 * L.N)), m.i32.mul(g(pi), c(NR * 4))), V.extract_lane(g(av), l)));
        }
      }
    }
    return out;
  };
  const rowsOf = (cols: number): Expr[] => {
    // a dynamic-dims sample: whole tiles, then one row at a time, split at run time (dims-mode.ts)
    if (genericDims()) return [guardedLoop(fn, mi, () => c(0), floorTo(fn, MT, MR), () => tile(MR, cols), MR), guardedLoop(fn, mi, floorTo(fn, MT, MR), () => c(MT), () => tile(1, cols))];
    const mFull = MT - (MT % MR);
    return [
      fn.loop(mi, 0, mFull, () => tile(MR, cols), MR),
      ...(MT % MR ? [fn.set(mi, c(mFull)), ...tile(MT % MR, cols)] : []),
    ];
  };
  const pFull = Math.floor(L.N / NR);
  const panel = (cols: number): Expr[] => [...(once ? widenPanel() : []), ...rowsOf(cols)];
  const body: Expr[] = [fn.loop(pi, 0, pFull, () => panel(NR))];
  if (L.N % NR) body.push(fn.set(pi, c(pFull)), ...panel(L.N % NR));
  return fn.block(body);
}


export const MATMUL_INT: Readonly<Record<string, KernelGen>> = { 'onnxc.DequantMatMul': dequantMatMul };
