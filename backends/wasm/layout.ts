// Index arithmetic over static shapes: broadcast strides, merging of dims that are contiguous for every
// operand, loop nests that carry each operand's element offset, and the strided copy that every data
// movement kernel (Transpose, Slice, Concat, Expand, Pad) reduces to.

import type { Expr, Fn, Ptr } from './fn.js';
import { strides as rowStrides } from './kernels/util.js';

/** Element strides of `dims` read as `outDims` under numpy broadcasting (0 on broadcast axes). */
export function broadcastStrides(dims: readonly number[], outDims: readonly number[]): number[] {
  const s = rowStrides(dims), r = outDims.length - dims.length;
  return outDims.map((_, k) => (k < r || dims[k - r] === 1 ? 0 : s[k - r]!));
}

/** Drop size-1 dims and merge neighbours that are contiguous for every operand. */
export function collapse(dims: readonly number[], sets: readonly (readonly number[])[]): { dims: number[]; sets: number[][] } {
  const outDims: number[] = [];
  const outSets: number[][] = sets.map(() => []);
  dims.forEach((n, d) => {
    if (n === 1) return;
    const last = outDims.length - 1;
    if (last >= 0 && sets.every((s, j) => outSets[j]![last] === s[d]! * n)) {
      outDims[last] = outDims[last]! * n;
      sets.forEach((s, j) => { outSets[j]![last] = s[d]!; });
      return;
    }
    outDims.push(n);
    sets.forEach((s, j) => outSets[j]!.push(s[d]!));
  });
  return { dims: outDims, sets: outSets };
}

/** Nested loops over `dims`; `body` gets each operand's element offset (i32 expressions). */
export function nest(fn: Fn, dims: readonly number[], sets: readonly (readonly number[])[], body: (offs: Expr[]) => Expr[]): Expr {
  const m = fn.m;
  const go = (d: number, offs: Expr[]): Expr[] => {
    if (d === dims.length) return body(offs);
    const i = fn.i32();
    const locs = sets.map(() => fn.i32());
    return [fn.loop(i, 0, dims[d]!, (iv) => {
      const sets2 = sets.map((s, j) => {
        const step = s[d]!;
        const term = step === 0 ? fn.c32(0) : step === 1 ? iv() : m.i32.mul(iv(), fn.c32(step));
        return fn.set(locs[j]!, d === 0 ? term : m.i32.add(offs[j]!, term));
      });
      return [...sets2, ...go(d + 1, locs.map((l) => fn.get(l)))];
    })];
  };
  if (dims.length === 0) return fn.block(body(sets.map(() => fn.c32(0))));
  return fn.block(go(0, []));
}

/** Raw load/store of an element of `bytes` size (data movement does not care about the dtype). */
export function moveElem(fn: Fn, bytes: number, dst: Ptr, src: Ptr): Expr {
  const m = fn.m, dp = dst.dyn ?? fn.c32(0), sp = src.dyn ?? fn.c32(0);
  switch (bytes) {
    case 1: return m.i32.store8(dst.base, 1, dp, m.i32.load8_u(src.base, 1, sp));
    case 2: return m.i32.store16(dst.base, 2, dp, m.i32.load16_u(src.base, 2, sp));
    case 4: return m.i32.store(dst.base, 4, dp, m.i32.load(src.base, 4, sp));
    case 8: return m.i64.store(dst.base, 8, dp, m.i64.load(src.base, 8, sp));
    default: throw new Error(`moveElem: element size ${bytes}`);
  }
}

export interface Strided { readonly ptr: Ptr; readonly strides: readonly number[] }

/** dst[idx] = src[idx] for every idx in dims, each side with its own element strides. */
export function stridedCopy(fn: Fn, dims: readonly number[], dst: Strided, src: Strided, bytes: number): Expr {
  if (dims.some((d) => d === 0)) return fn.m.nop();
  const c = collapse(dims, [dst.strides, src.strides]);
  const inner = c.dims.length - 1;
  const contiguous = inner >= 0 && c.sets[0]![inner] === 1 && c.sets[1]![inner] === 1;
  if (contiguous) {
    // copy whole inner rows with memory.copy
    const rowBytes = c.dims[inner]! * bytes;
    return nest(fn, c.dims.slice(0, inner), [c.sets[0]!.slice(0, inner), c.sets[1]!.slice(0, inner)], ([d, s]) => [
      fn.m.memory.copy(fn.addr(fn.elem(dst.ptr, d!, bytes)), fn.addr(fn.elem(src.ptr, s!, bytes)), fn.c32(rowBytes)),
    ]);
  }
  return nest(fn, c.dims, c.sets, ([d, s]) => [moveElem(fn, bytes, fn.elem(dst.ptr, d!, bytes), fn.elem(src.ptr, s!, bytes))]);
}
