// The 2-D window geometry Conv and pooling share (1-D windows are 2-D with a height of 1), from the ops' own
// window rules (ops/conv-window.ts), so padding, auto_pad and ceil_mode mean what the reference says.

import { makeWindow, windowAxis } from '../../../ops/conv-window.js';
import type { PlanContext, Refusal } from '../../../lowering/protocol.js';

export interface Window2d {
  readonly N: number; readonly C: number; readonly H: number; readonly W: number;
  readonly OH: number; readonly OW: number;
  readonly kH: number; readonly kW: number; readonly sH: number; readonly sW: number;
  readonly dH: number; readonly dW: number; readonly pT: number; readonly pL: number;
  /** End pads (bottom, right). */
  readonly pB: number; readonly pR: number;
}

const ints = (v: unknown): number[] | undefined => (Array.isArray(v) ? v.map(Number) : undefined);

/** The node's window as 2-D, or a refusal for 3-D and higher windows. */
export function window2d(ctx: PlanContext, kernel: readonly number[]): Window2d | Refusal {
  const x = ctx.inputs[0]!.dims;
  if (x.length !== 3 && x.length !== 4) return { reason: 'form', detail: `the webgpu kernel handles 1-D and 2-D windows, not ${x.length - 2}-D` };
  const a = ctx.attrs;
  const win = makeWindow(kernel, { strides: ints(a['strides']), dilations: ints(a['dilations']), pads: ints(a['pads']), auto_pad: a['auto_pad'] as string | undefined, ceil_mode: a['ceil_mode'] as number | undefined });
  const spatial = x.slice(2);
  const axes = spatial.map((d, a) => windowAxis(win, a, d));
  const out = axes.map((x) => x.out), padBegin = axes.map((x) => x.padBegin), padEnd = axes.map((x) => x.padEnd);
  const two = <T>(v: readonly T[], one: T): [T, T] => (v.length === 1 ? [one, v[0]!] : [v[0]!, v[1]!]);
  const [H, W] = two(spatial, 1), [OH, OW] = two(out, 1), [kH, kW] = two(win.kernel, 1), [sH, sW] = two(win.strides, 1);
  const [dH, dW] = two(win.dilations, 1), [pT, pL] = two(padBegin, 0), [pB, pR] = two(padEnd, 0);
  return { N: x[0]!, C: x[1]!, H, W, OH, OW, kH, kW, sH, sW, dH, dW, pT, pL, pB, pR };
}
