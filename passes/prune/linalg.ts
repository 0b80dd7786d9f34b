// Dense symmetric positive-definite algebra in Float64 for the re-fits (prune-channels' ridge solve, prune-weights'
// inverse Hessian): the Cholesky factor (A = L Lᵀ) and A X = B, with the ridge added by the caller.
// Sizes are a layer's inputs (hundreds), so plain O(n³) loops are enough.

import { OnnxcError } from '../../ir/errors.js';

/** Lower Cholesky factor of the K x K symmetric `a` (row-major), or undefined when it is not positive definite. */
export function cholesky(a: Float64Array, K: number): Float64Array | undefined {
  const l = new Float64Array(K * K);
  for (let j = 0; j < K; j++) {
    let d = a[j * K + j]!;
    for (let p = 0; p < j; p++) d -= l[j * K + p]! * l[j * K + p]!;
    if (!(d > 0)) return undefined;
    const ljj = Math.sqrt(d);
    l[j * K + j] = ljj;
    for (let i = j + 1; i < K; i++) {
      let s = a[i * K + j]!;
      const li = i * K, lj = j * K;
      for (let p = 0; p < j; p++) s -= l[li + p]! * l[lj + p]!;
      l[li + j] = s / ljj;
    }
  }
  return l;
}

/** Solves A X = B for X (A: n×n row-major SPD, B: n×m row-major); returns X (n×m). A and B are not modified. */
export function choleskySolve(A: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const L = cholesky(A, n);
  if (!L) throw new OnnxcError('least-squares re-fit: the normal matrix is not positive definite');
  const X = Float64Array.from(B);
  // forward: L Y = B
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) { const l = L[i * n + k]!; if (l !== 0) for (let c = 0; c < m; c++) X[i * m + c]! -= l * X[k * m + c]!; }
    const d = L[i * n + i]!;
    for (let c = 0; c < m; c++) X[i * m + c]! /= d;
  }
  // back: Lᵀ X = Y
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) { const l = L[k * n + i]!; if (l !== 0) for (let c = 0; c < m; c++) X[i * m + c]! -= l * X[k * m + c]!; }
    const d = L[i * n + i]!;
    for (let c = 0; c < m; c++) X[i * m + c]! /= d;
  }
  return X;
}

/** Ridge regression towards a prior: argmin ||Y - X Θ||² + λ||Θ - Θ0||² from the normal equations
 *  (XᵀX + λI) Θ = XᵀY + λΘ0, with λ = ridge · mean diagonal of XᵀX (so the scale of the inputs does not matter). */
export function ridgeSolve(xtx: Float64Array, xty: Float64Array, prior: Float64Array, n: number, m: number, ridge: number): Float64Array {
  let tr = 0;
  for (let i = 0; i < n; i++) tr += xtx[i * n + i]!;
  const lambda = Math.max(ridge * (tr / n), 1e-12);
  const A = Float64Array.from(xtx), B = Float64Array.from(xty);
  for (let i = 0; i < n; i++) A[i * n + i]! += lambda;
  for (let i = 0; i < n * m; i++) B[i]! += lambda * prior[i]!;
  return choleskySolve(A, B, n, m);
}

/** (L L^T)^-1 from the lower factor L: L^-1 by forward substitution, then L^-T L^-1. */
export function inverseFromCholesky(l: Float64Array, K: number): Float64Array {
  const li = new Float64Array(K * K);
  for (let j = 0; j < K; j++) {
    li[j * K + j] = 1 / l[j * K + j]!;
    for (let i = j + 1; i < K; i++) {
      let s = 0;
      for (let p = j; p < i; p++) s += l[i * K + p]! * li[p * K + j]!;
      li[i * K + j] = -s / l[i * K + i]!;
    }
  }
  const inv = new Float64Array(K * K);
  for (let i = 0; i < K; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let p = i; p < K; p++) s += li[p * K + i]! * li[p * K + j]!;
      inv[i * K + j] = s;
      inv[j * K + i] = s;
    }
  }
  return inv;
}
