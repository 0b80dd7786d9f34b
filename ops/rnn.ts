// Recurrent ops: RNN, GRU and LSTM. The time loop, checks and inference are shared (rnn-common.ts); each op
// here is its cell equations, written as in the ONNX operator spec.

import { ShapeError } from '../ir/errors.js';
import { defineOp, attr } from './schema.js';
import { inType, optInType } from './util.js';
import type { AnyOpDef } from './schema.js';
import {
  clipper, inferRecurrent, matVec, recurrentAttrs, runRecurrent,
} from './rnn-common.js';
import type { CellKind, DirectionWeights } from './rnn-common.js';

const RNN_KIND: CellKind = { op: 'RNN', gates: 1, defaultActivations: ['Tanh'] };
const GRU_KIND: CellKind = { op: 'GRU', gates: 3, defaultActivations: ['Sigmoid', 'Tanh'] };
const LSTM_KIND: CellKind = { op: 'LSTM', gates: 4, defaultActivations: ['Sigmoid', 'Tanh', 'Tanh'] };

/** Inputs: X, W, R, B, sequence_lens, initial_h. Ht = f(Xt*Wi^T + Ht-1*Ri^T + Wbi + Rbi). */
export const RNN = defineOp({
  op: 'RNN',
  attrs: recurrentAttrs,
  inputs: [3, 6],
  outputs: [0, 2],
  infer: (ctx) => inferRecurrent(RNN_KIND, ctx, [5]),
  run(ctx) {
    const clip = clipper(ctx.attrs.clip);
    const step = (dw: DirectionWeights, x: Float64Array, h: Float64Array): void => {
      const n = h.length;
      const xw = new Float64Array(n);
      const hr = new Float64Array(n);
      matVec(dw.w, x.length, 0, n, x, dw.wb, xw);
      matVec(dw.r, n, 0, n, h, dw.rb, hr);
      const f = dw.acts[0]!;
      for (let j = 0; j < n; j++) h[j] = f(clip(xw[j]! + hr[j]!));
    };
    return runRecurrent(RNN_KIND, ctx, step, { initialH: 5 });
  },
});

/** Inputs: X, W, R, B, sequence_lens, initial_h; gates stacked z, r, h. */
export const GRU = defineOp({
  op: 'GRU',
  attrs: { ...recurrentAttrs, linear_before_reset: attr.int(0) },
  inputs: [3, 6],
  outputs: [0, 2],
  infer: (ctx) => inferRecurrent(GRU_KIND, ctx, [5]),
  run(ctx) {
    const clip = clipper(ctx.attrs.clip);
    const linearBeforeReset = ctx.attrs.linear_before_reset !== 0;
    const step = (dw: DirectionWeights, x: Float64Array, h: Float64Array): void => {
      const n = h.length;
      const [f, g] = [dw.acts[0]!, dw.acts[1]!];
      const xw = new Float64Array(3 * n);
      const hr = new Float64Array(3 * n);
      matVec(dw.w, x.length, 0, 3 * n, x, dw.wb, xw);
      // z and r always use Ht-1 directly; the candidate's recurrence depends on linear_before_reset
      matVec(dw.r, n, 0, 2 * n, h, dw.rb, hr);
      const z = new Float64Array(n);
      const r = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        z[j] = f(clip(xw[j]! + hr[j]!));
        r[j] = f(clip(xw[n + j]! + hr[n + j]!));
      }
      const hh = new Float64Array(n);
      const cand = new Float64Array(n);
      if (linearBeforeReset) {
        matVec(dw.r, n, 2 * n, n, h, dw.rb, hh);
        for (let j = 0; j < n; j++) cand[j] = g(clip(xw[2 * n + j]! + r[j]! * hh[j]!));
      } else {
        const rh = new Float64Array(n);
        for (let j = 0; j < n; j++) rh[j] = r[j]! * h[j]!;
        matVec(dw.r, n, 2 * n, n, rh, dw.rb, hh);
        for (let j = 0; j < n; j++) cand[j] = g(clip(xw[2 * n + j]! + hh[j]!));
      }
      for (let j = 0; j < n; j++) h[j] = (1 - z[j]!) * cand[j]! + z[j]! * h[j]!;
    };
    return runRecurrent(GRU_KIND, ctx, step, { initialH: 5 });
  },
});

/** Inputs: X, W, R, B, sequence_lens, initial_h, initial_c, P; gates stacked i, o, f, c; peepholes i, o, f. */
export const LSTM = defineOp({
  op: 'LSTM',
  attrs: { ...recurrentAttrs, input_forget: attr.int(0) },
  inputs: [3, 8],
  outputs: [0, 3],
  infer(ctx) {
    const p = optInType(ctx, 7);
    const x = inType(ctx, 0);
    if (p && p.dtype !== x.dtype) throw new ShapeError(`P has element type ${p.dtype}, X has ${x.dtype}`);
    if (p?.shape !== undefined && p.shape.length !== 2) throw new ShapeError(`P must have rank 2, got ${p.shape.length}`);
    return inferRecurrent(LSTM_KIND, ctx, [5, 6]);
  },
  run(ctx) {
    const clip = clipper(ctx.attrs.clip);
    const coupled = ctx.attrs.input_forget !== 0;
    const step = (dw: DirectionWeights, x: Float64Array, h: Float64Array, c: Float64Array): void => {
      const n = h.length;
      const [f, g, hAct] = [dw.acts[0]!, dw.acts[1]!, dw.acts[2]!];
      const xw = new Float64Array(4 * n);
      const hr = new Float64Array(4 * n);
      matVec(dw.w, x.length, 0, 4 * n, x, dw.wb, xw);
      matVec(dw.r, n, 0, 4 * n, h, dw.rb, hr);
      const pre = (gate: number, j: number): number => xw[gate * n + j]! + hr[gate * n + j]!;
      for (let j = 0; j < n; j++) {
        const it = f(clip(pre(0, j) + dw.p[j]! * c[j]!));
        const ft = coupled ? 1 - it : f(clip(pre(2, j) + dw.p[2 * n + j]! * c[j]!));
        const ct = g(clip(pre(3, j)));
        c[j] = ft * c[j]! + it * ct;
        const ot = f(clip(pre(1, j) + dw.p[n + j]! * c[j]!));
        h[j] = ot * hAct(c[j]!);
      }
    };
    return runRecurrent(LSTM_KIND, ctx, step, { initialH: 5, initialC: 6, peephole: 7 });
  },
});

export const rnnOps: AnyOpDef[] = [RNN, GRU, LSTM] as AnyOpDef[];
