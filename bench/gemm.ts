// Kernel microbenchmark: GFLOP/s of onnxc's wasm GEMM core (the loop nest MatMul, Gemm and Conv share) at the
// shapes the shared models run, as they run them (constant B panel-packed, convs channels-last: M = pixels,
// N = out channels, K = KH*KW*C), strict and relaxed SIMD, against this machine's measured wasm SIMD peak.

import { loadavg } from 'node:os';
import binaryen from '../backends/wasm/binaryen.js';
import { Fn } from '../backends/wasm/fn.js';
import { dotTail, gemm } from '../backends/wasm/kernels/gemm-core.js';
import { panelSize } from '../backends/wasm/kernels/gemm-pack.js';
import { tilePlan, type TilePlan } from '../backends/wasm/kernels/gemm-plan.js';
import { madd, markRelaxed } from '../backends/wasm/relaxed.js';
import { RELAXED_NODE_FLAGS, relaxedSimdAvailable } from './relaxed-probe.js';
import { latencyStats, quantile } from './stats.js';

export interface GemmShape {
  readonly label: string; readonly M: number; readonly N: number; readonly K: number;
  /** B is a run-time value (not packed), e.g. attention's K^T. */
  readonly unpacked?: boolean;
  /** A register tile other than tilePlan's (to sweep plans). */
  readonly tile?: TilePlan;
}

/** super-resolution-10's 3x3 convs run as Winograd F(4x4, 3x3) (conv-winograd.ts): 36 GEMMs per block of tiles
 *  (M = tiles a block, K = in channels, N = out channels); other 3x3 convs (strided, channels not whole vectors)
 *  as im2col blocks of ~192 KiB (fused-conv.ts), at super-res's channel counts here. magika's 5x1 conv runs as the
 *  one-axis F(4, 5): 8 GEMMs per block of 64 tiles. */
export const GEMM_SHAPES: readonly GemmShape[] = [
  { label: 'square 256', M: 256, N: 256, K: 256 },
  { label: 'square 256 (B unpacked)', M: 256, N: 256, K: 256, unpacked: true },
  { label: 'gpt2_tiny qkv Gemm', M: 64, N: 768, K: 256 },
  { label: 'gpt2_tiny mlp up Gemm', M: 64, N: 1024, K: 256 },
  { label: 'gpt2_tiny mlp down Gemm', M: 64, N: 256, K: 1024 },
  { label: 'gpt2_tiny attn QK^T (per head)', M: 64, N: 64, K: 64, unpacked: true },
  { label: 'mobilenet_v2 stem Conv 3x3 s2', M: 12544, N: 32, K: 27 },
  { label: 'mobilenet_v2 expand 1x1 @56', M: 3136, N: 144, K: 24 },
  { label: 'mobilenet_v2 expand 1x1 @14', M: 196, N: 384, K: 64 },
  { label: 'mobilenet_v2 project 1x1 @14', M: 196, N: 64, K: 384 },
  { label: 'mobilenet_v2 last 1x1 @7', M: 49, N: 1280, K: 320 },
  { label: 'mobilenet_v2 classifier (M=1)', M: 1, N: 1000, K: 1280 },
  { label: 'gpt2_tiny decode qkv (M=1)', M: 1, N: 768, K: 256 },
  { label: 'gpt2_tiny decode mlp up (M=1)', M: 1, N: 1024, K: 256 },
  { label: 'gpt2_tiny decode mlp down (M=1)', M: 1, N: 256, K: 1024 },
  { label: 'super-res Conv_0 5x5 (1->64)', M: 12544, N: 64, K: 25 },
  { label: 'super-res Conv_2 Winograd GEMM (64->64)', M: 8, N: 64, K: 64 },
  { label: 'super-res Conv_4 Winograd GEMM (64->32)', M: 12, N: 32, K: 64 },
  { label: 'super-res Conv_6 Winograd GEMM (32->9)', M: 28, N: 9, K: 32 },
  { label: 'im2col 3x3 (64->64), block', M: 84, N: 64, K: 576 },
  { label: 'im2col 3x3 (64->32), block', M: 84, N: 32, K: 576 },
  { label: 'im2col 3x3 (32->9), block', M: 168, N: 9, K: 288 },
  { label: 'magika Conv_0 5x1 Winograd GEMM (256->512)', M: 64, N: 512, K: 256 },
];

export interface GemmRow extends GemmShape {
  readonly medianMs: number; readonly gflops: number; readonly ofPeak: number; readonly plan: string;
  /** The strict GFLOP/s of each pass (its fastest batch): min, median, max; gflops is the max. */
  readonly spread: Spread;
  readonly relaxedGflops?: number; readonly relaxedOfPeak?: number; readonly relaxedSpread?: Spread;
  /** M = 1 (memory-bound: each B float feeds one multiply-add): the bandwidth ceiling, 2 flops per 4 bytes of
   *  packed B at the measured read rate of a buffer that size, capped at the peak; and the strict figure of it. */
  readonly ceilingGflops?: number; readonly ofCeiling?: number;
}
export interface GemmReport {
  readonly peakGflops: number; readonly peakSpread: Spread;
  readonly relaxedPeakGflops?: number; readonly relaxedPeakSpread?: Spread;
  /** Passes over every figure. */
  readonly passes: number;
  /** The 1-minute load average when the passes started and when they ended (the box is shared). */
  readonly load: readonly [number, number];
  readonly peakMethod: string;
  readonly rows: readonly GemmRow[];
}

interface Instance { readonly exports: Readonly<Record<string, unknown>> }
const WA = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => Instance; Module: new (b: Uint8Array) => object } }).WebAssembly;

/** Build a module exporting `f` (no params) with `pages` of memory; the body comes from a Fn builder. */
export function build(pages: number, relaxed: boolean, body: (fn: Fn, m: binaryen.Module) => binaryen.ExpressionRef): () => void {
  const m = new binaryen.Module();
  try {
    m.setFeatures(binaryen.Features.SIMD128 | (relaxed ? binaryen.Features.RelaxedSIMD : 0));
    if (relaxed) markRelaxed(m);
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
export const GEMM_NODE_FLAGS = ['--no-liftoff', '--no-wasm-dynamic-tiering', ...RELAXED_NODE_FLAGS];
const WARMUP_MS = 100;
const SAMPLES = 24, BATCH_MS = 2;

/** A function ready to time: warmed up once, and its batch size (calls per timed batch, >= BATCH_MS) fixed, so
 *  every pass times the same compiled code on the same memory in batches of the same length. */
interface Probe { readonly f: () => void; readonly reps: number }

function prepare(f: () => void): Probe {
  const w0 = performance.now();
  do f(); while (performance.now() - w0 < WARMUP_MS);
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f();
    if (performance.now() - t0 >= BATCH_MS) return { f, reps };
    reps *= 2;
  }
}

/** Seconds per call of SAMPLES timed batches back to back: the fastest and the median. The box is shared, so the
 *  fastest batch (the one no other process interrupted) measures the kernel; the median says how noisy it was. */
function timeProbe(p: Probe): { best: number; median: number } {
  p.f(); // the other probes of the pass ran since this one last did: its operands back in cache before timing
  const per: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = performance.now();
    for (let i = 0; i < p.reps; i++) p.f();
    per.push((performance.now() - t0) / p.reps);
  }
  return { best: Math.min(...per) / 1000, median: latencyStats(per).medianMs / 1000 };
}

export function timeCall(f: () => void): { best: number; median: number } {
  return timeProbe(prepare(f));
}

const CHAINS = 12;
const PEAK_ITERS = 1 << 16;

/** A loop to time and what one call of it does: flops (the peaks, the GEMMs) or bytes read (the read ceilings). */
interface Workload { readonly f: () => void; readonly work: number }
const rate = (w: Workload, seconds: number): number => w.work / seconds / 1e9;

/** wasm SIMD f32 peak: the faster of two loops, each 4 lanes x 2 flops per multiply-add, mul then add (strict)
 *  or one relaxed_madd:
 *  - CHAINS independent acc = acc*x + y chains. Strict, each chain waits for the mul and the add in turn, so
 *    12 chains in 15 registers stay latency-bound: on Zen 5 it read 52-54 while the GEMM core ran 54-55.
 *  - a GEMM's own pattern: PRODUCTS accumulators acc_j += b * c_j, b a splat loaded each iteration; the products
 *    do not wait for the sums, so only the add's latency chains (58-59 strict and relaxed: two 128-bit
 *    multiply-adds per cycle). */
export function measurePeak(relaxed: boolean): number {
  return Math.max(...peakLoops(relaxed).map((w) => rate(w, timeCall(w.f).best)));
}

const peakLoops = (relaxed: boolean): Workload[] => [peakChains(relaxed), peakProducts(relaxed)];

const PRODUCTS = (relaxed: boolean): number => (relaxed ? 12 : 10);
function peakProducts(relaxed: boolean): Workload {
  const n = PRODUCTS(relaxed);
  const f = build(1, relaxed, (fn, m) => {
    const V = m.f32x4, i = fn.i32(), b = fn.v128(), cs = [fn.v128(), fn.v128()];
    const acc = Array.from({ length: n }, () => fn.v128());
    const init = [...cs.map((c, k) => fn.set(c, fn.loadV({ base: 16 * k }))), ...acc.map((a, k) => fn.set(a, fn.loadV({ base: 64 + 16 * k })))];
    // the splat's address depends on i, so the load stays in the loop
    const loop = fn.loop(i, 0, PEAK_ITERS, () => [
      fn.set(b, m.v128.load32_splat(0, 4, m.i32.and(fn.get(i), fn.c32(60)))),
      ...acc.map((a, k) => fn.set(a, madd(fn, fn.get(b), fn.get(cs[k % 2]!), fn.get(a)))),
    ]);
    let sum = fn.get(acc[0]!);
    for (const a of acc.slice(1)) sum = V.add(sum, fn.get(a));
    return fn.block([...init, loop, fn.storeV({ base: 640 }, sum)]);
  });
  return { f, work: PEAK_ITERS * n * 8 };
}

/** Read bandwidth (GB/s) over `bytes` of memory, the buffer read again each call as the GEMM's B is (so
 *  cache-resident where it fits, as in the GEMM figure): the faster of one stream and of three interleaved ones
 *  (as the 1x24 tile reads three panels), each f32x4 added into one of eight accumulators. */
export function measureReadBandwidth(bytes: number): number {
  return Math.max(...readLoops(bytes).map((w) => rate(w, timeCall(w.f).best)));
}

const readLoops = (bytes: number): Workload[] => [readRate(bytes, 1, 8), readRate(bytes, 3, 2)];

function readRate(bytes: number, streams: number, vecs: number): Workload {
  const part = Math.max(128, Math.floor(bytes / streams / 128) * 128), len = part * streams;
  const f = build(Math.ceil((len + 1024) / 65536) + 1, false, (fn, m) => {
    const V = m.f32x4, p = fn.i32();
    const acc = Array.from({ length: 8 }, () => fn.v128());
    const loop = fn.loop(p, 0, part, () => Array.from({ length: streams * vecs }, (_, k) => {
      const a = acc[k % 8]!, off = 64 + Math.floor(k / vecs) * part + 16 * (k % vecs);
      return fn.set(a, V.add(fn.get(a), m.v128.load(off, 4, fn.get(p))));
    }), 16 * vecs);
    let sum = fn.get(acc[0]!);
    for (const a of acc.slice(1)) sum = V.add(sum, fn.get(a));
    return fn.block([...acc.map((a) => fn.set(a, V.splat(fn.cf32(0)))), loop, fn.storeV({ base: 0 }, sum)]);
  });
  return { f, work: len };
}

function peakChains(relaxed: boolean): Workload {
  const f = build(1, relaxed, (fn, m) => {
    const V = m.f32x4, i = fn.i32(), x = fn.v128(), y = fn.v128();
    const acc = Array.from({ length: CHAINS }, () => fn.v128());
    const ptr = (k: number): { base: number } => ({ base: 16 * k });
    const init = [fn.set(x, fn.loadV(ptr(0))), fn.set(y, fn.loadV(ptr(1))), ...acc.map((a, k) => fn.set(a, fn.loadV(ptr(2 + k))))];
    // x in (0.5, 1) keeps every chain bounded, no overflow or denormals
    const clampX = fn.set(x, V.add(V.mul(V.abs(fn.get(x)), V.splat(fn.cf32(0.25))), V.splat(fn.cf32(0.7))));
    const loop = fn.loop(i, 0, PEAK_ITERS, () => acc.map((a) => fn.set(a, madd(fn, fn.get(a), fn.get(x), fn.get(y)))));
    let sum = fn.get(acc[0]!);
    for (const a of acc.slice(1)) sum = V.add(sum, fn.get(a));
    return fn.block([...init, clampX, loop, fn.storeV(ptr(40), sum)]);
  });
  return { f, work: PEAK_ITERS * CHAINS * 8 };
}

function gemmModule(shape: GemmShape, relaxed: boolean): Workload {
  const { M, N, K } = shape;
  const a = 64, b = a + M * K * 4, c = b + (shape.unpacked ? K * N : panelSize(K, N)) * 4 + 64, end = c + M * N * 4;
  const f = build(Math.ceil(end / 65536) + 1, relaxed, (fn) => gemm(fn, {
    M, N, K, a: { base: a, rs: K, cs: 1 }, b: { base: b, rs: N, cs: 1, ...(shape.unpacked ? {} : { panels: true }) }, c: { base: c, rs: N, cs: 1 },
    ...(shape.tile ? { plan: shape.tile } : {}),
  }));
  return { f, work: 2 * M * N * K };
}

export function gemmGflops(shape: GemmShape, relaxed = false): { medianMs: number; gflops: number } {
  const w = gemmModule(shape, relaxed), t = timeCall(w.f);
  return { medianMs: t.median * 1000, gflops: rate(w, t.best) };
}

const planLabel = (s: GemmShape, relaxed: boolean): string => {
  const dots = dotTail(s.N, !s.unpacked, 1);
  const p = s.tile ?? tilePlan(s.M, s.N - dots, s.K, relaxed, !s.unpacked);
  return `${s.N === dots ? '' : `${p.mr}x${p.nv * 4}`}${p.ku > 1 ? ` k${p.ku}` : ''}${dots ? `+${dots}dot` : ''}`;
};

/** The figures of one quantity over the passes: its value (the fastest batch of all passes, the statistic every
 *  figure here uses, peaks included) and the spread of the per-pass values (each pass's fastest batch). */
export interface Spread { readonly min: number; readonly median: number; readonly max: number; readonly passes: readonly number[] }
const spreadOf = (xs: readonly number[]): Spread => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] ?? NaN, median: quantile(s, 0.5), max: s[s.length - 1] ?? NaN, passes: xs.map((x) => Math.round(x * 100) / 100) };
};

/** One quantity timed every pass: its loops (the faster of them counts, as for the peaks), built and calibrated
 *  once; the per-pass figures, and the median ms of the pass that set the best. */
class Figure {
  readonly passes: number[] = [];
  medianMs = NaN;
  private readonly probes: { readonly w: Workload; readonly p: Probe }[];
  constructor(loops: readonly Workload[]) { this.probes = loops.map((w) => ({ w, p: prepare(w.f) })); }
  time(): number {
    let v = 0, ms = NaN;
    for (const { w, p } of this.probes) {
      const t = timeProbe(p), r = rate(w, t.best);
      if (r > v) { v = r; ms = t.median * 1000; }
    }
    if (v > Math.max(0, ...this.passes)) this.medianMs = ms;
    this.passes.push(v);
    return v;
  }
  get best(): number { return Math.max(...this.passes); }
  get spread(): Spread { return spreadOf(this.passes); }
}

/** Passes over every figure, peaks and shapes interleaved: each pass times the peaks, then every shape (strict,
 *  relaxed, read ceiling), starting one shape further on each pass. Why 9 passes over built-once figures (Zen 4
 *  guest, 2 vCPUs, load 3-8): the box has slow spells of a second or more in which a GEMM's fastest batch falls
 *  from 46 to 24-35 GFLOP/s with its median batch close by (a slower core, not preemption) while the register-only
 *  peak loop holds 53-59; our other vCPU running the same GEMM or streaming 64 MB did not cause one, so they come
 *  from outside this machine. One module timed 4 times in a row read 46/46/28/46 and 45/46/32/31, and different
 *  builds of it all reached 46 (no placement effect). Three passes each ~18 s apart left a shape judged on three
 *  samples of ~0.3 s: a full bench read gpt2_tiny mlp up/down and mobilenet_v2 project at 70-73% of peak against
 *  90-91% alone right after. Nine passes, each shape at a different point of every pass, leave the best pass clear of
 *  the spells; min/median/max over the passes show how many hit. */
const ROUNDS = 9;

export function runGemmBench(shapes: readonly GemmShape[] = GEMM_SHAPES, log: (l: string) => void = () => {}, passes = ROUNDS): GemmReport {
  const relaxed = relaxedSimdAvailable(), load0 = loadavg()[0]!;
  const peak = new Figure(peakLoops(false)), relaxedPeak = relaxed ? new Figure(peakLoops(true)) : undefined;
  const figs = shapes.map((s) => ({
    strict: new Figure([gemmModule(s, false)]),
    relaxed: relaxed ? new Figure([gemmModule(s, true)]) : undefined,
    bw: s.M === 1 && !s.unpacked ? new Figure(readLoops(panelSize(s.K, s.N) * 4)) : undefined,
  }));
  for (let round = 0; round < passes; round++) {
    const p = peak.time(), rp = relaxedPeak?.time();
    log(`  pass ${round + 1}: wasm SIMD peak ${p.toFixed(1)} GFLOP/s${rp ? `, relaxed (fused madd) ${rp.toFixed(1)}` : ''}`);
    for (let k = 0; k < shapes.length; k++) {
      const i = (k + round) % shapes.length, f = figs[i]!;
      const g = f.strict.time(), r = f.relaxed?.time(), bw = f.bw?.time();
      log(`  ${shapes[i]!.label}: ${g.toFixed(2)} GFLOP/s${r ? `, relaxed ${r.toFixed(2)}` : ''}${bw ? ` (read ${bw.toFixed(1)} GB/s)` : ''}`);
    }
  }
  const peakGflops = peak.best, relaxedPeakGflops = relaxedPeak?.best;
  const rows = shapes.map((s, i): GemmRow => {
    const f = figs[i]!, gflops = f.strict.best;
    const ceiling = f.bw ? Math.min(peakGflops, f.bw.best / 2) : undefined;
    return {
      ...s, gflops, medianMs: f.strict.medianMs, ofPeak: gflops / peakGflops, plan: planLabel(s, false), spread: f.strict.spread,
      ...(f.relaxed && relaxedPeakGflops ? { relaxedGflops: f.relaxed.best, relaxedOfPeak: f.relaxed.best / relaxedPeakGflops, relaxedSpread: f.relaxed.spread } : {}),
      ...(ceiling !== undefined ? { ceilingGflops: ceiling, ofCeiling: gflops / ceiling } : {}),
    };
  });
  return {
    peakGflops, peakSpread: peak.spread, passes, load: [load0, loadavg()[0]!],
    ...(relaxedPeak && relaxedPeakGflops ? { relaxedPeakGflops, relaxedPeakSpread: relaxedPeak.spread } : {}),
    peakMethod: `the faster of ${CHAINS} independent f32x4 mul+add chains and ${PRODUCTS(false)} (relaxed ${PRODUCTS(true)}) accumulators of splat x vector products, in registers; relaxed % against the relaxed peak; M=1 rows also against the read-bandwidth ceiling of their packed B (2 flops per 4 bytes); ${passes} passes, peaks and shapes interleaved, each pass timing every figure as its fastest of ${SAMPLES} ~${BATCH_MS}-${2 * BATCH_MS} ms batches; every figure (peaks too) is its best pass, min/med/max the spread of its passes (ms column: median batch of the best pass)`,
    rows,
  };
}
