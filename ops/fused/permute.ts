// Axis permutations the fused ops need: channels-last <-> channels-first, weight layouts named by letters
// ('OIHW', 'OHWI', 'HWIO', ...), and a plain tensor transpose for the reference kernels.

import { ShapeError } from '../../ir/errors.js';
import type { Tensor } from '../../ir/tensor.js';
import { allocate, stridesOf } from '../../ir/tensor.js';

/** NCHW -> NHWC for a tensor of `rank` (any spatial rank). */
export function toChannelsLast(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
}

/** NHWC -> NCHW. */
export function toChannelsFirst(rank: number): number[] {
  return [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
}

/** The standard (ONNX) weight layout letters for a kernel of `rank`: O, I, then D/H/W for the spatial axes. */
export function standardLayout(rank: number): string {
  if (rank < 3 || rank > 5) throw new ShapeError(`weight layouts are named for ranks 3..5, got rank ${rank}`);
  return `OI${'DHW'.slice(5 - rank)}`;
}

/** The perm taking weights stored in `layout` to the standard layout ('' means standard already). */
export function layoutToStandard(layout: string, rank: number): number[] {
  const std = standardLayout(rank);
  const l = layout === '' ? std : layout;
  if (l.length !== rank || [...std].some((c) => !l.includes(c)) || new Set(l).size !== rank) {
    throw new ShapeError(`weight_layout '${layout}' is not a permutation of '${std}' for a rank-${rank} weight`);
  }
  return [...std].map((c) => l.indexOf(c));
}

/** The perm taking standard-layout weights to `layout` (inverse of layoutToStandard). */
export function standardToLayout(layout: string, rank: number): number[] {
  return invertPerm(layoutToStandard(layout, rank));
}

export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => { inv[p] = i; });
  return inv;
}

export function isIdentityPerm(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

export function permuteList<T>(xs: readonly T[], perm: readonly number[]): T[] {
  return perm.map((p) => xs[p]!);
}

/** out.dims[i] = x.dims[perm[i]], as ONNX Transpose. Values are moved, never recomputed. */
export function transposeTensor(x: Tensor, perm: readonly number[]): Tensor {
  if (isIdentityPerm(perm)) return x;
  const dims = permuteList(x.dims, perm);
  const inStrides = stridesOf(x.dims);
  const strides = perm.map((p) => inStrides[p]!);
  const n = x.data.length;
  const out = allocate(x.dtype, n);
  const src = x.data as ArrayLike<unknown>;
  const dst = out as unknown as unknown[];
  const r = dims.length;
  const idx = new Array<number>(r).fill(0);
  for (let i = 0; i < n; i++) {
    let j = 0;
    for (let k = 0; k < r; k++) j += idx[k]! * strides[k]!;
    dst[i] = src[j];
    for (let k = r - 1; k >= 0; k--) { if (++idx[k]! < dims[k]!) break; idx[k] = 0; }
  }
  return { dtype: x.dtype, dims, data: out } as Tensor;
}
