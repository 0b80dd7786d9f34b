// Linear quantization: QuantizeLinear/DequantizeLinear (per tensor, per axis or blocked scales, indexed with
// static divisions), DynamicQuantizeLinear (range pass, then quantize in f32 like the reference) and
// MatMulInteger (i32 accumulation with per-tensor, per-row or per-column zero points). Scalar loops, but per-tensor
// float32 <-> int8/uint8 Quantize/DequantizeLinear (the activations of QDQ models), 16 elements a step, and so the
// 4- and 2-bit types (one element per byte in memory: the same loads, and a clamp to the type's range), and
// DynamicQuantizeLinear: both passes 16 elements a step (the range with f32x4.pmin/pmax, the quantize pass that
// per-tensor uint8 loop).

import { intRange } from '../../../ir/dtype.js';
import type { Expr, Fn, Local } from '../fn.js';
import { floorTo, genericDims, guardedLoop } from '../dims-mode.js';
import { broadcastStrides } from '../layout.js';
import type { KernelContext, KernelGen, PlanContext, TensorRef } from './types.js';
import { f64c, ld, ldF, ldI, lin, st, stF } from './scalar.js';
import { attrNum, input, normAxis, output, prod, strides } from './util.js';
import { dtypeFromOnnx } from '../../../ir/dtype.js';

/** Scale index of data element i (an i32 getter), by the scale's layout (see ops/quant-util.ts). */
function scaleIndex(ctx: PlanContext & Pick<KernelContext, 'm'>, x: TensorRef, scale: TensorRef, i: () => Expr): Expr {
  const m = ctx.m, bs = attrNum(ctx, 'block_size');
  if (scale.size === 1 && bs === 0) return m.i32.const(0);
  const axis = normAxis(attrNum(ctx, 'axis'), x.dims.length), d = x.dims[axis]!, inner = strides(x.dims)[axis]!;
  const c = (v: number): Expr => m.i32.const(v);
  const along = m.i32.rem_u(m.i32.div_u(i(), c(inner)), c(d));
  if (bs === 0) return along;
  const sd = scale.dims[axis]!;
  const outer = m.i32.div_u(i(), c(inner * d));
  return m.i32.add(m.i32.mul(m.i32.add(m.i32.mul(outer, c(sd)), m.i32.div_u(along, c(bs))), c(inner)), m.i32.rem_u(i(), c(inner)));
}

const NARROW: ReadonlySet<string> = new Set(['int8', 'uint8', 'int4', 'uint4', 'int2', 'uint2']);

/** Per-tensor float32 <-> 8-bit or narrower, 16 elements a step: the same float32 arithmetic as the scalar loops. */
function perTensor8(ctx: KernelContext): { x: TensorRef; y: TensorRef; scale: TensorRef; zp?: TensorRef } | undefined {
  const x = ctx.inputs[0], scale = ctx.inputs[1], zp = ctx.inputs[2], y = ctx.outputs[0];
  if (!x || !scale || !y || scale.size !== 1 || scale.dtype !== 'float32' || attrNum(ctx, 'block_size') !== 0) return undefined;
  const q = ctx.node.op === 'QuantizeLinear' ? y : x, f = ctx.node.op === 'QuantizeLinear' ? x : y;
  if (!NARROW.has(q.dtype) || f.dtype !== 'float32' || (zp && zp.size !== 1)) return undefined;
  if (ctx.node.op === 'QuantizeLinear' && attrNum(ctx, 'precision') !== 0) return undefined;
  return { x, y, scale, ...(zp ? { zp } : {}) };
}

function emitQuantize8(ctx: KernelContext, p: { x: TensorRef; y: TensorRef; scale: TensorRef; zp?: TensorRef }): Expr {
  const { fn, m } = ctx, V = m.f32x4, I = m.i32x4;
  const i = fn.i32(), s = fn.v128(), z = fn.v128();
  // the zero point is added in float32 (exact for these magnitudes) so a NaN still truncates to 0, as in the reference
  const q4 = (k: number): Expr => I.trunc_sat_f32x4_s(V.add(V.nearest(V.div(m.v128.load(p.x.ptr.base + 16 * k, 4, fn.get(i)), fn.get(s))), fn.get(z)));
  const signed = p.y.dtype.startsWith('int'), [qlo, qhi] = intRange(p.y.dtype);
  /** Saturated to 8 bits by the narrows, then clamped to a narrower type's range (saturation is monotonic). */
  const clamp = (v: Expr): Expr => {
    if (qhi - qlo === 255) return v;
    return signed ? m.i8x16.min_s(m.i8x16.max_s(v, m.i8x16.splat(fn.c32(qlo))), m.i8x16.splat(fn.c32(qhi))) : m.i8x16.min_u(v, m.i8x16.splat(fn.c32(qhi)));
  };
  const lo = m.i16x8.narrow_i32x4_s(q4(0), q4(1)), hi = m.i16x8.narrow_i32x4_s(q4(2), q4(3));
  return fn.block([
    fn.set(s, V.splat(fn.load('float32', p.scale.ptr))),
    fn.set(z, V.splat(m.f32.convert_s.i32(p.zp ? fn.load(p.zp.dtype, p.zp.ptr) : fn.c32(0)))),
    // i: byte offset into X (4 per element); Y's offset is a quarter of it
    ...splitLoop(fn, i, p.x.size, 16, 4, () => [m.v128.store(p.y.ptr.base, 1, m.i32.shr_u(fn.get(i), fn.c32(2)), clamp(signed ? m.i8x16.narrow_i16x8_s(lo, hi) : m.i8x16.narrow_i16x8_u(lo, hi)))], () => {
      const v = I.trunc_sat_f32x4_s(V.add(V.nearest(V.div(m.v128.load32_splat(p.x.ptr.base, 4, m.i32.shl(fn.get(i), fn.c32(2))), fn.get(s))), fn.get(z)));
      // one lane: the narrows' other operand is never read (a Binaryen expression may not be used twice)
      const zero = (): Expr => m.v128.const(new Array<number>(16).fill(0));
      const b = m.i16x8.narrow_i32x4_s(v, zero());
      return [m.i32.store8(p.y.ptr.base, 1, fn.get(i), m.i8x16.extract_lane_u(clamp(signed ? m.i8x16.narrow_i16x8_s(b, zero()) : m.i8x16.narrow_i16x8_u(b, zero())), 0))];
    }),
  ]);
}

function emitDequantize8(ctx: KernelContext, p: { x: TensorRef; y: TensorRef; scale: TensorRef; zp?: TensorRef }): Expr {
  const { fn, m } = ctx, V = m.f32x4, I = m.i32x4;
  const i = fn.i32(), s = fn.v128(), z = fn.v128(), raw = fn.v128();
  const signed = p.x.dtype.startsWith('int');
  const w16 = (hiHalf: boolean): Expr => (hiHalf ? (signed ? m.i16x8.extend_high_i8x16_s(fn.get(raw)) : m.i16x8.extend_high_i8x16_u(fn.get(raw))) : (signed ? m.i16x8.extend_low_i8x16_s(fn.get(raw)) : m.i16x8.extend_low_i8x16_u(fn.get(raw))));
  const f4 = (k: number): Expr => {
    const h = w16(k >= 2), v = k % 2 === 0 ? I.extend_low_i16x8_s(h) : I.extend_high_i16x8_s(h);
    return V.mul(V.convert_i32x4_s(I.sub(v, fn.get(z))), fn.get(s));
  };
  return fn.block([
    fn.set(s, V.splat(fn.load('float32', p.scale.ptr))),
    fn.set(z, I.splat(p.zp ? fn.load(p.zp.dtype, p.zp.ptr) : fn.c32(0))),
    ...splitLoop(fn, i, p.x.size, 16, 1, () => [
      fn.set(raw, m.v128.load(p.x.ptr.base, 1, fn.get(i))),
      ...[0, 1, 2, 3].map((k) => m.v128.store(p.y.ptr.base + 16 * k, 4, m.i32.shl(fn.get(i), fn.c32(2)), f4(k))),
    ], () => [
      m.f32.store(p.y.ptr.base, 4, m.i32.shl(fn.get(i), fn.c32(2)), m.f32.mul(m.f32.convert_s.i32(m.i32.sub(fn.load(p.x.dtype, { base: p.x.ptr.base, dyn: fn.get(i) }), I.extract_lane(fn.get(z), 0))), V.extract_lane(fn.get(s), 0))),
    ]),
  ]);
}

/** for (i = 0; i < (n - n % k) * scale; i += k * scale) whole(); for (i = n - n % k; i < n; i++) tail(): static
 *  bounds, or (a dynamic-dims sample) the split computed at run time. */
function splitLoop(fn: Fn, i: Local, n: number, k: number, scale: number, whole: () => Expr[], tail: () => Expr[]): Expr[] {
  if (genericDims()) {
    return [
      guardedLoop(fn, i, () => fn.c32(0), () => fn.m.i32.mul(floorTo(fn, n, k)(), fn.c32(scale)), whole, k * scale),
      guardedLoop(fn, i, floorTo(fn, n, k), () => fn.c32(n), tail),
    ];
  }
  const full = n - (n % k);
  return [fn.loop(i, 0, full * scale, whole, k * scale), ...(full < n ? [fn.loop(i, full, n, tail)] : [])];
}

const quantize: KernelGen = {
  emit(ctx) {
    const fast = perTensor8(ctx);
    if (fast) return emitQuantize8(ctx, fast);
    const { fn, m } = ctx;
    const x = input(ctx, 0), scale = input(ctx, 1), zp = ctx.inputs[2], y = output(ctx);
    const prec = attrNum(ctx, 'precision') !== 0 ? dtypeFromOnnx(attrNum(ctx, 'precision')) : scale.dtype === 'int32' ? 'float32' : scale.dtype;
    const [lo, hi] = intRange(y.dtype);
    const i = fn.i32(), j = fn.i32(), q = fn.forType('f64');
    return fn.loop(i, 0, x.size, (iv) => [
      fn.set(j, scaleIndex(ctx, x, scale, iv)),
      fn.set(q, m.f64.div(ldF(fn, x, fn.get(i)), ldF(fn, scale, fn.get(j)))),
      // the division happens in the precision type (float32 unless told otherwise), then round half to even
      prec === 'float32' || prec === 'float16' || prec === 'bfloat16' ? fn.set(q, m.f64.promote(m.f32.demote(fn.get(q)))) : m.nop(),
      fn.set(q, m.f64.add(m.f64.nearest(fn.get(q)), zp ? ldF(fn, zp, fn.get(j)) : f64c(fn, 0))),
      st(fn, y, fn.get(i), m.i32.trunc_s_sat.f64(m.f64.min(m.f64.max(fn.get(q), f64c(fn, lo)), f64c(fn, hi)))),
    ]);
  },
};

const dequantize: KernelGen = {
  emit(ctx) {
    const fast = perTensor8(ctx);
    if (fast) return emitDequantize8(ctx, fast);
    const { fn, m } = ctx;
    const x = input(ctx, 0), scale = input(ctx, 1), zp = ctx.inputs[2], y = output(ctx);
    const i = fn.i32(), j = fn.i32();
    // (x - zp) is exact, and so is its product with a float32 scale in f64: one rounding, at the store
    return fn.loop(i, 0, x.size, (iv) => [
      fn.set(j, scaleIndex(ctx, x, scale, iv)),
      stF(fn, y, fn.get(i), m.f64.mul(m.f64.sub(ldF(fn, x, fn.get(i)), zp ? ldF(fn, zp, fn.get(j)) : f64c(fn, 0)), ldF(fn, scale, fn.get(j)))),
    ]);
  },
};

const dynamicQuantize: KernelGen = {
  emit(ctx) {
    const { fn, m } = ctx, V = m.f32x4;
    const x = input(ctx, 0), y = output(ctx, 0), ys = output(ctx, 1), yz = output(ctx, 2);
    const i = fn.i32(), lo = fn.f32(), hi = fn.f32(), sc = fn.f32(), z = fn.f32(), v = fn.f32();
    const vlo = [fn.v128(), fn.v128(), fn.v128(), fn.v128()], vhi = [fn.v128(), fn.v128(), fn.v128(), fn.v128()];
    const X = (): Expr => fn.load('float32', fn.elem(x.ptr, fn.get(i), 4));
    const sat = (e: Expr): Expr => m.i32.trunc_s_sat.f32(m.f32.min(m.f32.max(e, fn.cf32(0)), fn.cf32(255)));
    // lo = v < lo ? v : lo and hi = hi < v ? v : hi, as the reference compares: a NaN v changes neither, and
    // neither becomes -0 (the range starts at +0). f32x4.pmin(acc, v) / pmax(acc, v) are exactly that per lane (one
    // instruction each; f32x4.min/max are 8-9 in V8 and would let a NaN in), with acc always the first operand.
    const upd = (v0: () => Expr): Expr[] => [
      fn.set(lo, m.select(m.f32.lt(v0(), fn.get(lo)), v0(), fn.get(lo))),
      fn.set(hi, m.select(m.f32.lt(fn.get(hi), v0()), v0(), fn.get(hi))),
    ];
    const zeros = (): Expr => m.v128.const(new Array<number>(16).fill(0));
    return fn.block([
      // the range always includes 0, so that 0 is exactly representable; an empty range uses scale 1
      fn.set(lo, fn.cf32(0)), fn.set(hi, fn.cf32(0)),
      ...[...vlo, ...vhi].map((l) => fn.set(l, zeros())),
      // 16 elements a step, four independent accumulators each way
      ...splitLoop(fn, i, x.size, 16, 4, () => [0, 1, 2, 3].flatMap((k) => {
        const t = (): Expr => m.v128.load(x.ptr.base + 16 * k, 4, fn.get(i));
        return [fn.set(vlo[k]!, V.pmin(fn.get(vlo[k]!), t())), fn.set(vhi[k]!, V.pmax(fn.get(vhi[k]!), t()))];
      }), () => [fn.set(v, X()), ...upd(() => fn.get(v))]),
      // the accumulators' lanes (never NaN) into the scalar range
      ...[0, 1, 2, 3].flatMap((k) => [0, 1, 2, 3].flatMap((l) => [
        fn.set(v, V.extract_lane(fn.get(vlo[k]!), l)), fn.set(lo, m.select(m.f32.lt(fn.get(v), fn.get(lo)), fn.get(v), fn.get(lo))),
        fn.set(v, V.extract_lane(fn.get(vhi[k]!), l)), fn.set(hi, m.select(m.f32.lt(fn.get(hi), fn.get(v)), fn.get(v), fn.get(hi))),
      ])),
      fn.set(sc, m.select(m.f32.eq(fn.get(hi), fn.get(lo)), fn.cf32(1), m.f32.div(m.f32.sub(fn.get(hi), fn.get(lo)), fn.cf32(255)))),
      fn.set(z, m.f32.convert_s.i32(sat(m.f32.nearest(m.f32.sub(fn.cf32(0), m.f32.div(fn.get(lo), fn.get(sc))))))),
      fn.store('float32', ys.ptr, fn.get(sc)),
      fn.store('uint8', yz.ptr, m.i32.trunc_s_sat.f32(fn.get(z))),
      // y = saturate(round_half_even(x / scale) + zero point): QuantizeLinear's per-tensor uint8 loop with the scale
      // and zero point just stored (the i32 -> i16 -> u8 narrows saturate as the scalar clamp to [0, 255] does)
      emitQuantize8(ctx, { x, y, scale: ys, zp: yz }),
    ]);
  },
};

const matMulInteger: KernelGen = {
  emit(ctx) {
    const { fn, m } = ctx;
    const a = input(ctx, 0), b = input(ctx, 1), za = ctx.inputs[2], zb = ctx.inputs[3], y = output(ctx);
    const A = a.dims.length === 1 ? [1, a.dims[0]!] : a.dims, B = b.dims.length === 1 ? [b.dims[0]!, 1] : b.dims;
    const M = A.at(-2)!, K = A.at(-1)!, N = B.at(-1)!;
    const outBatch = y.dims.slice(0, y.dims.length - (a.dims.length > 1 ? 1 : 0) - (b.dims.length > 1 ? 1 : 0));
    const aS = broadcastStrides(A.slice(0, -2), outBatch), bS = broadcastStrides(B.slice(0, -2), outBatch), bStr = strides(outBatch);
    const batches = prod(outBatch);
    const t = fn.i32(), r = fn.i32(), c = fn.i32(), k = fn.i32(), acc = fn.i32(), ab = fn.i32(), bb = fn.i32(), zr = fn.i32(), zc = fn.i32();
    const G = (l: typeof t) => (): Expr => fn.get(l);
    // batch offsets from the flat batch index (static strides, unrolled per batch axis)
    const off = (s: readonly number[], blk: number): Expr => {
      let e: Expr = fn.c32(0);
      s.forEach((st0, d) => { if (st0) e = m.i32.add(e, m.i32.mul(m.i32.rem_u(m.i32.div_u(fn.get(t), fn.c32(bStr[d]!)), fn.c32(outBatch[d]!)), fn.c32(st0 * blk))); });
      return e;
    };
    const zero = (z: TensorRef | undefined, idx: () => Expr): Expr => (z ? ldI(fn, z, z.size === 1 ? fn.c32(0) : idx()) : fn.c32(0));
    return fn.loop(t, 0, batches, () => [
      fn.set(ab, off(aS, M * K)), fn.set(bb, off(bS, K * N)),
      fn.loop(r, 0, M, () => [
        fn.set(zr, zero(za, G(r))),
        fn.loop(c, 0, N, () => [
          fn.set(zc, zero(zb, G(c))),
          fn.set(acc, fn.c32(0)),
          fn.loop(k, 0, K, () => [fn.set(acc, m.i32.add(fn.get(acc), m.i32.mul(
            m.i32.sub(ld(fn, a, lin(fn, [[G(ab), 1], [G(r), K], [G(k), 1]])), fn.get(zr)),
            m.i32.sub(ld(fn, b, lin(fn, [[G(bb), 1], [G(k), N], [G(c), 1]])), fn.get(zc)))))]),
          st(fn, y, lin(fn, [[G(t), M * N], [G(r), N], [G(c), 1]]), fn.get(acc)),
        ]),
      ]),
    ]);
  },
};

export const QUANT: Readonly<Record<string, KernelGen>> = {
  QuantizeLinear: quantize, DequantizeLinear: dequantize, DynamicQuantizeLinear: dynamicQuantize, MatMulInteger: matMulInteger,
};
