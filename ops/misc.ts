// Assorted ops: NonMaxSuppression and TfIdfVectorizer; the random-number ops live in misc-random.ts.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import { getNumber, makeTensor } from '../ir/tensor.js';
import type { AnyOpDef } from './schema.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf } from './util.js';
import { randomOps } from './misc-random.js';

/** Largest TfIdfVectorizer output width accepted (a hostile index would otherwise size the allocation). */
const MAX_WIDTH = 1 << 24;

/** Intersection over union of boxes i and j, in either corner or centre format. */
function iou(b: Tensor, i: number, j: number, center: boolean): number {
  const box = (k: number): [number, number, number, number] => {
    const v0 = getNumber(b, 4 * k), v1 = getNumber(b, 4 * k + 1), v2 = getNumber(b, 4 * k + 2), v3 = getNumber(b, 4 * k + 3);
    if (center) return [v1 - v3 / 2, v0 - v2 / 2, v1 + v3 / 2, v0 + v2 / 2];
    // corners may come in either order (flipped boxes)
    return [Math.min(v0, v2), Math.min(v1, v3), Math.max(v0, v2), Math.max(v1, v3)];
  };
  const [ay1, ax1, ay2, ax2] = box(i), [by1, bx1, by2, bx2] = box(j);
  const areaA = (ay2 - ay1) * (ax2 - ax1), areaB = (by2 - by1) * (bx2 - bx1);
  if (areaA <= 0 || areaB <= 0) return 0;
  const ih = Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
  const iw = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1));
  const inter = ih * iw;
  return inter / (areaA + areaB - inter);
}

const NonMaxSuppression = defineOp({
  op: 'NonMaxSuppression',
  attrs: { center_point_box: attr.int(0) },
  inputs: [2, 5],
  outputs: [1, 1],
  infer(ctx) {
    const boxes = inType(ctx, 0), scores = inType(ctx, 1);
    expectDType(boxes, ['float32'], 'boxes');
    expectDType(scores, ['float32'], 'scores');
    const m = optInType(ctx, 2), iouT = optInType(ctx, 3), st = optInType(ctx, 4);
    if (m) expectDType(m, ['int64'], 'max_output_boxes_per_class');
    if (iouT) expectDType(iouT, ['float32'], 'iou_threshold');
    if (st) expectDType(st, ['float32'], 'score_threshold');
    if (boxes.shape && (boxes.shape.length !== 3 || (typeof boxes.shape[2] === 'number' && boxes.shape[2] !== 4))) {
      throw new ShapeError(`boxes must be [batch, boxes, 4], got [${boxes.shape.join(',')}]`);
    }
    if (scores.shape && scores.shape.length !== 3) throw new ShapeError(`scores must be [batch, classes, boxes], got rank ${scores.shape.length}`);
    if (ctx.attrs.center_point_box !== 0 && ctx.attrs.center_point_box !== 1) throw new ShapeError('center_point_box must be 0 or 1');
    return [tensorOf('int64', [ctx.freshDim('nms'), 3])];
  },
  run(ctx) {
    const boxes = input(ctx, 0), scores = input(ctx, 1);
    const mT = optInput(ctx, 2), iouT = optInput(ctx, 3), sT = optInput(ctx, 4);
    const maxOut = mT && mT.data.length ? getNumber(mT, 0) : 0;
    const iouMax = iouT && iouT.data.length ? getNumber(iouT, 0) : 0;
    const minScore = sT && sT.data.length ? getNumber(sT, 0) : -Infinity;
    const [B, N] = boxes.dims as [number, number];
    const C = scores.dims[1]!;
    if (boxes.dims.length !== 3 || boxes.dims[2] !== 4) throw new KernelError('boxes must be [batch, boxes, 4]');
    if (scores.dims.length !== 3 || scores.dims[0] !== B || scores.dims[2] !== N) throw new KernelError('scores must be [batch, classes, boxes] matching boxes');
    if (iouMax < 0 || iouMax > 1) throw new KernelError(`iou_threshold must be in [0, 1], got ${iouMax}`);
    const center = ctx.attrs.center_point_box === 1;
    const out: bigint[] = [];
    for (let b = 0; b < B; b++) {
      const bview = makeTensor('float32', [N, 4], (boxes.data as Float32Array).subarray(b * N * 4, (b + 1) * N * 4));
      for (let c = 0; c < C; c++) {
        const base = (b * C + c) * N;
        const cand: number[] = [];
        for (let i = 0; i < N; i++) if (getNumber(scores, base + i) > minScore) cand.push(i);
        // highest score first; equal scores keep the lower box index first (stable)
        cand.sort((x, y) => getNumber(scores, base + y) - getNumber(scores, base + x) || x - y);
        const kept: number[] = [];
        for (const i of cand) {
          if (kept.length >= maxOut) break;
          if (kept.every((k) => iou(bview, k, i, center) <= iouMax)) kept.push(i);
        }
        for (const i of kept) out.push(BigInt(b), BigInt(c), BigInt(i));
      }
    }
    return [makeTensor('int64', [out.length / 3, 3], BigInt64Array.from(out))];
  },
});

const TfIdfVectorizer = defineOp({
  op: 'TfIdfVectorizer',
  attrs: {
    max_gram_length: attr.int.required(), max_skip_count: attr.int.required(), min_gram_length: attr.int.required(),
    mode: attr.string.required(), ngram_counts: attr.ints.required(), ngram_indexes: attr.ints.required(),
    pool_int64s: attr.ints(), pool_strings: attr.strings(), weights: attr.floats(),
  },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectDType(x, ['string', 'int32', 'int64'], 'X');
    const a = ctx.attrs;
    if (!['TF', 'IDF', 'TFIDF'].includes(a.mode)) throw new ShapeError(`mode must be TF, IDF or TFIDF, got '${a.mode}'`);
    if (a.min_gram_length < 1 || a.max_gram_length < a.min_gram_length) throw new ShapeError('need 1 <= min_gram_length <= max_gram_length');
    if (a.max_skip_count < 0) throw new ShapeError('max_skip_count must be >= 0');
    if ((a.pool_int64s === undefined) === (a.pool_strings === undefined)) throw new ShapeError('exactly one of pool_int64s and pool_strings must be given');
    if (a.pool_strings !== undefined ? x.dtype !== 'string' : x.dtype === 'string') throw new ShapeError('the pool type must match X (strings or integers)');
    if (a.weights !== undefined && a.weights.length !== a.ngram_indexes.length) throw new ShapeError('weights must have one value per n-gram index');
    if (a.ngram_indexes.some((i) => i < 0)) throw new ShapeError('ngram_indexes must be >= 0');
    const width = a.ngram_indexes.length ? a.ngram_indexes.reduce((m, v) => Math.max(m, v), -Infinity) + 1 : 0;
    if (width > MAX_WIDTH) throw new ShapeError(`max(ngram_indexes) + 1 = ${width} is too large an output width`);
    if (x.shape === undefined) return [tensorOf('float32')];
    if (x.shape.length === 1) return [tensorOf('float32', [width])];
    if (x.shape.length === 2) return [tensorOf('float32', [x.shape[0]!, width])];
    throw new ShapeError(`X must be 1-D or 2-D, got rank ${x.shape.length}`);
  },
  run(ctx) {
    const x = input(ctx, 0);
    const a = ctx.attrs;
    const pool: string[] = a.pool_strings ? [...a.pool_strings] : (a.pool_int64s ?? []).map(String);
    // n-gram (tokens joined) -> output column, one table per length
    const tables = new Map<number, Map<string, number>>();
    let ngram = 0;
    for (let g = 0; g < a.ngram_counts.length; g++) {
      const n = g + 1, start = a.ngram_counts[g]!, end = g + 1 < a.ngram_counts.length ? a.ngram_counts[g + 1]! : pool.length;
      if (start < 0 || end > pool.length || start > end || (end - start) % n !== 0) throw new KernelError(`ngram_counts do not split the pool into ${n}-grams`);
      const table = new Map<string, number>();
      for (let p = start; p < end; p += n) {
        const idx = a.ngram_indexes[ngram++];
        if (idx === undefined) throw new KernelError('ngram_indexes has fewer entries than the pool has n-grams');
        table.set(JSON.stringify(pool.slice(p, p + n)), ngram - 1);
      }
      tables.set(n, table);
    }
    const width = a.ngram_indexes.length ? a.ngram_indexes.reduce((m, v) => Math.max(m, v), -Infinity) + 1 : 0;
    if (width > MAX_WIDTH) throw new KernelError(`output width ${width} is too large`);
    const rows = x.dims.length === 2 ? x.dims[0]! : 1, C = x.dims[x.dims.length - 1] ?? 1;
    const y = makeTensor('float32', x.dims.length === 2 ? [rows, width] : [width]);
    const yd = y.data as Float32Array;
    const tok = (i: number): string => String(x.data[i]);
    for (let r = 0; r < rows; r++) {
      const counts = new Float64Array(a.ngram_indexes.length);
      for (let n = a.min_gram_length; n <= a.max_gram_length; n++) {
        const table = tables.get(n);
        if (!table || table.size === 0) continue;
        // a unigram is the same with any skip: count it once
        for (let skip = 0; skip <= (n === 1 ? 0 : a.max_skip_count); skip++) {
          const stride = skip + 1;
          for (let s = 0; s + (n - 1) * stride < C; s++) {
            const gram: string[] = [];
            for (let k = 0; k < n; k++) gram.push(tok(r * C + s + k * stride));
            const j = table.get(JSON.stringify(gram));
            if (j !== undefined) counts[j]!++;
          }
        }
      }
      for (let j = 0; j < counts.length; j++) {
        if (counts[j] === 0) continue;
        const w = a.weights?.[j] ?? 1;
        const v = a.mode === 'TF' ? counts[j]! : a.mode === 'IDF' ? w : counts[j]! * w;
        yd[r * width + a.ngram_indexes[j]!] = v;
      }
    }
    return [y];
  },
});

export const miscOps: AnyOpDef[] = [NonMaxSuppression, TfIdfVectorizer, ...randomOps];
