// Data movement kernels: views (Reshape & co., no code), and strided copies for Transpose, Concat, Split,
// Slice, Expand and Pad, plus Gather with run-time indices (bounds-checked, kernels/bounds.ts). They move bytes,
// so they work for every dtype.

import type { Expr, Fn } from '../fn.js';
import { elemBytes } from '../fn.js';
import { genericDims } from '../dims-mode.js';
import { broadcastStrides, collapse, nest, stridedCopy, type Strided } from '../layout.js';
import { indexReader } from './bounds.js';
import { DROPOUT } from './dropout.js';
import { emitPadModes, padTables } from './pad-modes.js';
import type { KernelGen } from './types.js';
import { attrInts, attrNum, attrStr, constInts, input, normAxis, output, prod, strides, unsupported } from './util.js';

const view: KernelGen = { alias: true, emit: (ctx) => ctx.m.nop() };

const transpose: KernelGen = {
  emit(ctx) {
    const x = input(ctx, 0), y = output(ctx);
    const rank = x.dims.length;
    const perm = attrInts(ctx, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    // not in a dynamic-dims compile, whose code may differ between sizes only in constants (dims-mode.ts)
    const brc = elemBytes(x.dtype) === 4 && !genericDims() && x.ptr.dyn === undefined && y.ptr.dyn === undefined ? asBatched2d(x.dims, perm) : undefined;
    if (brc && (brc[1] >= 4 || brc[1] === 3) && brc[2] >= 8) return transpose2d(ctx.fn, x.ptr.base, y.ptr.base, brc);
    const xs = strides(x.dims);
    return stridedCopy(ctx.fn, y.dims, { ptr: y.ptr, strides: strides(y.dims) }, { ptr: x.ptr, strides: perm.map((p) => xs[p]!) }, elemBytes(x.dtype));
  },
};

/** [B, R, C] when the transpose is a batch of 2-D ones, x [B, R, C] -> y [B, C, R], once unit axes are dropped and
 *  axes that stay side by side are merged: NCHW <-> NHWC ([N, C, HW] <-> [N, HW, C]), [1, A, C] -> [1, C, A]. */
export function asBatched2d(dims: readonly number[], perm: readonly number[]): [number, number, number] | undefined {
  const keep = perm.filter((a) => dims[a] !== 1), kept = [...keep].sort((a, b) => a - b);
  const groups: number[][] = [];
  for (const a of keep.map((k) => kept.indexOf(k))) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1]! + 1 === a) last.push(a);
    else groups.push([a]);
  }
  const inOrder = [...groups].sort((g, h) => g[0]! - h[0]!), q = groups.map((g) => inOrder.indexOf(g));
  const sizes = inOrder.map((g) => g.reduce((n, a) => n * dims[kept[a]!]!, 1));
  if (q.length === 2 && q[0] === 1) return [1, sizes[0]!, sizes[1]!];
  if (q.length === 3 && q[0] === 0 && q[1] === 2) return [sizes[0]!, sizes[1]!, sizes[2]!];
  return undefined;
}

/** x [B, R, C] -> y [B, C, R] for 4-byte elements in 4x4 blocks: four row loads, the 4x4 transpose by eight
 *  shuffles, four row stores; the rows and columns past the blocks one element at a time. R = 3 (an RGB image to
 *  NHWC) takes blocks of 4 columns too, the third row standing in for a fourth: each 16-byte store writes an output
 *  row and the first element of the next, which the next store (or the tail) writes again, so the blocks stop
 *  before the last column. xBase, yBase: the byte addresses of x and y (static; exported for the guard test). */
export function transpose2d(fn: Fn, xBase: number, yBase: number, [B, R, C]: [number, number, number]): Expr {
  const m = fn.m, x = { ptr: { base: xBase } }, y = { ptr: { base: yBase } };
  const bi = fn.i32(), r = fn.i32(), c = fn.i32(), xp = fn.i32(), yp = fn.i32(), v = [fn.v128(), fn.v128(), fn.v128(), fn.v128()];
  const t = [fn.v128(), fn.v128(), fn.v128(), fn.v128()];
  const sh = (a: Expr, b: Expr, lanes: number[]): Expr => m.i8x16.shuffle(a, b, lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  const rows = Math.min(R, 4), R4 = R === 3 ? 3 : R - (R % 4), C4 = R === 3 ? 4 * Math.floor((C - 1) / 4) : C - (C % 4);
  // byte offsets of x[b, r, c] and y[b, c, r]
  const xAt = (rr: Expr, cc: Expr): Expr => m.i32.shl(m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(fn.get(bi), fn.c32(R)), rr), fn.c32(C)), cc), fn.c32(2));
  const yAt = (cc: Expr, rr: Expr): Expr => m.i32.shl(m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(fn.get(bi), fn.c32(C)), cc), fn.c32(R)), rr), fn.c32(2));
  const one = (rr: () => Expr, cc: () => Expr): Expr => m.i32.store(y.ptr.base, 4, yAt(cc(), rr()), m.i32.load(x.ptr.base, 4, xAt(rr(), cc())));
  const block = (): Expr[] => [
    fn.set(xp, xAt(fn.get(r), fn.get(c))), fn.set(yp, yAt(fn.get(c), fn.get(r))),
    ...v.map((vk, k) => fn.set(vk, m.v128.load(x.ptr.base + Math.min(k, rows - 1) * C * 4, 4, fn.get(xp)))),
    fn.set(t[0]!, sh(fn.get(v[0]!), fn.get(v[1]!), [0, 4, 1, 5])), fn.set(t[1]!, sh(fn.get(v[0]!), fn.get(v[1]!), [2, 6, 3, 7])),
    fn.set(t[2]!, sh(fn.get(v[2]!), fn.get(v[3]!), [0, 4, 1, 5])), fn.set(t[3]!, sh(fn.get(v[2]!), fn.get(v[3]!), [2, 6, 3, 7])),
    m.v128.store(y.ptr.base, 4, fn.get(yp), sh(fn.get(t[0]!), fn.get(t[2]!), [0, 1, 4, 5])),
    m.v128.store(y.ptr.base + R * 4, 4, fn.get(yp), sh(fn.get(t[0]!), fn.get(t[2]!), [2, 3, 6, 7])),
    m.v128.store(y.ptr.base + 2 * R * 4, 4, fn.get(yp), sh(fn.get(t[1]!), fn.get(t[3]!), [0, 1, 4, 5])),
    m.v128.store(y.ptr.base + 3 * R * 4, 4, fn.get(yp), sh(fn.get(t[1]!), fn.get(t[3]!), [2, 3, 6, 7])),
  ];
  return fn.loop(bi, 0, B, () => [
    fn.loop(r, 0, R4, () => [
      fn.loop(c, 0, C4, () => block(), 4),
      fn.loop(c, C4, C, () => Array.from({ length: rows }, (_, k) => one(() => m.i32.add(fn.get(r), fn.c32(k)), () => fn.get(c)))),
    ], rows),
    fn.loop(r, R4, R, () => [fn.loop(c, 0, C, () => [one(() => fn.get(r), () => fn.get(c))])]),
  ]);
}

const expand: KernelGen = {
  emit(ctx) {
    const x = input(ctx, 0), y = output(ctx);
    return stridedCopy(ctx.fn, y.dims, { ptr: y.ptr, strides: strides(y.dims) }, { ptr: x.ptr, strides: broadcastStrides(x.dims, y.dims) }, elemBytes(x.dtype));
  },
};

/** stridedCopy, with short contiguous rows (channels-last Concat and Split: a pixel's 16 to 64 channels) moved by
 *  inline 16-byte loads and stores, then 8 and 4, instead of one memory.copy call per row. */
function copyRows(fn: Fn, dims: readonly number[], dst: Strided, src: Strided, bytes: number): Expr {
  const c = collapse(dims, [dst.strides, src.strides]), inner = c.dims.length - 1;
  const rowBytes = inner >= 1 ? c.dims[inner]! * bytes : 0;
  if (genericDims() || dst.ptr.dyn !== undefined || src.ptr.dyn !== undefined || inner < 1 || c.sets[0]![inner] !== 1 || c.sets[1]![inner] !== 1 ||
    rowBytes > 256 || rowBytes % 4 !== 0) return stridedCopy(fn, dims, dst, src, bytes);
  const m = fn.m, da = fn.i32(), sa = fn.i32();
  return nest(fn, c.dims.slice(0, inner), [c.sets[0]!.slice(0, inner), c.sets[1]!.slice(0, inner)], ([d, s]) => {
    const body: Expr[] = [fn.set(da, m.i32.shl(d!, fn.c32(Math.log2(bytes)))), fn.set(sa, m.i32.shl(s!, fn.c32(Math.log2(bytes))))];
    let off = 0;
    for (; off + 16 <= rowBytes; off += 16) body.push(m.v128.store(dst.ptr.base + off, 4, fn.get(da), m.v128.load(src.ptr.base + off, 4, fn.get(sa))));
    if (off + 8 <= rowBytes) body.push(m.i64.store(dst.ptr.base + off, 4, fn.get(da), m.i64.load(src.ptr.base + off, 4, fn.get(sa)))), off += 8;
    if (off < rowBytes) body.push(m.i32.store(dst.ptr.base + off, 4, fn.get(da), m.i32.load(src.ptr.base + off, 4, fn.get(sa))));
    return body;
  });
}

const concat: KernelGen = {
  emit(ctx) {
    const y = output(ctx), axis = normAxis(attrNum(ctx, 'axis'), y.dims.length);
    const ys = strides(y.dims), eb = elemBytes(y.dtype);
    let at = 0;
    const parts: Expr[] = [];
    ctx.inputs.forEach((x, i) => {
      if (!x) return;
      const t = input(ctx, i);
      parts.push(copyRows(ctx.fn, t.dims, { ptr: { base: y.ptr.base + at * ys[axis]! * eb }, strides: ys }, { ptr: t.ptr, strides: strides(t.dims) }, eb));
      at += t.dims[axis]!;
    });
    return ctx.fn.block(parts.length ? parts : [ctx.m.nop()]);
  },
};

const split: KernelGen = {
  emit(ctx) {
    const x = input(ctx, 0), axis = normAxis(attrNum(ctx, 'axis'), x.dims.length);
    const xs = strides(x.dims), eb = elemBytes(x.dtype);
    let at = 0;
    const parts: Expr[] = [];
    ctx.node.outputs.forEach((_, i) => {
      const y = ctx.outputs[i];
      if (y) parts.push(copyRows(ctx.fn, y.dims, { ptr: y.ptr, strides: strides(y.dims) }, { ptr: { base: x.ptr.base + at * xs[axis]! * eb }, strides: xs }, eb));
      // an unused output still takes its share of the axis; its size comes from the inferred type
      at += y ? y.dims[axis]! : unsupported(ctx, 'with an unused output');
    });
    return ctx.fn.block(parts.length ? parts : [ctx.m.nop()]);
  },
};

/** Per-axis (start, step) of Slice for a concrete input, with ONNX's clamping rules. */
export function sliceStarts(dims: readonly number[], starts: readonly number[], ends: readonly number[], axes: readonly number[] | undefined, steps: readonly number[] | undefined): { start: number[]; step: number[] } {
  const start = dims.map(() => 0), step = dims.map(() => 1);
  starts.forEach((s0, k) => {
    const a = normAxis(axes ? axes[k]! : k, dims.length), d = dims[a]!, st = steps ? steps[k]! : 1;
    let s = s0 < 0 ? s0 + d : s0;
    s = st > 0 ? Math.min(Math.max(s, 0), d) : Math.min(Math.max(s, -1), d - 1);
    start[a] = s; step[a] = st;
    void ends;
  });
  return { start, step };
}

const slice: KernelGen = {
  constInputs: [1, 2, 3, 4],
  emit(ctx) {
    const x = input(ctx, 0), y = output(ctx);
    const { start, step } = sliceStarts(x.dims, constInts(ctx, 1)!, constInts(ctx, 2)!, constInts(ctx, 3), constInts(ctx, 4));
    const xs = strides(x.dims), eb = elemBytes(x.dtype);
    const base = start.reduce((acc, s, a) => acc + Math.max(s, 0) * xs[a]!, 0);
    // wasm adds a static offset to an unsigned dynamic address, so with negative steps the base goes in the
    // dynamic part (it never drops below zero) rather than in the offset immediate
    const at = x.ptr.base + base * eb;
    const src = step.some((s) => s < 0) ? { base: 0, dyn: ctx.fn.c32(at) } : { base: at };
    return stridedCopy(ctx.fn, y.dims, { ptr: y.ptr, strides: strides(y.dims) }, { ptr: src, strides: xs.map((s, a) => s * step[a]!) }, eb);
  },
};

const pad: KernelGen = {
  constInputs: [1, 3],
  // reflect/edge/wrap read their per-axis source offsets from prepacked tables (pad-modes.ts)
  prepack: (ctx) => (attrStr(ctx, 'mode') === 'constant' ? [] : padTables(ctx)),
  emit(ctx) {
    if (attrStr(ctx, 'mode') !== 'constant') return emitPadModes(ctx);
    const x = input(ctx, 0), y = output(ctx), fn = ctx.fn, m = ctx.m;
    const rank = x.dims.length;
    const raw = constInts(ctx, 1)!;
    const axes = ctx.inputs[3] ? constInts(ctx, 3)!.map((a) => normAxis(a, rank)) : x.dims.map((_, i) => i);
    const begin = x.dims.map(() => 0);
    axes.forEach((a, k) => { begin[a] = raw[k]!; });
    const value = ctx.inputs[2] ? ctx.inputs[2] : undefined;
    const eb = elemBytes(y.dtype), ys = strides(y.dims), xs = strides(x.dims);
    const i = fn.i32();
    // fill with the pad value, then copy the (possibly cropped) input into place
    const fill = fn.loop(i, 0, y.size, (iv) => [value
      ? fn.store(y.dtype, fn.elem(y.ptr, iv(), eb), fn.load(y.dtype, value.ptr))
      : fn.store(y.dtype, fn.elem(y.ptr, iv(), eb), y.dtype === 'float32' ? fn.cf32(0) : y.dtype === 'float64' ? m.f64.const(0) : eb === 8 ? m.i64.const(0n) : fn.c32(0))]);
    const dims = x.dims.map((d, a) => Math.max(0, Math.min(d + Math.min(begin[a]!, 0), y.dims[a]! - Math.max(begin[a]!, 0))));
    const dOff = begin.reduce((acc, b, a) => acc + Math.max(b, 0) * ys[a]!, 0);
    const sOff = begin.reduce((acc, b, a) => acc + Math.max(-b, 0) * xs[a]!, 0);
    return fn.block([fill, stridedCopy(fn, dims, { ptr: { base: y.ptr.base + dOff * eb }, strides: ys }, { ptr: { base: x.ptr.base + sOff * eb }, strides: xs }, eb)]);
  },
};

const gather: KernelGen = {
  emit(ctx) {
    const x = input(ctx, 0), idx = input(ctx, 1), y = output(ctx), fn = ctx.fn, m = ctx.m;
    const axis = normAxis(attrNum(ctx, 'axis'), x.dims.length);
    const outer = prod(x.dims.slice(0, axis)), axisN = x.dims[axis]!, inner = prod(x.dims.slice(axis + 1));
    const eb = elemBytes(x.dtype), rowBytes = inner * eb;
    const read = indexReader(ctx, idx, () => axisN, 'Gather index');
    const o = fn.i32(), j = fn.i32(), k = fn.i32();
    // with several outer rows every index is read `outer` times: check them once up front, read them unchecked
    // after (an empty output still checks its indices, as the reference does)
    if (y.size === 0) return idx.size && idx.constant === undefined ? fn.loop(j, 0, idx.size, (jv) => read(jv, axisN, k)) : m.nop();
    const hoist = outer > 1 && idx.constant === undefined;
    const pre = hoist ? [fn.loop(j, 0, idx.size, (jv) => read(jv, axisN, k))] : [];
    return fn.block([...pre, fn.loop(o, 0, outer, (ov) => [
      fn.loop(j, 0, idx.size, (jv) => [
        ...read(jv, axisN, k, !hoist),
        m.memory.copy(
          fn.addr(fn.at(y.ptr, m.i32.mul(m.i32.add(m.i32.mul(ov(), fn.c32(idx.size)), fn.get(j)), fn.c32(rowBytes)))),
          fn.addr(fn.at(x.ptr, m.i32.mul(m.i32.add(m.i32.mul(fn.get(o), fn.c32(axisN)), fn.get(k)), fn.c32(rowBytes)))),
          fn.c32(rowBytes)),
      ]),
    ])]);
  },
};

export const MOVEMENT: Readonly<Record<string, KernelGen>> = {
  Reshape: view, Flatten: view, Squeeze: view, Unsqueeze: view, Identity: view, Dropout: DROPOUT,
  Transpose: transpose, Expand: expand, Concat: concat, Split: split, Slice: slice, Pad: pad, Gather: gather,
};
