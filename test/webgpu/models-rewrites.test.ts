// The graph rewrites backends/webgpu/compile.ts applies before lowering, checked on the reference interpreter (no
// GPU needed): a QDQ round trip in float32 equals QuantizeLinear -> DequantizeLinear exactly (per tensor and per
// axis, int8 and uint8, saturation included); float16 widened to float32 stays within float16's precision of the
// float16 graph; int64 ids narrowed to int32 give the same values through Gather, Cast and views.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { foldDynamicQuant } from '../../backends/webgpu/fold-dynamic-quant.js';
import { foldQdq } from '../../backends/webgpu/fold-qdq.js';
import { narrowInt64Inputs } from '../../backends/webgpu/narrow-int64.js';
import { widenFloat16 } from '../../backends/webgpu/widen-float16.js';
import { onnxCode } from '../../ir/dtype.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor } from '../wasm/helpers.js';

const ops = (g: { nodes: readonly { op: string }[] }): string[] => g.nodes.map((n) => n.op);

describe('fold-qdq', () => {
  for (const [q, axis] of [['int8', undefined], ['uint8', undefined], ['int8', 1]] as const) {
    it(`${q}${axis === undefined ? ' per tensor' : ' per axis'}: the float32 round trip equals Q -> DQ exactly`, () => {
      fc.assert(fc.property(fc.integer({ min: 1, max: 1000 }), fc.double({ min: 1e-3, max: 0.5, noNaN: true }), (seed, scale) => {
        const b = new GraphBuilder('qdq');
        const x = b.input('x', 'float32', [2, 3, 4]);
        const s = axis === undefined ? fromValues('float32', [], [scale]) : fromValues('float32', [3], [scale, scale / 3, scale * 2]);
        const zv = q === 'int8' ? [-3, 0, 5] : [128, 7, 250];
        const z = axis === undefined ? fromValues(q, [], [zv[0]!]) : fromValues(q, [3], zv);
        const attrs: Record<string, number> = axis === undefined ? {} : { axis };
        const y = b.op('QuantizeLinear', [x, b.weight('s', s), b.weight('z', z)], attrs);
        b.output(b.op('Relu', [b.op('DequantizeLinear', [y, b.weight('s2', s), b.weight('z2', z)], attrs)]));
        const g = b.build();
        const f = foldQdq(g);
        expect(ops(f)).not.toContain('QuantizeLinear');
        // inputs past the quantized range check saturation
        const xs = randTensor([2, 3, 4], seed);
        (xs.data as Float32Array).forEach((v, i, a) => { a[i] = v * 200 * scale; });
        const want = runGraph(g, [xs])[0] as Tensor, got = runGraph(f, [xs])[0] as Tensor;
        expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
      }), { numRuns: 20, seed: 8 });
    });
  }

  it('leaves a quantized value read by anything but a matching DequantizeLinear', () => {
    const b = new GraphBuilder('qdq');
    const x = b.input('x', 'float32', [4]);
    const y = b.op('QuantizeLinear', [x, b.weight('s', fromValues('float32', [], [0.1])), b.weight('z', fromValues('int8', [], [0]))]);
    b.output(b.op('DequantizeLinear', [y, b.weight('s2', fromValues('float32', [], [0.2])), b.weight('z2', fromValues('int8', [], [0]))]));
    const g = b.build();
    expect(foldQdq(g)).toBe(g);
  });
});

describe('widen-float16', () => {
  it('a float16 chain between Casts computes in float32 within float16 precision of the float16 graph', () => {
    const b = new GraphBuilder('f16');
    const x = b.input('x', 'float32', [3, 4]);
    const h = b.op('Cast', [x], { to: onnxCode('float16') });
    const w = randTensor([4, 5], 2);
    const y = b.op('Relu', [b.op('MatMul', [h, b.weight('w', { ...w, dtype: 'float16' } as Tensor)])]);
    b.output(b.op('Cast', [y], { to: onnxCode('float32') }));
    const g = b.build();
    const f = widenFloat16(g);
    expect([...f.types.values()].some((t) => t.kind === 'tensor' && t.dtype === 'float16')).toBe(false);
    const xs = randTensor([3, 4], 3);
    const want = runGraph(g, [xs])[0] as Tensor, got = runGraph(f, [xs])[0] as Tensor;
    (want.data as Float32Array).forEach((v, i) => expect(Math.abs((got.data as Float32Array)[i]! - v)).toBeLessThanOrEqual(2e-3 * Math.max(1, Math.abs(v))));
  });

  it('leaves a model whose interface is float16', () => {
    const b = new GraphBuilder('f16io');
    b.output(b.op('Relu', [b.input('x', 'float16', [2])]));
    const g = b.build();
    expect(widenFloat16(g)).toBe(g);
  });
});

describe('narrow-int64', () => {
  it('ids through a view, Gather and Cast read int32; another reader gets an int64 copy', () => {
    const b = new GraphBuilder('ids');
    const ids = b.input('ids', 'int64', [1, 4]);
    const flat = b.op('Reshape', [ids, b.weight('shape', fromValues('int64', [1], [4n]))]);
    const rows = b.op('Gather', [b.weight('table', randTensor([10, 2], 4)), flat], { axis: 0 });
    const mask = b.op('Cast', [ids], { to: onnxCode('float32') });
    const plus = b.op('Add', [ids, b.weight('one', fromValues('int64', [], [1n]))]);
    b.output(rows, mask, plus);
    const g = b.build();
    const { graph: n, narrowed } = narrowInt64Inputs(g);
    expect(narrowed).toEqual(['ids']);
    expect(n.types.get('ids')).toMatchObject({ dtype: 'int32' });
    expect(n.nodes.filter((x) => x.op === 'Cast').length).toBe(2); // the mask, and the int64 copy Add reads
    const v = [3n, 0n, 9n, 1n];
    const want = runGraph(g, [fromValues('int64', [1, 4], v)]) as Tensor[];
    const got = runGraph(n, [fromValues('int32', [1, 4], v.map(Number))]) as Tensor[];
    got.forEach((t, k) => expect(Array.from(t.data as ArrayLike<number | bigint>)).toEqual(Array.from(want[k]!.data as ArrayLike<number | bigint>)));
  });
});

describe('fold-dynamic-quant', () => {
  it('DynamicQuantizeLinear -> MatMulInteger -> Cast in float32 equals the integer path; a dequantized table lookup too', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1000 }), (seed) => {
      const b = new GraphBuilder('dyn');
      const x = b.input('x', 'float32', [3, 8]);
      const ids = b.input('ids', 'int32', [3]);
      const [y, s, z] = b.node('DynamicQuantizeLinear', [x], {}, 3);
      const w = fromValues('int8', [8, 5], Array.from({ length: 40 }, (_, i) => ((i * 37 + seed) % 255) - 127));
      const acc = b.op('MatMulInteger', [y!, b.weight('w', w), z!, b.weight('wz', fromValues('int8', [], [3]))]);
      const f = b.op('Mul', [b.op('Cast', [acc], { to: onnxCode('float32') }), b.op('Mul', [s!, b.weight('ws', fromValues('float32', [], [0.02]))])]);
      const table = fromValues('uint8', [4, 8], Array.from({ length: 32 }, (_, i) => (i * 29 + seed) % 256));
      const rows = b.op('DequantizeLinear', [b.op('Gather', [b.weight('table', table), ids], { axis: 0 }), b.weight('ts', fromValues('float32', [], [0.5])), b.weight('tz', fromValues('uint8', [], [128]))]);
      b.output(f, rows);
      const g = b.build();
      const h = foldDynamicQuant(g);
      expect(ops(h)).not.toContain('MatMulInteger');
      expect(ops(h)).not.toContain('DequantizeLinear');
      const xs = randTensor([3, 8], seed), is = fromValues('int32', [3], [0, 3, 1]);
      const want = runGraph(g, [xs, is]) as Tensor[], got = runGraph(h, [xs, is]) as Tensor[];
      want.forEach((t, k) => (t.data as Float32Array).forEach((v, i) => expect(Math.abs((got[k]!.data as Float32Array)[i]! - v)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v)))));
    }), { numRuns: 20, seed: 9 });
  });
});
