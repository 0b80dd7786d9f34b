// Packing a constant GEMM B operand (K x N, any strides) into column panels of NR: panel p holds columns
// p*NR..p*NR+NR-1 as K contiguous rows of NR floats, so the micro-kernel's B loads walk memory linearly instead
// of striding a whole row (N*4 bytes, often a multiple of 4 KiB that aliases one L1 set) per K step.

import { NR } from './gemm-plan.js';

/** Whether a B of N columns is worth packing: the core reads any width from panels (the zero padding fills its
 *  last vector, whose stores keep to the valid lanes), but under 4 columns the padding would be most of it. */
export const panelable = (N: number): boolean => N >= 4;

/** Floats a packed K x N operand takes (the last panel padded to NR columns with zeros). */
export const panelSize = (K: number, N: number): number => Math.ceil(N / NR) * NR * K;

/** B[k, n] = src[off + k*rs + n*cs] packed into `dst` from element `at`, panels of NR columns. */
export function packPanels(src: ArrayLike<number>, K: number, N: number, rs: number, cs: number, off = 0, dst?: Float32Array, at = 0): Float32Array {
  const out = dst ?? new Float32Array(panelSize(K, N));
  // row by row: both sides walk memory in order for a row-major source (compile time: mobilenet_v2 packs 3.4M floats)
  for (let k = 0; k < K; k++) {
    const from = off + k * rs;
    for (let p = 0, n = 0; n < N; p++) {
      const to = at + (p * K + k) * NR;
      for (let j = 0; j < NR && n < N; j++, n++) out[to + j] = src[from + n * cs]!;
    }
  }
  return out;
}
