// Writing by index: Scatter (deprecated alias), ScatterElements, ScatterND (with reductions) and TensorScatter
// (KV-cache update). Updates apply in index order, so duplicate indices behave as the ONNX reference.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import { stridesOf } from '../ir/tensor.js';
import type { TensorType } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import type { InferContext } from './schema.js';
import { expectDType, inType, input, normAxis, optInType, optInput, withShape } from './util.js';
import type { Reduction } from './shape-common.js';
import { checkReduction, combiner, elems, INDEX_DTYPES, intsOf, normIndex, unravel } from './shape-common.js';

function copyOf(x: Tensor): Tensor {
  return { dtype: x.dtype, dims: [...x.dims], data: x.data.slice() as Tensor['data'] };
}

/** Type checks shared by the element-wise scatters: updates match indices and data's type. */
function inferScatterElements(ctx: InferContext<{ axis: number; reduction?: string }>, op: string): TensorType[] {
  const x = inType(ctx, 0), it = inType(ctx, 1), u = inType(ctx, 2);
  expectDType(it, INDEX_DTYPES, `${op} indices`);
  if (u.dtype !== x.dtype) throw new ShapeError(`${op} updates are ${u.dtype} but data is ${x.dtype}`);
  if (ctx.attrs.reduction !== undefined) {
    const r = checkReduction(ctx.attrs.reduction);
    if (r !== 'none' && x.dtype === 'bool') throw new ShapeError(`${op} reduction ${r} is not defined for bool`);
  }
  if (x.shape !== undefined) {
    normAxis(ctx.attrs.axis, x.shape.length, `${op} axis`);
    if (it.shape !== undefined && it.shape.length !== x.shape.length) throw new ShapeError(`${op} indices rank differs from data rank`);
  }
  if (it.shape !== undefined && u.shape !== undefined) {
    if (it.shape.length !== u.shape.length) throw new ShapeError(`${op} updates rank differs from indices rank`);
    it.shape.forEach((d, k) => {
      const e = u.shape![k]!;
      if (typeof d === 'number' && typeof e === 'number' && d !== e) throw new ShapeError(`${op} updates dim ${k} is ${e}, indices has ${d}`);
    });
  }
  return [withShape(x, x.shape)];
}

function runScatterElements(x: Tensor, ind: Tensor, upd: Tensor, axisAttr: number, reduction: Reduction, op: string): Tensor {
  const r = x.dims.length;
  if (axisAttr < -r || axisAttr >= r) throw new KernelError(`${op} axis ${axisAttr} is out of range for rank ${r}`);
  const axis = axisAttr < 0 ? axisAttr + r : axisAttr;
  if (ind.dims.length !== r || upd.dims.length !== r || ind.dims.some((d, k) => d !== upd.dims[k])) {
    throw new KernelError(`${op} indices [${ind.dims.join(',')}] and updates [${upd.dims.join(',')}] must match, with data's rank`);
  }
  const out = copyOf(x);
  const dst = elems(out), u = elems(upd);
  const combine = reduction === 'none' ? undefined : combiner(x.dtype, reduction);
  const strides = stridesOf(x.dims);
  const iv = intsOf(ind);
  const pos = new Array<number>(r).fill(0);
  for (let i = 0; i < iv.length; i++) {
    unravel(i, ind.dims, pos);
    let j = 0;
    for (let k = 0; k < r; k++) {
      const c = k === axis ? normIndex(iv[i]!, x.dims[k]!, `${op} index`) : pos[k]!;
      if (c >= x.dims[k]!) throw new KernelError(`${op} indices dim ${k} exceeds data dim ${x.dims[k]}`);
      j += c * strides[k]!;
    }
    dst[j] = combine ? combine(dst[j]!, u[i]!) : u[i]!;
  }
  return out;
}

const Scatter = defineOp({
  op: 'Scatter',
  attrs: { axis: attr.int(0) },
  inputs: [3, 3],
  outputs: [1, 1],
  infer: (ctx) => inferScatterElements(ctx, 'Scatter'),
  run: (ctx) => [runScatterElements(input(ctx, 0), input(ctx, 1), input(ctx, 2), ctx.attrs.axis, 'none', 'Scatter')],
});

const ScatterElements = defineOp({
  op: 'ScatterElements',
  attrs: { axis: attr.int(0), reduction: attr.string('none') },
  inputs: [3, 3],
  outputs: [1, 1],
  infer: (ctx) => inferScatterElements(ctx, 'ScatterElements'),
  run: (ctx) => [runScatterElements(input(ctx, 0), input(ctx, 1), input(ctx, 2), ctx.attrs.axis,
    checkReduction(ctx.attrs.reduction), 'ScatterElements')],
});

const ScatterND = defineOp({
  op: 'ScatterND',
  attrs: { reduction: attr.string('none') },
  inputs: [3, 3],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0), it = inType(ctx, 1), u = inType(ctx, 2);
    expectDType(it, ['int64'], 'ScatterND indices');
    if (u.dtype !== x.dtype) throw new ShapeError(`ScatterND updates are ${u.dtype} but data is ${x.dtype}`);
    const red = checkReduction(ctx.attrs.reduction);
    if (red !== 'none' && x.dtype === 'bool') throw new ShapeError(`ScatterND reduction ${red} is not defined for bool`);
    if (x.shape !== undefined && it.shape !== undefined && u.shape !== undefined) {
      const q = it.shape.length, m = it.shape[q - 1];
      if (q < 1) throw new ShapeError('ScatterND indices must have rank >= 1');
      if (typeof m === 'number') {
        if (m > x.shape.length) throw new ShapeError(`ScatterND indices last dim ${m} exceeds data rank ${x.shape.length}`);
        const want = q - 1 + x.shape.length - m;
        if (u.shape.length !== want) throw new ShapeError(`ScatterND updates rank ${u.shape.length}; expected ${want}`);
      }
    }
    return [withShape(x, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0), ind = input(ctx, 1), upd = input(ctx, 2);
    const red = checkReduction(ctx.attrs.reduction);
    const q = ind.dims.length, r = x.dims.length;
    if (q < 1) throw new KernelError('ScatterND indices must have rank >= 1');
    const m = ind.dims[q - 1]!;
    if (m > r) throw new KernelError(`ScatterND indices last dim ${m} exceeds data rank ${r}`);
    const wantDims = [...ind.dims.slice(0, q - 1), ...x.dims.slice(m)];
    if (upd.dims.length !== wantDims.length || upd.dims.some((d, k) => d !== wantDims[k])) {
      throw new KernelError(`ScatterND updates dims [${upd.dims.join(',')}]; expected [${wantDims.join(',')}]`);
    }
    const out = copyOf(x);
    const dst = elems(out), u = elems(upd);
    const combine = red === 'none' ? undefined : combiner(x.dtype, red);
    const strides = stridesOf(x.dims);
    const slice = x.dims.slice(m).reduce((a, b) => a * b, 1);
    const tuples = ind.dims.slice(0, q - 1).reduce((a, b) => a * b, 1);
    const iv = intsOf(ind);
    for (let t = 0; t < tuples; t++) {
      let base = 0;
      for (let k = 0; k < m; k++) base += normIndex(iv[t * m + k]!, x.dims[k]!, 'ScatterND index') * strides[k]!;
      for (let k = 0; k < slice; k++) {
        const j = base + k, v = u[t * slice + k]!;
        dst[j] = combine ? combine(dst[j]!, v) : v;
      }
    }
    return [out];
  },
});

const TensorScatter = defineOp({
  op: 'TensorScatter',
  attrs: { axis: attr.int(-2), mode: attr.string('linear') },
  inputs: [2, 3],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0), u = inType(ctx, 1), wt = optInType(ctx, 2);
    if (u.dtype !== x.dtype) throw new ShapeError(`TensorScatter update is ${u.dtype} but past_cache is ${x.dtype}`);
    if (wt) expectDType(wt, ['int64'], 'TensorScatter write_indices');
    if (ctx.attrs.mode !== 'linear' && ctx.attrs.mode !== 'circular') throw new ShapeError(`TensorScatter mode must be linear or circular, got '${ctx.attrs.mode}'`);
    if (x.shape !== undefined) {
      const axis = normAxis(ctx.attrs.axis, x.shape.length, 'TensorScatter axis');
      if (axis === 0) throw new ShapeError('TensorScatter axis may not be the batch axis 0');
      if (u.shape !== undefined) {
        if (u.shape.length !== x.shape.length) throw new ShapeError('TensorScatter update rank differs from past_cache rank');
        x.shape.forEach((d, k) => {
          const e = u.shape![k]!;
          if (typeof d !== 'number' || typeof e !== 'number') return;
          if (k === axis ? e > d : e !== d) throw new ShapeError(`TensorScatter update dim ${k} is ${e}, past_cache has ${d}`);
        });
      }
    }
    return [withShape(x, x.shape)];
  },
  run(ctx) {
    const x = input(ctx, 0), upd = input(ctx, 1), wi = optInput(ctx, 2);
    const r = x.dims.length;
    const a = ctx.attrs.axis;
    if (a < -r || a >= r || a === 0 || a === -r) throw new KernelError(`TensorScatter axis ${a} is invalid for rank ${r}`);
    const axis = a < 0 ? a + r : a;
    if (upd.dims.length !== r || upd.dims.some((d, k) => (k === axis ? d > x.dims[k]! : d !== x.dims[k]))) {
      throw new KernelError(`TensorScatter update dims [${upd.dims.join(',')}] do not fit past_cache [${x.dims.join(',')}]`);
    }
    const circular = ctx.attrs.mode === 'circular';
    const batch = x.dims[0]!, maxSeq = x.dims[axis]!, seq = upd.dims[axis]!;
    const writes = wi === undefined ? new Array<number>(batch).fill(0) : intsOf(wi);
    if (writes.length !== batch) throw new KernelError(`TensorScatter write_indices has ${writes.length} entries for batch ${batch}`);
    const out = copyOf(x);
    const dst = elems(out), src = elems(upd);
    const prefix = x.dims.slice(0, axis).reduce((p, d) => p * d, 1);
    const perBatch = prefix / Math.max(batch, 1);
    const inner = x.dims.slice(axis + 1).reduce((p, d) => p * d, 1);
    for (let p = 0; p < prefix; p++) {
      const w = writes[Math.floor(p / perBatch)]!;
      for (let s = 0; s < seq; s++) {
        let t = w + s;
        if (circular) t = ((t % maxSeq) + maxSeq) % maxSeq;
        else if (t < 0 || t >= maxSeq) throw new KernelError(`TensorScatter write index ${t} is out of range for sequence length ${maxSeq}`);
        for (let k = 0; k < inner; k++) dst[(p * maxSeq + t) * inner + k] = src[(p * seq + s) * inner + k]!;
      }
    }
    return [out];
  },
});

export const indexingScatterOps = [Scatter, ScatterElements, ScatterND, TensorScatter];
