// Scaled dot-product Attention (opset 23/24): 3-D or 4-D Q/K/V, multi-head / grouped-query heads, bool or float
// masks, causal masking, softcap, KV cache (past -> present), nonpad_kv_seqlen and the qk_matmul_output modes.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { dtypeFromOnnx } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { getNumber, makeTensor, roundToDType } from '../ir/tensor.js';
import type { Dim, TensorType } from '../ir/types.js';
import type { AnyOpDef, InferContext } from './schema.js';
import { attr, defineOp } from './schema.js';
import { broadcastIndexer, expectDType, inType, input, optInType, optInput, tensorOf } from './util.js';
import { attentionExtraOps } from './attention-rotary.js';
import { linearAttentionOps } from './attention-linear.js';
import { roundToFloat } from './quant-util.js';

const FLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16', 'float64'];

const attentionAttrs = {
  is_causal: attr.int(0), kv_num_heads: attr.int(), q_num_heads: attr.int(), qk_matmul_output_mode: attr.int(0),
  scale: attr.float(), softcap: attr.float(0), softmax_precision: attr.int(),
};

function addDims(a: Dim, b: Dim, fresh: () => Dim): Dim {
  return typeof a === 'number' && typeof b === 'number' ? a + b : a === 0 ? b : b === 0 ? a : fresh();
}

/** The per-head split of a 3-D [batch, seq, hidden] input: heads x (hidden / heads). */
function headSize(hidden: Dim, heads: number, what: string, fresh: () => Dim): Dim {
  if (typeof hidden !== 'number') return fresh();
  if (hidden % heads !== 0) throw new ShapeError(`${what} hidden size ${hidden} is not divisible by ${heads} heads`);
  return hidden / heads;
}

/** Static layout facts: 4-D views [batch, heads, seq, head] of Q, K and V (3-D inputs split by the head attributes). */
interface Layout { b: Dim; qh: Dim; qs: Dim; dk: Dim; kvh: Dim; kvs: Dim; dv: Dim; rank: number }

function layoutOf(ctx: InferContext<{ q_num_heads: number | undefined; kv_num_heads: number | undefined }>, q: TensorType, k: TensorType, v: TensorType): Layout | undefined {
  if (q.shape === undefined || k.shape === undefined || v.shape === undefined) return undefined;
  const rank = q.shape.length;
  if (rank !== 3 && rank !== 4) throw new ShapeError(`Q must be 3-D or 4-D, got rank ${rank}`);
  if (k.shape.length !== rank || v.shape.length !== rank) throw new ShapeError('Q, K and V must have the same rank');
  const fresh = () => ctx.freshDim('attn');
  if (rank === 4) {
    const [b, qh, qs, dk] = q.shape as Dim[];
    const [, kvh, kvs, dk2] = k.shape as Dim[];
    const dv = v.shape[3]!;
    if (typeof dk === 'number' && typeof dk2 === 'number' && dk !== dk2) throw new ShapeError(`Q head size ${dk} differs from K head size ${dk2}`);
    return { b: b!, qh: qh!, qs: qs!, dk: dk!, kvh: kvh!, kvs: kvs!, dv, rank };
  }
  const qh = ctx.attrs.q_num_heads, kvh = ctx.attrs.kv_num_heads;
  if (qh === undefined || kvh === undefined) throw new ShapeError('3-D inputs need the q_num_heads and kv_num_heads attributes');
  if (qh < 1 || kvh < 1) throw new ShapeError('q_num_heads and kv_num_heads must be >= 1');
  const [b, qs, hq] = q.shape as Dim[];
  return {
    b: b!, qh, qs: qs!, dk: headSize(hq!, qh, 'Q', fresh), kvh, kvs: k.shape[1]!,
    dv: headSize(v.shape[2]!, kvh, 'V', fresh), rank,
  };
}

const Attention = defineOp({
  op: 'Attention',
  attrs: attentionAttrs,
  inputs: [3, 7],
  outputs: [1, 4],
  infer(ctx) {
    const q = inType(ctx, 0), k = inType(ctx, 1), v = inType(ctx, 2);
    const mask = optInType(ctx, 3), pk = optInType(ctx, 4), pv = optInType(ctx, 5), nonpad = optInType(ctx, 6);
    expectDType(q, FLOATS, 'Q');
    if (k.dtype !== q.dtype || v.dtype !== q.dtype) throw new ShapeError('Q, K and V must have the same element type');
    if (mask && mask.dtype !== 'bool' && mask.dtype !== q.dtype) throw new ShapeError(`attn_mask must be bool or ${q.dtype}, got ${mask.dtype}`);
    if ((pk === undefined) !== (pv === undefined)) throw new ShapeError('past_key and past_value must be given together');
    if (nonpad) expectDType(nonpad, ['int64'], 'nonpad_kv_seqlen');
    if (ctx.attrs.qk_matmul_output_mode < 0 || ctx.attrs.qk_matmul_output_mode > 3) {
      throw new ShapeError(`qk_matmul_output_mode must be 0..3, got ${ctx.attrs.qk_matmul_output_mode}`);
    }
    if (ctx.attrs.softmax_precision !== undefined) expectDType(tensorOf(dtypeFromOnnx(ctx.attrs.softmax_precision)), FLOATS, 'softmax_precision');
    const l = layoutOf(ctx, q, k, v);
    const dt = q.dtype;
    if (l === undefined) return [tensorOf(dt), tensorOf(dt), tensorOf(dt), tensorOf(dt)];
    if (typeof l.qh === 'number' && typeof l.kvh === 'number' && l.qh % l.kvh !== 0) {
      throw new ShapeError(`q heads ${l.qh} must be a multiple of kv heads ${l.kvh}`);
    }
    const past: Dim = pk?.shape?.[2] ?? 0;
    if (pk?.shape && pk.shape.length !== 4) throw new ShapeError('past_key must be 4-D');
    const total = pk && pk.shape === undefined ? ctx.freshDim('total') : addDims(past, l.kvs, () => ctx.freshDim('total'));
    const y = l.rank === 4 ? [l.b, l.qh, l.qs, l.dv]
      : [l.b, l.qs, typeof l.qh === 'number' && typeof l.dv === 'number' ? l.qh * l.dv : ctx.freshDim('attn')];
    return [
      tensorOf(dt, y), tensorOf(dt, [l.b, l.kvh, total, l.dk]), tensorOf(dt, [l.b, l.kvh, total, l.dv]),
      tensorOf(dt, [l.b, l.qh, l.qs, total]),
    ];
  },
  run(ctx) {
    const Q = input(ctx, 0), K = input(ctx, 1), V = input(ctx, 2);
    const mask = optInput(ctx, 3), pastK = optInput(ctx, 4), pastV = optInput(ctx, 5), nonpad = optInput(ctx, 6);
    const a = ctx.attrs;
    const dt = Q.dtype;
    const rank = Q.dims.length;
    if (rank !== 3 && rank !== 4) throw new KernelError(`Q must be 3-D or 4-D, got rank ${rank}`);
    // 4-D views: [B, heads, seq, head]
    const B = Q.dims[0]!;
    const qh = rank === 4 ? Q.dims[1]! : a.q_num_heads!;
    const kvh = rank === 4 ? K.dims[1]! : a.kv_num_heads!;
    const qs = Q.dims[rank === 4 ? 2 : 1]!, kvs = K.dims[rank === 4 ? 2 : 1]!;
    const dk = rank === 4 ? Q.dims[3]! : Q.dims[2]! / qh;
    const dv = rank === 4 ? V.dims[3]! : V.dims[2]! / kvh;
    if (!Number.isInteger(dk) || !Number.isInteger(dv) || qh % kvh !== 0) throw new KernelError('head counts do not divide the hidden sizes');
    const at4 = (t: Tensor, heads: number, seq: number, d: number) => (b: number, h: number, s: number, i: number): number =>
      getNumber(t, rank === 4 ? ((b * heads + h) * seq + s) * d + i : (b * seq + s) * heads * d + h * d + i);
    const q = at4(Q, qh, qs, dk);
    const past = pastK ? pastK.dims[2]! : 0, total = past + kvs;
    const present = (pastT: Tensor | undefined, cur: Tensor, d: number): Tensor => {
      const t = makeTensor(dt, [B, kvh, total, d]);
      const out = t.data as Float32Array | Float64Array;
      const c = at4(cur, kvh, kvs, d);
      if (pastT && (pastT.dims[0] !== B || pastT.dims[1] !== kvh || pastT.dims[2] !== past || pastT.dims[3] !== d)) {
        throw new KernelError(`past cache dims [${pastT.dims.join(',')}] do not fit [${B},${kvh},${past},${d}]`);
      }
      for (let b = 0; b < B; b++) for (let h = 0; h < kvh; h++) for (let s = 0; s < total; s++) for (let i = 0; i < d; i++) {
        out[((b * kvh + h) * total + s) * d + i] = s < past ? getNumber(pastT!, ((b * kvh + h) * past + s) * d + i) : c(b, h, s - past, i);
      }
      return t;
    };
    const pk = present(pastK, K, dk), pv = present(pastV, V, dv);
    const kd = pk.data as Float32Array, vd = pv.data as Float32Array;
    const scale = a.scale ?? 1 / Math.sqrt(dk);
    const group = qh / kvh;
    // additive bias from the mask, broadcast (numpy rules) to [B, qh, qs, total]; a short mask is padded as masked
    let maskAt: ((b: number, h: number, i: number, j: number) => number) | undefined;
    if (mask) {
      const mlen = mask.dims[mask.dims.length - 1] ?? 1;
      if (mask.dims.length === 0 || mask.dims.length > 4 || mlen > total) throw new KernelError(`attn_mask dims [${mask.dims.join(',')}] do not fit [${B},${qh},${qs},${total}]`);
      const mdims = [...mask.dims.slice(0, -1), total];
      const target = [B, qh, qs, total];
      mdims.forEach((d, k) => {
        const t = target[target.length - mdims.length + k]!;
        if (d !== 1 && d !== t) throw new KernelError(`attn_mask dims [${mask.dims.join(',')}] do not broadcast to [${target.join(',')}]`);
      });
      const idx = broadcastIndexer(mdims, target);
      const mstr = mlen;
      maskAt = (b, h, i, j) => {
        if (j >= mlen) return -Infinity;
        const flat = idx(((b * qh + h) * qs + i) * total + j);
        // re-index from the padded row length to the mask's own row length
        const row = Math.floor(flat / total), v = getNumber(mask, row * mstr + (flat % total));
        return mask.dtype === 'bool' ? (v ? 0 : -Infinity) : v;
      };
    }
    const nonpadLen = (b: number): number => {
      if (!nonpad) return total;
      const n = getNumber(nonpad, nonpad.data.length === 1 ? 0 : b);
      return n;
    };
    const causalOffset = (b: number): number => (pastK ? past : nonpad ? nonpadLen(b) - qs : 0);
    const y = makeTensor(dt, rank === 4 ? [B, qh, qs, dv] : [B, qs, qh * dv]);
    const yd = y.data as Float32Array;
    const qkOut = makeTensor(dt, [B, qh, qs, total]);
    const qkd = qkOut.data as Float32Array;
    const mode = a.qk_matmul_output_mode;
    const softPrec: DType = a.softmax_precision !== undefined ? dtypeFromOnnx(a.softmax_precision) : 'float64';
    const row = new Float64Array(total);
    for (let b = 0; b < B; b++) {
      const off = causalOffset(b), valid = nonpadLen(b);
      for (let h = 0; h < qh; h++) {
        const hk = Math.floor(h / group);
        for (let i = 0; i < qs; i++) {
          let max = -Infinity;
          for (let j = 0; j < total; j++) {
            let s = 0;
            for (let d = 0; d < dk; d++) s += q(b, h, i, d) * kd[((b * kvh + hk) * total + j) * dk + d]!;
            s *= scale;
            const o = ((b * qh + h) * qs + i) * total + j;
            if (mode === 0) qkd[o] = s;
            // softcap comes before the mask so that masked (-inf) scores stay -inf
            if (a.softcap > 0) s = a.softcap * Math.tanh(s / a.softcap);
            if (mode === 1) qkd[o] = s;
            let bias = maskAt ? maskAt(b, h, i, j) : 0;
            if (a.is_causal && j > i + off) bias = -Infinity;
            if (j >= valid) bias = -Infinity;
            s += bias;
            if (mode === 2) qkd[o] = s;
            row[j] = roundToFloat(s, softPrec);
            if (row[j]! > max) max = row[j]!;
          }
          // a row with nothing to attend to gets all-zero weights (and so a zero output), never NaN
          let sum = 0;
          for (let j = 0; j < total; j++) { row[j] = max === -Infinity ? 0 : Math.exp(row[j]! - max); sum += row[j]!; }
          for (let j = 0; j < total; j++) {
            row[j] = sum > 0 ? row[j]! / sum : 0;
            if (mode === 3) qkd[((b * qh + h) * qs + i) * total + j] = row[j]!;
          }
          for (let d = 0; d < dv; d++) {
            let acc = 0;
            for (let j = 0; j < total; j++) acc += row[j]! * vd[((b * kvh + hk) * total + j) * dv + d]!;
            yd[rank === 4 ? ((b * qh + h) * qs + i) * dv + d : (b * qs + i) * qh * dv + h * dv + d] = acc;
          }
        }
      }
    }
    return [roundToDType(y), pk, pv, roundToDType(qkOut)];
  },
});

export const attentionOps: AnyOpDef[] = [Attention, ...attentionExtraOps, ...linearAttentionOps];
