// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (log-softmax over the class axis, then NLL), with
// ignore_index, per-class weights and the none/sum/mean reductions (mean is weighted by the weights used).

import { KernelError, ShapeError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim, TensorType } from '../ir/types.js';
import type { AnyOpDef, InferContext } from './schema.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf, withShape } from './util.js';
import { expectDim, expectFloat, floatTensor, num } from './reduce-util.js';
import { softmaxAlong } from './normalization-softmax.js';

type LossAttrs = { readonly reduction: string; readonly ignore_index: number | undefined };

const lossAttrs = { reduction: attr.string('mean'), ignore_index: attr.int() };

function checkReduction(r: string): void {
  if (r !== 'none' && r !== 'sum' && r !== 'mean') throw new ShapeError(`reduction must be none, sum or mean, got '${r}'`);
}

/** Type of the loss output; checks input (N, C, d...), target (N, d...) and weight (C). */
function inferLoss(ctx: InferContext<LossAttrs>, what: string): TensorType {
  checkReduction(ctx.attrs.reduction);
  const x = inType(ctx, 0);
  expectFloat(x, what);
  const target = inType(ctx, 1);
  expectDType(target, ['int32', 'int64'], 'target');
  const w = optInType(ctx, 2);
  if (w) {
    expectFloat(w, 'weight');
    if (w.dtype !== x.dtype) throw new ShapeError(`weight has element type ${w.dtype}; expected ${x.dtype} like the input`);
    if (w.shape && w.shape.length !== 1) throw new ShapeError(`weight must be 1-D (C), got rank ${w.shape.length}`);
    if (w.shape && x.shape) expectDim(w.shape[0], x.shape[1]!, 'weight length');
  }
  let lossShape: Dim[] | undefined;
  if (x.shape) {
    if (x.shape.length < 2) throw new ShapeError(`${what} must have rank >= 2 (N, C, ...), got ${x.shape.length}`);
    if (target.shape) {
      if (target.shape.length !== x.shape.length - 1) {
        throw new ShapeError(`target must have rank ${x.shape.length - 1} (N, d1, ...), got ${target.shape.length}`);
      }
      target.shape.forEach((d, k) => expectDim(d, x.shape![k === 0 ? 0 : k + 1]!, `target dim ${k}`));
    }
    lossShape = [x.shape[0]!, ...x.shape.slice(2)];
  } else if (target.shape) lossShape = [...target.shape];
  return ctx.attrs.reduction === 'none' ? tensorOf(x.dtype, lossShape) : tensorOf(x.dtype, []);
}

/** NLL of log-probabilities `logp` (N, C, d...) against `target`. */
function nll(logp: Tensor, target: Tensor, weight: Tensor | undefined, attrs: LossAttrs): Tensor {
  const n = logp.dims[0]!; const c = logp.dims[1]!;
  const inner = logp.dims.slice(2).reduce((p, d) => p * d, 1);
  const tDims = [n, ...logp.dims.slice(2)];
  if (target.dims.length !== tDims.length || target.dims.some((d, k) => d !== tDims[k])) {
    throw new KernelError(`target dims [${target.dims.join(',')}] do not match [${tDims.join(',')}]`);
  }
  if (weight && weight.data.length !== c) throw new KernelError(`weight has ${weight.data.length} elements; expected C = ${c}`);
  const loss = new Float64Array(n * inner);
  let wSum = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < inner; i++) {
      const t = Number(target.data[b * inner + i]);
      if (attrs.ignore_index !== undefined && t === attrs.ignore_index) continue;
      if (!(t >= 0 && t < c)) throw new KernelError(`target value ${t} is out of range for ${c} classes`);
      const w = weight ? num(weight, t) : 1;
      loss[b * inner + i] = -num(logp, (b * c + t) * inner + i) * w;
      wSum += w;
    }
  }
  if (attrs.reduction === 'none') return floatTensor(logp.dtype, tDims, loss);
  let total = 0;
  for (const v of loss) total += v;
  return floatTensor(logp.dtype, [], [attrs.reduction === 'sum' ? total : total / wSum]);
}

const nllLoss = defineOp({
  op: 'NegativeLogLikelihoodLoss',
  attrs: lossAttrs,
  inputs: [2, 3],
  outputs: [1, 1],
  infer: (ctx) => [inferLoss(ctx, 'input')],
  run: (ctx) => [nll(input(ctx, 0), input(ctx, 1), optInput(ctx, 2), ctx.attrs)],
});

const softmaxCrossEntropy = defineOp({
  op: 'SoftmaxCrossEntropyLoss',
  attrs: lossAttrs,
  inputs: [2, 3],
  outputs: [1, 2],
  infer(ctx) {
    const loss = inferLoss(ctx, 'scores');
    const x = inType(ctx, 0);
    return ctx.numOutputs > 1 ? [loss, withShape(x, x.shape)] : [loss];
  },
  run(ctx) {
    const x = input(ctx, 0);
    if (x.dims.length < 2) throw new KernelError(`scores must have rank >= 2, got ${x.dims.length}`);
    const logp = softmaxAlong('logsoftmax', x, 1);
    const loss = nll(logp, input(ctx, 1), optInput(ctx, 2), ctx.attrs);
    return ctx.numOutputs > 1 ? [loss, logp] : [loss];
  },
});

export const lossOps: AnyOpDef[] = [nllLoss, softmaxCrossEntropy];
