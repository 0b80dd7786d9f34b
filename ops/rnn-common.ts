// Shared machinery of the recurrent ops (RNN, GRU, LSTM): attributes, activation functions, input checks,
// shape inference, and the time loop that walks directions, batch entries and (possibly short) sequences.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { allocate, roundToDType, sizeOf, toNumbers } from '../ir/tensor.js';
import type { Dim, TensorType, ValueType } from '../ir/types.js';
import type { RuntimeValue } from '../ir/value.js';
import { attr } from './schema.js';
import type { ImportNode, InferContext, LegacyContext, RunContext } from './schema.js';
import { expectDType, input, inType, optInput, optInType, tensorOf } from './util.js';

export const RNN_DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16'];

/** Attributes every recurrent op has. `activations` has no schema default because it depends on direction. */
export const recurrentAttrs = {
  activation_alpha: attr.floats(),
  activation_beta: attr.floats(),
  activations: attr.strings(),
  clip: attr.float(),
  direction: attr.string('forward'),
  hidden_size: attr.int(),
  layout: attr.int(0),
};

export interface RecurrentAttrs {
  readonly activation_alpha: readonly number[] | undefined;
  readonly activation_beta: readonly number[] | undefined;
  readonly activations: readonly string[] | undefined;
  readonly clip: number | undefined;
  readonly direction: string;
  readonly hidden_size: number | undefined;
  readonly layout: number;
}

/** What distinguishes the three ops to the shared code. */
export interface CellKind {
  readonly op: string;
  /** Gates stacked in W/R/B: 1 (RNN), 3 (GRU), 4 (LSTM). */
  readonly gates: number;
  /** Activation functions per direction, with the ONNX defaults. */
  readonly defaultActivations: readonly string[];
}

// ---- activations ------------------------------------------------------------------------------------

export type Activation = (x: number) => number;

// Parameters of the activations that take them, with the defaults of the standalone ONNX ops of the same name.
const ALPHA_DEFAULT: Record<string, number> = {
  affine: 1, leakyrelu: 0.01, thresholdedrelu: 1, scaledtanh: 1, hardsigmoid: 0.2, elu: 1,
};
const BETA_DEFAULT: Record<string, number> = { affine: 0, scaledtanh: 1, hardsigmoid: 0.5 };

function makeActivation(name: string, alpha: number, beta: number): Activation {
  switch (name) {
    case 'relu': return (x) => Math.max(0, x);
    case 'tanh': return Math.tanh;
    case 'sigmoid': return (x) => 1 / (1 + Math.exp(-x));
    case 'affine': return (x) => alpha * x + beta;
    case 'leakyrelu': return (x) => (x >= 0 ? x : alpha * x);
    case 'thresholdedrelu': return (x) => (x > alpha ? x : 0);
    case 'scaledtanh': return (x) => alpha * Math.tanh(beta * x);
    case 'hardsigmoid': return (x) => Math.max(0, Math.min(1, alpha * x + beta));
    case 'elu': return (x) => (x >= 0 ? x : alpha * (Math.exp(x) - 1));
    case 'softsign': return (x) => x / (1 + Math.abs(x));
    case 'softplus': return (x) => Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);
    default: throw new ShapeError(`unknown activation function '${name}'`);
  }
}

/** The activation functions of each direction. alpha/beta lists are consumed in order by the functions that
 *  take them (so `[LeakyRelu, Tanh, HardSigmoid]` with alphas [a, b] gives LeakyRelu a and HardSigmoid b). */
export function activationsOf(kind: CellKind, a: RecurrentAttrs, numDirections: number): Activation[][] {
  const per = kind.defaultActivations.length;
  let names = a.activations ?? [];
  if (names.length === 0) names = Array.from({ length: numDirections }, () => kind.defaultActivations).flat();
  // A one-direction list given to a bidirectional op is used for both directions (as onnxruntime does).
  else if (names.length === per && numDirections === 2) names = [...names, ...names];
  if (names.length !== per * numDirections) {
    throw new ShapeError(`${kind.op} needs ${per * numDirections} activations for ${numDirections} direction(s), got ${names.length}`);
  }
  const alphas = a.activation_alpha ?? [];
  const betas = a.activation_beta ?? [];
  let ai = 0;
  let bi = 0;
  const fns = names.map((raw) => {
    const n = raw.toLowerCase();
    const alpha = n in ALPHA_DEFAULT ? (ai < alphas.length ? alphas[ai++]! : ALPHA_DEFAULT[n]!) : 0;
    const beta = n in BETA_DEFAULT ? (bi < betas.length ? betas[bi++]! : BETA_DEFAULT[n]!) : 0;
    return makeActivation(n, alpha, beta);
  });
  return Array.from({ length: numDirections }, (_, d) => fns.slice(d * per, (d + 1) * per));
}

export function numDirectionsOf(direction: string): number {
  if (direction === 'forward' || direction === 'reverse') return 1;
  if (direction === 'bidirectional') return 2;
  throw new ShapeError(`direction must be forward, reverse or bidirectional, got '${direction}'`);
}

function checkLayout(layout: number): void {
  if (layout !== 0 && layout !== 1) throw new ShapeError(`layout must be 0 or 1, got ${layout}`);
}

// ---- inference --------------------------------------------------------------------------------------

/** Check a known dim against an expectation; symbols pass (valid models only). */
function expectDim(actual: Dim | undefined, expected: Dim | undefined, what: string): void {
  if (typeof actual === 'number' && typeof expected === 'number' && actual !== expected) {
    throw new ShapeError(`${what} is ${actual}, expected ${expected}`);
  }
}

function expectRank(t: TensorType | undefined, rank: number, what: string): void {
  if (t?.shape !== undefined && t.shape.length !== rank) {
    throw new ShapeError(`${what} must have rank ${rank}, got ${t.shape.length}`);
  }
}

/** Output types [Y, Y_h, (Y_c)] of a recurrent op; inputs are X, W, R, B, sequence_lens, initial_h, ... */
export function inferRecurrent(kind: CellKind, ctx: InferContext<RecurrentAttrs>, stateInputs: readonly number[]): ValueType[] {
  const a = ctx.attrs;
  const nd = numDirectionsOf(a.direction);
  checkLayout(a.layout);
  activationsOf(kind, a, nd);
  const x = inType(ctx, 0);
  const w = inType(ctx, 1);
  const r = inType(ctx, 2);
  expectDType(x, RNN_DTYPES, 'X');
  for (const [t, what] of [[w, 'W'], [r, 'R']] as const) {
    if (t.dtype !== x.dtype) throw new ShapeError(`${what} has element type ${t.dtype}, X has ${x.dtype}`);
  }
  expectRank(x, 3, 'X');
  expectRank(w, 3, 'W');
  expectRank(r, 3, 'R');
  if (a.hidden_size !== undefined && !(a.hidden_size > 0)) throw new ShapeError(`hidden_size must be positive, got ${a.hidden_size}`);
  const hidden: Dim = a.hidden_size ?? r.shape?.[2] ?? ctx.freshDim('hidden');
  const gh = typeof hidden === 'number' ? kind.gates * hidden : undefined;
  const seq: Dim = x.shape?.[a.layout === 0 ? 0 : 1] ?? ctx.freshDim('seq');
  const batch: Dim = x.shape?.[a.layout === 0 ? 1 : 0] ?? ctx.freshDim('batch');
  expectDim(w.shape?.[0], nd, 'W dim 0 (directions)');
  expectDim(w.shape?.[1], gh, `W dim 1 (${kind.gates} x hidden_size)`);
  expectDim(w.shape?.[2], x.shape?.[2], 'W dim 2 (input_size)');
  expectDim(r.shape?.[0], nd, 'R dim 0 (directions)');
  expectDim(r.shape?.[1], gh, `R dim 1 (${kind.gates} x hidden_size)`);
  expectDim(r.shape?.[2], hidden, 'R dim 2 (hidden_size)');
  const b = optInType(ctx, 3);
  if (b) {
    if (b.dtype !== x.dtype) throw new ShapeError(`B has element type ${b.dtype}, X has ${x.dtype}`);
    expectRank(b, 2, 'B');
    expectDim(b.shape?.[0], nd, 'B dim 0 (directions)');
    expectDim(b.shape?.[1], gh === undefined ? undefined : 2 * gh, `B dim 1 (2 x ${kind.gates} x hidden_size)`);
  }
  const lens = optInType(ctx, 4);
  if (lens) {
    expectDType(lens, ['int32'], 'sequence_lens');
    expectRank(lens, 1, 'sequence_lens');
    expectDim(lens.shape?.[0], batch, 'sequence_lens length (batch)');
  }
  const stateShape: Dim[] = a.layout === 0 ? [nd, batch, hidden] : [batch, nd, hidden];
  for (const i of stateInputs) {
    const s = optInType(ctx, i);
    if (!s) continue;
    if (s.dtype !== x.dtype) throw new ShapeError(`input ${i} has element type ${s.dtype}, X has ${x.dtype}`);
    expectRank(s, 3, `input ${i}`);
    s.shape?.forEach((d, k) => expectDim(d, stateShape[k], `input ${i} dim ${k}`));
  }
  const y: Dim[] = a.layout === 0 ? [seq, nd, batch, hidden] : [batch, seq, nd, hidden];
  const out: ValueType[] = [tensorOf(x.dtype, y)];
  for (let i = 1; i < ctx.numOutputs; i++) out.push(tensorOf(x.dtype, stateShape));
  return out;
}

// ---- run --------------------------------------------------------------------------------------------

/** The weights of one direction as doubles, in ONNX's stacked-gate layout. */
export interface DirectionWeights {
  /** [gates*hidden, input] */
  readonly w: Float64Array;
  /** [gates*hidden, hidden] */
  readonly r: Float64Array;
  /** [gates*hidden] input bias (Wb) and recurrence bias (Rb). */
  readonly wb: Float64Array;
  readonly rb: Float64Array;
  readonly acts: Activation[];
  /** Peepholes [3*hidden] (LSTM only), zeros when absent. */
  readonly p: Float64Array;
}

/** One time step: x is the input row, h (and c) the state, updated in place. */
export type StepFn = (dw: DirectionWeights, x: Float64Array, h: Float64Array, c: Float64Array) => void;

/** rows [from, from+n) of matrix m (row length k) times vector v, plus bias, into out. */
export function matVec(m: Float64Array, k: number, from: number, n: number, v: Float64Array, bias: Float64Array, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = bias[from + i]!;
    const base = (from + i) * k;
    for (let j = 0; j < k; j++) s += m[base + j]! * v[j]!;
    out[i] = s;
  }
}

export function clipper(clip: number | undefined): (x: number) => number {
  if (clip === undefined) return (x) => x;
  if (!(clip > 0)) throw new KernelError(`clip must be positive, got ${clip}`);
  return (x) => Math.min(clip, Math.max(-clip, x));
}

function expectDims(t: Tensor, dims: readonly number[], what: string): void {
  if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
    throw new KernelError(`${what} has dims [${t.dims.join(',')}], expected [${dims.join(',')}]`);
  }
}

function asDoubles(t: Tensor): Float64Array {
  return Float64Array.from(toNumbers(t));
}

/** Run a recurrent op: `stateInputs` are the input indices of initial_h (and initial_c); `peephole` the index
 *  of P (LSTM). Returns [Y, Y_h, Y_c] (Y_c only when `hasCell`). */
export function runRecurrent(
  kind: CellKind, ctx: RunContext<RecurrentAttrs>, step: StepFn,
  opts: { initialH: number; initialC?: number; peephole?: number },
): RuntimeValue[] {
  const a = ctx.attrs;
  const nd = numDirectionsOf(a.direction);
  checkLayout(a.layout);
  const acts = activationsOf(kind, a, nd);
  const x = input(ctx, 0);
  const w = input(ctx, 1);
  const r = input(ctx, 2);
  if (x.dims.length !== 3 || w.dims.length !== 3 || r.dims.length !== 3) throw new KernelError('X, W and R must have rank 3');
  const [seq, batch, inSize] = a.layout === 0 ? [x.dims[0]!, x.dims[1]!, x.dims[2]!] : [x.dims[1]!, x.dims[0]!, x.dims[2]!];
  const hidden = a.hidden_size ?? r.dims[2]!;
  const G = kind.gates;
  expectDims(w, [nd, G * hidden, inSize], 'W');
  expectDims(r, [nd, G * hidden, hidden], 'R');
  const b = optInput(ctx, 3);
  if (b) expectDims(b, [nd, 2 * G * hidden], 'B');
  const lensT = optInput(ctx, 4);
  const lens: number[] = lensT ? toNumbers(lensT) : new Array<number>(batch).fill(seq);
  if (lensT) expectDims(lensT, [batch], 'sequence_lens');
  for (const l of lens) if (!(l >= 0 && l <= seq)) throw new KernelError(`sequence_lens value ${l} is outside [0, ${seq}]`);
  const stateDims = a.layout === 0 ? [nd, batch, hidden] : [batch, nd, hidden];
  // state index (direction, batch entry) -> offset of its row in a state tensor of the op's layout
  const stateRow = (d: number, bi: number): number => (a.layout === 0 ? d * batch + bi : bi * nd + d) * hidden;
  const h0T = optInput(ctx, opts.initialH);
  if (h0T) expectDims(h0T, stateDims, 'initial_h');
  const c0T = opts.initialC === undefined ? undefined : optInput(ctx, opts.initialC);
  if (c0T) expectDims(c0T, stateDims, 'initial_c');
  const pT = opts.peephole === undefined ? undefined : optInput(ctx, opts.peephole);
  if (pT) expectDims(pT, [nd, 3 * hidden], 'P');

  const xs = asDoubles(x);
  const ws = asDoubles(w);
  const rs = asDoubles(r);
  const bs = b ? asDoubles(b) : new Float64Array(nd * 2 * G * hidden);
  const ps = pT ? asDoubles(pT) : new Float64Array(nd * 3 * hidden);
  const h0 = h0T ? asDoubles(h0T) : new Float64Array(nd * batch * hidden);
  const c0 = c0T ? asDoubles(c0T) : new Float64Array(nd * batch * hidden);

  const dtype = x.dtype;
  const yDims = a.layout === 0 ? [seq, nd, batch, hidden] : [batch, seq, nd, hidden];
  const y = allocate(dtype, sizeOf(yDims)) as Float32Array | Float64Array;
  const yh = allocate(dtype, nd * batch * hidden) as Float32Array | Float64Array;
  const yc = allocate(dtype, nd * batch * hidden) as Float32Array | Float64Array;
  const yRow = (t: number, d: number, bi: number): number =>
    (a.layout === 0 ? ((t * nd + d) * batch + bi) : ((bi * seq + t) * nd + d)) * hidden;
  const xRow = (t: number, bi: number): number => (a.layout === 0 ? t * batch + bi : bi * seq + t) * inSize;

  const gh = G * hidden;
  for (let d = 0; d < nd; d++) {
    const reverse = a.direction === 'reverse' || d === 1;
    const dw: DirectionWeights = {
      w: ws.subarray(d * gh * inSize, (d + 1) * gh * inSize),
      r: rs.subarray(d * gh * hidden, (d + 1) * gh * hidden),
      wb: bs.subarray(d * 2 * gh, d * 2 * gh + gh),
      rb: bs.subarray(d * 2 * gh + gh, (d + 1) * 2 * gh),
      acts: acts[d]!,
      p: ps.subarray(d * 3 * hidden, (d + 1) * 3 * hidden),
    };
    for (let bi = 0; bi < batch; bi++) {
      const h = h0.slice(stateRow(d, bi), stateRow(d, bi) + hidden);
      const c = c0.slice(stateRow(d, bi), stateRow(d, bi) + hidden);
      const len = lens[bi]!;
      for (let s = 0; s < len; s++) {
        // a reversed short sequence starts at its own last step, not at the padded end
        const t = reverse ? len - 1 - s : s;
        step(dw, xs.subarray(xRow(t, bi), xRow(t, bi) + inSize), h, c);
        y.set(h, yRow(t, d, bi));
      }
      yh.set(h, stateRow(d, bi));
      yc.set(c, stateRow(d, bi));
    }
  }
  const outs: RuntimeValue[] = [
    roundToDType({ dtype, dims: yDims, data: y }),
    roundToDType({ dtype, dims: stateDims, data: yh }),
  ];
  if (opts.initialC !== undefined) outs.push(roundToDType({ dtype, dims: stateDims, data: yc }));
  return outs;
}

