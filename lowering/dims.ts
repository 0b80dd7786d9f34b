// Symbolic dims given at run time (`--dim seq=1..128`): the declared ranges, and the dim expression type every
// shape-dependent quantity of a dynamic compile is written in: an integer polynomial in the dims (const,
// sym*k+c, products such as seq*seq*4 for attention scores). Backend-neutral: the wasm backend fits kernel
// constants to these expressions (backends/wasm/dims-compile.ts) and the runtime evaluates them (manifest text).

import { UsageError } from '../ir/errors.js';

/** A symbolic dim given at run time within [min, max]. */
export interface DimRange { readonly name: string; readonly min: number; readonly max: number }

/** `--dim` values: NAME=N fixes a dim, NAME=LO..HI declares a run-time range (LO <= HI, LO >= 1). */
export function parseDimSpecs(values: readonly string[] | undefined): { fixed: Record<string, number>; ranges: DimRange[] } {
  const fixed: Record<string, number> = {};
  const ranges: DimRange[] = [];
  for (const v of values ?? []) {
    const m = /^([^=]+)=(\d+)(?:\.\.(\d+))?$/.exec(v);
    const lo = Number(m?.[2]), hi = m?.[3] === undefined ? lo : Number(m[3]);
    if (!m || !Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) throw new UsageError(`--dim expects NAME=VALUE or NAME=LO..HI, got '${v}'`);
    const name = m[1]!;
    if (name in fixed || ranges.some((r) => r.name === name)) throw new UsageError(`--dim: '${name}' is given twice`);
    if (m[3] === undefined) { fixed[name] = lo; continue; }
    if (lo < 1 || hi < lo) throw new UsageError(`--dim ${name}=${lo}..${hi}: the range must satisfy 1 <= LO <= HI`);
    if (hi > 1 << 20) throw new UsageError(`--dim ${name}=${lo}..${hi}: HI must be at most ${1 << 20}`);
    if (lo === hi) fixed[name] = lo;
    else ranges.push({ name, min: lo, max: hi });
  }
  return { fixed, ranges };
}

/** An integer polynomial over the run-time dims: sum of coef * prod(dim_i ^ pow[i]) (pow indexed like `syms`). */
export interface DimExpr { readonly terms: readonly { readonly coef: number; readonly pow: readonly number[] }[] }

export const constExpr = (c: number): DimExpr => ({ terms: c === 0 ? [] : [{ coef: c, pow: [] }] });
export const isConstExpr = (e: DimExpr): boolean => e.terms.every((t) => t.pow.every((p) => p === 0));

export function evalExpr(e: DimExpr, values: readonly number[]): number {
  let s = 0;
  for (const t of e.terms) s += t.coef * t.pow.reduce((a, p, i) => a * values[i]! ** p, 1);
  return s;
}

/** `2*seq*seq+3`, the form manifests carry (runtime/wasm parses it: terms joined by '+', factors by '*'). */
export function formatExpr(e: DimExpr, syms: readonly string[]): string {
  if (e.terms.length === 0) return '0';
  return e.terms.map((t) => {
    const f = t.pow.flatMap((p, i) => new Array<string>(p).fill(syms[i]!));
    return t.coef === 1 && f.length ? f.join('*') : [String(t.coef), ...f].join('*');
  }).join('+');
}

/** Monomials a fit may use: each dim to at most power 2, total degree at most 3 (seq*seq*heads*4 bytes fits). */
export function monomials(k: number): number[][] {
  const out: number[][] = [];
  const go = (i: number, acc: number[]): void => {
    if (i === k) { if (acc.reduce((a, b) => a + b, 0) <= 3) out.push(acc); return; }
    for (let p = 0; p <= 2; p++) go(i + 1, [...acc, p]);
  };
  go(0, []);
  return out;
}

// exact rational arithmetic for the fit (BigInt numerator/denominator, denominator > 0)
type Q = readonly [bigint, bigint];
const gcd = (a: bigint, b: bigint): bigint => { a = a < 0n ? -a : a; b = b < 0n ? -b : b; while (b) [a, b] = [b, a % b]; return a || 1n; };
const q = (n: bigint, d = 1n): Q => { const g = gcd(n, d) * (d < 0n ? -1n : 1n); return [n / g, d / g]; };
const sub = (a: Q, b: Q): Q => q(a[0] * b[1] - b[0] * a[1], a[1] * b[1]);
const mul = (a: Q, b: Q): Q => q(a[0] * b[0], a[1] * b[1]);
const div = (a: Q, b: Q): Q => q(a[0] * b[1], a[1] * b[0]);

/** The integer polynomial that takes `values[j]` at `points[j]`, exactly, or undefined when none of the allowed
 *  monomials does (a non-polynomial dependence: floor, modulo, a plan chosen by size). Every point is checked,
 *  so points beyond the unknowns' count verify the fit. */
export function fitExpr(points: readonly (readonly number[])[], values: readonly number[]): DimExpr | undefined {
  const k = points[0]?.length ?? 0;
  if (values.every((v) => v === values[0])) return constExpr(values[0] ?? 0);
  const mons = monomials(k);
  const rows: Q[][] = points.map((p, j) => [...mons.map((mo) => q(BigInt(mo.reduce((a, e, i) => a * p[i]! ** e, 1)))), q(BigInt(values[j]!))]);
  const n = mons.length;
  // Gaussian elimination; free columns (monomials the points cannot tell apart) are set to 0
  let r = 0;
  const pivots: number[] = [];
  for (let c = 0; c < n && r < rows.length; c++) {
    const p = rows.findIndex((row, i) => i >= r && row[c]![0] !== 0n);
    if (p < 0) continue;
    [rows[r], rows[p]] = [rows[p]!, rows[r]!];
    const piv = rows[r]!;
    for (let i = 0; i < rows.length; i++) {
      if (i === r || rows[i]![c]![0] === 0n) continue;
      const f = div(rows[i]![c]!, piv[c]!);
      rows[i] = rows[i]!.map((x, j) => sub(x, mul(f, piv[j]!)));
    }
    pivots.push(c);
    r++;
  }
  // a row left 0 = nonzero means no polynomial fits
  for (let i = r; i < rows.length; i++) if (rows[i]![n]![0] !== 0n) return undefined;
  const coef = new Array<Q>(n).fill(q(0n));
  pivots.forEach((c, i) => { coef[c] = div(rows[i]![n]!, rows[i]![c]!); });
  if (coef.some((x) => x[1] !== 1n)) return undefined;
  const terms = mons.map((pow, i) => ({ coef: Number(coef[i]![0]), pow })).filter((t) => t.coef !== 0)
    .map((t) => ({ coef: t.coef, pow: t.pow.every((p) => p === 0) ? [] : t.pow }));
  const e: DimExpr = { terms };
  // check every point (the elimination already did; this guards the conversion to numbers)
  return points.every((p, j) => evalExpr(e, p) === values[j]) ? e : undefined;
}

/** The dims a dynamic compile is emitted at: enough points to fit every monomial and verify the fit at others.
 *  Values are at least 5 where the range allows (kernels special-case sizes 1-4: the general code they emit for
 *  larger sizes runs every size), include the top of the range (whose plan is the one used), and neighbours of
 *  it (so floor/modulo dependences show as misfits). For several dims, a grid. */
export function samplePoints(ranges: readonly DimRange[]): number[][] {
  const axis = (r: DimRange): number[] => {
    const lo = Math.max(r.min, 5), hi = r.max;
    const want = [hi, hi - 1, hi - 3, Math.round((lo + hi) / 2), lo, hi - 2];
    const vals: number[] = [];
    for (const v of want) if (v >= lo && v <= hi && !vals.includes(v)) vals.push(v);
    // a narrow range: points past its top (code only; the memory plan is the top's)
    for (let v = hi + 1; vals.length < 6; v++) vals.push(v);
    return vals;
  };
  const axes = ranges.map(axis);
  if (axes.length === 1) return axes[0]!.map((v) => [v]);
  // a 3^k grid fits each dim to power 2, plus two extra points to verify
  let pts: number[][] = [[]];
  for (const a of axes) pts = pts.flatMap((p) => [a[0]!, a[3]!, a[4]!].map((v) => [...p, v]));
  pts.unshift(axes.map((a) => a[0]!));
  pts.push(axes.map((a) => a[1]!), axes.map((a) => a[2]!));
  const seen = new Set<string>();
  return pts.filter((p) => { const key = p.join(); if (seen.has(key)) return false; seen.add(key); return true; });
}
