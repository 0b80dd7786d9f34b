// The register-tile plan of the GEMM core per shape: how many rows (mr) and f32x4 columns (nv) one micro-kernel
// holds in accumulators. The limit is V8's x64 register file: 15 allocatable xmm registers (xmm15 is its scratch);
// a strict multiply-add also needs a temporary for the product, a relaxed madd does not.

/** Columns per packed B panel (gemm-pack.ts): two f32x4. A panel-packed tile is 1 or 2 vectors wide. */
export const NR = 8;

export interface TilePlan {
  /** Rows of A per micro-tile. */
  readonly mr: number;
  /** f32x4 columns of B per micro-tile. */
  readonly nv: number;
  /** K steps per loop trip. */
  readonly ku: number;
}

/** The tile for C[M,N] = A[M,K] B[K,N], strict or relaxed (fused madd) SIMD. */
export function tilePlan(M: number, N: number, K: number, relaxed: boolean, panels: boolean): TilePlan {
  void K; void panels; void N; void M; void relaxed;
  return { mr: 4, nv: 2, ku: 1 };
}
