// int4 weights that stay small: the int4-block storage form of the weights region (exact round trips, property
// tested; refused for anything else), its load-time expansion in wasm (bit for bit the folded DequantizeLinear),
// onnxc.DequantMatMul on an int4-typed weight, and quantize-weights' 4-bit mode end to end: int4 initializers in the
// ONNX file (packed), read back, compiled to an artifact whose weights are about an eighth of fp32's.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { compileWasmGraph } from '../../compiler/compile.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { importModel } from '../../compiler/onnx/import.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { expandInt4, int4Form } from '../../lowering/int4-weights.js';
import { GraphBuilder } from '../../models/builder.js';
import { defaultContext } from '../../passes/pass.js';
import { getPass } from '../../passes/index.js';
import { randTensor, runWasm, worstError } from '../wasm/helpers.js';

const bytesOf = (x: Float32Array): Uint8Array => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

/** float32(q * s) for int4 q and one positive float32 scale per block: what folding an int4 DequantizeLinear gives. */
const dequantised = fc.record({
  block: fc.constantFrom(16, 32, 64),
  // at least 1024 elements (4 KiB): smaller tensors are not worth the form
  blocks: fc.integer({ min: 64, max: 100 }),
  seed: fc.integer(),
  scales: fc.array(fc.float({ min: Math.fround(1e-6), max: Math.fround(1e3), noNaN: true }), { minLength: 1, maxLength: 8 }),
}).map(({ block, blocks, seed, scales }) => {
  const x = new Float32Array(block * blocks);
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const q = (s >>> 28) - 8;
    x[i] = Math.fround(q * scales[Math.floor(i / block) % scales.length]!);
  }
  return x;
});

describe('int4-block storage form', () => {
  it('takes float32(q * s) blocks and gives back the very same bytes, in about 0.16 of them', () => {
    fc.assert(fc.property(dequantised, (x) => {
      const f = int4Form(bytesOf(x));
      expect(f).toBeDefined();
      expect(Array.from(expandInt4(f!))).toEqual(Array.from(bytesOf(x)));
      expect(f!.bytes.length).toBeLessThanOrEqual(x.length / 2 + (x.length / 16) * 4 + 4);
    }), { numRuns: 40 });
  });

  it('refuses float tensors that are not int4 blocks, -0 in a block, and small tensors', () => {
    fc.assert(fc.property(fc.float32Array({ minLength: 1024, maxLength: 2048, noNaN: true }), (x) => {
      const f = int4Form(bytesOf(x));
      // whatever it takes must round-trip exactly
      if (f) expect(Array.from(expandInt4(f))).toEqual(Array.from(bytesOf(x)));
    }), { numRuns: 30 });
    expect(int4Form(bytesOf(randTensor([4096], 3).data))).toBeUndefined();
    const z = new Float32Array(2048).fill(0.5); z[5] = -0;
    expect(int4Form(bytesOf(z))).toBeUndefined();
    expect(int4Form(bytesOf(new Float32Array(64).fill(1)))).toBeUndefined();
  });
});

/** An int4 table [V, D] (values cycling over [-8, 7]) and its blocked scales. */
function int4Table(V: number, D: number, bs: number): { q: Tensor; s: Tensor } {
  const q = new Int8Array(V * D).map((_, i) => ((i * 7 + 3) % 16) - 8);
  const s = Float32Array.from({ length: V * Math.ceil(D / bs) }, (_, i) => 0.01 + 0.003 * (i % 11));
  return { q: makeTensor('int4', [V, D], q), s: makeTensor('float32', [V, Math.ceil(D / bs)], s) };
}

describe('wasm artifact', () => {
  it('Gather of a dequantised int4 table: stored as int4 blocks, expanded at load bit for bit', () => {
    const V = 64, D = 64, bs = 32;
    const b = new GraphBuilder('emb');
    const ids = b.input('ids', 'int64', [5]);
    const t = int4Table(V, D, bs);
    const table = b.op('DequantizeLinear', [b.weight('q', t.q), b.weight('s', t.s)], { axis: 1, block_size: bs });
    b.output(b.op('Gather', [table, ids], { axis: 0 }));
    const g = b.build();
    const x = makeTensor('int64', [5], BigInt64Array.of(0n, 63n, 7n, 7n, 31n));
    const a = compileWasm(g, { inputShapes: { ids: [5] }, embedLimit: Infinity });
    expect(a.manifest.sparseWeights?.some(([label]) => /int4 blocks of 32/.test(label))).toBe(true);
    expect(a.weights.length).toBeLessThan((V * D * 4) / 5);
    const [want] = runGraph(g, [x]) as Tensor[];
    for (const optimize of [true, false]) {
      const [got] = runWasm(g, [x], optimize);
      expect(Array.from(new Uint32Array((got!.data as Float32Array).buffer))).toEqual(Array.from(new Uint32Array((want!.data as Float32Array).slice().buffer)));
    }
  });

  it('onnxc.DequantMatMul on an int4-typed weight: matches the reference, half a byte a weight', () => {
    for (const [M, K, N, bs] of [[1, 64, 8, 32], [3, 40, 13, 16], [5, 33, 20, 0]] as const) {
      const b = new GraphBuilder('dqmm');
      const a = b.input('a', 'float32', [M, K]);
      const t = int4Table(K, N, 1);
      const sd = bs > 0 ? [Math.ceil(K / bs), N] : [N];
      const s = makeTensor('float32', sd, Float32Array.from({ length: sd.reduce((p, q) => p * q, 1) }, (_, i) => 0.02 + 0.001 * i));
      b.output(b.op('onnxc.DequantMatMul', [a, b.weight('q', t.q), b.weight('s', s)], { block_size: bs }));
      const g = b.build();
      expect(worstError(g, [randTensor([M, K], 2)])).toBeLessThan(1e-5);
      const bytes = compileWasm(g, { inputShapes: { a: [M, K] } }).manifest.weights.bytes;
      expect(bytes).toBeLessThan((Math.ceil(N / 8) * 8 * K) / 2 + Math.ceil(N / 8) * 8 * 4 * (bs > 0 ? Math.ceil(K / bs) : 1) + 64);
    }
  });
});

describe('quantize-weights 4-bit end to end', () => {
  it('writes int4 initializers (packed in the ONNX file) that read back and compile to a small artifact', () => {
    const V = 256, D = 64, H = 128;
    const b = new GraphBuilder('tiny-lm');
    const ids = b.input('ids', 'int64', [1, 8]);
    const e = b.op('Gather', [b.weight('wte', randTensor([V, D], 3)), ids], { axis: 0 });
    const h = b.op('Relu', [b.op('MatMul', [e, b.weight('w1', randTensor([D, H], 4))])]);
    b.output(b.op('MatMul', [h, b.weight('w2', randTensor([H, D], 5))]));
    const model = b.model({ source: 'tiny-lm' });
    const q = getPass('quantize-weights')!.run(model.graph, defaultContext({ options: new Map([['quant-bits', '4']]) }));
    const onnx = exportModel({ ...model, graph: q });
    const back = importModel(onnx, { source: 'tiny-lm-int4.onnx' });
    const ints = [...back.graph.initializers].filter(([, t]) => t.dtype === 'int4').map(([n]) => n).sort();
    expect(ints).toEqual(['w1_q', 'w2_q', 'wte_q']);
    // every int4 tensor survives the file bit for bit
    for (const n of ints) expect(Array.from(back.graph.initializers.get(n)!.data as Int8Array)).toEqual(Array.from(q.initializers.get(n)!.data as Int8Array));
    const params = V * D + D * H + H * D;
    // half a byte a weight, a float32 scale per 32 of them, and the graph
    expect(onnx.length).toBeLessThan(params * (0.5 + 4 / 32) + 4096);
    expect(exportModel(model).length / onnx.length).toBeGreaterThan(6);
    const fp = compileWasmGraph(model.graph, { source: 'tiny-lm' }, { level: 3 }).artifact;
    const i4 = compileWasmGraph(back.graph, { source: 'tiny-lm-int4.onnx' }, { level: 3 }).artifact;
    expect(fp.weights.length / i4.weights.length).toBeGreaterThan(6);
    expect(i4.manifest.kernels?.filter(([, op]) => op === 'onnxc.DequantMatMul')).toHaveLength(2);
    const x = makeTensor('int64', [1, 8], BigInt64Array.from([1, 5, 9, 200, 255, 0, 17, 64], BigInt));
    expect(worstError(back.graph, [x])).toBeLessThan(1e-5);
  });
});
