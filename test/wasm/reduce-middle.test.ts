// Float32 reductions whose kept axes end the shape (kernels/reduce.ts columns: vectors of columns accumulated down
// the reduced axes) and over trailing axes (rows: a lane per row) against a float32 model of the scalar loop, in
// its order: the same bits (Object.is on every
// output, NaN and -0 included) for column counts that fill blocks, single vectors and the scalar tail, with the
// optimiser on and off. The exp/log reductions use the vector formulas the scalar loop also used, checked against
// the reference interpreter within 1e-5 (relative to the largest output).

import { describe, expect, it } from 'vitest';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor, runWasm, worstError } from './helpers.js';

const f = Math.fround;
type Kind = 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceMin' | 'ReduceProd' | 'ReduceSumSquare' | 'ReduceL1' | 'ReduceL2';
const EXACT_KINDS: Kind[] = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2'];

/** The scalar loop in float32: for each kept index, the reduced indices in row-major order. */
function model(kind: Kind, x: Float32Array, dims: readonly number[], axes: readonly number[]): Float32Array {
  const rank = dims.length, red = new Set(axes);
  const kept = dims.map((_, i) => i).filter((i) => !red.has(i)), rs = [...red].sort((a, b) => a - b);
  const st = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const count = rs.reduce((p, a) => p * dims[a]!, 1);
  const outN = kept.reduce((p, a) => p * dims[a]!, 1);
  const y = new Float32Array(outN);
  const idx = (flat: number, ax: readonly number[]): number[] => {
    const out: number[] = [];
    for (let k = ax.length - 1; k >= 0; k--) { out[k] = flat % dims[ax[k]!]!; flat = Math.floor(flat / dims[ax[k]!]!); }
    return out;
  };
  for (let o = 0; o < outN; o++) {
    const ko = idx(o, kept);
    let acc = kind === 'ReduceMax' ? -Infinity : kind === 'ReduceMin' ? Infinity : kind === 'ReduceProd' ? 1 : 0;
    for (let r = 0; r < count; r++) {
      const ro = idx(r, rs);
      let off = 0;
      kept.forEach((a, k) => { off += ko[k]! * st[a]!; });
      rs.forEach((a, k) => { off += ro[k]! * st[a]!; });
      const v = x[off]!;
      switch (kind) {
        case 'ReduceMax': acc = Math.max(acc, v); break;
        case 'ReduceMin': acc = Math.min(acc, v); break;
        case 'ReduceProd': acc = f(acc * v); break;
        case 'ReduceSumSquare': case 'ReduceL2': acc = f(acc + f(v * v)); break;
        case 'ReduceL1': acc = f(acc + Math.abs(v)); break;
        default: acc = f(acc + v);
      }
    }
    y[o] = kind === 'ReduceMean' ? f(acc / count) : kind === 'ReduceL2' ? f(Math.sqrt(acc)) : acc;
  }
  void rank;
  return y;
}

function graph(kind: string, dims: readonly number[], axes: readonly number[], keepdims: number): ReturnType<GraphBuilder['build']> {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [...dims]);
  b.output(b.op(kind, [x, b.weight('axes', fromValues('int64', [axes.length], axes.map(BigInt)))], { keepdims }));
  return b.build();
}

/** Inputs with zeros of both signs and, when `nan`, one NaN per few columns. */
function input(dims: readonly number[], seed: number, nan: boolean): Tensor<'float32'> {
  const t = randTensor(dims, seed);
  for (let i = 0; i < t.data.length; i += 7) t.data[i] = i % 2 ? -0 : 0;
  if (nan) for (let i = 3; i < t.data.length; i += 37) t.data[i] = NaN;
  return t;
}

// [shape, reduced axes]: column counts 1, 3, 4, 5, 16, 17, 37 (block + vector + tail) and 1023; kept axes before
// the reduced ones, between them, and several reduced axes
const SHAPES: [number[], number[]][] = [
  [[2, 5, 1], [1]], [[2, 5, 3], [1]], [[1, 7, 4], [1]], [[2, 5, 5], [1]], [[3, 16], [0]], [[2, 9, 17], [1]],
  [[1, 6, 37], [1]], [[2, 3, 1023], [1]], [[2, 3, 4, 5], [0, 2]], [[2, 3, 4, 5], [0, 1]], [[3, 2, 4, 6], [1, 2]],
  [[2, 0, 5], [1]],
  // trailing axes: rows 1, 4, 5, 7 (vectors and a tail), several trailing axes, empty rows
  [[1, 5], [1]], [[4, 9], [1]], [[5, 3], [1]], [[7, 3, 5], [2]], [[9, 4, 3], [1, 2]], [[6, 1023], [1]], [[5, 0], [1]],
];

describe('wasm reductions over middle axes', () => {
  for (const kind of EXACT_KINDS) {
    it(`${kind}: the scalar loop's bits at every column count`, () => {
      SHAPES.forEach(([dims, axes], s) => {
        for (const keepdims of [0, 1]) {
          for (const optimize of [true, false]) {
            const nan = kind === 'ReduceMax' || kind === 'ReduceMin' ? s % 2 === 0 : false;
            const x = input(dims, 3 + s, nan);
            const [y] = runWasm(graph(kind, dims, axes, keepdims), [x], optimize);
            const want = model(kind, x.data, dims, axes);
            const got = y!.data as Float32Array;
            expect(got.length).toBe(want.length);
            for (let i = 0; i < want.length; i++) {
              if (!Object.is(got[i], want[i])) expect.fail(`${dims} axes ${axes} keepdims ${keepdims} opt ${optimize}: y[${i}] ${got[i]} != ${want[i]}`);
            }
          }
        }
      });
    });
  }

  for (const kind of ['ReduceLogSumExp', 'ReduceLogSum']) {
    it(`${kind} against the reference interpreter`, () => {
      for (const [dims, axes] of SHAPES.filter(([d]) => !d.includes(0))) {
        const x = randTensor(dims, 5);
        // ReduceLogSum of positive sums only
        const pos = kind === 'ReduceLogSum' ? { ...x, data: x.data.map((v) => Math.abs(v) + 0.1) } : x;
        for (const optimize of [true, false]) {
          expect(worstError(graph(kind, dims, axes, 1), [pos], optimize), `${dims} axes ${axes}`).toBeLessThan(1e-5);
        }
      }
    });
  }
});
