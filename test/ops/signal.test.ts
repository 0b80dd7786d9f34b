// Unit tests for DFT, STFT, the window generators and MelWeightMatrix: hand-computed spectra, one-sided and
// inverse transforms, dft_length padding/truncation, inference, and legacy DFT's axis attribute.

import { describe, expect, it } from 'vitest';
import { KernelError, ShapeError } from '../../ir/errors.js';
import { fromValues } from '../../ir/tensor.js';
import { out, runOp } from '../helpers/run-op.js';
import { T, expectClose, f32, i64, inferTypes, int, legacy, shapeOf, vals } from './reduce-helpers.js';

const sig = f32([1, 4, 1], [1, 2, 3, 4]);
const axis1 = fromValues('int64', [], [1n]);
const none = undefined;

describe('DFT', () => {
  it('forward transform of a real signal', () => {
    const r = out(runOp('DFT', [sig, none, axis1]));
    expect(r.dims).toEqual([1, 4, 2]);
    expectClose(r, [10, 0, -2, 2, -2, 0, -2, -2]);
    // default axis is -2, the signal axis here
    expectClose(out(runOp('DFT', [sig])), [10, 0, -2, 2, -2, 0, -2, -2]);
  });
  it('one-sided forward keeps floor(n/2)+1 bins', () => {
    const r = out(runOp('DFT', [sig, none, axis1], { onesided: int(1) }));
    expect(r.dims).toEqual([1, 3, 2]);
    expectClose(r, [10, 0, -2, 2, -2, 0]);
  });
  it('inverse and one-sided inverse (IRFFT) recover the signal', () => {
    const spec = f32([1, 4, 2], [10, 0, -2, 2, -2, 0, -2, -2]);
    expectClose(out(runOp('DFT', [spec, none, axis1], { inverse: int(1) })), [1, 0, 2, 0, 3, 0, 4, 0]);
    const half = f32([1, 3, 2], [10, 0, -2, 2, -2, 0]);
    const r = out(runOp('DFT', [half, none, axis1], { inverse: int(1), onesided: int(1) }));
    expect(r.dims).toEqual([1, 4, 1]);
    expectClose(r, [1, 2, 3, 4]);
  });
  it('dft_length truncates or zero-pads', () => {
    expectClose(out(runOp('DFT', [sig, fromValues('int64', [], [2n]), axis1])), [3, 0, -1, 0]);
    const p = out(runOp('DFT', [f32([1, 2, 1], [1, 1]), fromValues('int32', [], [4]), axis1]));
    expectClose(p, [2, 0, 1, -1, 0, 0, 1, 1]);
  });
  it('radix-2 and direct paths agree with the defining sum', () => {
    for (const n of [16, 12]) {
      const x = Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + (i % 3));
      const want: number[] = [];
      for (let k = 0; k < n; k++) {
        let re = 0; let im = 0;
        for (let j = 0; j < n; j++) { re += x[j]! * Math.cos((-2 * Math.PI * k * j) / n); im += x[j]! * Math.sin((-2 * Math.PI * k * j) / n); }
        want.push(re, im);
      }
      expectClose(out(runOp('DFT', [fromValues('float64', [n, 1], x), none, fromValues('int64', [], [0n])])), want, 1e-9);
    }
  });
  it('transforms along an inner axis of a batch', () => {
    const x = f32([2, 2, 1], [1, 2, 3, 4]);
    // along axis 0: pairs (1,3) and (2,4)
    expectClose(out(runOp('DFT', [x, none, fromValues('int64', [], [0n])])), [4, 0, 6, 0, -2, 0, -2, 0]);
  });
  it('infers shapes and rejects the complex dim as axis', () => {
    expect(shapeOf(inferTypes('DFT', [T('float32', ['b', 16, 1]), none, T('int64', [])], { 2: axis1 }, { onesided: int(1) })[0])).toEqual(['b', 9, 2]);
    expect(shapeOf(inferTypes('DFT', [T('float32', ['b', 'n', 2])])[0])).toEqual(['b', 'n', 2]);
    expect(shapeOf(inferTypes('DFT', [T('float32', ['b', 6, 2])], {}, { inverse: int(1), onesided: int(1) })[0])).toEqual(['b', 10, 1]);
    expect(() => runOp('DFT', [sig, none, fromValues('int64', [], [-1n])])).toThrow(ShapeError);
    expect(() => runOp('DFT', [f32([1, 2, 3], [1, 2, 3, 4, 5, 6])])).toThrow(ShapeError);
  });
  it('legacy (< 20) moves the axis attribute (default 1) to an input', () => {
    const a = legacy('DFT', { attrs: { axis: int(2), onesided: int(1) } }, 17);
    expect(a.nodes[0]!.attrs).toEqual({ onesided: int(1) });
    expect(a.nodes[0]!.inputs[1]).toBe('');
    expect(vals(a.consts.get(a.nodes[0]!.inputs[2]!)!)).toEqual([2]);
    const b = legacy('DFT', { inputs: ['x', 'len'] }, 19);
    expect(b.nodes[0]!.inputs[1]).toBe('len');
    expect(vals(b.consts.get(b.nodes[0]!.inputs[2]!)!)).toEqual([1]);
  });
});

describe('STFT', () => {
  const x = f32([1, 8, 1], new Array(8).fill(1));
  it('frames the signal and transforms each frame', () => {
    const r = out(runOp('STFT', [x, i64([4], []), none, i64([4], [])]));
    expect(r.dims).toEqual([1, 2, 3, 2]);
    expectClose(r, [4, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0]);
  });
  it('applies a window', () => {
    const w = f32([4], [0, 0.5, 1, 0.5]);
    const r = out(runOp('STFT', [x, i64([2], []), w]));
    expect(r.dims).toEqual([1, 3, 3, 2]);
    expectClose(vals(r).slice(0, 6), [2, 0, -1, 0, 0, 0]);
  });
  it('returns all bins when not one-sided, and validates sizes', () => {
    expect(out(runOp('STFT', [x, i64([4], []), none, i64([4], [])], { onesided: int(0) })).dims).toEqual([1, 2, 4, 2]);
    expect(() => runOp('STFT', [x, i64([0], []), none, i64([4], [])])).toThrow(KernelError);
    expect(() => runOp('STFT', [x, i64([1], []), f32([3], [1, 1, 1]), i64([4], [])])).toThrow(ShapeError);
  });
});

describe('windows and MelWeightMatrix', () => {
  const four = fromValues('int64', [], [4n]);
  it('Hann, Hamming, Blackman: periodic and symmetric', () => {
    expectClose(out(runOp('HannWindow', [four])), [0, 0.5, 1, 0.5]);
    expectClose(out(runOp('HannWindow', [four], { periodic: int(0) })), [0, 0.75, 0.75, 0]);
    const a = 25 / 46;
    expectClose(out(runOp('HammingWindow', [four])), [2 * a - 1, a, 1, a]);
    expectClose(out(runOp('BlackmanWindow', [four])), [0, 0.34, 1, 0.34]);
  });
  it('honours output_datatype and infers the size', () => {
    const r = out(runOp('HannWindow', [fromValues('int32', [], [4])], { output_datatype: int(11) }));
    expect(r.dtype).toBe('float64');
    expect(out(runOp('HannWindow', [four], { output_datatype: int(7) })).data).toEqual(new BigInt64Array([0n, 0n, 1n, 0n]));
    expect(shapeOf(inferTypes('HannWindow', [T('int64', [])])[0])).toEqual(['?0']);
    expect(out(runOp('HannWindow', [fromValues('int64', [], [0n])])).dims).toEqual([0]);
    expect(() => runOp('HannWindow', [four], { output_datatype: int(8) })).toThrow(ShapeError);
  });
  it('MelWeightMatrix builds triangular filters on mel-spaced bins', () => {
    const s = (v: number) => fromValues('int64', [], [BigInt(v)]);
    const r = out(runOp('MelWeightMatrix', [s(2), s(8), s(8000), f32([], [0]), f32([], [4000])]));
    expect(r.dims).toEqual([5, 2]);
    expect(vals(r)).toEqual([1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  });
});
