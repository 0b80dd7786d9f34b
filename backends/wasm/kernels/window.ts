// The output window walk of NHWC sliding-window kernels (depthwise conv, int8 depthwise, pooling): which output
// rows and columns read only inside the input, so their pixels skip the per-tap bounds checks, and the loops that
// visit border pixels checked and interior ones unchecked.

import type { Expr, Fn, Local } from '../fn.js';

/** The geometry the walk needs (ConvGeom and the pooling window both have it). */
export interface WindowGeom {
  readonly OH: number; readonly OW: number; readonly H: number; readonly W: number;
  readonly sh: number; readonly sw: number; readonly pt: number; readonly pl: number;
  readonly KH: number; readonly KW: number; readonly dh: number; readonly dw: number;
}

/** [lo, hi) of output positions whose every tap lies inside [0, n) (input position o*s - pad + k*d, k*d <= span). */
export function interior(out: number, n: number, s: number, pad: number, span: number): [number, number] {
  let lo = 0;
  while (lo < out && lo * s - pad < 0) lo++;
  let hi = out;
  while (hi > lo && (hi - 1) * s - pad + span >= n) hi--;
  return [lo, Math.max(lo, hi)];
}

/** [h0, h1): the output rows whose taps all lie inside the input's rows. */
export const interiorRows = (g: WindowGeom): [number, number] => interior(g.OH, g.H, g.sh, g.pt, (g.KH - 1) * g.dh);

/** One output row `oh`: sets `ih` (its first input row), then visits its columns `ow` with `pixel(checked)`: a
 *  border row checks every pixel, an interior row only the border columns. */
export function windowRow(fn: Fn, g: WindowGeom, oh: Local, ow: Local, ih: Local, pixel: (checked: boolean) => Expr[]): (checked: boolean) => Expr[] {
  const m = fn.m;
  const [w0, w1] = interior(g.OW, g.W, g.sw, g.pl, (g.KW - 1) * g.dw);
  return (checked) => [
    fn.set(ih, m.i32.sub(m.i32.mul(fn.get(oh), fn.c32(g.sh)), fn.c32(g.pt))),
    ...(checked ? [fn.loop(ow, 0, g.OW, () => pixel(true))] : [
      fn.loop(ow, 0, w0, () => pixel(true)),
      fn.loop(ow, w0, w1, () => pixel(false)),
      fn.loop(ow, w1, g.OW, () => pixel(true)),
    ]),
  ];
}

/** All output rows of one image: the top and bottom border rows checked, the interior ones through `row(false)`. */
export function windowRows(fn: Fn, g: WindowGeom, oh: Local, row: (checked: boolean) => Expr[]): Expr[] {
  const [h0, h1] = interiorRows(g);
  return [fn.loop(oh, 0, h0, () => row(true)), fn.loop(oh, h0, h1, () => row(false)), fn.loop(oh, h1, g.OH, () => row(true))];
}
