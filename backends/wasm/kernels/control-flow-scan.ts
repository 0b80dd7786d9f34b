// Scan (opset 9+; opset 8's batched form is a Loop over Scan after import): the body is planned by the lowering
// core and compiled to a function; per step this kernel copies slice t of each scan input (any axis, either
// direction) into the body's input slot, runs the body, writes its scan outputs at their position along their
// axis, and moves the state outputs back into the state slots.

import type { Graph } from '../../../ir/graph.js';
import { normAxis } from '../../../ops/util.js';
import { elemBytes, type Expr } from '../fn.js';
import { stridedCopy } from '../layout.js';
import { copyTensor, parallelCopy } from './control-flow.js';
import type { KernelContext, KernelGen, PlanContext, TensorRef } from './types.js';
import { strides } from './util.js';

interface ScanAttrs {
  body: Graph;
  num_scan_inputs: number;
  scan_input_axes?: readonly number[];
  scan_input_directions?: readonly number[];
  scan_output_axes?: readonly number[];
  scan_output_directions?: readonly number[];
}

interface ScanLayout {
  n: number;
  m: number;
  k: number;
  len: number;
  inAxes: number[];
  outAxes: number[];
}

function layout(ctx: PlanContext): ScanLayout {
  const a = ctx.attrs as unknown as ScanAttrs;
  const m = a.num_scan_inputs, n = ctx.inputs.length - m, k = a.body.outputs.length - n;
  const xs = ctx.inputs.slice(n);
  const inAxes = xs.map((x, j) => normAxis(a.scan_input_axes?.[j] ?? 0, x!.dims.length));
  const outAxes = Array.from({ length: k }, (_, j) => {
    const o = ctx.outputs[n + j];
    return o ? normAxis(a.scan_output_axes?.[j] ?? 0, o.dims.length) : 0;
  });
  return { n, m, k, len: xs[0]!.dims[inAxes[0]!]!, inAxes, outAxes };
}

const without = (dims: readonly number[], axis: number): number[] => dims.filter((_, i) => i !== axis);
const bytesOf = (t: TensorRef): number => t.size * elemBytes(t.dtype);

/** One slice of `t` along `axis` at a run-time position, as a strided view (for stridedCopy). */
function sliceAt(ctx: KernelContext, t: TensorRef, axis: number, pos: () => Expr): { ptr: { base: number; dyn: Expr }; strides: number[] } {
  const s = strides(t.dims);
  const step = s[axis]! * elemBytes(t.dtype);
  return { ptr: { base: t.ptr.base, dyn: ctx.m.i32.mul(pos(), ctx.fn.c32(step)) }, strides: without(s, axis) };
}

const SCAN: KernelGen = {
  scratch: (ctx) => { const { n } = layout(ctx); return ctx.inputs.slice(0, n).reduce((a, t) => a + (t ? bytesOf(t) : 0), 0); },
  refuse(ctx) {
    if (ctx.inputs.some((t) => !t)) return { reason: 'form', detail: 'a state or scan input is omitted' };
    const { n, len, inAxes } = layout(ctx);
    const other = ctx.inputs.slice(n).map((x, j) => x!.dims[inAxes[j]!]!).find((l) => l !== len);
    return other === undefined ? undefined : { reason: 'form', detail: `scan inputs have different sequence lengths (${len} and ${other})` };
  },
  bodies(ctx) {
    const { n, k, inAxes, outAxes } = layout(ctx);
    const a = ctx.attrs as unknown as ScanAttrs;
    const states = ctx.inputs.slice(0, n).map((t) => ({ dtype: t!.dtype, dims: t!.dims }));
    const slices = ctx.inputs.slice(n).map((t, j) => ({ dtype: t!.dtype, dims: without(t!.dims, inAxes[j]!) }));
    const scans = Array.from({ length: k }, (_, j) => { const o = ctx.outputs[n + j]; return o ? { dtype: o.dtype, dims: without(o.dims, outAxes[j]!) } : undefined; });
    return [{ graph: a.body, inputs: [...states, ...slices], outputs: [...states, ...scans] }];
  },
  emit(ctx) {
    const { fn, m } = ctx;
    const a = ctx.attrs as unknown as ScanAttrs;
    const { n, k, len, inAxes, outAxes } = layout(ctx);
    const b = ctx.bodies[0]!;
    const t = fn.i32(), pos = fn.i32();
    // position along the axis for step t: reversed directions count from the end
    const at = (reverse: boolean): Expr => fn.set(pos, reverse ? m.i32.sub(fn.c32(len - 1), fn.get(t)) : fn.get(t));
    const step = (): Expr[] => {
      const ins = ctx.inputs.slice(n).flatMap((x, j) => {
        const slot = b.inputs[n + j]!;
        return [at(a.scan_input_directions?.[j] === 1), stridedCopy(fn, slot.dims, { ptr: slot.ptr, strides: strides(slot.dims) }, sliceAt(ctx, x!, inAxes[j]!, () => fn.get(pos)), elemBytes(x!.dtype))];
      });
      const outs = Array.from({ length: k }, (_, j) => {
        const o = ctx.outputs[n + j];
        if (!o) return [];
        const src = b.outputs[n + j]!;
        return [at(a.scan_output_directions?.[j] === 1), stridedCopy(fn, src.dims, sliceAt(ctx, o, outAxes[j]!, () => fn.get(pos)), { ptr: src.ptr, strides: strides(src.dims) }, elemBytes(o.dtype))];
      }).flat();
      return [
        ...ins, b.call(),
        // scan outputs first: a body may scan a state input that the copies below overwrite
        ...outs,
        parallelCopy(fn, Array.from({ length: n }, (_, c) => [b.inputs[c]!, b.outputs[c]!] as const), ctx.scratch.base),
      ];
    };
    return fn.block([
      ...Array.from({ length: n }, (_, c) => copyTensor(fn, b.inputs[c]!, ctx.inputs[c]!)),
      fn.loop(t, 0, len, step),
      ...Array.from({ length: n }, (_, c) => (ctx.outputs[c] ? copyTensor(fn, ctx.outputs[c]!, b.inputs[c]!) : m.nop())),
    ]);
  },
};

export const CONTROL_FLOW_SCAN = { Scan: SCAN } as const;
