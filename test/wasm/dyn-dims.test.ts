// Dynamic dims (`compile --dim seq=LO..HI`): the dim expression fit, one artifact for a small attention block
// checked for random sizes against the reference interpreter and a static compile at that size, the runtime's
// range checks, a refusal naming the node, and static compiles untouched by a dynamic one in the same process.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { compileDynamic } from '../../backends/wasm/dims-compile.js';
import { genericDims } from '../../backends/wasm/dims-mode.js';
import { compileToDir, toTensorValue } from '../../compiler/compile.js';
import { compileCommand } from '../../compiler/cli-compile.js';
import { exportModel } from '../../compiler/onnx/export.js';
import type { WasmManifest } from '../../runtime/wasm/types.js';
import { UnsupportedOpError, UsageError } from '../../ir/errors.js';
import type { Graph, Model } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { evalExpr, fitExpr, formatExpr, parseDimSpecs, samplePoints } from '../../lowering/dims.js';
import { GraphBuilder } from '../../models/builder.js';
import { OnnxcRuntimeError } from '../../runtime/wasm/errors.js';
import { evalDim } from '../../runtime/wasm/dims.js';
import { createSessionSync, type WasmSession } from '../../runtime/wasm/session.js';
import { worstRelativeError } from '../helpers/worst-error.js';
import { randTensor } from './helpers.js';

describe('dim expressions', () => {
  it('parses --dim NAME=N and NAME=LO..HI, refusing bad ranges', () => {
    expect(parseDimSpecs(['batch=1', 'seq=1..128'])).toEqual({ fixed: { batch: 1 }, ranges: [{ name: 'seq', min: 1, max: 128 }] });
    expect(parseDimSpecs(['seq=4..4'])).toEqual({ fixed: { seq: 4 }, ranges: [] });
    for (const bad of ['seq=0..4', 'seq=9..4', 'seq=a..b', 'seq', 'seq=1..2..3']) expect(() => parseDimSpecs([bad])).toThrow(UsageError);
    expect(() => parseDimSpecs(['seq=1', 'seq=1..3'])).toThrow(/twice/);
  });

  it('fits integer polynomials exactly and refuses floor/modulo dependences', () => {
    const pts = samplePoints([{ name: 's', min: 1, max: 128 }]);
    expect(pts[0]).toEqual([128]);
    expect(pts.every(([v]) => v! >= 5 && v! <= 128)).toBe(true);
    const f = (g: (s: number) => number): string | undefined => { const e = fitExpr(pts, pts.map(([s]) => g(s!))); return e && formatExpr(e, ['s']); };
    expect(f(() => 7)).toBe('7');
    expect(f((s) => 4 * s + 64)).toBe('64+4*s');
    expect(f((s) => 8 * s * s)).toBe('8*s*s');
    expect(f((s) => s - (s % 4))).toBeUndefined();
    expect(f((s) => Math.floor(s / 8))).toBeUndefined();
    expect(f((s) => Math.min(s, 126))).toBeUndefined();
    // two dims: a grid, products allowed
    const p2 = samplePoints([{ name: 'b', min: 1, max: 4 }, { name: 's', min: 1, max: 64 }]);
    const e = fitExpr(p2, p2.map(([b, s]) => 3 * b! * s! * s! + s! + 2))!;
    expect(formatExpr(e, ['b', 's'])).toBe('2+1*s+3*b*s*s'.replace('1*s', 's'));
    expect(evalExpr(e, [2, 10])).toBe(612);
    expect(evalDim(formatExpr(e, ['b', 's']), { b: 2, s: 10 })).toBe(612);
  });
});

/** A small encoder block over [1, seq, H]: projection with bias, LayerNorm, single-head attention (Q K^T / sqrt(H),
 *  Softmax over seq, times V), a residual, position ids from Shape -> Range gathered from a table, and mean pooling
 *  over seq (a float constant 1/seq). */
function encoder(H = 12): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [1, 'seq', H]);
  const w = (name: string, dims: number[], seed: number): string => b.weight(name, randTensor(dims, seed));
  const shape = b.op('Shape', [x]);
  const seqLen = b.op('Gather', [shape, b.weight('one', makeTensor('int64', [], BigInt64Array.of(1n)))], { axis: 0 });
  const pos = b.op('Range', [b.weight('zero', makeTensor('int64', [], BigInt64Array.of(0n))), seqLen, b.weight('step', makeTensor('int64', [], BigInt64Array.of(1n)))]);
  const pe = b.op('Gather', [w('table', [64, H], 3), pos], { axis: 0 });
  const h0 = b.op('Add', [x, pe]);
  const h = b.op('LayerNormalization', [b.op('Add', [b.op('MatMul', [h0, w('w0', [H, H], 4)]), w('b0', [H], 5)]), w('g', [H], 6), w('be', [H], 7)], { axis: -1 });
  const q = b.op('MatMul', [h, w('wq', [H, H], 8)]), k = b.op('MatMul', [h, w('wk', [H, H], 9)]), v = b.op('MatMul', [h, w('wv', [H, H], 10)]);
  const scores = b.op('Mul', [b.op('MatMul', [q, b.op('Transpose', [k], { perm: [0, 2, 1] })]), b.weight('scale', makeTensor('float32', [], Float32Array.of(1 / Math.sqrt(H))))]);
  const att = b.op('MatMul', [b.op('Softmax', [scores], { axis: -1 }), v]);
  const y = b.op('Add', [att, h]);
  b.output(y, b.op('ReduceMean', [y, b.weight('axes', makeTensor('int64', [1], BigInt64Array.of(1n)))], { keepdims: 0 }));
  return b.build();
}

const run = (s: WasmSession, g: Graph, inputs: readonly Tensor[]): Tensor[] => {
  const outs = s.runSync(Object.fromEntries(g.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)])));
  return g.outputs.map((n) => ({ dtype: outs[n]!.type, dims: [...outs[n]!.dims], data: outs[n]!.data }) as Tensor);
};

describe('one artifact for every sequence length', () => {
  const g = encoder();
  const { artifact } = compileDynamic(g, { source: 'encoder', embedLimit: Infinity }, [{ name: 'seq', min: 1, max: 40 }], { level: 3 });
  const session = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });

  it('records the range and the shapes as dim expressions', () => {
    expect(artifact.manifest.dims).toEqual([{ name: 'seq', min: 1, max: 40, global: 'dim0_seq' }]);
    expect(artifact.manifest.inputs[0]!.shape).toEqual([1, 'seq', 12]);
    expect(artifact.manifest.outputs.map((o) => o.shape)).toEqual([[1, 'seq', 12], [1, 12]]);
  });

  it('matches the reference interpreter and a static compile at random sizes in the range (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1000 }), (seq, seed) => {
      const inputs = [randTensor([1, seq, 12], seed)];
      const ours = run(session, g, inputs);
      expect(ours[0]!.dims).toEqual([1, seq, 12]);
      const ref = runGraph(g, inputs) as Tensor[];
      expect(worstRelativeError(ours, ref)).toBeLessThan(1e-5);
      const fixed = compileWasm(g, { inputShapes: { x: [1, seq, 12] }, embedLimit: Infinity });
      const stat = run(createSessionSync({ wasm: fixed.wasm, manifest: fixed.manifest }), g, inputs);
      expect(worstRelativeError(ours, stat)).toBeLessThan(1e-6);
    }), { numRuns: 12, seed: 7, examples: [[1, 1], [2, 2], [3, 3], [4, 4], [40, 5]] });
  }, 120_000);

  it('refuses a feed outside the range, naming the input, the dim and the bound', () => {
    const feed = (seq: number) => ({ x: toTensorValue(randTensor([1, seq, 12])) });
    expect(() => session.runSync(feed(41))).toThrow(OnnxcRuntimeError);
    expect(() => session.runSync(feed(41))).toThrow(/input 'x' dim 1 \('seq'\) is 41, outside the range 1\.\.40/);
    expect(() => session.runSync({ x: toTensorValue(randTensor([1, 3, 11])) })).toThrow(/must be float32\[1,3,12\]/);
    // the session still runs after a refused feed
    expect(run(session, g, [randTensor([1, 5, 12])])[0]!.dims).toEqual([1, 5, 12]);
  });
});

describe('two dims at run time', () => {
  it('batch and seq together: shapes and strides are products of both (batch*seq*seq scores)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['batch', 'seq', 8]);
    const h = b.op('LayerNormalization', [b.op('MatMul', [x, b.weight('w', randTensor([8, 8], 3))]), b.weight('g', randTensor([8], 4)), b.weight('bb', randTensor([8], 5))], { axis: -1 });
    const scores = b.op('MatMul', [h, b.op('Transpose', [h], { perm: [0, 2, 1] })]);
    b.output(b.op('MatMul', [b.op('Softmax', [scores], { axis: -1 }), h]));
    const g = b.build();
    const { artifact } = compileDynamic(g, { source: 'two' }, [{ name: 'batch', min: 1, max: 4 }, { name: 'seq', min: 1, max: 16 }], { level: 3 });
    expect(artifact.manifest.outputs[0]!.shape).toEqual(['batch', 'seq', 8]);
    const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
    for (const [bt, sq] of [[1, 1], [2, 3], [4, 16], [3, 7], [4, 1]] as const) {
      const inputs = [randTensor([bt, sq, 8], bt * 10 + sq)];
      const ours = run(s, g, inputs);
      expect(ours[0]!.dims).toEqual([bt, sq, 8]);
      expect(worstRelativeError(ours, runGraph(g, inputs) as Tensor[])).toBeLessThan(1e-5);
    }
    expect(() => s.runSync({ x: toTensorValue(randTensor([5, 2, 8])) })).toThrow(/dim 0 \('batch'\) is 5, outside the range 1\.\.4/);
  }, 120_000);
});

describe('the artifact folder', () => {
  it('compileToDir with dimRanges writes an artifact whose loader.js runs every size (weights.bin too)', async () => {
    const g = encoder();
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-dyn-'));
    try {
      const r = compileToDir({ graph: g, info: { source: 'encoder' } } as Model, 'wasm', dir, { embedLimit: 0, dimRanges: [{ name: 'seq', min: 2, max: 24 }] });
      expect(r.artifact.manifest.weights.file).toBe('weights.bin');
      const loader = await import(pathToFileURL(join(dir, 'loader.js')).href) as { createSession(): Promise<WasmSession> };
      const s = await loader.createSession();
      for (const seq of [2, 9, 24]) {
        const inputs = [randTensor([1, seq, 12], seq)];
        const outs = await s.run({ x: toTensorValue(inputs[0]!) });
        const ours = g.outputs.map((n) => ({ dtype: outs[n]!.type, dims: [...outs[n]!.dims], data: outs[n]!.data }) as Tensor);
        expect(worstRelativeError(ours, runGraph(g, inputs) as Tensor[])).toBeLessThan(1e-5);
      }
      await expect(s.run({ x: toTensorValue(randTensor([1, 1, 12])) })).rejects.toThrow(/\('seq'\) is 1, outside the range 2\.\.24/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('onnxc compile --dim NAME=LO..HI', () => {
  it('keeps the ranged dim symbolic through import and writes the ranges in the manifest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-dyn-cli-'));
    try {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', ['batch', 'seq', 4]);
      b.output(b.op('Softmax', [b.op('MatMul', [x, b.weight('w', randTensor([4, 4], 1))])], { axis: 1 }));
      writeFileSync(join(dir, 'm.onnx'), exportModel(b.model({ source: 'm.onnx' })));
      const log = console.log;
      console.log = () => undefined;
      try {
        await compileCommand(join(dir, 'm.onnx'), { target: 'wasm', output: join(dir, 'out'), dim: ['batch=2', 'seq=1..8'], optimize: true, embedLimit: '0' });
      } finally { console.log = log; }
      const m = JSON.parse(readFileSync(join(dir, 'out', 'manifest.json'), 'utf8')) as WasmManifest;
      expect(m.dims).toEqual([{ name: 'seq', min: 1, max: 8, global: 'dim0_seq' }]);
      expect(m.inputs[0]!.shape).toEqual([2, 'seq', 4]);
      await expect(compileCommand(join(dir, 'm.onnx'), { target: 'webgpu', output: join(dir, 'gpu'), dim: ['batch=2', 'seq=1..8'], optimize: true, embedLimit: '0' })).rejects.toThrow(UsageError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('what a dynamic compile refuses', () => {
  it('names the node whose sizes are not dim expressions (a stride-2 pool halves the dim, rounding down)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 4, 'h', 6]);
    b.output(b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }));
    let err: unknown;
    try { compileDynamic(b.build(), { source: 'pool' }, [{ name: 'h', min: 1, max: 64 }], { level: 0 }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UnsupportedOpError);
    expect((err as UnsupportedOpError).describe()).toMatch(/pool: node '.*' \(MaxPool\): cannot take h at run time: .* no dim expression gives/);
  }, 60_000);

  it('takes a 1-D convolution along the dim (its loops are dim expressions)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 4, 'len']);
    b.output(b.op('Conv', [x, b.weight('w', randTensor([4, 4, 3], 2))], { pads: [1, 1] }));
    const g = b.build();
    const { artifact } = compileDynamic(g, { source: 'conv1d' }, [{ name: 'len', min: 1, max: 64 }], { level: 0 });
    const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
    for (const len of [1, 2, 3, 17, 64]) {
      const inputs = [randTensor([1, 4, len], len)];
      expect(worstRelativeError(run(s, g, inputs), runGraph(g, inputs) as Tensor[])).toBeLessThan(1e-5);
    }
  }, 60_000);

  it('refuses a range on a dim no input has', () => {
    expect(() => compileDynamic(encoder(), { source: 'encoder' }, [{ name: 'batch', min: 1, max: 4 }])).toThrow(/no input of the model has a dim named 'batch'/);
  });
});

describe('static compiles are untouched', () => {
  it('gives the same bytes before and after a dynamic compile in the same process, never in generic form', () => {
    const g = encoder();
    const hash = (): string => createHash('sha256').update(compileWasm(g, { inputShapes: { x: [1, 16, 12] } }).wasm).digest('hex');
    const before = hash();
    compileDynamic(g, { source: 'encoder' }, [{ name: 'seq', min: 2, max: 9 }], { level: 0 });
    expect(genericDims()).toBe(false);
    expect(hash()).toBe(before);
  }, 60_000);
});
