// Memory of artifacts whose weights are stored compressed (float16, int4 blocks, sparse, CSC built at load): the
// stored copy lies where the arena and the dense weights take over after run()'s first call (kernels/sparse-init.ts
// placeStored), so linear memory is (for float16 weights) the arena and the dense weights only, and after a run memory holds exactly what it holds
// with the stored copy kept apart: no input, weight or arena byte is disturbed.

import { describe, expect, it } from 'vitest';
import { compileWasm, type WasmArtifact, type WasmCompileOptions } from '../../backends/wasm/compile.js';
import { placeStored } from '../../backends/wasm/kernels/sparse-init.js';
import { f16BitsToNumber } from '../../ir/float16.js';
import type { Graph } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { tensorBytes } from '../../lowering/weights.js';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor } from './helpers.js';

interface Instance { exports: Record<string, unknown> }
const WA = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => Instance; Module: new (b: Uint8Array) => object } }).WebAssembly;

/** Instantiate as the runtime does (weights.bin copied to its offset, each input at its offset), run `runs` times;
 *  the whole memory after the runs and each output's bytes. */
function runRaw(a: WasmArtifact, feeds: Readonly<Record<string, Tensor>>, runs = 1): { mem: Uint8Array; outs: number[][] } {
  const inst = new WA.Instance(new WA.Module(a.wasm), {});
  const mem = (): Uint8Array => new Uint8Array((inst.exports['memory'] as { buffer: ArrayBuffer }).buffer);
  if (a.manifest.weights.file) mem().set(a.weights, a.manifest.weights.offset);
  for (let r = 0; r < runs; r++) {
    for (const io of a.manifest.inputs) mem().set(tensorBytes(feeds[io.name]!), io.offset);
    (inst.exports['run'] as () => void)();
  }
  return { mem: mem().slice(), outs: a.manifest.outputs.map((o) => Array.from(mem().subarray(o.offset, o.offset + o.bytes))) };
}

/** n float16-exact float32 values (finite, seeded). */
function halfValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    const h = (s >>> 16) & 0xbfff; // exponent below 31: finite; |x| < 2
    return f16BitsToNumber(h & 0x3fff ? h : 0x3c00);
  });
}

/** A float32 [V, D] table of int4 blocks of 32 times a scale (what a folded int4 DequantizeLinear leaves). */
function int4Table(V: number, D: number): Tensor {
  const s = Float32Array.from({ length: (V * D) / 32 }, (_, i) => 0.01 + 0.003 * (i % 11));
  return makeTensor('float32', [V, D], Float32Array.from({ length: V * D }, (_, i) => Math.fround((((i * 7 + 3) % 16) - 8) * s[i >> 5]!)));
}

/** Over half the elements zeroed (a pruned layer), deterministically; column 0's first 8 rows kept (no N:M pattern). */
function pruned(dims: [number, number], seed: number): Tensor {
  const d = Float32Array.from(randTensor(dims, seed).data);
  for (let i = 0; i < d.length; i++) if (((i * 2654435761) >>> 0) / 2 ** 32 >= 0.45) d[i] = 0;
  for (let k = 0; k < 8; k++) d[k * dims[1]] = 1;
  return makeTensor('float32', dims, d);
}

/** Every stored form at once: a CSC layer built at load from its stored masks (K 128), a float16 weight, a pruned
 *  layer densified at load (M 1), an int4 table gathered; x is large enough that the stored copy must avoid it. */
function mixed(): { g: Graph; feeds: Record<string, Tensor> } {
  const b = new GraphBuilder('stored_forms');
  const x = b.input('x', 'float32', [16, 128]), y = b.input('y', 'float32', [1, 64]), ids = b.input('ids', 'int64', [5]);
  const h = b.op('Relu', [b.op('MatMul', [x, b.weight('w_csc', pruned([128, 128], 1))])]);
  b.output(b.op('MatMul', [h, b.weight('w_half', makeTensor('float32', [128, 256], halfValues(128 * 256, 2)))]));
  b.output(b.op('MatMul', [y, b.weight('w_pruned', pruned([64, 96], 3))]));
  b.output(b.op('Gather', [b.weight('table', int4Table(64, 64)), ids], { axis: 0 }));
  return {
    g: b.build(),
    feeds: { x: randTensor([16, 128], 4), y: randTensor([1, 64], 5), ids: makeTensor('int64', [5], BigInt64Array.of(0n, 63n, 7n, 7n, 31n)) },
  };
}

describe('stored weights in reused memory', () => {
  const { g, feeds } = mixed();
  for (const embedLimit of [Infinity, 0]) {
    const where = embedLimit ? 'embedded' : 'weights.bin';
    it(`every stored form: memory after runs as with the copy apart (${where})`, () => {
      const opts: WasmCompileOptions = { embedLimit };
      const reused = compileWasm(g, opts), apart = compileWasm(g, { ...opts, storedWeights: 'apart' }), dense = compileWasm(g, { ...opts, sparseWeights: false });
      const labels = (reused.manifest.sparseWeights ?? []).map((e) => `${e[3]} ${e[0]}`).join('\n');
      for (const form of [/float16/, /int4 blocks/, /^densified \S*matmul\S*/m, /CSC kernel \(its form built at load from the bitmask form\)/]) expect(labels).toMatch(form);
      expect(reused.weights).toEqual(apart.weights);
      // the stored copy starts below the dense region's end (where the apart build's starts), in the arena or in place
      // (here the arena is too small for the pieces read out of place: memory is not always the dense build's)
      expect(reused.manifest.weights.offset).toBeLessThan(apart.manifest.weights.offset);
      expect(reused.manifest.pages).toBeLessThanOrEqual(apart.manifest.pages);
      const r = runRaw(reused, feeds, 2), a = runRaw(apart, feeds, 2), d = runRaw(dense, feeds, 2);
      expect(r.outs).toEqual(a.outs);
      // the dense build runs the CSC layer from its compile-time form: same values (the order of sums is the kernel's)
      expect(r.outs.slice(1)).toEqual(d.outs.slice(1));
      // arena, inputs and the dense weights byte for byte (the apart build's stored copy starts past them)
      const end = apart.manifest.weights.offset;
      expect(Buffer.compare(r.mem.subarray(0, end), a.mem.subarray(0, end))).toBe(0);
    });
  }

  it('a float16 model larger than its arena: memory is the float32 build\'s, the outputs its bits', () => {
    const b = new GraphBuilder('half_mlp');
    const x = b.input('x', 'float32', [1, 256]);
    const h = b.op('Relu', [b.op('MatMul', [x, b.weight('w1', makeTensor('float32', [256, 512], halfValues(256 * 512, 7)))])]);
    b.output(b.op('MatMul', [h, b.weight('w2', makeTensor('float32', [512, 64], halfValues(512 * 64, 8)))]));
    const graph = b.build(), feed = { x: randTensor([1, 256], 9) };
    const reused = compileWasm(graph, { embedLimit: 0 }), dense = compileWasm(graph, { embedLimit: 0, sparseWeights: false });
    expect(reused.weights.length).toBeLessThan(0.51 * dense.weights.length);
    expect(reused.manifest.pages).toBe(dense.manifest.pages);
    const r = runRaw(reused, feed, 2), d = runRaw(dense, feed, 2);
    expect(r.outs).toEqual(d.outs);
    const end = dense.manifest.weights.offset + dense.weights.length;
    expect(Buffer.compare(r.mem.subarray(0, end), d.mem.subarray(0, end))).toBe(0);
  });
});

describe('placeStored', () => {
  const far = 1 << 20;
  it('puts pieces read out of place in the arena, clear of the inputs, lowest first', () => {
    expect(placeStored([{ src: 0, len: 512, lower: far }], 10000, 20000, { lowest: 64, live: [[64, 1000]] })).toBe(1008);
    // the second piece would cross the input at [2000, 3000): both go past it
    expect(placeStored([{ src: 0, len: 512, lower: far }, { src: 512, len: 2000, lower: far }], 10000, 20000, { lowest: 64, live: [[2000, 3000]] })).toBe(3008);
  });
  it('reads a piece in place at or above its bound when the arena has no room', () => {
    // 4000 bytes cannot fit the arena [64, 3000); the piece may start from 12000
    expect(placeStored([{ src: 0, len: 4000, lower: 12000 }], 3008, 16016, { lowest: 64, live: [] })).toBe(12000);
    // both read in place: the second's bound decides
    expect(placeStored([{ src: 0, len: 1024, lower: 3008 }, { src: 1024, len: 4000, lower: 4992 }], 3008, 16016, { lowest: 64, live: [] })).toBe(3968);
    // one piece at the arena's top, the next read in place from the dense region's start
    expect(placeStored([{ src: 0, len: 1024, lower: far }, { src: 1024, len: 4000, lower: 3008 }], 3008, 16016, { lowest: 64, live: [] })).toBe(1984);
  });
  it('falls back to just past the dense region', () => {
    expect(placeStored([{ src: 0, len: 4000, lower: 20000 }], 3008, 16016, { lowest: 64, live: [] })).toBe(16016);
  });
});
