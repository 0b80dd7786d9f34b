// Resize (every mode of opset 19) and Upsample; older Resize-10 and Upsample-1/7/9 nodes are rewritten to the
// current Resize at import. GridSample and AffineGrid live in resize-grid.ts and are registered here.

import { ShapeError } from '../ir/errors.js';
import { fromValues, toNumbers } from '../ir/tensor.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim, TensorType } from '../ir/types.js';
import type { AnyOpDef, ImportNode, InferContext, LegacyContext } from './schema.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInput, optInType, tensorOf } from './util.js';
import { RESIZE_ROI_TYPES, planResize, resize, resizeAxes, resizeOptions } from './resize-core.js';
import type { ResizeAttrs, ResizeOptions } from './resize-core.js';
import { affineGridOp, gridSampleOp } from './resize-grid.js';

/** An optional input that is absent or empty (opset 11 models pass an empty scales with sizes). */
function given(t: TensorType | undefined): boolean {
  return t !== undefined && !(t.shape !== undefined && t.shape.some((d) => d === 0));
}

function nonEmpty(t: Tensor | undefined): number[] | undefined {
  return t === undefined || t.data.length === 0 ? undefined : toNumbers(t);
}

/** Output type of Resize given which of scales/sizes are present and (maybe) constant. */
function inferResize(
  ctx: InferContext<unknown>, x: TensorType, o: ResizeOptions, axesAttr: readonly number[] | undefined,
  scalesIdx: number, sizesIdx: number | undefined,
): TensorType {
  const scalesT = optInType(ctx, scalesIdx);
  const sizesT = sizesIdx === undefined ? undefined : optInType(ctx, sizesIdx);
  if (scalesT) expectDType(scalesT, ['float32'], 'scales');
  if (sizesT) expectDType(sizesT, ['int64'], 'sizes');
  const hasScales = given(scalesT); const hasSizes = given(sizesT);
  if (hasScales && hasSizes) throw new ShapeError(`only one of scales and sizes may be given`);
  if (!hasScales && !hasSizes && scalesT?.shape && (sizesT === undefined || sizesT.shape)) {
    throw new ShapeError(`one of scales and sizes is required`);
  }
  if (x.shape === undefined) return tensorOf(x.dtype);
  const rank = x.shape.length;
  const axes = resizeAxes(axesAttr, rank);
  const scales = hasScales ? nonEmpty(ctx.constant(scalesIdx)) : undefined;
  const sizes = hasSizes && sizesIdx !== undefined ? nonEmpty(ctx.constant(sizesIdx)) : undefined;
  if (scales && scales.length !== axes.length) throw new ShapeError(`scales has ${scales.length} values; expected ${axes.length}`);
  if (sizes && sizes.length !== axes.length) throw new ShapeError(`sizes has ${sizes.length} values; expected ${axes.length}`);
  // sizes computed from Shape ops are known symbolically even when not constant.
  const sv = hasSizes && sizesIdx !== undefined && !sizes ? ctx.shapeValue(sizesIdx) : undefined;
  const sizeDims = sv && sv.length === axes.length ? sv : undefined;
  const inAxes = axes.map((a) => x.shape![a]!);
  if ((scales || sizes) && inAxes.every((d) => typeof d === 'number')) {
    const dims = x.shape.map((d) => (typeof d === 'number' ? d : 1));
    const plan = planResize(dims, axes, o.policy, scales, sizes, undefined);
    return tensorOf(x.dtype, x.shape.map((d, i) => (axes.includes(i) ? plan.outDims[i]! : d)));
  }
  const out: Dim[] = [...x.shape];
  axes.forEach((a, i) => {
    const d = x.shape![a]!;
    if (scales && scales[i] === 1) out[a] = d;
    else if (scales && typeof d === 'number') out[a] = Math.floor(scales[i]! * d);
    else if (sizes && o.policy === 'stretch') out[a] = sizes[i]!;
    else if (sizeDims && o.policy === 'stretch') out[a] = sizeDims[i]!;
    else out[a] = ctx.freshDim('resize');
  });
  return tensorOf(x.dtype, out);
}

export const resizeOp = defineOp({
  op: 'Resize',
  attrs: {
    antialias: attr.int(0),
    axes: attr.ints(),
    coordinate_transformation_mode: attr.string('half_pixel'),
    cubic_coeff_a: attr.float(-0.75),
    exclude_outside: attr.int(0),
    extrapolation_value: attr.float(0),
    keep_aspect_ratio_policy: attr.string('stretch'),
    mode: attr.string('nearest'),
    nearest_mode: attr.string('round_prefer_floor'),
  },
  inputs: [1, 4],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const o = resizeOptions(ctx.attrs);
    if (o.antialias && o.mode === 'nearest') throw new ShapeError(`antialias applies to linear and cubic modes only`);
    if (o.mode !== 'nearest' && (x.dtype === 'string' || x.dtype === 'bool')) throw new ShapeError(`mode ${o.mode} needs a numeric input, got ${x.dtype}`);
    const roi = optInType(ctx, 1);
    if (roi) expectDType(roi, RESIZE_ROI_TYPES, 'roi');
    return [inferResize(ctx, x, o, ctx.attrs.axes, 2, 3)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const o = resizeOptions(ctx.attrs);
    const axes = resizeAxes(ctx.attrs.axes, x.dims.length);
    const roi = o.coord === 'tf_crop_and_resize' ? nonEmpty(optInput(ctx, 1)) : undefined;
    if (o.coord === 'tf_crop_and_resize' && roi === undefined) throw new ShapeError(`tf_crop_and_resize needs the roi input`);
    const plan = planResize(x.dims, axes, o.policy, nonEmpty(optInput(ctx, 2)), nonEmpty(optInput(ctx, 3)), roi);
    return [resize(x, o, plan)];
  },
});

/** Upsample's nearest rule (onnxruntime's pre-opset-11 behaviour): floor when upsampling, ceil when downsampling. */
export function upsampleNearestMode(scales: readonly number[] | undefined): string {
  return scales?.some((s) => s < 1) ? 'ceil' : 'floor';
}

function upsampleOptions(mode: string, scales: readonly number[] | undefined): ResizeOptions {
  return resizeOptions({
    antialias: 0, coordinate_transformation_mode: 'asymmetric', cubic_coeff_a: -0.75, exclude_outside: 0,
    extrapolation_value: 0, keep_aspect_ratio_policy: 'stretch', mode, nearest_mode: upsampleNearestMode(scales),
  } satisfies ResizeAttrs);
}

/** Upsample (deprecated since opset 10) is imported as Resize; this definition runs any Upsample built directly. */
export const upsampleOp = defineOp({
  op: 'Upsample',
  attrs: { mode: attr.string('nearest') },
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    const o = upsampleOptions(ctx.attrs.mode, undefined);
    return [inferResize(ctx, x, o, undefined, 1, undefined)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const scales = toNumbers(input(ctx, 1));
    const o = upsampleOptions(ctx.attrs.mode, scales);
    const plan = planResize(x.dims, resizeAxes(undefined, x.dims.length), 'stretch', scales, undefined, undefined);
    return [resize(x, o, plan)];
  },
});

export const resizeOps: AnyOpDef[] = [resizeOp, upsampleOp, gridSampleOp, affineGridOp] as AnyOpDef[];
