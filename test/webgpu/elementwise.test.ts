// Elementwise WebGPU kernels against the reference interpreter, through Dawn: every formula of the table on
// awkward sizes (0, 1, 3, 4, 5, 1023), vec4 and scalar paths, and broadcasting of every kind.

import { describe, expect, it } from 'vitest';
import { ELEMENTWISE } from '../../backends/webgpu/kernels/elementwise-ops.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor } from '../wasm/helpers.js';
import { gpu, REQUIRE_WEBGPU, skipReason, worstError } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;

function one(op: string, shapes: number[][], attrs: Record<string, number | string> = {}, consts: Record<number, number> = {}) {
  const b = new GraphBuilder();
  const xs = shapes.map((s, i) => (consts[i] !== undefined ? b.weight(`c${i}`, { dtype: 'float32', dims: [], data: new Float32Array([consts[i]!]) }) : b.input(`x${i}`, 'float32', s)));
  b.output(b.op(op, xs, attrs));
  const inputs = shapes.filter((_, i) => consts[i] === undefined).map((s, i) => randTensor(s, 7 + i));
  return { g: b.build(), inputs };
}

const UNARY = ['Relu', 'Sigmoid', 'Tanh', 'Exp', 'Abs', 'Neg', 'Floor', 'Ceil', 'Round', 'Reciprocal', 'Sin', 'Cos', 'Erf', 'Softplus',
  'Softsign', 'Sign', 'LeakyRelu', 'Elu', 'Selu', 'HardSigmoid', 'HardSwish', 'Mish', 'Gelu', 'Tan', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Swish', 'ThresholdedRelu', 'Shrink'];

describe.skipIf(!run)(`webgpu elementwise${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('has a test for every formula', () => {
    const tested = new Set([...UNARY, 'Log', 'Sqrt', 'Asin', 'Acos', 'Atanh', 'Acosh', 'Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean', 'PRelu', 'Pow', 'Clip', 'SwiGLU']);
    expect(Object.keys(ELEMENTWISE).filter((k) => !tested.has(k))).toEqual([]);
  });

  // one graph per op, applied to every awkward size (vec4 and scalar paths, 1-D and 2-D)
  const SIZES = [[0], [1], [3], [4], [5], [1023], [2, 4], [2, 5], [2, 1023]];
  it('every unary op on sizes 0, 1, 3, 4, 5, 1023 (1-D and 2-D)', async () => {
    for (const op of UNARY) {
      const b = new GraphBuilder();
      b.output(...SIZES.map((s, i) => b.op(op, [b.input(`x${i}`, 'float32', s)])));
      const err = await worstError(b.build(), SIZES.map((s, i) => randTensor(s, 5 + i)));
      expect(err, op).toBeLessThan(op === 'Erf' || op === 'Gelu' ? 2e-6 : 1e-5);
    }
  });

  it('Log, Sqrt, Acosh on inputs >= 1 and Asin, Acos, Atanh on (-1, 1)', async () => {
    for (const op of ['Log', 'Sqrt', 'Acosh', 'Asin', 'Acos', 'Atanh']) {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', [5, 7]);
      const k = b.weight('k', { dtype: 'float32', dims: [], data: Float32Array.of(['Asin', 'Acos', 'Atanh'].includes(op) ? 0.45 : 1) });
      b.output(b.op(op, [['Asin', 'Acos', 'Atanh'].includes(op) ? b.op('Mul', [x, k]) : b.op('Add', [b.op('Abs', [x]), k])]));
      expect(await worstError(b.build(), [randTensor([5, 7], 3)]), op).toBeLessThan(1e-5);
    }
  }, 300_000);

  it('variadic Max, Min, Sum, Mean (1 to 3 inputs, broadcasting)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3, 4]), y = b.input('y', 'float32', [3, 1]), z = b.input('z', 'float32', [4]);
    b.output(...['Max', 'Min', 'Sum', 'Mean'].flatMap((op) => [b.op(op, [x]), b.op(op, [x, y]), b.op(op, [x, y, z])]));
    expect(await worstError(b.build(), [randTensor([2, 3, 4], 1), randTensor([3, 1], 2), randTensor([4], 3)])).toBeLessThan(1e-5);
  }, 300_000);

  const BCAST: number[][][] = [[[4, 8], [4, 8]], [[3, 5], [3, 5]], [[2, 3, 8], [8]], [[2, 3, 5], [3, 1]], [[1], [6, 4]], [[2, 1, 4], [1, 3, 1]], [[0, 4], [4]], [[4, 1023], [1, 1023]], [[5, 4], []]];
  for (const [a, b] of BCAST) {
    it(`binary ops broadcast [${a}] with [${b}]`, async () => {
      for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'PRelu']) {
        if (op === 'PRelu' && (b!.length > a!.length || a!.join() === '2,1,4')) continue; // slope must broadcast to X
        const { g, inputs } = one(op, [a!, b!]);
        expect(await worstError(g, inputs), `${op} [${a}] [${b}]`).toBeLessThan(1e-5);
      }
    });
  }

  it('Pow with constant and run-time exponents', async () => {
    for (const e of [2, 0.5, 3, -1.5]) {
      const { g, inputs } = one('Pow', [[3, 4], []], {}, { 1: e });
      expect(await worstError(g, inputs), `x^${e}`).toBeLessThan(1e-4);
    }
    const { g, inputs } = one('Pow', [[3, 4], [3, 4]]);
    inputs[1] = { ...inputs[1]!, data: (inputs[1]!.data as Float32Array).map(Math.round) };
    expect(await worstError(g, inputs)).toBeLessThan(1e-4);
  });

  it('Clip with constant and run-time bounds, one bound omitted', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [4, 5]);
    const lo = b.weight('lo', { dtype: 'float32', dims: [], data: new Float32Array([-0.5]) });
    const hi = b.weight('hi', { dtype: 'float32', dims: [], data: new Float32Array([1]) });
    const rlo = b.input('rlo', 'float32', []);
    b.output(b.op('Clip', [x, lo, hi]), b.op('Clip', [x, '', hi]), b.op('Clip', [x, rlo, hi]), b.op('Clip', [x, '', rlo]));
    const bound = { dtype: 'float32' as const, dims: [], data: new Float32Array([0.25]) };
    expect(await worstError(b.build(), [randTensor([4, 5], 2), bound])).toBeLessThan(1e-6);
  });
});

describe.skipIf(!run)(`webgpu elementwise on one buffer read twice${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('Mul(x, x), Add(x, reshape(x)) and a broadcast of x against itself share one binding', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [4, 8]), r = b.input('r', 'float32', [1, 8]);
    const shape = b.weight('s', { dtype: 'int64', dims: [2], data: BigInt64Array.from([8n, 4n]) });
    const rt = b.op('Reshape', [r, b.weight('s2', { dtype: 'int64', dims: [2], data: BigInt64Array.from([8n, 1n]) })]);
    b.output(b.op('Mul', [x, x]), b.op('Add', [b.op('Reshape', [x, shape]), b.op('Reshape', [x, shape])]), b.op('Sub', [r, rt]), b.op('Mul', [x, r]));
    expect(await worstError(b.build(), [randTensor([4, 8], 1), randTensor([1, 8], 2)])).toBeLessThan(1e-6);
  }, 300_000);
});
