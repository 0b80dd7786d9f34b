// Axis permutations as layouts. A value "in layout p" is stored as Transpose(logical, p): stored axis i holds
// logical axis p[i], so logical axis k sits at stored axis inverse(p)[k].

import type { Tensor } from '../../ir/tensor.js';
import type { Dim } from '../../ir/types.js';
import { invertPerm, isIdentityPerm, permuteList, transposeTensor } from '../../ops/fused/permute.js';

export type Perm = readonly number[];

export { invertPerm, isIdentityPerm, permuteList, transposeTensor };

export const identityPerm = (rank: number): number[] => Array.from({ length: rank }, (_, i) => i);
export const samePerm = (a: Perm, b: Perm): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
export const permKey = (p: Perm): string => p.join(',');

/** The perm c with Transpose(Transpose(x, from), c) = Transpose(x, to). */
export function permBetween(from: Perm, to: Perm): number[] {
  const inv = invertPerm(from);
  return to.map((t) => inv[t]!);
}

/** Where logical axis `axis` (may be negative) is stored under layout p. */
export function storedAxis(axis: number, p: Perm): number {
  const a = axis < 0 ? axis + p.length : axis;
  return invertPerm(p)[a]!;
}

/** The layout of a reduction's output when the logical axes `removed` are dropped (keepdims=0). */
export function dropAxes(p: Perm, removed: ReadonlySet<number>): number[] {
  const kept = p.filter((a) => !removed.has(a));
  const order = [...kept].sort((x, y) => x - y);
  return kept.map((a) => order.indexOf(a));
}

export const permShape = (shape: readonly Dim[], p: Perm): Dim[] => permuteList(shape, p);

/** A constant broadcast against a rank-`rank` tensor in layout p: left-padded with 1s to `rank`, then permuted. */
export function permuteBroadcastConstant(t: Tensor, rank: number, p: Perm): Tensor {
  const dims = [...Array<number>(rank - t.dims.length).fill(1), ...t.dims];
  return transposeTensor({ ...t, dims }, p);
}

/** True when Transpose(x, p) only moves size-1 axes of x: the element order is unchanged (it is a Reshape). */
export function movesOnlyUnitDims(shape: readonly Dim[], p: Perm): boolean {
  const big = p.filter((a) => shape[a] !== 1);
  return big.every((a, i) => i === 0 || a > big[i - 1]!);
}
