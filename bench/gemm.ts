// Kernel microbenchmark: GFLOP/s of onnxc's wasm GEMM core (the loop nest MatMul, Gemm and Conv share) at square
// sizes and at the shapes gpt2_tiny and mobilenet_v2 run, against this machine's measured wasm SIMD peak: a
// Binaryen-built loop of independent f32x4 mul+add chains over registers (no FMA; wasm SIMD has none).

import binaryen from 'binaryen';
import { Fn } from '../backends/wasm/fn.js';
import { gemm } from '../backends/wasm/kernels/gemm-core.js';
import { latencyStats } from './stats.js';

export interface GemmShape { readonly label: string; readonly M: number; readonly N: number; readonly K: number }

/** C[M,N] = A[M,K] B[K,N]; model shapes as the wasm backend lowers them (Conv: M = out channels, K = C*KH*KW, N = OH*OW). */
export const GEMM_SHAPES: readonly GemmShape[] = [
  ...[64, 256, 512, 1024].map((n) => ({ label: `square ${n}`, M: n, N: n, K: n })),
  { label: 'gpt2_tiny qkv Gemm', M: 64, N: 768, K: 256 },
  { label: 'gpt2_tiny mlp up Gemm', M: 64, N: 1024, K: 256 },
  { label: 'gpt2_tiny mlp down Gemm', M: 64, N: 256, K: 1024 },
  { label: 'gpt2_tiny attn MatMul (per head)', M: 64, N: 64, K: 64 },
  { label: 'mobilenet_v2 stem Conv 3x3', M: 32, N: 12544, K: 27 },
  { label: 'mobilenet_v2 expand 1x1 @56', M: 144, N: 3136, K: 24 },
  { label: 'mobilenet_v2 expand 1x1 @14', M: 384, N: 196, K: 64 },
  { label: 'mobilenet_v2 project 1x1 @14', M: 64, N: 196, K: 384 },
  { label: 'mobilenet_v2 last 1x1 @7', M: 1280, N: 49, K: 320 },
  { label: 'mobilenet_v2 classifier Gemm', M: 1, N: 1000, K: 1280 },
];

export interface GemmRow extends GemmShape { readonly medianMs: number; readonly gflops: number; readonly ofPeak: number }
export interface GemmReport {
  readonly peakGflops: number;
  readonly peakMethod: string;
  readonly rows: readonly GemmRow[];
}

interface Instance { readonly exports: Readonly<Record<string, unknown>> }
const WA = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => Instance; Module: new (b: Uint8Array) => object } }).WebAssembly;

/** Build a module exporting `f` (no params) with `pages` of memory; the body comes from a Fn builder. */
function build(pages: number, body: (fn: Fn, m: binaryen.Module) => binaryen.ExpressionRef): () => void {
  const m = new binaryen.Module();
  try {
    m.setFeatures(binaryen.Features.SIMD128);
    m.setMemory(pages, pages, 'memory');
    const fn = new Fn(m);
    const b = body(fn, m);
    m.addFunction('f', binaryen.none, binaryen.none, fn.vars, b);
    m.addFunctionExport('f', 'f');
    if (!m.validate()) throw new Error('gemm bench module failed validation');
    m.optimize();
    const inst = new WA.Instance(new WA.Module(m.emitBinary()), {});
    const mem = inst.exports['memory'] as { buffer: ArrayBuffer };
    // values in [-0.5, 0.5): realistic data, no denormals
    const f32 = new Float32Array(mem.buffer);
    for (let i = 0; i < f32.length; i++) f32[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    return inst.exports['f'] as () => void;
  } finally {
    m.dispose();
  }
}

/** V8 runs new wasm on its baseline compiler (Liftoff) and tiers up to TurboFan later, on a background thread;
 *  run this file's figures in a process started with GEMM_NODE_FLAGS (TurboFan from the start), plus a warm-up. */
export const GEMM_NODE_FLAGS = ['--no-liftoff', '--no-wasm-dynamic-tiering'];
const WARMUP_MS = 200;

/** Median seconds per call over `samples` timed batches, each long enough (>= minMs) to dwarf timer noise. */
function timeCall(f: () => void, samples = 5, minMs = 40): number {
  const w0 = performance.now();
  do f(); while (performance.now() - w0 < WARMUP_MS);
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f();
    if (performance.now() - t0 >= minMs) break;
    reps *= 2;
  }
  const per: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f();
    per.push((performance.now() - t0) / reps);
  }
  return latencyStats(per).medianMs / 1000;
}

const CHAINS = 12;
const PEAK_ITERS = 1 << 18;

/** wasm SIMD f32 peak: CHAINS independent acc = acc*x + y chains (mul and add are 4 lanes each = 8 flop/chain/iter). */
export function measurePeak(): number {
  const f = build(1, (fn, m) => {
    const V = m.f32x4, i = fn.i32(), x = fn.v128(), y = fn.v128();
    const acc = Array.from({ length: CHAINS }, () => fn.v128());
    const ptr = (k: number): { base: number } => ({ base: 16 * k });
    const init = [fn.set(x, fn.loadV(ptr(0))), fn.set(y, fn.loadV(ptr(1))), ...acc.map((a, k) => fn.set(a, fn.loadV(ptr(2 + k))))];
    // x in (0.5, 1) keeps every chain bounded, no overflow or denormals
    const clampX = fn.set(x, V.add(V.mul(V.abs(fn.get(x)), V.splat(fn.cf32(0.25))), V.splat(fn.cf32(0.7))));
    const loop = fn.loop(i, 0, PEAK_ITERS, () => acc.map((a) => fn.set(a, V.add(V.mul(fn.get(a), fn.get(x)), fn.get(y)))));
    let sum = fn.get(acc[0]!);
    for (const a of acc.slice(1)) sum = V.add(sum, fn.get(a));
    return fn.block([...init, clampX, loop, fn.storeV(ptr(40), sum)]);
  });
  const s = timeCall(f);
  return (PEAK_ITERS * CHAINS * 8) / s / 1e9;
}

export function gemmGflops(shape: GemmShape): { medianMs: number; gflops: number } {
  const { M, N, K } = shape;
  const a = 64, b = a + M * K * 4, c = b + K * N * 4, end = c + M * N * 4;
  const f = build(Math.ceil(end / 65536) + 1, (fn) => gemm(fn, {
    M, N, K, a: { base: a, rs: K, cs: 1 }, b: { base: b, rs: N, cs: 1 }, c: { base: c, rs: N, cs: 1 },
  }));
  const s = timeCall(f, 3);
  return { medianMs: s * 1000, gflops: (2 * M * N * K) / s / 1e9 };
}

export function runGemmBench(shapes: readonly GemmShape[] = GEMM_SHAPES, log: (l: string) => void = () => {}): GemmReport {
  const peakGflops = measurePeak();
  log(`  wasm SIMD peak ${peakGflops.toFixed(1)} GFLOP/s`);
  const rows = shapes.map((s) => {
    const r = gemmGflops(s);
    log(`  ${s.label}: ${r.gflops.toFixed(2)} GFLOP/s`);
    return { ...s, ...r, ofPeak: r.gflops / peakGflops };
  });
  return { peakGflops, peakMethod: `${CHAINS} independent f32x4 mul+add chains in registers, Binaryen-optimised, median of 5 timed batches`, rows };
}
