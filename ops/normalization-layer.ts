// Normalisations over trailing axes or groups: LayerNormalization, RMSNormalization, GroupNormalization, and
// LpNormalization, LRN, MeanVarianceNormalization. Statistics are computed in doubles, as the ONNX function
// bodies compute them in stash_type (float32 or wider).

import { KernelError, ShapeError } from '../ir/errors.js';
import { attrInt } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { fromValues } from '../ir/tensor.js';
import type { Dim, TensorType } from '../ir/types.js';
import type { AnyOpDef, ImportNode, LegacyContext } from './schema.js';
import { attr, defineOp } from './schema.js';
import { broadcastIndexer, broadcastShapes, inType, input, normAxis, optInType, optInput, tensorOf, withShape } from './util.js';
import { FLOAT_TYPES, dtypeAttr, expectDim, expectFloat, floatTensor, num, runAxis, spanSize } from './reduce-util.js';

/** A scale/bias that the function body multiplies/adds with numpy broadcasting against X. */
function expectBroadcastTo(t: TensorType | undefined, x: TensorType, what: string): void {
  if (!t) return;
  expectFloat(t, what);
  if (!t.shape || !x.shape) return;
  if (t.shape.length > x.shape.length) throw new ShapeError(`${what} has rank ${t.shape.length}, more than X's ${x.shape.length}`);
  const b = broadcastShapes(x.shape, t.shape);
  b.forEach((d, k) => expectDim(x.shape![k], d, `${what} broadcast to X dim ${k}`));
}

function affine(x: Tensor, normed: Float64Array, scale: Tensor | undefined, bias: Tensor | undefined): Tensor {
  const si = scale ? broadcastIndexer(scale.dims, x.dims) : undefined;
  const bi = bias ? broadcastIndexer(bias.dims, x.dims) : undefined;
  for (const t of [scale, bias]) {
    if (t && broadcastShapes(x.dims, t.dims).some((d, k) => d !== x.dims[k])) {
      throw new KernelError(`scale/bias dims [${t.dims.join(',')}] do not broadcast to X [${x.dims.join(',')}]`);
    }
  }
  const y = new Float64Array(normed.length);
  for (let i = 0; i < y.length; i++) {
    let v = normed[i]!;
    if (scale) v *= num(scale, si!(i));
    if (bias) v += num(bias, bi!(i));
    y[i] = v;
  }
  return floatTensor(x.dtype, x.dims, y);
}

const layerNorm = defineOp({
  op: 'LayerNormalization',
  attrs: { axis: attr.int(-1), epsilon: attr.float(1e-5), stash_type: attr.int(1) },
  inputs: [2, 3],
  outputs: [1, 3],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectFloat(x, 'X');
    expectBroadcastTo(inType(ctx, 1), x, 'Scale');
    expectBroadcastTo(optInType(ctx, 2), x, 'B');
    const u = dtypeAttr(ctx.attrs.stash_type, FLOAT_TYPES, 'stash_type');
    let statShape: Dim[] | undefined;
    if (x.shape) {
      const axis = normAxis(ctx.attrs.axis, x.shape.length);
      statShape = x.shape.map((d, k) => (k < axis ? d : 1));
    }
    return [withShape(x, x.shape), tensorOf(u, statShape), tensorOf(u, statShape)].slice(0, Math.max(1, ctx.numOutputs));
  },
  run(ctx) {
    const x = input(ctx, 0);
    const axis = runAxis(ctx.attrs.axis, x.dims.length);
    const u = dtypeAttr(ctx.attrs.stash_type, FLOAT_TYPES, 'stash_type');
    const outer = spanSize(x.dims, 0, axis); const inner = spanSize(x.dims, axis);
    const normed = new Float64Array(x.data.length);
    const means = new Float64Array(outer); const inv = new Float64Array(outer);
    for (let o = 0; o < outer; o++) {
      let s = 0;
      for (let i = 0; i < inner; i++) s += num(x, o * inner + i);
      const mu = s / inner;
      let sq = 0;
      for (let i = 0; i < inner; i++) { const d = num(x, o * inner + i) - mu; sq += d * d; }
      const k = 1 / Math.sqrt(sq / inner + ctx.attrs.epsilon);
      means[o] = mu; inv[o] = k;
      for (let i = 0; i < inner; i++) normed[o * inner + i] = (num(x, o * inner + i) - mu) * k;
    }
    const statDims = x.dims.map((d, k) => (k < axis ? d : 1));
    return [
      affine(x, normed, input(ctx, 1), optInput(ctx, 2)),
      floatTensor(u, statDims, means),
      floatTensor(u, statDims, inv),
    ];
  },
});

const rmsNorm = defineOp({
  op: 'RMSNormalization',
  attrs: { axis: attr.int(-1), epsilon: attr.float(1e-5), stash_type: attr.int(1) },
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectFloat(x, 'X');
    expectBroadcastTo(inType(ctx, 1), x, 'scale');
    dtypeAttr(ctx.attrs.stash_type, FLOAT_TYPES, 'stash_type');
    if (x.shape) normAxis(ctx.attrs.axis, x.shape.length);
    return [withShape(x, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const axis = runAxis(ctx.attrs.axis, x.dims.length);
    const outer = spanSize(x.dims, 0, axis); const inner = spanSize(x.dims, axis);
    const normed = new Float64Array(x.data.length);
    for (let o = 0; o < outer; o++) {
      let sq = 0;
      for (let i = 0; i < inner; i++) { const v = num(x, o * inner + i); sq += v * v; }
      const k = 1 / Math.sqrt(sq / inner + ctx.attrs.epsilon);
      for (let i = 0; i < inner; i++) normed[o * inner + i] = num(x, o * inner + i) * k;
    }
    return [affine(x, normed, input(ctx, 1), undefined)];
  },
});

const groupNorm = defineOp({
  op: 'GroupNormalization',
  attrs: { epsilon: attr.float(1e-5), num_groups: attr.int.required(), stash_type: attr.int(1) },
  inputs: [3, 3],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectFloat(x, 'X');
    dtypeAttr(ctx.attrs.stash_type, FLOAT_TYPES, 'stash_type');
    const g = ctx.attrs.num_groups;
    if (!(g >= 1)) throw new ShapeError(`num_groups must be >= 1, got ${g}`);
    if (x.shape && x.shape.length < 2) throw new ShapeError(`X must have rank >= 2 (N, C, ...), got ${x.shape.length}`);
    const c = x.shape?.[1];
    if (typeof c === 'number' && c % g !== 0) throw new ShapeError(`channels ${c} are not divisible by num_groups ${g}`);
    for (const [i, what] of [[1, 'scale'], [2, 'bias']] as const) {
      const p = inType(ctx, i);
      expectFloat(p, what);
      if (p.shape && p.shape.length !== 1) throw new ShapeError(`${what} must be 1-D of length C, got rank ${p.shape.length}`);
      if (p.shape && c !== undefined) expectDim(p.shape[0], c, `${what} length`);
    }
    return [withShape(x, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0); const scale = input(ctx, 1); const bias = input(ctx, 2);
    const g = ctx.attrs.num_groups;
    const n = x.dims[0]!; const c = x.dims[1]!; const inner = spanSize(x.dims, 2);
    if (c % g !== 0) throw new KernelError(`channels ${c} are not divisible by num_groups ${g}`);
    if (scale.data.length !== c || bias.data.length !== c) throw new KernelError(`scale and bias must have C = ${c} elements`);
    const span = (c / g) * inner;
    const y = new Float64Array(x.data.length);
    for (let b = 0; b < n; b++) {
      for (let gi = 0; gi < g; gi++) {
        const base = (b * g + gi) * span;
        let s = 0;
        for (let i = 0; i < span; i++) s += num(x, base + i);
        const mu = s / span;
        let sq = 0;
        for (let i = 0; i < span; i++) { const d = num(x, base + i) - mu; sq += d * d; }
        const k = 1 / Math.sqrt(sq / span + ctx.attrs.epsilon);
        for (let i = 0; i < span; i++) {
          const ch = gi * (c / g) + Math.floor(i / inner);
          y[base + i] = (num(x, base + i) - mu) * k * num(scale, ch) + num(bias, ch);
        }
      }
    }
    return [floatTensor(x.dtype, x.dims, y)];
  },
});

const lpNorm = defineOp({
  op: 'LpNormalization',
  attrs: { axis: attr.int(-1), p: attr.int(2) },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectFloat(x, 'input');
    if (ctx.attrs.p !== 1 && ctx.attrs.p !== 2) throw new ShapeError(`p must be 1 or 2, got ${ctx.attrs.p}`);
    if (x.shape) normAxis(ctx.attrs.axis, x.shape.length);
    return [withShape(x, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const axis = runAxis(ctx.attrs.axis, x.dims.length);
    const outer = spanSize(x.dims, 0, axis); const len = x.dims[axis]!; const inner = spanSize(x.dims, axis + 1);
    const y = new Float64Array(x.data.length);
    for (let o = 0; o < outer; o++) {
      for (let q = 0; q < inner; q++) {
        const base = o * len * inner + q;
        let s = 0;
        for (let k = 0; k < len; k++) { const v = num(x, base + k * inner); s += ctx.attrs.p === 1 ? Math.abs(v) : v * v; }
        const norm = ctx.attrs.p === 1 ? s : Math.sqrt(s);
        // a zero lane stays zero (the reference data expects 0, not 0/0)
        for (let k = 0; k < len; k++) y[base + k * inner] = norm === 0 ? 0 : num(x, base + k * inner) / norm;
      }
    }
    return [floatTensor(x.dtype, x.dims, y)];
  },
});

const lrn = defineOp({
  op: 'LRN',
  attrs: { alpha: attr.float(1e-4), beta: attr.float(0.75), bias: attr.float(1.0), size: attr.int.required() },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectFloat(x, 'X');
    if (!(ctx.attrs.size >= 1)) throw new ShapeError(`size must be >= 1, got ${ctx.attrs.size}`);
    if (x.shape && x.shape.length < 2) throw new ShapeError(`X must have rank >= 2 (N, C, ...), got ${x.shape.length}`);
    return [withShape(x, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const { alpha, beta, bias, size } = ctx.attrs;
    const n = x.dims[0]!; const c = x.dims[1]!; const inner = spanSize(x.dims, 2);
    const before = Math.floor((size - 1) / 2); const after = Math.ceil((size - 1) / 2);
    const y = new Float64Array(x.data.length);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        for (let i = 0; i < inner; i++) {
          let sq = 0;
          for (let cc = Math.max(0, ch - before); cc <= Math.min(c - 1, ch + after); cc++) {
            const v = num(x, (b * c + cc) * inner + i); sq += v * v;
          }
          const j = (b * c + ch) * inner + i;
          y[j] = num(x, j) / Math.pow(bias + (alpha / size) * sq, beta);
        }
      }
    }
    return [floatTensor(x.dtype, x.dims, y)];
  },
});

const mvn = defineOp({
  op: 'MeanVarianceNormalization',
  attrs: { axes: attr.ints([0, 2, 3]) },
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectFloat(x, 'X');
    if (x.shape) for (const a of ctx.attrs.axes) normAxis(a, x.shape.length, 'axes entry');
    return [withShape(x, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const rank = x.dims.length;
    const reduced = new Set(ctx.attrs.axes.map((a) => runAxis(a, rank, 'axes entry')));
    // Group elements by their coordinates on the kept axes.
    const keptDims = x.dims.map((d, k) => (reduced.has(k) ? 1 : d));
    const groups = keptDims.reduce((p, d) => p * d, 1);
    const groupOf = new Int32Array(x.data.length);
    const coord = new Array<number>(rank).fill(0);
    for (let i = 0; i < groupOf.length; i++) {
      let gIdx = 0;
      for (let k = 0; k < rank; k++) gIdx = gIdx * keptDims[k]! + (reduced.has(k) ? 0 : coord[k]!);
      groupOf[i] = gIdx;
      for (let k = rank - 1; k >= 0; k--) { if (++coord[k]! < x.dims[k]!) break; coord[k] = 0; }
    }
    const sum = new Float64Array(groups); const cnt = new Float64Array(groups); const sq = new Float64Array(groups);
    for (let i = 0; i < groupOf.length; i++) { sum[groupOf[i]!] += num(x, i); cnt[groupOf[i]!]++; }
    for (let i = 0; i < groupOf.length; i++) { const d = num(x, i) - sum[groupOf[i]!]! / cnt[groupOf[i]!]!; sq[groupOf[i]!] += d * d; }
    const y = new Float64Array(x.data.length);
    for (let i = 0; i < y.length; i++) {
      const gI = groupOf[i]!;
      // the function body adds epsilon (1e-9) to the standard deviation, not to the variance
      y[i] = (num(x, i) - sum[gI]! / cnt[gI]!) / (Math.sqrt(sq[gI]! / cnt[gI]!) + 1e-9);
    }
    return [floatTensor(x.dtype, x.dims, y)];
  },
});

export const layerNormOps: AnyOpDef[] = [layerNorm, rmsNorm, groupNorm, lpNorm, lrn, mvn];
