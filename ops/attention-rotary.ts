// RotaryEmbedding (opset 23): rotate pairs of each head's first rotary_embedding_dim channels by per-position
// angles from cos/sin caches, either as (first half, second half) pairs or interleaved (even, odd) pairs.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { getNumber, makeTensor, roundToDType } from '../ir/tensor.js';
import type { AnyOpDef } from './schema.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf } from './util.js';

const FLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16'];

const RotaryEmbedding = defineOp({
  op: 'RotaryEmbedding',
  attrs: { interleaved: attr.int(0), num_heads: attr.int(), rotary_embedding_dim: attr.int(0) },
  inputs: [3, 4],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0), cos = inType(ctx, 1), sin = inType(ctx, 2), pos = optInType(ctx, 3);
    expectDType(x, FLOATS, 'X');
    if (cos.dtype !== x.dtype || sin.dtype !== x.dtype) throw new ShapeError('cos_cache and sin_cache must have the type of X');
    if (pos) expectDType(pos, ['int64'], 'position_ids');
    const r = x.shape?.length;
    if (r !== undefined && r !== 3 && r !== 4) throw new ShapeError(`X must be 3-D or 4-D, got rank ${r}`);
    if (r === 3 && ctx.attrs.num_heads === undefined) throw new ShapeError('3-D X needs the num_heads attribute');
    const want = pos ? 2 : 3;
    for (const [t, n] of [[cos, 'cos_cache'], [sin, 'sin_cache']] as const) {
      if (t.shape && t.shape.length !== want) throw new ShapeError(`${n} must be ${want}-D ${pos ? 'with' : 'without'} position_ids, got rank ${t.shape.length}`);
    }
    if (ctx.attrs.rotary_embedding_dim < 0) throw new ShapeError('rotary_embedding_dim must be >= 0');
    return [tensorOf(x.dtype, x.shape)];
  },
  run(ctx) {
    const X = input(ctx, 0), cos = input(ctx, 1), sin = input(ctx, 2), pos = optInput(ctx, 3);
    const a = ctx.attrs;
    const rank = X.dims.length;
    // index X as [B, S, heads, head] whatever its layout
    let B: number, S: number, H: number, D: number;
    if (rank === 4) [B, H, S, D] = X.dims as [number, number, number, number];
    else if (rank === 3) {
      [B, S] = X.dims as [number, number];
      H = a.num_heads!;
      if (!H || X.dims[2]! % H !== 0) throw new KernelError(`hidden size ${X.dims[2]} is not divisible by num_heads ${H}`);
      D = X.dims[2]! / H;
    } else throw new KernelError(`X must be 3-D or 4-D, got rank ${rank}`);
    const at = (b: number, s: number, h: number, d: number): number =>
      rank === 4 ? ((b * H + h) * S + s) * D + d : ((b * S + s) * H + h) * D + d;
    const rot = a.rotary_embedding_dim === 0 ? D : a.rotary_embedding_dim;
    if (rot > D || rot % 2 !== 0) throw new KernelError(`rotary_embedding_dim ${rot} must be even and <= head size ${D}`);
    const half = rot / 2;
    if (cos.dims[cos.dims.length - 1] !== half || sin.dims[sin.dims.length - 1] !== half) {
      throw new KernelError(`cos/sin caches must have last dim ${half}, got ${cos.dims[cos.dims.length - 1]}`);
    }
    // row of the caches for (batch, position)
    const cacheRow = (b: number, s: number): number => {
      if (!pos) {
        if (cos.dims[0] !== B || cos.dims[1] !== S) throw new KernelError(`cos_cache must be [${B},${S},${half}] without position_ids`);
        return b * S + s;
      }
      const p = getNumber(pos, pos.data.length === 1 ? 0 : b * S + s);
      if (!Number.isInteger(p) || p < 0 || p >= cos.dims[0]!) throw new KernelError(`position id ${p} is outside the cache (${cos.dims[0]} rows)`);
      return p;
    };
    const y = makeTensor(X.dtype, X.dims);
    const yd = y.data as Float32Array;
    for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) {
      const row = cacheRow(b, s) * half;
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < half; i++) {
          const c = getNumber(cos, row + i), sn = getNumber(sin, row + i);
          const i1 = a.interleaved ? 2 * i : i, i2 = a.interleaved ? 2 * i + 1 : i + half;
          const x1 = getNumber(X, at(b, s, h, i1)), x2 = getNumber(X, at(b, s, h, i2));
          yd[at(b, s, h, i1)] = c * x1 - sn * x2;
          yd[at(b, s, h, i2)] = sn * x1 + c * x2;
        }
        for (let d = rot; d < D; d++) yd[at(b, s, h, d)] = getNumber(X, at(b, s, h, d));
      }
    }
    return [roundToDType(y)];
  },
});

export const attentionExtraOps: AnyOpDef[] = [RotaryEmbedding];
