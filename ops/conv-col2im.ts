// Col2Im: the inverse of im2col; sums sliding blocks (columns) back into an N-D image.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { allocate, roundToDType, toNumbers } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, tensorOf } from './util.js';
import { checkAllocation, forEachIndex, makeWindow, numbers, product, resolveWindow, rowStrides, tapOffsets } from './conv-window.js';

const COL2IM_TYPES: readonly DType[] = [
  'float32', 'float64', 'float16', 'bfloat16', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32',
];

export const col2ImOp = defineOp({
  op: 'Col2Im',
  attrs: { dilations: attr.ints(), pads: attr.ints(), strides: attr.ints() },
  inputs: [3, 3],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const img = inType(ctx, 1);
    const blk = inType(ctx, 2);
    expectDType(x, COL2IM_TYPES, 'input');
    expectDType(img, ['int64'], 'image_shape');
    expectDType(blk, ['int64'], 'block_shape');
    if (x.shape && x.shape.length !== 3) throw new ShapeError(`input must have rank 3 (N, C*prod(block_shape), L), got ${x.shape.length}`);
    const imgC = ctx.constant(1); const blkC = ctx.constant(2);
    const rank = imgC ? imgC.data.length : typeof img.shape?.[0] === 'number' ? img.shape[0] : undefined;
    if (blkC && rank !== undefined && blkC.data.length !== rank) throw new ShapeError(`block_shape has ${blkC.data.length} values; image_shape has ${rank}`);
    if (x.shape === undefined || rank === undefined) return [tensorOf(x.dtype)];
    let ch: Dim = ctx.freshDim('C');
    if (blkC && typeof x.shape[1] === 'number') {
      const bs = product(toNumbers(blkC));
      if (x.shape[1] % bs !== 0) throw new ShapeError(`input dim 1 (${x.shape[1]}) is not divisible by prod(block_shape) = ${bs}`);
      ch = x.shape[1] / bs;
    }
    const known = imgC ? toNumbers(imgC) : ctx.shapeValue(1);
    const spatial: Dim[] = known && known.length === rank ? [...known] : Array.from({ length: rank }, () => ctx.freshDim('img'));
    return [tensorOf(x.dtype, [x.shape[0]!, ch, ...spatial])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const image = toNumbers(input(ctx, 1));
    const block = toNumbers(input(ctx, 2));
    if (x.dims.length !== 3) throw new KernelError(`input must have rank 3, got ${x.dims.length}`);
    if (image.length !== block.length) throw new KernelError(`image_shape and block_shape must have the same length`);
    if (image.some((d) => !Number.isInteger(d) || d < 0)) throw new KernelError(`image_shape must be non-negative, got [${image.join(',')}]`);
    const [n, cb, l] = x.dims as [number, number, number];
    const bs = product(block);
    if (bs === 0 || cb % bs !== 0) throw new KernelError(`input dim 1 (${cb}) is not divisible by prod(block_shape) = ${bs}`);
    const c = cb / bs;
    const win = makeWindow(block, ctx.attrs);
    const { out: blocks, padBegin } = resolveWindow(win, image);
    if (product(blocks) !== l) throw new KernelError(`input has ${l} blocks; image_shape, block_shape and the attributes give ${product(blocks)}`);
    const imgSize = product(image);
    checkAllocation(n * c * imgSize);
    const acc = new Float64Array(n * c * imgSize);
    const xd = numbers(x.data);
    const taps = new Int32Array(bs);
    const base = new Array<number>(image.length);
    const imgStrides = rowStrides(image);
    forEachIndex(blocks, (li, p) => {
      for (let a = 0; a < p.length; a++) base[a] = p[a]! * win.strides[a]! - padBegin[a]!;
      tapOffsets(base, block, win.dilations, image, imgStrides, taps);
      for (let ni = 0; ni < n; ni++) {
        for (let ci = 0; ci < c; ci++) {
          for (let t = 0; t < bs; t++) {
            const off = taps[t]!;
            if (off >= 0) acc[(ni * c + ci) * imgSize + off] += xd[((ni * cb) + ci * bs + t) * l + li]!;
          }
        }
      }
    });
    const y = allocate(x.dtype, acc.length) as ArrayLike<number> & { [i: number]: number };
    for (let i = 0; i < acc.length; i++) y[i] = acc[i]!;
    return [roundToDType({ dtype: x.dtype, dims: [n, c, ...image], data: y as Float32Array })];
  },
});
