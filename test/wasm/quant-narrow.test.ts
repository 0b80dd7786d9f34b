// Per-tensor QuantizeLinear/DequantizeLinear between float32 and the 4- and 2-bit types on the 16-a-step SIMD path
// (kernels/quant.ts: the 8-bit loads and narrows, then a clamp to the type's range) against the reference, exactly:
// a vector part and a scalar tail, halfway, huge, infinite and NaN values, and every code of the type dequantised.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { runWasm } from './helpers.js';

const TYPES = [['int4', -8, 7, -3], ['uint4', 0, 15, 9], ['int2', -2, 1, 1], ['uint2', 0, 3, 2]] as const;

function expectExact(b: GraphBuilder, inputs: Tensor[]): void {
  const g = b.build();
  const want = (runGraph(g, inputs) as Tensor[]).map((t) => Array.from(t.data as ArrayLike<number>));
  for (const optimize of [true, false]) runWasm(g, inputs, optimize).forEach((t, i) => expect(Array.from(t.data as ArrayLike<number>)).toEqual(want[i]));
}

describe('per-tensor Quantize/DequantizeLinear, 4- and 2-bit types', () => {
  for (const [dtype, lo, hi, zp] of TYPES) {
    const z = makeTensor(dtype, [], (dtype.startsWith('u') ? Uint8Array : Int8Array).of(zp) as never);
    it(`float32 -> ${dtype} -> float32 (37 values: 32 on the vector path, a tail of 5)`, () => {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', [37]);
      const s = b.weight('s', makeTensor('float32', [], Float32Array.of(0.5))), zw = b.weight('z', z);
      const q = b.op('QuantizeLinear', [x, s, zw]);
      b.output(q, b.op('DequantizeLinear', [q, s, zw]));
      const vals = Array.from({ length: 37 }, (_, i) => (i - 18) * 0.25 + (i % 5 === 0 ? 0.125 : 0));
      vals[3] = 1e9; vals[4] = -1e9; vals[5] = Infinity; vals[6] = -Infinity; vals[7] = NaN; vals[36] = NaN; vals[35] = -0.75;
      expectExact(b, [makeTensor('float32', [37], Float32Array.from(vals))]);
    });
    it(`${dtype} -> float32, every code, 19 a row (vector and tail)`, () => {
      const b = new GraphBuilder();
      const x = b.input('x', dtype, [2, 19]);
      b.output(b.op('DequantizeLinear', [x, b.weight('s', makeTensor('float32', [], Float32Array.of(0.3))), b.weight('z', z)]));
      const codes = Array.from({ length: 38 }, (_, i) => lo + (i % (hi - lo + 1)));
      expectExact(b, [makeTensor(dtype, [2, 19], (dtype.startsWith('u') ? Uint8Array : Int8Array).from(codes) as never)]);
    });
  }
});
