// Comparisons, logic, Where, IsNaN/IsInf, Mod, BitShift, bool Casts and bool data movement on WebGPU against the
// reference interpreter, through Dawn inside error scopes: sizes 0, 1, 5 (a partial bool word), 1023 and
// broadcasting; bool tensors are one byte each, so every size that is not a multiple of 4 checks the packing.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/builder.js';
import type { Tensor } from '../../ir/tensor.js';
import { randTensor } from '../wasm/helpers.js';
import { gpu, REQUIRE_WEBGPU, runWebGpu, skipReason, worstError } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;
const SIZES = [[0], [1], [5], [1023], [3, 5]];
const boolT = (dims: number[], seed: number): Tensor => {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dtype: 'bool', dims, data: Uint8Array.from({ length: n }, (_, i) => ((i * 7 + seed * 13) % 5 < 2 ? 1 : 0)) };
};
const i32 = (dims: number[], xs: number[]): Tensor => ({ dtype: 'int32', dims, data: Int32Array.from(xs) });
/** Inputs rounded to halves, so equal values occur. */
const coarse = (dims: number[], seed: number): Tensor<'float32'> => {
  const t = randTensor(dims, seed);
  return { ...t, data: t.data.map((v) => Math.round(v * 2) / 2) };
};

describe.skipIf(!run)(`webgpu logic kernels${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('Equal, Less, LessOrEqual, Greater, GreaterOrEqual on float32 and int32, broadcast, every awkward size', async () => {
    const b = new GraphBuilder();
    const outs: string[] = [];
    const inputs: Tensor[] = [];
    SIZES.forEach((s, k) => {
      const x = b.input(`x${k}`, 'float32', s), y = b.input(`y${k}`, 'float32', [1]);
      inputs.push(coarse(s, k + 1), coarse([1], k + 7));
      for (const op of ['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual']) outs.push(b.op(op, [x, y]), b.op(op, [y, x]));
    });
    const p = b.input('p', 'int32', [2, 3]), q = b.input('q', 'int32', [3]);
    inputs.push(i32([2, 3], [1, -2, 3, 4, 5, -6]), i32([3], [1, 5, 3]));
    outs.push(b.op('Equal', [p, q]), b.op('Less', [p, q]), b.op('Greater', [q, p]));
    b.output(...outs);
    expect(await worstError(b.build(), inputs)).toBe(0);
  }, 300_000);

  it('Clip of int32 values: constant bounds, one bound, bounds fed at run time, and float32 Clip beside it', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'int32', [7]), lo = b.input('lo', 'int32', []), hi = b.input('hi', 'int32', []), f = b.input('f', 'float32', [8]);
    const c = (v: number): string => b.weight(`c${v}`, { dtype: 'int32', dims: [], data: Int32Array.from([v]) });
    b.output(b.op('Clip', [x, c(-1), c(4)]), b.op('Clip', [x, c(0)]), b.op('Clip', [x, '', c(2)]), b.op('Clip', [x, lo, hi]),
      b.op('Clip', [f, b.weight('flo', { dtype: 'float32', dims: [], data: Float32Array.from([-0.25]) })]));
    const xs = i32([7], [-7, -1, 0, 3, 4, 5, 2 ** 31 - 1]);
    expect(await worstError(b.build(), [xs, i32([], [-2]), i32([], [3]), coarse([8], 5)])).toBe(0);
  }, 300_000);

  it('And, Or, Xor, Not, Where (bool and float branches), Cast to and from bool, on bool sizes 1, 5, 1023', async () => {
    const b = new GraphBuilder();
    const outs: string[] = [];
    const inputs: Tensor[] = [];
    [[1], [5], [1023], [2, 5]].forEach((s, k) => {
      const x = b.input(`a${k}`, 'bool', s), y = b.input(`b${k}`, 'bool', s), f = b.input(`f${k}`, 'float32', s);
      inputs.push(boolT(s, k), boolT(s, k + 3), coarse(s, k + 11));
      const and = b.op('And', [x, y]);
      outs.push(and, b.op('Or', [x, y]), b.op('Xor', [x, y]), b.op('Not', [x]), b.op('Where', [x, f, b.op('Neg', [f])]), b.op('Where', [x, y, and]));
      outs.push(b.op('Cast', [f], { to: 9 }), b.op('Cast', [x], { to: 1 }), b.op('Cast', [b.op('Cast', [x], { to: 6 })], { to: 9 }));
    });
    // Where broadcast: a [2, 1] condition over [2, 5] branches
    const c = b.input('c', 'bool', [2, 1]), u = b.input('u', 'float32', [2, 5]), v = b.input('v', 'float32', [5]);
    inputs.push(boolT([2, 1], 2), randTensor([2, 5], 3), randTensor([5], 4));
    outs.push(b.op('Where', [c, u, v]));
    b.output(...outs);
    expect(await worstError(b.build(), inputs)).toBe(0);
  }, 300_000);

  it('bool data movement: Transpose, Reshape of a constant, Gather, Slice/Pad index maps, Identity', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'bool', [3, 5]);
    const i64 = (dims: number[], xs: number[]): Tensor => ({ dtype: 'int64', dims, data: BigInt64Array.from(xs.map(BigInt)) });
    const t = b.op('Transpose', [x]);
    const g = b.op('Gather', [x, b.weight('gi', i64([3], [2, 0, -1]))], { axis: 1 });
    const sl = b.op('Slice', [x, b.weight('st', i64([1], [1])), b.weight('en', i64([1], [4])), b.weight('ax', i64([1], [1]))]);
    const pd = b.op('Pad', [x, b.weight('pads', i64([4], [0, 1, 1, 2]))]);
    const k = b.op('Reshape', [b.weight('kb', boolT([6], 1)), b.weight('sh', i64([2], [2, 3]))]);
    b.output(t, g, sl, pd, k, b.op('Identity', [b.op('Not', [x])]));
    expect(await worstError(b.build(), [boolT([3, 5], 4)])).toBe(0);
  }, 300_000);

  it('IsNaN and IsInf (each detect mode) on NaN, +-inf and finite values', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [7]);
    b.output(b.op('IsNaN', [x]), b.op('IsInf', [x]), b.op('IsInf', [x], { detect_negative: 0 }), b.op('IsInf', [x], { detect_positive: 0 }));
    const data = Float32Array.from([NaN, Infinity, -Infinity, 0, -0, 3.5, -1e38]);
    expect(await worstError(b.build(), [{ dtype: 'float32', dims: [7], data }])).toBe(0);
  }, 300_000);

  it('Mod: fmod on floats, Python mod on int32 (mixed signs), BitShift both directions on uint32', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [6]), y = b.input('y', 'float32', [6]);
    const p = b.input('p', 'int32', [6]), q = b.input('q', 'int32', [6]);
    const u = b.input('u', 'uint32', [4]), s = b.input('s', 'uint32', [4]);
    b.output(b.op('Mod', [x, y], { fmod: 1 }), b.op('Mod', [p, q]), b.op('Mod', [p, q], { fmod: 1 }), b.op('BitShift', [u, s], { direction: 'LEFT' }), b.op('BitShift', [u, s], { direction: 'RIGHT' }));
    const inputs: Tensor[] = [
      { dtype: 'float32', dims: [6], data: Float32Array.from([5.5, -5.5, 5.5, -5.5, 7, 0.25]) },
      { dtype: 'float32', dims: [6], data: Float32Array.from([2, 2, -2, -2, 7, 0.1]) },
      i32([6], [7, -7, 7, -7, 0, 13]), i32([6], [3, 3, -3, -3, 5, 13]),
      { dtype: 'uint32', dims: [4], data: Uint32Array.from([1, 0x80000000, 255, 7]) },
      { dtype: 'uint32', dims: [4], data: Uint32Array.from([0, 1, 4, 31]) },
    ];
    expect(await worstError(b.build(), inputs)).toBeLessThan(1e-6);
  }, 300_000);

  it('a bool output of size 0 emits nothing and reads back empty', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [0, 3]);
    b.output(b.op('Less', [x, b.weight('z', { dtype: 'float32', dims: [], data: Float32Array.of(0) })]));
    const [out] = await runWebGpu(b.build(), [randTensor([0, 3], 1)]);
    expect(out!.dtype).toBe('bool');
    expect(out!.dims).toEqual([0, 3]);
  }, 300_000);
});
