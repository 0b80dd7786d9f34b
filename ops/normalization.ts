// Per-channel normalisations (BatchNormalization, InstanceNormalization), and the family's registry: the
// other normalisations, softmax, losses and Dropout live in the normalization-*.ts files.

import { KernelError, ShapeError, UnsupportedOpError } from '../ir/errors.js';
import type { Attr } from '../ir/graph.js';
import { attrInt } from '../ir/graph.js';
import { fromValues } from '../ir/tensor.js';
import type { Dim, TensorType } from '../ir/types.js';
import type { AnyOpDef, ImportNode, LegacyContext } from './schema.js';
import { attr, defineOp } from './schema.js';
import { inType, input, tensorOf, withShape } from './util.js';
import { expectDim, expectFloat, floatTensor, num, spanSize } from './reduce-util.js';
import { softmaxOps } from './normalization-softmax.js';
import { layerNormOps } from './normalization-layer.js';
import { lossOps } from './normalization-loss.js';
import { dropoutOps } from './normalization-dropout.js';

/** Checks a per-channel parameter: float, 1-D of length C. */
function expectChannelParam(t: TensorType, c: Dim | undefined, what: string): void {
  expectFloat(t, what);
  if (t.shape) {
    if (t.shape.length !== 1) throw new ShapeError(`${what} must be 1-D of length C, got rank ${t.shape.length}`);
    if (c !== undefined) expectDim(t.shape[0], c, `${what} length`);
  }
}

const batchNorm = defineOp({
  op: 'BatchNormalization',
  attrs: { epsilon: attr.float(1e-5), momentum: attr.float(0.9), training_mode: attr.int(0) },
  inputs: [5, 5],
  outputs: [1, 3],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectFloat(x, 'X');
    if (x.shape && x.shape.length < 2) throw new ShapeError(`X must have rank >= 2 (N, C, ...), got ${x.shape.length}`);
    const c = x.shape?.[1];
    const names = ['scale', 'B', 'input_mean', 'input_var'];
    for (let i = 1; i < 5; i++) expectChannelParam(inType(ctx, i), c, names[i - 1]!);
    if (ctx.numOutputs > 1 && ctx.attrs.training_mode === 0) {
      throw new ShapeError('running_mean/running_var outputs need training_mode=1');
    }
    const stat = tensorOf(inType(ctx, 3).dtype, [c ?? ctx.freshDim('C')]);
    return [withShape(x, x.shape), stat, stat].slice(0, Math.max(1, ctx.numOutputs));
  },
  run(ctx) {
    const x = input(ctx, 0);
    const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => input(ctx, i));
    const n = x.dims[0]!; const c = x.dims[1]!; const inner = spanSize(x.dims, 2);
    for (const [t, name] of [[scale, 'scale'], [bias, 'B'], [mean, 'input_mean'], [variance, 'input_var']] as const) {
      if (t!.data.length !== c) throw new KernelError(`${name} has ${t!.data.length} elements; expected C = ${c}`);
    }
    const eps = ctx.attrs.epsilon;
    const training = ctx.attrs.training_mode !== 0;
    const m = new Float64Array(c); const v = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      if (!training) { m[ch] = num(mean!, ch); v[ch] = num(variance!, ch); continue; }
      let s = 0; let sq = 0;
      for (let b = 0; b < n; b++) for (let i = 0; i < inner; i++) s += num(x, (b * c + ch) * inner + i);
      const cnt = n * inner; const mu = s / cnt;
      for (let b = 0; b < n; b++) for (let i = 0; i < inner; i++) { const d = num(x, (b * c + ch) * inner + i) - mu; sq += d * d; }
      m[ch] = mu; v[ch] = sq / cnt;
    }
    const y = new Float64Array(x.data.length);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        const k = num(scale!, ch) / Math.sqrt(v[ch]! + eps);
        for (let i = 0; i < inner; i++) {
          const j = (b * c + ch) * inner + i;
          y[j] = (num(x, j) - m[ch]!) * k + num(bias!, ch);
        }
      }
    }
    const out = [floatTensor(x.dtype, x.dims, y)];
    if (training) {
      const mom = ctx.attrs.momentum;
      const rm = Array.from(m, (cur, ch) => num(mean!, ch) * mom + cur * (1 - mom));
      const rv = Array.from(v, (cur, ch) => num(variance!, ch) * mom + cur * (1 - mom));
      out.push(floatTensor(mean!.dtype, [c], rm), floatTensor(variance!.dtype, [c], rv));
    }
    return out;
  },
});

const instanceNorm = defineOp({
  op: 'InstanceNormalization',
  attrs: { epsilon: attr.float(1e-5) },
  inputs: [3, 3],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectFloat(x, 'input');
    if (x.shape && x.shape.length < 2) throw new ShapeError(`input must have rank >= 2 (N, C, ...), got ${x.shape.length}`);
    expectChannelParam(inType(ctx, 1), x.shape?.[1], 'scale');
    expectChannelParam(inType(ctx, 2), x.shape?.[1], 'B');
    return [withShape(x, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0); const scale = input(ctx, 1); const bias = input(ctx, 2);
    const n = x.dims[0]!; const c = x.dims[1]!; const inner = spanSize(x.dims, 2);
    if (scale.data.length !== c || bias.data.length !== c) throw new KernelError(`scale and B must have C = ${c} elements`);
    const y = new Float64Array(x.data.length);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        const base = (b * c + ch) * inner;
        let s = 0;
        for (let i = 0; i < inner; i++) s += num(x, base + i);
        const mu = s / inner;
        let sq = 0;
        for (let i = 0; i < inner; i++) { const d = num(x, base + i) - mu; sq += d * d; }
        const k = num(scale, ch) / Math.sqrt(sq / inner + ctx.attrs.epsilon);
        for (let i = 0; i < inner; i++) y[base + i] = (num(x, base + i) - mu) * k + num(bias, ch);
      }
    }
    return [floatTensor(x.dtype, x.dims, y)];
  },
});

export const normalizationOps: AnyOpDef[] = [
  batchNorm, instanceNorm, ...softmaxOps, ...layerNormOps, ...lossOps, ...dropoutOps,
];
