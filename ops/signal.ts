// DFT (opset 20 form: dft_length and axis inputs; forward, inverse, one-sided RFFT and IRFFT) and STFT; the
// family's registry (windows and MelWeightMatrix live in signal-window.ts). Transforms run in doubles: radix-2
// FFT for power-of-two lengths, otherwise direct sums over an exact twiddle table.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import { fromValues, sizeOf } from '../ir/tensor.js';
import type { Dim, TensorType } from '../ir/types.js';
import type { AnyOpDef, ImportNode, LegacyContext } from './schema.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf } from './util.js';
import { checkSize, checkWork, constInts, expectDim, expectFloat, floatTensor, num, runAxis, scalarInt } from './reduce-util.js';
import { windowOps } from './signal-window.js';

/** cos/sin of -2*pi*m/n for m in [0, n): index with (k * j) % n so every angle is exact. */
function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  const cos = new Float64Array(n); const sin = new Float64Array(n);
  for (let m = 0; m < n; m++) { const a = (-2 * Math.PI * m) / n; cos[m] = Math.cos(a); sin[m] = Math.sin(a); }
  return { cos, sin };
}

/** In-place iterative radix-2 FFT (n a power of two), so long frames stay O(n log n). */
function fftPow2(re: Float64Array, im: Float64Array, n: number, sign: number, tw: { cos: Float64Array; sin: Float64Array }): void {
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j]!, re[i]!]; [im[i], im[j]] = [im[j]!, im[i]!]; }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const step = n / len;
    for (let start = 0; start < n; start += len) {
      for (let k = 0; k < len / 2; k++) {
        const c = tw.cos[k * step]!; const s = sign * tw.sin[k * step]!;
        const a = start + k; const b = a + len / 2;
        const xr = re[b]! * c - im[b]! * s; const xi = re[b]! * s + im[b]! * c;
        re[b] = re[a]! - xr; im[b] = im[a]! - xi;
        re[a] = re[a]! + xr; im[a] = im[a]! + xi;
      }
    }
  }
}

/** One lane's transform of length n (re/im of length n, zero-padded by the caller); `count` outputs. */
function dftLane(re: Float64Array, im: Float64Array, n: number, count: number, inverse: boolean,
  tw: { cos: Float64Array; sin: Float64Array }): { re: Float64Array; im: Float64Array } {
  const sign = inverse ? -1 : 1;
  if ((n & (n - 1)) === 0) {
    const r = Float64Array.from(re); const i = Float64Array.from(im);
    fftPow2(r, i, n, sign, tw);
    if (inverse) for (let k = 0; k < n; k++) { r[k] = r[k]! / n; i[k] = i[k]! / n; }
    return { re: r.subarray(0, count), im: i.subarray(0, count) };
  }
  const oRe = new Float64Array(count); const oIm = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    let sr = 0; let si = 0;
    for (let j = 0; j < n; j++) {
      const m = (k * j) % n;
      const c = tw.cos[m]!; const s = sign * tw.sin[m]!;
      sr += re[j]! * c - im[j]! * s;
      si += re[j]! * s + im[j]! * c;
    }
    oRe[k] = inverse ? sr / n : sr; oIm[k] = inverse ? si / n : si;
  }
  return { re: oRe, im: oIm };
}

interface DftPlan { n: number; outLen: number; complexOut: boolean }

function plan(inLen: number, dftLength: number | undefined, inverse: boolean, onesided: boolean): DftPlan {
  if (inverse && onesided) { const n = dftLength ?? 2 * (inLen - 1); return { n, outLen: n, complexOut: false }; }
  const n = dftLength ?? inLen;
  return { n, outLen: onesided ? Math.floor(n / 2) + 1 : n, complexOut: true };
}

function validAxis(axis: number, rank: number, err: (m: string) => Error): number {
  // the last dim holds real/imaginary parts, so it is not a valid axis
  if (!Number.isInteger(axis) || axis < -rank || axis > rank - 2 || axis === -1) throw err(`axis ${axis} is out of range for rank ${rank} (the last dim is the complex dim)`);
  return axis < 0 ? axis + rank : axis;
}

function runDft(x: Tensor, axis: number, dftLength: number | undefined, inverse: boolean, onesided: boolean): Tensor {
  const rank = x.dims.length;
  const comps = x.dims[rank - 1]!;
  if (comps !== 1 && comps !== 2) throw new KernelError(`the last dim must be 1 (real) or 2 (complex), got ${comps}`);
  const inLen = x.dims[axis]!;
  const p = plan(inLen, dftLength, inverse, onesided);
  if (!(p.n >= 1)) throw new KernelError(`dft_length must be >= 1, got ${p.n}`);
  const outDims = [...x.dims]; outDims[axis] = p.outLen; outDims[rank - 1] = p.complexOut ? 2 : 1;
  checkSize(sizeOf(outDims));
  checkSize(p.n, 'dft_length');
  if ((p.n & (p.n - 1)) !== 0) checkWork(sizeOf(outDims) * p.n, 'DFT');
  const outer = sizeOf(x.dims.slice(0, axis)); const inner = sizeOf(x.dims.slice(axis + 1, rank - 1));
  const out = new Float64Array(sizeOf(outDims));
  const tw = twiddles(p.n);
  const oc = p.complexOut ? 2 : 1;
  for (let o = 0; o < outer; o++) {
    for (let q = 0; q < inner; q++) {
      const re = new Float64Array(p.n); const im = new Float64Array(p.n);
      const at = (j: number): number => ((o * inLen + j) * inner + q) * comps;
      if (inverse && onesided) {
        // rebuild the Hermitian spectrum from its first half (bins past the input are zero)
        for (let k = 0; k < p.n; k++) {
          const src = k <= p.n / 2 ? k : p.n - k;
          if (src >= inLen) continue;
          re[k] = num(x, at(src));
          im[k] = comps === 2 ? (k === src ? 1 : -1) * num(x, at(src) + 1) : 0;
        }
      } else {
        for (let j = 0; j < Math.min(inLen, p.n); j++) { re[j] = num(x, at(j)); im[j] = comps === 2 ? num(x, at(j) + 1) : 0; }
      }
      const r = dftLane(re, im, p.n, p.outLen, inverse, tw);
      for (let k = 0; k < p.outLen; k++) {
        const dst = ((o * p.outLen + k) * inner + q) * oc;
        out[dst] = r.re[k]!;
        if (oc === 2) out[dst + 1] = r.im[k]!;
      }
    }
  }
  return floatTensor(x.dtype, outDims, out);
}

function expectScalarInt(t: TensorType | undefined, what: string): void {
  if (!t) return;
  expectDType(t, ['int32', 'int64'], what);
  if (t.shape && sizeOf(t.shape.map((d) => (typeof d === 'number' ? d : 1))) !== 1) throw new ShapeError(`${what} must be a scalar`);
}

const dft = defineOp({
  op: 'DFT',
  attrs: { inverse: attr.int(0), onesided: attr.int(0) },
  inputs: [1, 3],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectFloat(x, 'input');
    expectScalarInt(optInType(ctx, 1), 'dft_length');
    expectScalarInt(optInType(ctx, 2), 'axis');
    if (optInType(ctx, 2) && optInType(ctx, 2)!.dtype !== 'int64') throw new ShapeError('axis must be int64');
    if (!x.shape) return [tensorOf(x.dtype)];
    const rank = x.shape.length;
    if (rank < 2) throw new ShapeError(`input must have rank >= 2 ([..., signal, 1 or 2]), got ${rank}`);
    const last = x.shape[rank - 1];
    if (typeof last === 'number' && last !== 1 && last !== 2) throw new ShapeError(`the last dim must be 1 or 2, got ${last}`);
    const axisVals = optInType(ctx, 2) ? constInts(ctx, 2) : [-2];
    const lenVals = optInType(ctx, 1) ? constInts(ctx, 1) : undefined;
    const inverse = ctx.attrs.inverse !== 0; const onesided = ctx.attrs.onesided !== 0;
    const out: Dim[] = [...x.shape];
    out[rank - 1] = inverse && onesided ? 1 : 2;
    if (axisVals === undefined) return [tensorOf(x.dtype, out.map((d, k) => (k === rank - 1 ? d : ctx.freshDim('dft'))))];
    const axis = validAxis(axisVals[0]!, rank, (m) => new ShapeError(m));
    const inLen = x.shape[axis]!;
    if (optInType(ctx, 1) && lenVals === undefined) out[axis] = ctx.freshDim('dft');
    else if (typeof inLen !== 'number' && lenVals === undefined) out[axis] = inverse || onesided ? ctx.freshDim('dft') : inLen;
    else out[axis] = plan(typeof inLen === 'number' ? inLen : 0, lenVals?.[0], inverse, onesided).outLen;
    return [tensorOf(x.dtype, out)];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const lenT = optInput(ctx, 1); const axisT = optInput(ctx, 2);
    const rank = x.dims.length;
    if (rank < 2) throw new KernelError(`input must have rank >= 2, got ${rank}`);
    const axis = validAxis(axisT ? scalarInt(axisT, 'axis') : -2, rank, (m) => new KernelError(m));
    return [runDft(x, axis, lenT ? scalarInt(lenT, 'dft_length') : undefined, ctx.attrs.inverse !== 0, ctx.attrs.onesided !== 0)];
  },
});

const stft = defineOp({
  op: 'STFT',
  attrs: { onesided: attr.int(1) },
  inputs: [2, 4],
  outputs: [1, 1],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectFloat(x, 'signal');
    expectScalarInt(inType(ctx, 1), 'frame_step');
    const w = optInType(ctx, 2);
    if (w) {
      expectFloat(w, 'window');
      if (w.shape && w.shape.length !== 1) throw new ShapeError(`window must be 1-D, got rank ${w.shape.length}`);
    }
    expectScalarInt(optInType(ctx, 3), 'frame_length');
    if (x.shape && x.shape.length !== 3) throw new ShapeError(`signal must be [batch, length, 1 or 2], got rank ${x.shape.length}`);
    const step = constInts(ctx, 1)?.[0];
    const fl: Dim | undefined = optInType(ctx, 3) ? constInts(ctx, 3)?.[0] : w?.shape?.[0] ?? x.shape?.[1];
    if (w?.shape && fl !== undefined) expectDim(w.shape[0], fl, 'window length (vs frame_length)');
    const len = x.shape?.[1];
    const frames = typeof len === 'number' && typeof fl === 'number' && step !== undefined
      ? 1 + Math.floor((len - fl) / step) : ctx.freshDim('frames');
    const bins = typeof fl === 'number' ? (ctx.attrs.onesided ? Math.floor(fl / 2) + 1 : fl) : ctx.freshDim('bins');
    return [tensorOf(x.dtype, [x.shape?.[0] ?? ctx.freshDim('batch'), frames, bins, 2])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    if (x.dims.length !== 3) throw new KernelError(`signal must be [batch, length, 1 or 2], got [${x.dims.join(',')}]`);
    const [batch, len, comps] = x.dims as [number, number, number];
    if (comps !== 1 && comps !== 2) throw new KernelError(`the last dim must be 1 or 2, got ${comps}`);
    const step = scalarInt(input(ctx, 1), 'frame_step');
    const w = optInput(ctx, 2); const flT = optInput(ctx, 3);
    const fl = flT ? scalarInt(flT, 'frame_length') : w ? w.dims[0]! : len;
    if (w && (w.dims.length !== 1 || w.dims[0] !== fl)) throw new KernelError(`window must be [${fl}], got [${w.dims.join(',')}]`);
    if (!(step >= 1)) throw new KernelError(`frame_step must be >= 1, got ${step}`);
    if (!(fl >= 1 && fl <= len)) throw new KernelError(`frame_length ${fl} must be in [1, ${len}]`);
    const frames = 1 + Math.floor((len - fl) / step);
    const onesided = ctx.attrs.onesided !== 0;
    const bins = onesided ? Math.floor(fl / 2) + 1 : fl;
    checkSize(batch * frames * bins * 2);
    if ((fl & (fl - 1)) !== 0) checkWork(batch * frames * bins * fl, 'STFT');
    const tw = twiddles(fl);
    const out = new Float64Array(batch * frames * bins * 2);
    for (let b = 0; b < batch; b++) {
      for (let f = 0; f < frames; f++) {
        const re = new Float64Array(fl); const im = new Float64Array(fl);
        for (let j = 0; j < fl; j++) {
          const wv = w ? num(w, j) : 1;
          const src = (b * len + f * step + j) * comps;
          re[j] = num(x, src) * wv; im[j] = comps === 2 ? num(x, src + 1) * wv : 0;
        }
        const r = dftLane(re, im, fl, bins, false, tw);
        for (let k = 0; k < bins; k++) {
          const dst = ((b * frames + f) * bins + k) * 2;
          out[dst] = r.re[k]!; out[dst + 1] = r.im[k]!;
        }
      }
    }
    return [floatTensor(x.dtype, [batch, frames, bins, 2], out)];
  },
});

export const signalOps: AnyOpDef[] = [dft, stft, ...windowOps];
