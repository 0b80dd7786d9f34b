// Scan (opset 9+ form): run a body once per slice along the scan axis of each scan input, threading state
// variables through and stacking per-step outputs. (The importer rewrites opset 8's batched form: compiler/onnx/opsets/scan8.ts.)

import { KernelError, ShapeError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import { makeTensor } from '../ir/tensor.js';
import type { Dim, ValueType } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import type { AnyOpDef } from './schema.js';
import { input, normAxis, tensorOf } from './util.js';
import { concatAxis, sliceAxis } from './sequence-data.js';
import { mergeTypes } from './sequence-types.js';

const scanAttrs = {
  body: attr.graph.required(),
  num_scan_inputs: attr.int.required(),
  scan_input_axes: attr.ints(),
  scan_input_directions: attr.ints(),
  scan_output_axes: attr.ints(),
  scan_output_directions: attr.ints(),
};

function checkDirections(dirs: readonly number[] | undefined, what: string): void {
  for (const d of dirs ?? []) if (d !== 0 && d !== 1) throw new ShapeError(`${what} must be 0 or 1, got ${d}`);
}

function listLength(list: readonly number[] | undefined, n: number, what: string): void {
  if (list !== undefined && list.length !== n) throw new ShapeError(`${what} has ${list.length} entries, expected ${n}`);
}

export const Scan = defineOp({
  op: 'Scan',
  attrs: scanAttrs,
  inputs: [1, Infinity],
  outputs: [1, Infinity],
  infer(ctx) {
    const a = ctx.attrs;
    const m = a.num_scan_inputs;
    const n = ctx.inputs.length - m;
    if (!(m >= 1) || n < 0) throw new ShapeError(`num_scan_inputs ${m} must be in 1..${ctx.inputs.length}`);
    const body = a.body;
    if (body.inputs.length !== n + m) throw new ShapeError(`body takes ${body.inputs.length} inputs; Scan gives it ${n + m}`);
    const k = body.outputs.length - n;
    if (k < 0) throw new ShapeError(`body has ${body.outputs.length} outputs; Scan needs at least ${n}`);
    listLength(a.scan_input_axes, m, 'scan_input_axes');
    listLength(a.scan_input_directions, m, 'scan_input_directions');
    listLength(a.scan_output_axes, k, 'scan_output_axes');
    listLength(a.scan_output_directions, k, 'scan_output_directions');
    checkDirections(a.scan_input_directions, 'scan_input_directions');
    checkDirections(a.scan_output_directions, 'scan_output_directions');
    let seqLen: Dim | undefined;
    const slices: ValueType[] = [];
    for (let j = 0; j < m; j++) {
      const t = ctx.inputs[n + j];
      if (t === undefined || t.kind !== 'tensor') throw new ShapeError(`scan input ${j} must be a tensor`);
      if (t.shape === undefined) { slices.push(tensorOf(t.dtype)); continue; }
      const axis = normAxis(a.scan_input_axes?.[j] ?? 0, t.shape.length, `scan_input_axes[${j}]`);
      const d = t.shape[axis]!;
      if (typeof d === 'number' && typeof seqLen === 'number' && d !== seqLen) {
        throw new ShapeError(`scan inputs have different sequence lengths: ${seqLen} and ${d}`);
      }
      if (seqLen === undefined || typeof d === 'number') seqLen = d;
      slices.push(tensorOf(t.dtype, t.shape.filter((_, i) => i !== axis)));
    }
    let states: ValueType[] = ctx.inputs.slice(0, n).map((t, i) => {
      if (t === undefined) throw new ShapeError(`state input ${i} is required`);
      return t;
    });
    let outs = ctx.inferSubgraph(body, [...states, ...slices]);
    const widened = states.map((t, i) => mergeTypes(t, outs[i]!, () => ctx.freshDim('scan'), `state ${i}`));
    if (widened.some((t, i) => JSON.stringify(t) !== JSON.stringify(states[i]))) {
      states = widened;
      outs = ctx.inferSubgraph(body, [...states, ...slices]);
    }
    const len = seqLen ?? ctx.freshDim('scan');
    const results: ValueType[] = [...states];
    for (let j = 0; j < k; j++) {
      const t = outs[n + j]!;
      if (t.kind !== 'tensor') throw new ShapeError(`scan output ${j} must be a tensor, got a ${t.kind}`);
      if (t.shape === undefined) { results.push(tensorOf(t.dtype)); continue; }
      const axis = normAxis(a.scan_output_axes?.[j] ?? 0, t.shape.length + 1, `scan_output_axes[${j}]`);
      const shape = [...t.shape];
      shape.splice(axis, 0, len);
      results.push(tensorOf(t.dtype, shape));
    }
    return results;
  },
  run(ctx) {
    const a = ctx.attrs;
    const m = a.num_scan_inputs;
    const n = ctx.inputs.length - m;
    const body = a.body;
    const k = body.outputs.length - n;
    const xs = Array.from({ length: m }, (_, j) => input(ctx, n + j));
    const axes = xs.map((x, j) => normAxis(a.scan_input_axes?.[j] ?? 0, x.dims.length, `scan_input_axes[${j}]`));
    const lens = xs.map((x, j) => x.dims[axes[j]!]!);
    const len = lens[0]!;
    if (lens.some((l) => l !== len)) throw new KernelError(`scan inputs have different sequence lengths: ${lens.join(', ')}`);
    let states = ctx.inputs.slice(0, n);
    const parts: Tensor[][] = Array.from({ length: k }, () => []);
    for (let t = 0; t < len; t++) {
      const slices = xs.map((x, j) => sliceAxis(x, axes[j]!, a.scan_input_directions?.[j] === 1 ? len - 1 - t : t, 1, false));
      const outs = ctx.runSubgraph(body, [...states, ...slices]);
      states = outs.slice(0, n);
      for (let j = 0; j < k; j++) {
        const o = outs[n + j];
        if (o === undefined || 'kind' in o) throw new KernelError(`scan output ${j} must be a tensor`);
        parts[j]!.push(o);
      }
    }
    const results = states.map((v, i) => {
      if (v === undefined) throw new KernelError(`state ${i} has no value`);
      return v;
    });
    for (let j = 0; j < k; j++) {
      const ps = a.scan_output_directions?.[j] === 1 ? [...parts[j]!].reverse() : parts[j]!;
      if (ps.length > 0) {
        const axis = normAxis(a.scan_output_axes?.[j] ?? 0, ps[0]!.dims.length + 1, `scan_output_axes[${j}]`);
        results.push(concatAxis(ps, axis, true));
        continue;
      }
      const t = body.types.get(body.outputs[n + j]!);
      if (t?.kind !== 'tensor' || t.shape === undefined) throw new KernelError(`cannot shape scan output ${j} of an empty scan`);
      const dims = t.shape.map((d) => (typeof d === 'number' ? d : 0));
      dims.splice(normAxis(a.scan_output_axes?.[j] ?? 0, dims.length + 1), 0, 0);
      results.push(makeTensor(t.dtype, dims));
    }
    return results;
  },
});

export const scanOps: AnyOpDef[] = [Scan] as AnyOpDef[];
