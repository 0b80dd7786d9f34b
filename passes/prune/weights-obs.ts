// prune-weights' reconstruction, after SparseGPT (Frantar & Alistarh 2023): each output row is pruned input by
// input, and every weight removed has its error spread over the row's later inputs by the optimal brain surgeon
// update with the inverse Hessian of the layer's least-squares error, H = X^T X + lambda*I (X: the layer's inputs
// on the calibration set). The mask is chosen as the row goes, in blocks, by w^2 / [H^-1]_kk (the OBS saliency
// with the already updated weights). Linear algebra in Float64: Cholesky of H, its inverse, and the upper Cholesky
// factor U of H^-1, whose row k holds the update of pruning input k given that inputs < k are settled.

import { cholesky, inverseFromCholesky } from './linalg.js';
import { at, prunedPerRow, type PruneTarget, type RowView } from './weights-mask.js';

/** Inputs whose mask is chosen together (SparseGPT's lazy blocks; a multiple of 4 and 8 for N:M). */
const BLOCK = 128;

/** U with H^-1 = U^T U (upper, row-major), for H = gram + damp * mean(diag) * I; inputs never seen (a zero
 *  diagonal) get 1 there so H stays invertible, and are reported so their weights can be zeroed. The damping grows
 *  tenfold (up to 5 times) while H is not numerically positive definite. */
export function inverseHessianFactor(gram: Float64Array, K: number, damp: number): { u: Float64Array; dead: Uint8Array } {
  const dead = new Uint8Array(K);
  let mean = 0;
  for (let k = 0; k < K; k++) { if (gram[k * K + k] === 0) dead[k] = 1; mean += gram[k * K + k]!; }
  mean = mean / K || 1;
  for (let tries = 0, d = damp; tries < 6; tries++, d *= 10) {
    const h = Float64Array.from(gram);
    for (let k = 0; k < K; k++) h[k * K + k] = (dead[k] ? 1 : h[k * K + k]!) + d * mean;
    const l = cholesky(h, K);
    if (!l) continue;
    const lh = cholesky(inverseFromCholesky(l, K), K);
    if (!lh) continue;
    const u = new Float64Array(K * K);
    for (let i = 0; i < K; i++) for (let j = 0; j <= i; j++) u[j * K + i] = lh[i * K + j]!;
    return { u, dead };
  }
  throw new Error('the calibration second moment is not positive definite even with damping');
}

/** The pruned and re-fitted weight (a new array; same layout as `w`). */
export function obsPrune(w: Float32Array, v: RowView, target: PruneTarget, gram: Float64Array, damp: number): Float32Array {
  const K = v.K;
  const { u, dead } = inverseHessianFactor(gram, K, damp);
  const out = Float32Array.from(w);
  const row = new Float64Array(K), score = new Float64Array(K);
  const pruned = new Uint8Array(K);
  const total = target.kind === 'unstructured' ? prunedPerRow(K, target.sparsity) : 0;
  for (let r = 0; r < v.rows; r++) {
    for (let k = 0; k < K; k++) row[k] = dead[k] ? 0 : w[at(v, r, k)]!;
    pruned.fill(0);
    for (let b = 0; b < K; b += BLOCK) {
      const e = Math.min(K, b + BLOCK);
      for (let k = b; k < e; k++) { const d = u[k * K + k]!; score[k] = (row[k]! * row[k]!) / (d * d); }
      choose(score, b, e, target, total, K, pruned);
      for (let k = b; k < e; k++) {
        if (!pruned[k]) continue;
        // OBS: removing w_k is best compensated by w_j -= (w_k / U_kk) * U_kj on the inputs not yet settled
        const err = row[k]! / u[k * K + k]!, uk = k * K;
        for (let j = k + 1; j < K; j++) row[j]! -= err * u[uk + j]!;
        row[k] = 0;
      }
    }
    for (let k = 0; k < K; k++) out[at(v, r, k)] = pruned[k] ? 0 : row[k]!;
  }
  return out;
}

/** Marks in `pruned` the inputs of [b, e) to remove: the block's share of the row's total (unstructured; shares
 *  rounded so the row total is exact), or M-N of each group of M (N:M). Lowest score first, ties to lower index. */
function choose(score: Float64Array, b: number, e: number, target: PruneTarget, total: number, K: number, pruned: Uint8Array): void {
  const lowest = (from: number, to: number, count: number): void => {
    const idx = Array.from({ length: to - from }, (_, i) => from + i).sort((x, y) => score[x]! - score[y]! || x - y);
    for (let i = 0; i < count; i++) pruned[idx[i]!] = 1;
  };
  if (target.kind === 'unstructured') { lowest(b, e, Math.round((total * e) / K) - Math.round((total * b) / K)); return; }
  const { n, m } = target.nm;
  for (let g = b; g + m <= e; g += m) lowest(g, g + m, m - n);
}
