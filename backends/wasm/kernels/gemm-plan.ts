// The register-tile plan of the GEMM core per shape: how many rows (mr) and f32x4 columns (nv) one micro-kernel
// holds in accumulators. The limit is V8's x64 register file: 15 allocatable xmm registers (xmm15 is its scratch);
// a strict multiply-add also needs a temporary for the product, a relaxed madd does not.

/** Columns per packed B panel (gemm-pack.ts): two f32x4. A panel-packed tile is one vector or whole panels. */
export const NR = 8;

export interface TilePlan {
  /** Rows of A per micro-tile. */
  readonly mr: number;
  /** f32x4 columns of B per micro-tile. */
  readonly nv: number;
  /** K steps per loop trip. */
  readonly ku: number;
}

/** The tile for C[M,N] = A[M,K] B[K,N], strict or relaxed (fused madd) SIMD.
 *  Measured (bench/gemm.ts shapes, fastest of 40 batches, Zen 5 under V8, GFLOP/s against a ~53-56 peak):
 *  - M >= 3: 4x8 (8 accumulators) at 48-55 on every model shape, strict and relaxed alike (since the K loop lost
 *    its trip count, strict takes 2x16 from 16 columns on: WIDE_MIN_N); 5x8 and 6x8 (10-12
 *    accumulators, 15-16 registers with B and the A splat) ran 24-47, 3x8 and 2x8 a few percent under 4x8, 8x4
 *    and 4x4 under 40; unrolling K (ku 2) lost 10-25% (V8 hoists the unrolled loads and spills).
 *  - M = 1 (classifier heads, decoder steps): 1x24 at 36-43 against 27-29 for the 4x8 plan's one-row tail (two
 *    accumulators chain every K step through the add latency; six independent chains do not). One-row tiles
 *    multiply then add in relaxed modules too (gemm-core.ts): six fused chains of 4-cycle latency ran 36-41.
 *  - M = 2: 2x16 at 54 against 45.
 *  - The last M % mr rows take the plan of that many rows (gemm-core.ts: 1x24, 2x16) when whole main tiles fill it,
 *    inside chunks of its width while those panels are hot (wide B): 5x1280x320 77 -> 84% of peak, 9x768x256
 *    83 -> 90%, 6x1024x256 88 -> 93%, mobilenet_v2's 49x1280x320 88 -> 90% (interleaved, best of 6 passes, load 12).
 *  - N = 11 on panels: one 2x12 tile over every column (3x12 and 4x12 spill: 16-21). N % 4 = 1 or 2 on panels
 *    and every N % 4 of an unpacked B leave those last columns to dot products along K (gemm-core.ts dotColumns),
 *    so the tile here is planned for N - N % 4: super-resolution-10's 9-channel convs went from a 2x12 tile (a
 *    quarter of its lanes padding) at 37-41 to 4x8 + one dot column at 47-49 (`M` 28 and 168, K 32 and 288).
 *  The peak these are read against (bench/gemm.ts) is 58-59, strict and relaxed: two 128-bit multiply-adds a
 *  cycle; the 4x8 tile runs at 92-94% of it. M = 1 is bound by reading B (each float feeds one multiply-add): its
 *  ceiling is the read bandwidth over B's size, 41-46 GFLOP/s at 83-108 GB/s from L2/L3, and 1x24 runs 85-95% of
 *  that; a one-panel GEMV with K split over 2-6 accumulator sets ran 17-36, 1x24 k2 31-35, 1x16 k2 37-42 (within
 *  the noise of 1x24, and it would misalign parallel.ts's 24-column chunks); two accumulator sets over even and
 *  odd K steps (1x16 k2, 1x8 k2/k4) ran 19-35 strict and relaxed. With B in L2 (gpt2_tiny decode, 0.8-1 MB) the
 *  read ceiling (~110 GB/s) is about the peak and 1x24 runs 73-77% of it; past L2 (the 5 MB classifier) ~87%.
 *  - In a model a weight comes from L3 or memory, not L2 as here: with each call reading the next of 40 copies of
 *    B (31 MB), gpt2_tiny's 64x768x256 ran ~45 against 48-53 hot, which is most of the gap to its in-model 41-49
 *    (onnxc bench --profile); one dropped 32-bit load of the next column tile's panels per K step (a software
 *    prefetch) did not change it. The rest of that gap was the epilogue in the tiles (a bias alone cost 7%), now a
 *    pass over C (gemm-core.ts epiAfter): cold B with gpt2_tiny's epilogues then reads 45-48 (42-43 with the GELU)
 *    against 50-51 hot. Neither of two more tries moved the cold figures beyond noise (load 9-12): a streaming read
 *    of each column block's panels before its row tiles (independent loads, 8 a trip), and 16-column panels (one
 *    B stream per 2x16 tile, not two): 64x768x256 cold 45.6-46.4 -> 46.8-47.2, 64x1024x256 45.6-46.1 -> 46.4-46.7,
 *    but 64x256x1024 47.6-48.5 -> 46.6-47.2 (hot too: 50.7-51.1 -> 50.2-50.3). 5x8 and 6x8 spill on relaxed too
 *    (31-46 against 43-53 for 4x8). */
export function tilePlan(M: number, N: number, K: number, relaxed: boolean, panels: boolean): TilePlan {
  void K;
  if (M === 1) return { mr: 1, nv: 6, ku: 1 };
  if (panels && N > 8 && N < 12) return { mr: 2, nv: 3, ku: 1 };
  if (M === 2 || (!relaxed && N >= WIDE_MIN_N)) return { mr: 2, nv: 4, ku: 1 };
  return { mr: 4, nv: 2, ku: 1 };
}

/** Strict SIMD, M >= 3: 2x16 from this many columns (below it, its 16-wide tile would be partly padding).
 *  Measured on Zen 4 (AMD EPYC, 2 cores; in-process A/B, best of 3-5 passes, load 6-7, GFLOP/s against a 58-59
 *  peak), with the core's K loop counted by A's pointer (gemm-core.ts): a strict K step is all the front end's
 *  (mul and add apart, V8 does not fold the loads), and 2x16 issues 25 instructions for 8 multiply-adds where
 *  4x8 issues 26 (four A splats for two, four B loads for two). 4x8 -> 2x16, B hot: gpt2_tiny 64x768x256 48.5 ->
 *  51.1, 64x1024x256 48.2 -> 50.9, 64x256x1024 48.4 -> 51.1, 256^3 49.9 -> 51.2, mobilenet_v2 stem 12544x32x27
 *  47.1 -> 49.3, 3136x144x24 46.8 -> 49.5, 196x384x64 47.9 -> 51.3, 49x1280x320 48.2 -> 50.1, Winograd 8x64x64
 *  48.3 -> 51.0, 12x32x64 48.7 -> 51.1, im2col 84x64x576 49.2 -> 49.0, attention QK^T 16x64x64 (B unpacked)
 *  49.0 -> 51.2; with gpt2_tiny's B cold (each call the next of 64 copies, as in a model): 64x768x256 43.8 ->
 *  46.7, 64x256x1024 44.0 -> 48.3 (the first row tile of a column block brings B from memory; 2x16 has 32 row
 *  tiles over each block, 4x8 16). N = 9 (28x9x32, 168x9x288: 8 columns on tiles) 41.8 -> 33.7, hence the bound.
 *  Relaxed: 54.3-55.1 with either tile on these shapes, so relaxed modules keep 4x8, whose single-row tiles (they
 *  multiply then add) are then the same rows as in a threaded split's 8-column chunks (parallel.ts). */
const WIDE_MIN_N = 16;

/** K up to which a tile starts its accumulators with the first K step's products (acc = a*b) instead of zeroing them
 *  and adding (gemm-core.ts): the step saved is a fixed few instructions a tile, a share of its work only at a short
 *  K. Zen 4, bench/gemm.ts (best of 9 passes), two runs interleaved with the zeroed tiles (load 2-3), % of the 59.1
 *  GFLOP/s peak strict / relaxed: mobilenet_v2 stem 12544x32x27 83.8 -> 85.6-85.7 / 93.6 -> 94.5, expand @56
 *  3136x144x24 83.7 -> 85.1-85.2 / 93.6 -> 94.2-94.6, super-res 12544x64x25 83.6-83.7 -> 85.7-85.9 / 94.0 ->
 *  94.7-94.8. Peeled at every K, a longer K gained nothing measurable and im2col's 84x64x576 lost (86.4-86.7 ->
 *  85.7-85.9 strict, the K loop's code unchanged: a code-layout effect), hence the bound. At 3136x144x24 (23 steps
 *  after the peel; V8 unrolls the loop twice, leaving by its middle branch) more steps outside the loop lost, strict,
 *  best of 3 passes, three interleaved runs (load 8-10): a second peeled step (22 in the loop) 50.3-50.4 -> 48.8-49.3
 *  GFLOP/s, the odd step after the loop 50.3-50.4 -> 47.5-47.7, and the whole K in one trip (ku = 23) spills: 11.9.
 *  C's pointer set after the K loop instead of before: 50.2-50.3 both. */
export const PEEL_MAX_K = 32;
