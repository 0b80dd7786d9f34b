// Kernel times of the sparse MatMul kernels against the dense GEMM on the same (densified) B, on the layer shapes of
// gpt2_tiny and bert-tiny: the N:M kernel at 2:4 and 4:8 (kernels/sparse-nm.ts) and the CSC kernel at 50%
// unstructured (kernels/sparse-matmul.ts). Prints a table and the NM_MEASURED lines of kernels/sparse-cost.ts.
//
//   npx tsx bench/sparse-kernels.ts [--rows 1,16,64,128] [--shapes 128x128,256x1024,...] [--patterns 2:4,4:8,csc]
//                                   [--samples 15] [--tiles 1x6,1x4] [--hot-only]
// Two settings per shape. "hot": one layer called again and again (its B stays in L1/L2). "streamed": as many copies
// of the layer (different weights) as fill 4 MiB, called in turn, so each call reads B from beyond this machine's
// 1 MiB L2, as a model run does (a layer's weights are read once per run, other layers' between). The cost model
// keeps each kernel's best of the two. Each time is the minimum over samples of a sample's mean per call; dense and sparse samples
// alternate so that load from other processes on a shared machine falls on both alike.

import { setFlagsFromString } from 'node:v8';
import { emitWasm, WASM_BACKEND, type WasmArtifact } from '../backends/wasm/compile.js';
import { KERNELS } from '../backends/wasm/kernels/index.js';
import { withSparse, type SparseChoice } from '../backends/wasm/kernels/sparse-matmul.js';
import { planLowering } from '../lowering/plan.js';
import { prepareForLowering } from '../lowering/prepare.js';
import { makeTensor, type Tensor } from '../ir/tensor.js';
import { prng } from '../ir/random.js';
import { GraphBuilder } from '../models/builder.js';

const args = process.argv.slice(2);
const opt = (f: string, d: string): string => { const i = args.indexOf(f); return i >= 0 ? args[i + 1]! : d; };
const rowsList = opt('--rows', '1,16,64,128').split(',').map(Number);
const shapes = opt('--shapes', '128x128,128x512,512x128,256x256,256x768,256x1024,1024x256').split(',').map((s) => s.split('x').map(Number) as [number, number]);
const patterns = opt('--patterns', '2:4,4:8,csc').split(',');
const samples = Number(opt('--samples', '15'));
const tiles = opt('--tiles', '').split(',').filter(Boolean).map((t) => { const [mr, nv] = t.split('x').map(Number); return { mr: mr!, nv: nv! }; });
const STREAM_BYTES = 4 << 20;
// straight to V8's optimising tier: a kernel still in the baseline tier when its samples start (tier-up is slow on a
// loaded machine) measured 2-4x its steady time, which a model run, called again and again, never sees
setFlagsFromString('--no-liftoff');

/** B [K, N] random with `pattern` kept: n of every m along K per column, or 50% unstructured ('csc'). */
export function prunedB(K: number, N: number, pattern: string, seed: number): Tensor<'float32'> {
  const r = prng(seed), d = new Float32Array(K * N);
  for (let i = 0; i < d.length; i++) d[i] = r() * 2 - 1;
  if (pattern === 'csc') { for (let i = 0; i < d.length; i++) if (r() < 0.5) d[i] = 0; return makeTensor('float32', [K, N], d); }
  const [n, m] = pattern.split(':').map(Number) as [number, number];
  for (let c = 0; c < N; c++) {
    for (let g = 0; g < K; g += m) {
      const pos = Array.from({ length: m }, (_, j) => j).sort(() => r() - 0.5);
      for (const j of pos.slice(n)) d[(g + j) * N + c] = 0;
    }
  }
  return makeTensor('float32', [K, N], d);
}

// the WebAssembly JS API is not in the project's lib settings (as in compiler/kernel-profile.ts)
interface Instance { exports: Record<string, unknown> }
const WA = (globalThis as unknown as { WebAssembly: { Instance: new (m: unknown) => Instance; Module: new (b: Uint8Array) => unknown } }).WebAssembly;

/** `copies` MatMuls of x [M, K] by different B with `pattern`, compiled with `kernel`; its kernel functions. */
function layers(M: number, K: number, N: number, pattern: string, copies: number, kernel: SparseChoice | 'dense'): { calls: (() => void)[]; artifact: WasmArtifact } {
  const b = new GraphBuilder('sparse_bench');
  const x = b.input('x', 'float32', [M, K]);
  for (let c = 0; c < copies; c++) b.output(b.op('MatMul', [x, b.weight(`w${c}`, prunedB(K, N, pattern, 100 + c))]));
  const g = b.model({}).graph;
  // weights outside the module (a 4 MiB data segment ran Binaryen out of memory), copied in as the runtime does
  const opts = { inputShapes: { x: [M, K] }, embedLimit: 0, exportKernels: true };
  const kernels = kernel === 'dense' ? KERNELS : { ...KERNELS, MatMul: withSparse(KERNELS['MatMul']!, kernel) };
  const artifact = emitWasm(planLowering({ ...WASM_BACKEND, kernels }, prepareForLowering(g, opts)), opts);
  const inst = new WA.Instance(new WA.Module(artifact.wasm));
  // x in [-1, 1): the kernels' speed does not depend on the values, but garbage could hold denormals
  const io = artifact.manifest.inputs[0]!, r = prng(7), mem = (inst.exports['memory'] as { buffer: ArrayBuffer }).buffer;
  new Uint8Array(mem).set(artifact.weights, artifact.manifest.weights.offset);
  new Float32Array(mem, io.offset, M * K).set(Float32Array.from({ length: M * K }, () => r() * 2 - 1));
  (inst.exports['run'] as () => void)(); // expands the weights once
  return { calls: artifact.kernels.map((k) => inst.exports[k.fn] as () => void), artifact };
}

/** Min over samples of the mean time per call (ms) of each variant, samples of the variants interleaved. */
function timeAll(variants: readonly (() => void)[][]): number[] {
  // warm caches and branch predictors
  for (const calls of variants) { const t0 = performance.now(); while (performance.now() - t0 < 60) for (const c of calls) c(); }
  const per = variants.map((calls) => {
    // calls per sample: at least ~2 ms of work, whole rounds over the copies
    const t0 = performance.now(); for (const c of calls) c(); const once = (performance.now() - t0) / calls.length;
    return Math.max(calls.length, Math.ceil(2 / Math.max(once, 1e-4) / calls.length) * calls.length);
  });
  const best = variants.map(() => Infinity);
  for (let s = 0; s < samples; s++) {
    variants.forEach((calls, v) => {
      const n = per[v]!;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) calls[i % calls.length]!();
      best[v] = Math.min(best[v]!, (performance.now() - t0) / n);
    });
  }
  return best;
}

const f3 = (x: number): string => x.toFixed(4);
const measured: string[] = [];
console.log(`sparse kernels vs dense GEMM (ms per call; min over ${samples} samples; streamed: copies of the layer filling ${STREAM_BYTES >> 20} MiB)`);
console.log('| pattern | M | K x N | kernel | dense hot | sparse hot | ratio hot | dense streamed | sparse streamed | ratio streamed | dense GFLOP/s (streamed) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const pattern of patterns) {
  for (const M of rowsList) {
    for (const [K, N] of shapes) {
      const copies = args.includes('--hot-only') ? 1 : Math.max(1, Math.ceil(STREAM_BYTES / (K * N * 4)));
      // the variants: CSC, or both N:M kernels (and the columns kernel at each --tiles tile)
      const variants: [string, SparseChoice][] = pattern === 'csc' ? [['csc', { maxDensity: 1, nm: 'never' }]]
        : [['cols', { maxDensity: 0, nm: 'always', nmKernel: 'cols' }], ['rows', { maxDensity: 0, nm: 'always', nmKernel: 'rows' }],
          ...tiles.map((t): [string, SparseChoice] => [`cols ${t.mr}x${t.nv}`, { maxDensity: 0, nm: 'always', nmKernel: 'cols', tile: t }])];
      const built = [layers(M, K, N, pattern, copies, 'dense'), ...variants.map(([, v]) => layers(M, K, N, pattern, copies, v))];
      built.slice(1).forEach((b, i) => {
        if (!(b.artifact.manifest.sparseWeights ?? []).some((e) => e[3] === 'sparse-kernel')) throw new Error(`${pattern} ${M}x${K}x${N}: the ${variants[i]![0]} kernel was not taken`);
      });
      const hot = timeAll(built.map((b) => [b.calls[0]!]));
      const str = copies > 1 ? timeAll(built.map((b) => b.calls)) : hot;
      const gflops = (2 * M * K * N) / (str[0]! * 1e6);
      variants.forEach(([name], i) => {
        console.log(`| ${pattern} | ${M} | ${K} x ${N} | ${name} | ${f3(hot[0]!)} | ${f3(hot[i + 1]!)} | ${(hot[i + 1]! / hot[0]!).toFixed(2)} | ${f3(str[0]!)} | ${f3(str[i + 1]!)} | ${(str[i + 1]! / str[0]!).toFixed(2)} | ${gflops.toFixed(1)} |`);
        // the table keeps each kernel's best time of the two settings: interference from other processes only adds
        // time, and streaming B from L3 cost the dense kernel little at M >= 16 here
        const best = (v: number): number => Math.min(hot[v]!, str[v]!);
        if (name === 'cols' || name === 'rows' || name === 'csc') measured.push(`  { pattern: '${pattern === 'csc' ? '50%' : pattern}', kernel: '${name}', M: ${M}, K: ${K}, N: ${N}, dense: ${f3(best(0))}, sparse: ${f3(best(i + 1))} },`);
      });
    }
  }
}
console.log('\nNM_MEASURED (kernels/sparse-cost.ts):');
console.log(measured.join('\n'));
