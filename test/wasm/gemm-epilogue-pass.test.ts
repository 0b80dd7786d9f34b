// The GEMM core's epilogue pass (gemm-core.ts epiPass): in the wide order (B wider than A is tall, or past L1) the
// tiles store alpha * sum and a pass over C adds beta * bias and the residual and applies the activation. It must give
// the bits of the same f32 operations in the same order as the tiles did before: alpha * sum, + beta * bias,
// + residual, activation, each rounded to f32; so must the tall order's pass over each band of rows (an activation over
// 32+ columns). Checked exactly here against the core's own sums (the same GEMM with no epilogue) and Math.fround per
// operation, then the activation's own formula, for every bias kind, alpha/beta, GeluTanh, Relu and Clip, and
// threaded cuts.

import { describe, expect, it } from 'vitest';
import binaryen from '../../backends/wasm/binaryen.js';
import { Fn } from '../../backends/wasm/fn.js';
import { type GemmSpec, type MatOperand, type VecEpilogue } from '../../backends/wasm/kernels/gemm-core.js';
import { packPanels, panelSize } from '../../backends/wasm/kernels/gemm-pack.js';
import { activationV } from '../../backends/wasm/kernels/fused-activation.js';
import { prng } from '../../ir/random.js';
import { applyLanewise, gemmBody, instantiate } from './helpers.js';

type BiasKind = 'none' | 'col' | 'row' | 'full';
interface Case { M: number; N: number; K: number; bias: BiasKind; residual: boolean; alpha: number; beta: number; act?: 'GeluTanh' | 'Relu' | 'Clip' }


/** Runs C = epilogue(A B) (B panel-packed) and returns C; `threads`: as the chunks of a 2-thread split. */
function run(c: Case, data: { A: Float32Array; B: Float32Array; bias: Float32Array; res: Float32Array }, epilogue: boolean, threads = 0): Float32Array | undefined {
  const { M, N, K } = c;
  const a = 16, b = a + M * K + 16, bias = b + panelSize(K, N) + 16, res = bias + M * N + 16, cc = res + M * N + 16, end = cc + M * N + 16;
  const op = (base: number, rs: number, cs: number, extra: Partial<MatOperand> = {}): MatOperand => ({ base: base * 4, rs, cs, ...extra });
  const biasOp = c.bias === 'col' ? op(bias, 0, 1) : c.bias === 'row' ? op(bias, 1, 0) : c.bias === 'full' ? op(bias, N, 1) : undefined;
  const act: VecEpilogue | undefined = c.act ? activationV(c.act, c.act === 'Clip' ? [0, 6] : []) : undefined;
  const m = new binaryen.Module();
  try {
    m.setFeatures(binaryen.Features.SIMD128);
    const pages = Math.ceil((end * 4) / 65536) + 1;
    m.setMemory(pages, pages, 'memory');
    const fn = new Fn(m);
    const s: GemmSpec = {
      M, N, K, a: op(a, K, 1), b: op(b, N, 1, { panels: true }), c: op(cc, N, 1),
      ...(epilogue ? { alpha: c.alpha, beta: c.beta, ...(biasOp ? { bias: biasOp } : {}), ...(c.residual ? { residual: op(res, N, 1) } : {}), ...(act ? { act } : {}) } : {}),
    };
    const body = gemmBody(fn, s, threads);
    if (body === undefined) return undefined;
    const { mem, run: f } = instantiate(m, fn, body);
    mem.set(data.A, a);
    mem.set(packPanels(data.B, K, N, N, 1), b);
    mem.set(data.bias, bias);
    mem.set(data.res, res);
    f();
    return mem.slice(cc, cc + M * N);
  } finally {
    m.dispose();
  }
}

/** The activation alone over a vector of inputs (the same formula the epilogue applies). */
function actOf(name: 'GeluTanh' | 'Relu' | 'Clip', xs: Float32Array): Float32Array {
  const act = activationV(name, name === 'Clip' ? [0, 6] : [])!, padded = new Float32Array(Math.ceil(xs.length / 4) * 4);
  padded.set(xs);
  return applyLanewise((fn, v) => act(fn, v), padded).slice(0, xs.length);
}

function check(c: Case, seed: number): void {
  const r = prng(seed), rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => r() * 2 - 1);
  const { M, N } = c;
  const data = { A: rand(M * c.K), B: rand(c.K * N), bias: rand(M * N), res: rand(M * N) };
  const sums = run(c, data, false)!, got = run(c, data, true)!;
  const f = Math.fround;
  const pre = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let n = 0; n < N; n++) {
      let v = c.alpha === 1 ? sums[i * N + n]! : f(c.alpha * sums[i * N + n]!);
      const bv = c.bias === 'col' ? data.bias[n] : c.bias === 'row' ? data.bias[i] : c.bias === 'full' ? data.bias[i * N + n] : undefined;
      if (bv !== undefined) v = f(v + (c.beta === 1 ? bv : f(c.beta * bv)));
      if (c.residual) v = f(v + data.res[i * N + n]!);
      pre[i * N + n] = v;
    }
  }
  const want = c.act ? actOf(c.act, pre) : pre;
  const name = JSON.stringify(c);
  for (let k = 0; k < M * N; k++) {
    if (!Object.is(got[k], want[k])) expect.fail(`${name}: C[${Math.floor(k / N)},${k % N}] = ${got[k]}, want ${want[k]}`);
  }
  for (const items of [2, 3, 4]) {
    const t = run(c, data, true, items);
    if (t) expect(Buffer.from(t.buffer).equals(Buffer.from(got.buffer)), `${name} split into ${items} items`).toBe(true);
  }
}

describe('GEMM epilogue: the pass over C gives the tiles\' bits', () => {
  const base = { bias: 'col', residual: false, alpha: 1, beta: 1 } as const;
  it('wide order (the pass): gpt2_tiny-like shapes, every bias kind, residual, alpha/beta, GELU', () => {
    const cases: Case[] = [
      { ...base, M: 8, N: 96, K: 32 },                                           // c_attn: bias alone
      { ...base, M: 8, N: 128, K: 32, act: 'GeluTanh' },                              // c_fc: bias, GELU
      { ...base, M: 10, N: 32, K: 300, residual: true },                         // c_proj: B past L1, bias + residual
      { ...base, M: 6, N: 40, K: 16, bias: 'row', alpha: 0.5, beta: -2 },
      { ...base, M: 5, N: 44, K: 9, bias: 'full', residual: true, alpha: -1.25, beta: 2, act: 'GeluTanh' },
      { ...base, M: 3, N: 64, K: 7, bias: 'none', residual: true },
      { ...base, M: 2, N: 20, K: 5, bias: 'none', act: 'GeluTanh' },
    ];
    cases.forEach((c, i) => check(c, 10 + i));
  });
  it('tall order: a pass per band of rows (an activation, 32+ columns), else the tiles\' own epilogue', () => {
    const cases: Case[] = [
      { ...base, M: 41, N: 40, K: 20, bias: 'full', residual: true, alpha: 0.5, beta: -2, act: 'GeluTanh' }, // bands, a tail row
      { ...base, M: 90, N: 48, K: 24, act: 'Clip' },                              // mobilenet_v2's expand: bias, Clip(0, 6)
      { ...base, M: 66, N: 32, K: 9, bias: 'row', act: 'Relu' },
      { ...base, M: 40, N: 16, K: 24, residual: true, act: 'GeluTanh' },          // 16 columns: in the tiles
      { ...base, M: 7, N: 30, K: 11, bias: 'full', residual: true, alpha: 0.5 },  // N % 4 = 2: dot columns
    ];
    cases.forEach((c, i) => check(c, 30 + i));
  });
});
