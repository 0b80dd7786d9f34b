// CausalConvWithState (opset 27): depthwise 1-D causal convolution whose left context comes from a carried state,
// with an optional fused SiLU; also returns the last k-1 positions as the next state.

import { KernelError, ShapeError } from '../ir/errors.js';
import { allocate, roundToDType } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf } from './util.js';
import { FLOAT_TYPES, checkAllocation, numbers, sameDim } from './conv-window.js';

function activationOf(s: string): 'none' | 'silu' {
  if (s === 'none') return 'none';
  if (s === 'silu' || s === 'swish') return 'silu';
  throw new ShapeError(`activation must be 'none', 'silu' or 'swish', got '${s}'`);
}

export const causalConvWithStateOp = defineOp({
  op: 'CausalConvWithState',
  attrs: { activation: attr.string('none') },
  inputs: [2, 4],
  outputs: [1, 2],
  infer(ctx) {
    const x = inType(ctx, 0);
    const w = inType(ctx, 1);
    expectDType(x, FLOAT_TYPES, 'input');
    activationOf(ctx.attrs.activation);
    for (const [i, name] of [[1, 'weight'], [2, 'bias'], [3, 'past_state']] as const) {
      const t = optInType(ctx, i);
      if (t && t.dtype !== x.dtype) throw new ShapeError(`${name} has element type ${t.dtype}; input has ${x.dtype}`);
    }
    if (x.shape && x.shape.length !== 3) throw new ShapeError(`input must have rank 3 (batch, channels, length), got ${x.shape.length}`);
    if (w.shape && w.shape.length !== 3) throw new ShapeError(`weight must have rank 3 (channels, 1, k), got ${w.shape.length}`);
    if (w.shape) sameDim(w.shape[1], 1, 'weight dim 1 must be 1 (depthwise)');
    if (x.shape && w.shape) sameDim(x.shape[1], w.shape[0], 'weight must have one kernel per channel');
    const k = w.shape?.[2];
    const stateLen: Dim = typeof k === 'number' ? k - 1 : ctx.freshDim('k_1');
    const past = optInType(ctx, 3);
    if (past?.shape && x.shape) {
      sameDim(past.shape[0], x.shape[0], 'past_state batch must equal input batch');
      sameDim(past.shape[2], stateLen, 'past_state length must be k-1');
    }
    if (x.shape === undefined) return [tensorOf(x.dtype), tensorOf(x.dtype)];
    return [tensorOf(x.dtype, x.shape), tensorOf(x.dtype, [x.shape[0]!, x.shape[1]!, stateLen])];
  },
  run(ctx) {
    const x = input(ctx, 0); const w = input(ctx, 1);
    const b = optInput(ctx, 2); const past = optInput(ctx, 3);
    const act = activationOf(ctx.attrs.activation);
    if (x.dims.length !== 3 || w.dims.length !== 3) throw new KernelError(`input and weight must have rank 3`);
    const [n, c, len] = x.dims as [number, number, number];
    const k = w.dims[2]!;
    if (w.dims[0] !== c || w.dims[1] !== 1 || k < 1) throw new KernelError(`weight must have shape [${c},1,k], got [${w.dims.join(',')}]`);
    if (b && (b.dims.length !== 1 || b.dims[0] !== c)) throw new KernelError(`bias must have shape [${c}]`);
    const s = k - 1;
    if (past && past.dims.join() !== [n, c, s].join()) throw new KernelError(`past_state must have shape [${n},${c},${s}], got [${past.dims.join(',')}]`);
    checkAllocation(n * c * (len + s));
    const xd = numbers(x.data); const wd = numbers(w.data);
    const bd = b ? numbers(b.data) : undefined; const pd = past ? numbers(past.data) : undefined;
    const y = allocate(x.dtype, n * c * len) as Float32Array | Float64Array;
    const state = allocate(x.dtype, n * c * s) as Float32Array | Float64Array;
    const seq = new Float64Array(s + len);
    for (let row = 0; row < n * c; row++) {
      // The sequence seen by the kernel: the carried state, then this call's input.
      for (let i = 0; i < s; i++) seq[i] = pd ? pd[row * s + i]! : 0;
      for (let t = 0; t < len; t++) seq[s + t] = xd[row * len + t]!;
      const ch = row % c;
      for (let t = 0; t < len; t++) {
        let v = bd ? bd[ch]! : 0;
        for (let j = 0; j < k; j++) v += wd[ch * k + j]! * seq[t + j]!;
        y[row * len + t] = act === 'silu' ? v / (1 + Math.exp(-v)) : v;
      }
      for (let i = 0; i < s; i++) state[row * s + i] = seq[len + i]!;
    }
    return [
      roundToDType({ dtype: x.dtype, dims: [n, c, len], data: y }),
      roundToDType({ dtype: x.dtype, dims: [n, c, s], data: state }),
    ];
  },
});
