// Dense symmetric positive-definite solves in Float64 for the re-fit: A X = B by Cholesky (A = L Lᵀ), with the
// ridge added by the caller. Sizes are a layer's inputs (hundreds), so plain O(n³) loops are enough.

import { OnnxcError } from '../../ir/errors.js';

/** Solves A X = B for X (A: n×n row-major SPD, B: n×m row-major); returns X (n×m). A and B are not modified. */
export function choleskySolve(A: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j]!;
    for (let k = 0; k < j; k++) d -= L[j * n + k]! ** 2;
    if (!(d > 0)) throw new OnnxcError(`least-squares re-fit: the normal matrix is not positive definite at row ${j} (pivot ${d})`);
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = s / ljj;
    }
  }
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
