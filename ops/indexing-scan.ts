// Along-axis scans and reversals: CumSum, CumProd (exclusive/reverse, exact per dtype) and ReverseSequence.

import { KernelError, ShapeError } from '../ir/errors.js';
import { isBigInt } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { attr, defineOp } from './schema.js';
import type { InferContext } from './schema.js';
import { expectDType, inType, input, normAxis, withShape } from './util.js';
import { alloc, combiner, constInts, elems, INDEX_DTYPES, intsOf, NUMERIC_DTYPES } from './shape-common.js';

type ScanAttrs = { exclusive: number; reverse: number };

function inferScan(ctx: InferContext<ScanAttrs>, op: string) {
  const x = inType(ctx, 0);
  expectDType(x, NUMERIC_DTYPES, `${op} input`);
  const at = inType(ctx, 1);
  expectDType(at, INDEX_DTYPES, `${op} axis`);
  if (at.shape !== undefined && at.shape.some((d) => d !== 1)) throw new ShapeError(`${op} axis must be a scalar`);
  const axis = constInts(ctx, 1);
  if (axis !== undefined && x.shape !== undefined) normAxis(axis[0]!, x.shape.length, `${op} axis`);
  return [withShape(x, x.shape)];
}

function runScan(x: Tensor, axisT: Tensor, attrs: ScanAttrs, op: 'add' | 'mul', name: string): Tensor {
  if (axisT.data.length !== 1) throw new KernelError(`${name} axis must be a scalar`);
  const r = x.dims.length;
  const a = intsOf(axisT)[0]!;
  if (a < -r || a >= r) throw new KernelError(`${name} axis ${a} is out of range for rank ${r}`);
  const axis = a < 0 ? a + r : a;
  const dim = x.dims[axis]!;
  const outer = x.dims.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = x.dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const out = alloc(x.dtype, x.dims);
  const src = elems(x), dst = elems(out);
  const combine = combiner(x.dtype, op);
  const identity = op === 'add' ? (isBigInt(x.dtype) ? 0n : 0) : isBigInt(x.dtype) ? 1n : 1;
  for (let o = 0; o < outer; o++) {
    for (let n = 0; n < inner; n++) {
      let acc: number | bigint | string = identity;
      for (let s = 0; s < dim; s++) {
        const i = attrs.reverse ? dim - 1 - s : s;
        const at = (o * dim + i) * inner + n;
        if (attrs.exclusive) { dst[at] = acc; acc = combine(acc, src[at]!); }
        else { acc = combine(acc, src[at]!); dst[at] = acc; }
      }
    }
  }
  return out;
}

const scanAttrs = { exclusive: attr.int(0), reverse: attr.int(0) };

const CumSum = defineOp({
  op: 'CumSum', attrs: scanAttrs, inputs: [2, 2], outputs: [1, 1],
  infer: (ctx) => inferScan(ctx, 'CumSum'),
  run: (ctx) => [runScan(input(ctx, 0), input(ctx, 1), ctx.attrs, 'add', 'CumSum')],
});

const CumProd = defineOp({
  op: 'CumProd', attrs: scanAttrs, inputs: [2, 2], outputs: [1, 1],
  infer: (ctx) => inferScan(ctx, 'CumProd'),
  run: (ctx) => [runScan(input(ctx, 0), input(ctx, 1), ctx.attrs, 'mul', 'CumProd')],
});

const ReverseSequence = defineOp({
  op: 'ReverseSequence',
  attrs: { batch_axis: attr.int(1), time_axis: attr.int(0) },
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const lt = inType(ctx, 1);
    expectDType(lt, ['int64'], 'ReverseSequence sequence_lens');
    const { batch_axis: b, time_axis: t } = ctx.attrs;
    if ((b !== 0 && b !== 1) || (t !== 0 && t !== 1) || b === t) {
      throw new ShapeError(`ReverseSequence batch_axis ${b} and time_axis ${t} must be 0 and 1 in some order`);
    }
    if (x.shape !== undefined) {
      if (x.shape.length < 2) throw new ShapeError(`ReverseSequence input must have rank >= 2, got ${x.shape.length}`);
      const n = lt.shape?.[0], d = x.shape[b];
      if (typeof n === 'number' && typeof d === 'number' && n !== d) throw new ShapeError(`ReverseSequence sequence_lens has ${n} entries for batch ${d}`);
    }
    return [withShape(x, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const lens = intsOf(input(ctx, 1));
    const { batch_axis: b, time_axis: t } = ctx.attrs;
    if (x.dims.length < 2 || b === t || b > 1 || t > 1 || b < 0 || t < 0) throw new KernelError('ReverseSequence needs rank >= 2 and axes 0/1');
    const batch = x.dims[b]!, time = x.dims[t]!;
    if (lens.length !== batch) throw new KernelError(`ReverseSequence sequence_lens has ${lens.length} entries for batch ${batch}`);
    const inner = x.dims.slice(2).reduce((p, d) => p * d, 1);
    const out = alloc(x.dtype, x.dims);
    const src = elems(x), dst = elems(out);
    const at = (bi: number, ti: number) => (b === 0 ? bi * time + ti : ti * batch + bi) * inner;
    for (let bi = 0; bi < batch; bi++) {
      const len = lens[bi]!;
      if (len < 0 || len > time) throw new KernelError(`ReverseSequence length ${len} is out of range for time dim ${time}`);
      for (let ti = 0; ti < time; ti++) {
        const from = ti < len ? len - 1 - ti : ti;
        const o = at(bi, ti), i = at(bi, from);
        for (let k = 0; k < inner; k++) dst[o + k] = src[i + k]!;
      }
    }
    return [out];
  },
});

export const indexingScanOps = [CumSum, CumProd, ReverseSequence];
