// The GEMM core (kernels/gemm-core.ts) on its own, over random shapes against a float64 reference: M = 1 and tiny M,
// N and K off every tile multiple, B panel-packed / row-major / strided, A contiguous or transposed, bias broadcast
// per column, per row or full, alpha/beta, a residual and an activation epilogue, strict and relaxed SIMD. NaN
// guards beside each operand catch a read past it (a NaN times a zero padding lane is still NaN) and beside C a
// write past it. Every case also runs as the threaded build cuts it (parallel.ts: splitGemm chunks through gemmItem,
// here one after another) and must give the serial core's bits.

import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import binaryen from '../../backends/wasm/binaryen.js';
import { Fn } from '../../backends/wasm/fn.js';
import { type GemmSpec, type MatOperand, type VecEpilogue } from '../../backends/wasm/kernels/gemm-core.js';
import { packPanels, panelSize } from '../../backends/wasm/kernels/gemm-pack.js';
import { PEEL_MAX_K } from '../../backends/wasm/kernels/gemm-plan.js';
import { markRelaxed, vmax } from '../../backends/wasm/relaxed.js';
import { activationV } from '../../backends/wasm/kernels/fused-activation.js';
import type { Activation } from '../../ops/fused/activation.js';
import { relaxedSimdAvailable } from '../../bench/relaxed-probe.js';
import { prng } from '../../ir/random.js';
import { gemmBody, instantiate } from './helpers.js';

if (!relaxedSimdAvailable()) setFlagsFromString('--experimental-wasm-relaxed-simd');

type BLayout = 'panels' | 'rows' | 'strided';
type BiasKind = 'none' | 'col' | 'row' | 'full';
interface Case {
  M: number; N: number; K: number; b: BLayout; aT: boolean; bias: BiasKind; residual: boolean; relu: boolean;
  alpha: number; beta: number;
}

const GUARD = 16; // NaN floats after each region

/** Float offsets of each region in one memory, in order A, B, bias, residual, C, each followed by GUARD NaNs. */
function layout(c: Case): { a: number; b: number; bias: number; res: number; c: number; end: number; bFloats: number; biasFloats: number } {
  const bFloats = c.b === 'panels' ? panelSize(c.K, c.N) : c.K * c.N;
  const biasFloats = c.bias === 'col' ? c.N : c.bias === 'row' ? c.M : c.bias === 'full' ? c.M * c.N : 0;
  const a = 16, b = a + c.M * c.K + GUARD, bias = b + bFloats + GUARD, res = bias + biasFloats + GUARD;
  const cc = res + (c.residual ? c.M * c.N : 0) + GUARD;
  return { a, b, bias, res, c: cc, end: cc + c.M * c.N + GUARD, bFloats, biasFloats };
}

function spec(c: Case, L: ReturnType<typeof layout>, relu: VecEpilogue | undefined): GemmSpec {
  const { M, N, K } = c;
  const op = (base: number, rs: number, cs: number, extra: Partial<MatOperand> = {}): MatOperand => ({ base: base * 4, rs, cs, ...extra });
  const biasOp = c.bias === 'col' ? op(L.bias, 0, 1) : c.bias === 'row' ? op(L.bias, 1, 0) : c.bias === 'full' ? op(L.bias, N, 1) : undefined;
  return {
    M, N, K,
    a: c.aT ? op(L.a, 1, M) : op(L.a, K, 1),
    b: c.b === 'panels' ? op(L.b, N, 1, { panels: true }) : c.b === 'rows' ? op(L.b, N, 1) : op(L.b, 1, K),
    c: op(L.c, N, 1),
    alpha: c.alpha, beta: c.beta,
    ...(biasOp ? { bias: biasOp } : {}),
    ...(c.residual ? { residual: op(L.res, N, 1) } : {}),
    ...(relu ? { act: relu } : {}),
  };
}

/** Runs the core on `c` (serially, or as the chunks of a threaded split) and returns C and the memory. */
function run(c: Case, relaxed: boolean, data: { A: Float32Array; B: Float32Array; bias: Float32Array; res: Float32Array }, threads = 0, act?: VecEpilogue): { C: Float32Array; mem: Float32Array } | undefined {
  const L = layout(c);
  const m = new binaryen.Module();
  try {
    m.setFeatures(binaryen.Features.SIMD128 | (relaxed ? binaryen.Features.RelaxedSIMD : 0));
    if (relaxed) markRelaxed(m);
    const pages = Math.ceil((L.end * 4) / 65536) + 1;
    m.setMemory(pages, pages, 'memory');
    const fn = new Fn(m);
    const s = spec(c, L, act ?? (c.relu ? (f, v) => vmax(f, v, f.m.f32x4.splat(f.cf32(0))) : undefined));
    const body = gemmBody(fn, s, threads);
    if (body === undefined) return undefined;
    const { mem, run: f } = instantiate(m, fn, body);
    mem.fill(NaN);
    mem.set(data.A, L.a);
    mem.set(c.b === 'panels' ? packPanels(data.B, c.K, c.N, c.N, 1) : c.b === 'rows' ? data.B : transpose(data.B, c.K, c.N), L.b);
    mem.set(data.bias, L.bias);
    mem.set(data.res, L.res);
    f();
    return { C: mem.slice(L.c, L.c + c.M * c.N), mem };
  } finally {
    m.dispose();
  }
}

/** B[k, n] row-major (K x N) as the column-major array a strided operand (rs 1, cs K) reads. */
function transpose(B: Float32Array, K: number, N: number): Float32Array {
  const t = new Float32Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) t[n * K + k] = B[k * N + n]!;
  return t;
}

function randomCase(r: () => number): Case {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const M = pick([1, 1, 2, 3, 4, 5, 7, 9, 13, 30]);
  const N = pick([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 24, 25, 30, 33, 50, 66]);
  const K = pick([1, 2, 3, 4, 5, 7, 8, 13, 32, 37, 64]);
  const b = N >= 4 ? pick(['panels', 'panels', 'rows', 'strided'] as const) : pick(['rows', 'strided'] as const);
  return {
    M, N, K, b, aT: r() < 0.2, bias: pick(['none', 'col', 'row', 'full'] as const), residual: r() < 0.4, relu: r() < 0.4,
    alpha: pick([1, 1, 0.5, -1.25]), beta: pick([1, 1, 2, -0.5]),
  };
}

function check(c: Case, seed: number, relaxed: boolean): void {
  const r = prng(seed * 7 + 1), rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => r() * 2 - 1);
  const L = layout(c);
  const data = { A: rand(c.M * c.K), B: rand(c.K * c.N), bias: rand(L.biasFloats), res: rand(c.residual ? c.M * c.N : 0) };
  const out = run(c, relaxed, data)!;
  const name = JSON.stringify(c);
  // reference: A is stored per aT (rs 1, cs M when transposed), B row-major K x N
  const aAt = (i: number, k: number): number => (c.aT ? data.A[k * c.M + i]! : data.A[i * c.K + k]!);
  for (let i = 0; i < c.M; i++) {
    for (let n = 0; n < c.N; n++) {
      let sum = 0, mag = 0;
      for (let k = 0; k < c.K; k++) { const p = aAt(i, k) * data.B[k * c.N + n]!; sum += p; mag += Math.abs(p); }
      let v = c.alpha * sum;
      if (c.bias === 'col') v += c.beta * data.bias[n]!;
      if (c.bias === 'row') v += c.beta * data.bias[i]!;
      if (c.bias === 'full') v += c.beta * data.bias[i * c.N + n]!;
      if (c.residual) v += data.res[i * c.N + n]!;
      if (c.relu) v = Math.max(v, 0);
      const got = out.C[i * c.N + n]!;
      if (!(Math.abs(got - v) <= 1e-5 * (1 + Math.abs(c.alpha) * mag))) expect.fail(`${name} ${relaxed ? 'relaxed' : 'strict'}: C[${i},${n}] = ${got}, want ${v}`);
    }
  }
  // nothing written past C
  for (let g = 0; g < GUARD; g++) expect(Number.isNaN(out.mem[L.c + c.M * c.N + g]!), `${name}: write past C`).toBe(true);
  // the threaded cuts (2 threads, 2-4 items) give the serial bits
  for (const items of [2, 3, 4]) {
    const t = run(c, relaxed, data, items);
    if (t) expect(Buffer.from(t.C.buffer).equals(Buffer.from(out.C.buffer)), `${name} split into ${items} items`).toBe(true);
  }
}

describe('GEMM core against a float64 reference over random shapes', () => {
  const modes = relaxedSimdAvailable() ? [false, true] : [false];
  for (const relaxed of modes) {
    it(`${relaxed ? 'relaxed' : 'strict'} SIMD: 40 random cases`, () => {
      const r = prng(relaxed ? 2 : 1);
      for (let i = 0; i < 40; i++) check(randomCase(r), i, relaxed);
    });
  }
  it('the model shapes the tile plans were chosen for (M = 1 wide, N = 9 narrow, tall A)', () => {
    const base = { aT: false, bias: 'col', residual: false, relu: true, alpha: 1, beta: 1 } as const;
    const shapes: Case[] = [
      { ...base, M: 1, N: 1000, K: 64, b: 'panels' },
      { ...base, M: 1, N: 53, K: 33, b: 'panels' },
      { ...base, M: 28, N: 9, K: 32, b: 'panels' },
      { ...base, M: 35, N: 10, K: 30, b: 'panels', residual: true },
      { ...base, M: 64, N: 66, K: 64, b: 'rows', bias: 'full' },
      { ...base, M: 2, N: 37, K: 19, b: 'panels', bias: 'row' },
    ];
    shapes.forEach((c, i) => check(c, 100 + i, false));
  });
  // the last M % 4 rows in one tile as wide as their own plan (1x24, 2x16), inside chunks of that width (wide B) or
  // over every column (tall A); strict and relaxed (a one-row tile multiplies then adds, others fuse), threaded cuts
  it('tail rows on their own wider tiles (M % 4 of 1 and 2, wide and tall, a tile wider than N)', () => {
    const base = { aT: false, bias: 'col', residual: false, relu: false, alpha: 1, beta: 1 } as const;
    const shapes: Case[] = [
      { ...base, M: 49, N: 120, K: 20, b: 'panels' },                       // mobilenet_v2's last 1x1 in small: 5 chunks of 24
      { ...base, M: 6, N: 70, K: 9, b: 'rows', residual: true },            // 2 tail rows, 2x16 chunks, 4 columns after them, 2 dot columns
      { ...base, M: 13, N: 44, K: 7, b: 'panels', bias: 'row', relu: true }, // one chunk of 24, then 20 columns as before
      { ...base, M: 41, N: 24, K: 16, b: 'panels', bias: 'full' },          // tall: the tail row as one 1x24 tile
      { ...base, M: 21, N: 12, K: 5, b: 'panels', alpha: 0.5 },             // tall, a 1x24 tail tile over 12 columns (3 vectors)
      { ...base, M: 30, N: 17, K: 13, b: 'strided' },                       // tall, 2 tail rows, unpacked strided B
    ];
    const modes = relaxedSimdAvailable() ? [false, true] : [false];
    for (const relaxed of modes) shapes.forEach((c, i) => check(c, 200 + i, relaxed));
  });
  // strict from 16 columns on: 2x16 tiles for any M (gemm-plan.ts WIDE_MIN_N), the K loop run to A's end pointer
  // (one trip, two, A transposed so its pointer steps by M floats), odd M's last row alone, 8-column threaded chunks
  // planned 4x8 giving the same bits; relaxed keeps 4x8 on the same shapes
  it('2x16 tiles from 16 columns (strict), the K loop counted by A\'s pointer, the wide order for a B past L1', () => {
    const base = { aT: false, bias: 'col', residual: false, relu: false, alpha: 1, beta: 1 } as const;
    const shapes: Case[] = [
      { ...base, M: 64, N: 768, K: 2, b: 'panels' },                        // gpt2_tiny's QKV width, a two-trip K loop
      { ...base, M: 7, N: 16, K: 1, b: 'panels', residual: true },          // one tile wide, one K step (no loop)
      { ...base, M: 9, N: 40, K: 37, b: 'panels', aT: true, relu: true },   // A transposed, 2 tiles + an 8-column one
      { ...base, M: 5, N: 18, K: 9, b: 'rows', bias: 'full' },              // 16 + 2 dot columns, unpacked B
      { ...base, M: 33, N: 20, K: 3, b: 'strided', alpha: -1.25 },          // tall A, 16 + 4 columns
      { ...base, M: 3, N: 17, K: 64, b: 'panels', bias: 'row' },            // a 2-row and a 1-row tile, 16 + 1 dot column
      // B past L1 (WIDE_B_BYTES) on a tall A: the wide order, the odd last row's tiles inside chunks
      { ...base, M: 45, N: 40, K: 260, b: 'panels', residual: true },
      { ...base, M: 37, N: 21, K: 400, b: 'rows', bias: 'full' },           // unpacked, 16 + 4 + 1 dot column
    ];
    const modes = relaxedSimdAvailable() ? [false, true] : [false];
    for (const relaxed of modes) shapes.forEach((c, i) => check(c, 300 + i, relaxed));
  });
  // a short K starts each tile's accumulators with the first K step's products (no zeroing, gemm-plan.ts PEEL_MAX_K):
  // K of 0 (zeroed, the epilogue alone), 1 (no loop), 2 and 3 (one and two steps after the peeled one), the bound and
  // one past it (zeroed) on each tile form: strict 2x16, 4x8 under 16 columns and in relaxed modules, 1x24 (M = 1,
  // A's offset as the loop counter), 2x12 on panels, A transposed
  it('the first K step peeled on every tile form (K = 0, 1, 2, 3, PEEL_MAX_K, PEEL_MAX_K + 1)', () => {
    const base = { aT: false, bias: 'none', residual: false, relu: false, alpha: 1, beta: 1 } as const;
    const forms: Omit<Case, 'K'>[] = [
      { ...base, M: 6, N: 37, b: 'panels' },                       // 2x16 strict / 4x8 relaxed, a 1x24-wide tail, a dot column
      { ...base, M: 7, N: 12, b: 'rows', bias: 'col' },            // 4x8 + one vector, the last 3 rows
      { ...base, M: 1, N: 50, b: 'panels', residual: true },       // 1x24, 2 dot columns
      { ...base, M: 5, N: 10, b: 'panels', relu: true },           // 2x12 over every column
      { ...base, M: 9, N: 24, b: 'strided', aT: true, alpha: -1.25 },
    ];
    const modes = relaxedSimdAvailable() ? [false, true] : [false];
    const ks = [0, 1, 2, 3, PEEL_MAX_K, PEEL_MAX_K + 1];
    for (const relaxed of modes) for (const K of ks) forms.forEach((f, i) => check({ ...f, K }, 500 + 100 * i + K, relaxed));
  });
  // a heavy activation (the GELUs) on a wide B runs in a pass over C after the products (actPass): the
  // same bits as the formula in the tiles' epilogues, serial and in the threaded cuts (whose narrow chunks keep it
  // in the tiles); a tall A keeps it in the tiles
  it('heavy activations after the products give the bits of the in-tile epilogue', () => {
    const base = { aT: false, bias: 'col', residual: false, relu: false, alpha: 1, beta: 1 } as const;
    const shapes: Case[] = [
      { ...base, M: 9, N: 64, K: 33, b: 'panels' },                          // wide B: the pass
      { ...base, M: 1, N: 52, K: 16, b: 'panels', residual: true },          // one row (1x24 tiles), 52 columns
      { ...base, M: 3, N: 40, K: 7, b: 'rows', bias: 'full', alpha: 0.5 },   // unpacked B
      { ...base, M: 30, N: 24, K: 5, b: 'panels' },                          // tall A, small B: in the tiles
      { ...base, M: 40, N: 36, K: 300, b: 'panels', bias: 'row' },            // tall A, B past L1: the wide order, the pass
      { ...base, M: 5, N: 18, K: 9, b: 'panels' },                           // 2 dot columns: in the tiles
    ];
    const acts: Activation[] = ['GeluTanh', 'Gelu'];
    shapes.forEach((c, i) => {
      const r = prng(400 + i), rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => 4 * r() - 2);
      const L = layout(c);
      const data = { A: rand(c.M * c.K), B: rand(c.K * c.N), bias: rand(L.biasFloats), res: rand(c.residual ? c.M * c.N : 0) };
      for (const name of acts) {
        const heavy = activationV(name, [])!;
        expect(heavy.heavy, name).toBe(true);
        const light: VecEpilogue = (f, v) => heavy(f, v);
        const want = run(c, false, data, 0, light)!.C;
        const label = `${JSON.stringify(c)} ${name}`;
        expect(want.every(Number.isFinite), label).toBe(true);
        expect(Buffer.from(run(c, false, data, 0, heavy)!.C.buffer).equals(Buffer.from(want.buffer)), label).toBe(true);
        for (const items of [2, 3]) {
          const t = run(c, false, data, items, heavy);
          if (t) expect(Buffer.from(t.C.buffer).equals(Buffer.from(want.buffer)), `${label} split into ${items} items`).toBe(true);
        }
      }
    });
  });
});
