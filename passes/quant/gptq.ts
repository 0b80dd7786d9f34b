// Error-compensating rounding of a linear layer's weight (GPTQ, Frantar et al. 2022): the input rows are rounded
// one at a time, and each rounding error is pushed onto the rows not yet rounded along the inverse Hessian of the
// layer's least-squares output error (H = XᵀX from calibration), so the output error, not the weight error, is kept
// small. The scales are the caller's, fixed before the sweep (chosen on the float weights: choosing each block's scale
// again from the weights as the feedback left them, GPTQ's groups, measured worse on bert-tiny, 99.02% against
// 99.24% argmax agreement over 8192 rows at int4 blocks of 64); only which grid point each weight takes changes.

import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { cholesky, inverseFromCholesky } from '../prune/linalg.js';
import { f16Scale } from './f16-store.js';
import type { QuantizedWeight } from './weight-quant.js';

/** A 2-D weight seen as [K inputs, N outputs]: element (k, n) at `at(k, n)` of `data`. */
export interface KNView {
  readonly K: number;
  readonly N: number;
  readonly at: (k: number, n: number) => number;
}

export interface Grid {
  /** Scale and zero point of element (k, n). */
  readonly scale: (k: number, n: number) => number;
  readonly zero: (k: number, n: number) => number;
  readonly qmin: number;
  readonly qmax: number;
}

/** Upper factor U (Uᵀ U = (H + λI)⁻¹) of the damped inverse Hessian, or undefined when H is unusable. */
function inverseFactor(gram: Float64Array, K: number, damp: number): Float64Array | undefined {
  const h = Float64Array.from(gram);
  let tr = 0;
  for (let i = 0; i < K; i++) tr += h[i * K + i]!;
  if (!(tr > 0)) return undefined;
  const lambda = damp * (tr / K);
  for (let i = 0; i < K; i++) {
    // an input that is always zero carries no error: pin it so H stays invertible
    if (h[i * K + i] === 0) h[i * K + i] = 1;
    h[i * K + i]! += lambda;
  }
  const l = cholesky(h, K);
  if (!l) return undefined;
  const inv = inverseFromCholesky(l, K);
  const li = cholesky(inv, K);
  if (!li) return undefined;
  // U = Lᵀ of the inverse's lower factor
  const u = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j <= i; j++) u[j * K + i] = li[i * K + j]!;
  return u;
}

/**
 * The integer weights q (indexed like `data`) rounded on `grid` with GPTQ's error feedback, or undefined when the
 * Hessian is not usable (the caller then rounds to nearest). `gram` is K x K, row-major.
 */
export function gptqRound(data: Float32Array, view: KNView, gram: Float64Array, grid: Grid, damp = 0.01): Int8Array | undefined {
  const { K, N, at } = view;
  // inputs with the most energy first (GPTQ's act order): their errors then have the most rows left to absorb them
  const perm = Array.from({ length: K }, (_, k) => k);
  perm.sort((a, b) => gram[b * K + b]! - gram[a * K + a]! || a - b);
  const pg = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) pg[i * K + j] = gram[perm[i]! * K + perm[j]!]!;
  const u = inverseFactor(pg, K, damp);
  if (!u) return undefined;
  // working copy as [K][N] rows, in sweep order
  const w = new Float64Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) w[k * N + n] = data[at(perm[k]!, n)]!;
  const q = new Int8Array(data.length), err = new Float64Array(N);
  for (let k = 0; k < K; k++) {
    const d = u[k * K + k]!, kk = perm[k]!;
    for (let n = 0; n < N; n++) {
      const s = grid.scale(kk, n), z = grid.zero(kk, n), x = w[k * N + n]!;
      const v = Math.min(grid.qmax, Math.max(grid.qmin, Math.round(x / s) + z));
      q[at(kk, n)] = v;
      err[n] = (x - (v - z) * s) / d;
    }
    for (let j = k + 1; j < K; j++) {
      const c = u[k * K + j]!;
      if (c === 0) continue;
      const row = j * N;
      for (let n = 0; n < N; n++) w[row + n]! -= err[n]! * c;
    }
  }
  return q;
}

/** A 2-D symmetric weight's [K, N] view, its scale slot per element and its integer range. */
function layout(w: Tensor, qw: QuantizedWeight, channelAxis: number) {
  const C = w.dims[1]!;
  const kAxis = 1 - channelAxis, K = w.dims[kAxis]!, N = w.dims[channelAxis]!;
  const at = kAxis === 0 ? (k: number, n: number): number => k * C + n : (k: number, n: number): number => n * C + k;
  const bs = qw.blockSize, nb = bs === 0 ? 1 : Math.ceil(K / bs);
  // scale layout: [N] per channel, else the weight's dims with the K axis divided by the block size
  const slot = bs === 0 ? (_k: number, n: number): number => n
    : kAxis === 0 ? (k: number, n: number): number => Math.floor(k / bs) * N + n
      : (k: number, n: number): number => n * nb + Math.floor(k / bs);
  const blockOf = bs === 0 ? (): number => 0 : (k: number): number => Math.floor(k / bs);
  const qmax = qw.q.dtype === 'int4' ? 7 : qw.q.dtype === 'int2' ? 1 : 127;
  return { K, N, at, slot, nb, blockOf, qmax };
}

/**
 * `qw` (a symmetric 2-D weight, per channel or in blocks along the reduction axis) with its integers re-rounded by
 * GPTQ against the input second moment `gram` (K x K); `qw` itself when the Hessian is unusable.
 */
export function refineGptq(w: Tensor, qw: QuantizedWeight, channelAxis: number, gram: Float64Array, damp = 0.01): QuantizedWeight {
  if (w.dims.length !== 2) return qw;
  const { K, N, at, slot, qmax } = layout(w, qw, channelAxis);
  if (gram.length !== K * K) return qw;
  const s = qw.scale.data as Float32Array;
  const q = gptqRound(w.data as Float32Array, { K, N, at }, gram, {
    scale: (k, n) => s[slot(k, n)]!, zero: () => 0, qmin: -qmax - 1, qmax,
  }, damp);
  return q ? { ...qw, q: makeTensor(qw.q.dtype, qw.q.dims, q) } : qw;
}

/**
 * The scales of `qw` re-fitted to its integers: per output column, the block scales s minimising the layer's output
 * error (w - Q s)ᵀ H (w - Q s) (H = `gram`, Q the column's integers spread over its blocks), a small least-squares
 * solve. GPTQ's rounding moves integers away from round-to-nearest, after which the scales chosen on the float
 * weights are no longer the best ones for them. A column whose solve is singular or flips a scale's sign keeps
 * its scales; `f16` rounds the new ones as quantizeWeight does.
 */
export function refitScales(w: Tensor, qw: QuantizedWeight, channelAxis: number, gram: Float64Array, f16: boolean): QuantizedWeight {
  if (w.dims.length !== 2) return qw;
  const { K, N, at, slot, nb, blockOf } = layout(w, qw, channelAxis);
  if (gram.length !== K * K) return qw;
  const wd = w.data as Float32Array, qd = qw.q.data as Int8Array;
  const s = Float32Array.from(qw.scale.data as Float32Array);
  const hq = new Float64Array(K * nb), hw = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    // (H Q)[k, c] and (H w)[k]
    hq.fill(0);
    for (let k = 0; k < K; k++) {
      const row = k * K;
      let a = 0;
      for (let j = 0; j < K; j++) {
        const h = gram[row + j]!;
        hq[k * nb + blockOf(j)]! += h * qd[at(j, n)]!;
        a += h * wd[at(j, n)]!;
      }
      hw[k] = a;
    }
    const A = new Float64Array(nb * nb), b = new Float64Array(nb);
    for (let k = 0; k < K; k++) {
      const qk = qd[at(k, n)]!, bk = blockOf(k);
      if (qk === 0) continue;
      for (let c = 0; c < nb; c++) A[bk * nb + c]! += qk * hq[k * nb + c]!;
      b[bk]! += qk * hw[k]!;
    }
    const x = solveSmall(A, b, nb);
    // each new scale keeps its old one's sign (negative scales: weight-quant's signedScales)
    if (!x || x.some((v, c) => !(v * s[slot(c * (qw.blockSize || K), n)]! > 0) || !Number.isFinite(v))) continue;
    for (let c = 0; c < nb; c++) {
      const k0 = c * (qw.blockSize || K);
      s[slot(k0, n)] = f16 ? f16Scale(Math.fround(x[c]!)) : Math.fround(x[c]!);
    }
  }
  return { ...qw, scale: makeTensor('float32', qw.scale.dims, s) };
}

/** A x = b for a small dense n x n system (Gaussian elimination, partial pivoting); undefined when singular. */
function solveSmall(A: Float64Array, b: Float64Array, n: number): Float64Array | undefined {
  const a = Float64Array.from(A), x = Float64Array.from(b);
  let big = 0;
  for (let i = 0; i < n * n; i++) big = Math.max(big, Math.abs(a[i]!));
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[p * n + c]!)) p = r;
    if (!(Math.abs(a[p * n + c]!) > big * 1e-12)) return undefined;
    if (p !== c) {
      for (let j = 0; j < n; j++) { const t = a[c * n + j]!; a[c * n + j] = a[p * n + j]!; a[p * n + j] = t; }
      const t = x[c]!; x[c] = x[p]!; x[p] = t;
    }
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c]! / a[c * n + c]!;
      if (f === 0) continue;
      for (let j = c; j < n; j++) a[r * n + j]! -= f * a[c * n + j]!;
      x[r]! -= f * x[c]!;
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let v = x[c]!;
    for (let j = c + 1; j < n; j++) v -= a[c * n + j]! * x[j]!;
    x[c] = v / a[c * n + c]!;
  }
  return x;
}


/** The relative output error of a quantised layer on the calibration inputs: tr(Δᵀ H Δ) / tr(wᵀ H w), Δ = w minus
 *  its dequantised `qw`, in the [K, N] view; what ||X Δ||² / ||X w||² is over the rows H = XᵀX came from. */
export function outputError(w: Tensor, qw: QuantizedWeight, channelAxis: number, gram: Float64Array): number {
  const { K, N, at, slot } = layout(w, qw, channelAxis);
  const wd = w.data as Float32Array, qd = qw.q.data as Int8Array, s = qw.scale.data as Float32Array;
  const d = new Float64Array(K), x = new Float64Array(K);
  let err = 0, sig = 0;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) { const i = at(k, n); x[k] = wd[i]!; d[k] = wd[i]! - qd[i]! * s[slot(k, n)]!; }
    for (let k = 0; k < K; k++) {
      let hd = 0, hx = 0;
      const row = k * K;
      for (let j = 0; j < K; j++) { hd += gram[row + j]! * d[j]!; hx += gram[row + j]! * x[j]!; }
      err += d[k]! * hd;
      sig += x[k]! * hx;
    }
  }
  return sig > 0 ? err / sig : 0;
}
