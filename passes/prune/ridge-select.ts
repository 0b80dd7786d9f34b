// Choosing the re-fit's ridge strength on held-out calibration samples. With fewer rows than a few times the
// features (a classifier re-fitted on 200 samples: one row each), a weak ridge interpolates the calibration set and
// the pruned model does worse on new inputs than with no re-fit at all (measured on models/train-cnn.ts' digits:
// eval accuracy 95.3% -> 84.0% at 50% with ridge 1e-3 on every layer). So one sample in HOLD is held out, each
// strength of a grid is fitted on the rest and scored on it, the sliced weights (no re-fit) compete too, and the
// winner is re-fitted on every row.

import { ridgeSolve } from './linalg.js';

/** One sample in HOLD is held out (when there are at least HOLD). */
export const HOLD = 5;
/** With at least this many rows per feature the fit is well determined and the given ridge is used as is. */
const PLENTY = 10;
/** Ridge strengths tried (relative to the mean diagonal of XᵀX), besides the given one. */
const GRID = [1e-2, 3e-2, 1e-1, 3e-1, 1, 3];

/** Normal equations of a least-squares problem: XᵀX (F x F, upper triangle until `symmetrize`), XᵀY (F x M), ||Y||². */
export interface NormalRows { readonly F: number; readonly M: number; readonly xtx: Float64Array; readonly xty: Float64Array; yy: number; rows: number }

export const normalRows = (F: number, M: number): NormalRows => ({ F, M, xtx: new Float64Array(F * F), xty: new Float64Array(F * M), yy: 0, rows: 0 });

/** Adds one row (features f, target y) to the upper triangle of XᵀX, to XᵀY and ||Y||². */
export function addRow(acc: NormalRows, f: Float64Array, y: Float64Array): void {
  const { F, M, xtx, xty } = acc;
  for (let a = 0; a < F; a++) {
    const fa = f[a]!;
    if (fa === 0) continue;
    const row = a * F;
    for (let b = a; b < F; b++) xtx[row + b]! += fa * f[b]!;
    const yrow = a * M;
    for (let m = 0; m < M; m++) xty[yrow + m]! += fa * y[m]!;
  }
  for (let m = 0; m < M; m++) acc.yy += y[m]! * y[m]!;
  acc.rows++;
}

function symmetrize(acc: NormalRows): void {
  const { F, xtx } = acc;
  for (let a = 0; a < F; a++) for (let b = a + 1; b < F; b++) xtx[b * F + a] = xtx[a * F + b]!;
}

/** Both folds symmetrised in place, and their sum. */
export function sumRows(a: NormalRows, b: NormalRows): NormalRows {
  symmetrize(a); symmetrize(b);
  return { F: a.F, M: a.M, xtx: a.xtx.map((v, i) => v + b.xtx[i]!), xty: a.xty.map((v, i) => v + b.xty[i]!), yy: a.yy + b.yy, rows: a.rows + b.rows };
}

/** ||Y - XΘ||² / ||Y||² = (yy - 2 tr(Θᵀ XᵀY) + tr(Θᵀ XᵀX Θ)) / yy, on symmetric normal equations. */
export function residual(acc: NormalRows, th: Float64Array): number {
  const { F, M, xtx, xty, yy } = acc;
  let cross = 0, quad = 0;
  for (let i = 0; i < F * M; i++) cross += th[i]! * xty[i]!;
  const xt = new Float64Array(M);
  for (let a = 0; a < F; a++) {
    xt.fill(0);
    for (let b = 0; b < F; b++) {
      const x = xtx[a * F + b]!;
      if (x === 0) continue;
      for (let m = 0; m < M; m++) xt[m]! += x * th[b * M + m]!;
    }
    for (let m = 0; m < M; m++) quad += th[a * M + m]! * xt[m]!;
  }
  return yy > 0 ? Math.max(0, yy - 2 * cross + quad) / yy : 0;
}

export interface RidgeChoice {
  /** The strength to fit every row with; undefined: keep the prior (the sliced weights). */
  readonly ridge?: number;
  readonly heldOut?: { readonly before: number; readonly after: number };
}

/** The ridge strength for a fit of `train` + `held` (both symmetrised by sumRows first) towards `prior`. */
export function chooseRidge(train: NormalRows, held: NormalRows, prior: Float64Array, base: number): RidgeChoice {
  if (held.rows === 0 || train.rows >= PLENTY * train.F) return { ridge: base };
  const e0 = residual(held, prior);
  let best: { ridge?: number; err: number } = { err: e0 };
  for (const r of [base, ...GRID.filter((g) => g > base)]) {
    const err = residual(held, ridgeSolve(train.xtx, train.xty, prior, train.F, train.M, r));
    if (err < best.err) best = { ridge: r, err };
  }
  return { ...(best.ridge !== undefined ? { ridge: best.ridge } : {}), heldOut: { before: e0, after: best.err } };
}
