// DepthToSpace (DCR and CRD) and SpaceToDepth as strided copies: each is a transpose of a 6-D view of the input,
// so the output is walked in order with the source strides of that view (layout.ts collapses what it can and
// copies contiguous runs with memory.copy). They move bytes, so every dtype works.

import { elemBytes } from '../fn.js';
import { stridedCopy } from '../layout.js';
import type { KernelGen } from './types.js';
import { attrNum, attrStr, input, output, strides } from './util.js';

const depthToSpace: KernelGen = {
  emit(ctx) {
    const x = input(ctx, 0), y = output(ctx), b = attrNum(ctx, 'blocksize'), crd = attrStr(ctx, 'mode') === 'CRD';
    const [N, C, H, W] = x.dims as [number, number, number, number], oc = C / (b * b), hw = H * W;
    // output as [N, oc, H, b (i), W, b (j)]; source channel (i*b + j)*oc + ic (DCR) or ic*b*b + i*b + j (CRD)
    const dims = [N, oc, H, b, W, b];
    const src = [C * hw, crd ? b * b * hw : hw, W, crd ? b * hw : b * oc * hw, 1, crd ? hw : oc * hw];
    return stridedCopy(ctx.fn, dims, { ptr: y.ptr, strides: strides(dims) }, { ptr: x.ptr, strides: src }, elemBytes(x.dtype));
  },
};

const spaceToDepth: KernelGen = {
  emit(ctx) {
    const x = input(ctx, 0), y = output(ctx), b = attrNum(ctx, 'blocksize');
    const [N, C, H, W] = x.dims as [number, number, number, number];
    // output as [N, b (i), b (j), C, H/b, W/b]: output channel (i*b + j)*C + c reads row y*b + i, column x*b + j
    const dims = [N, b, b, C, H / b, W / b];
    const src = [C * H * W, W, 1, H * W, b * W, b];
    return stridedCopy(ctx.fn, dims, { ptr: y.ptr, strides: strides(dims) }, { ptr: x.ptr, strides: src }, elemBytes(x.dtype));
  },
};

export const DEPTH_SPACE: Readonly<Record<string, KernelGen>> = { DepthToSpace: depthToSpace, SpaceToDepth: spaceToDepth };
