// The compiled artifact end to end: files on disk, the generated loader.js and the typed runtime give the same
// outputs as the reference interpreter, with weights embedded or in weights.bin; errors name node and op.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import type { WasmManifest as CompilerManifest } from '../../backends/wasm/abi.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { compileToDir, toTensorValue } from '../../compiler/compile.js';
import { UnsupportedOpError } from '../../ir/errors.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import type { TensorValue, WasmManifest as RuntimeManifest } from '../../runtime/wasm/session.js';
import { createSession } from '../../runtime/wasm/session.js';
import { randTensor } from './helpers.js';

// the runtime keeps its own copy of the manifest type; these assignments fail to compile if they drift apart
const toRuntime = (m: CompilerManifest): RuntimeManifest => m;
const toCompiler = (m: RuntimeManifest): CompilerManifest => m;

function smallCnn() {
  const b = new GraphBuilder('small_cnn');
  const x = b.input('x', 'float32', ['batch', 2, 6, 6]);
  const c = b.op('Conv', [x, b.weight('w', randTensor([4, 2, 3, 3], 2)), b.weight('cb', randTensor([4], 3))], { pads: [1, 1, 1, 1] });
  const p = b.op('GlobalAveragePool', [b.op('Relu', [c])]);
  const f = b.op('Flatten', [p], { axis: 1 });
  const y = b.op('Gemm', [f, b.weight('fw', randTensor([3, 4], 4)), b.weight('fb', randTensor([3], 5))], { transB: 1 });
  b.output(b.op('Softmax', [y], { axis: -1 }), b.op('ArgMax', [y], { axis: 1, keepdims: 0 }));
  return b.model({ source: 'small_cnn' });
}

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('wasm artifact', () => {
  const model = smallCnn();
  const x = randTensor([2, 2, 6, 6], 9);
  const expected = runGraph(model.graph, [x]) as Tensor[];

  for (const embedLimit of [Infinity, 0]) {
    it(`loader.js and the runtime agree with the reference (${embedLimit ? 'embedded weights' : 'weights.bin'})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'onnxc-wasm-'));
      dirs.push(dir);
      const r = compileToDir(model, 'wasm', dir, { dims: { batch: 2 }, embedLimit });
      expect(readdirSync(dir).sort()).toEqual(embedLimit ? ['loader.d.ts', 'loader.js', 'manifest.json', 'model.wasm'] : ['loader.d.ts', 'loader.js', 'manifest.json', 'model.wasm', 'weights.bin']);
      const m = r.artifact.manifest;
      expect(toCompiler(toRuntime(m)).inputs[0]!.dims).toEqual([2, 2, 6, 6]);
      expect(m.arena.bytes).toBeGreaterThanOrEqual(m.arena.lowerBoundBytes);
      const feeds = { x: toTensorValue(x) };
      const loader = await import(pathToFileURL(join(dir, 'loader.js')).href) as { createSession(): Promise<{ run(f: object): Promise<Record<string, TensorValue>> }> };
      const viaLoader = await (await loader.createSession()).run(feeds);
      const viaRuntime = await (await createSession({ wasm: r.artifact.wasm, manifest: m, weights: m.weights.file ? r.artifact.weights : undefined })).run(feeds);
      for (const outs of [viaLoader, viaRuntime]) {
        const probs = outs[model.graph.outputs[0]!]!, arg = outs[model.graph.outputs[1]!]!;
        expect(probs.dims).toEqual([2, 3]);
        Array.from(probs.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo((expected[0]!.data as Float32Array)[i]!, 5));
        expect(arg.type).toBe('int64');
        expect(Array.from(arg.data as BigInt64Array)).toEqual(Array.from(expected[1]!.data as BigInt64Array));
      }
    });
  }

  it('rejects feeds of another shape than the module was compiled for', async () => {
    const a = compileWasm(model.graph, { dims: { batch: 2 } });
    const s = await createSession({ wasm: a.wasm, manifest: a.manifest });
    await expect(s.run({ x: toTensorValue(randTensor([1, 2, 6, 6])) })).rejects.toThrow(/must be float32\[2,2,6,6\]/);
  });

  it('asks for a size when a symbolic dim is not given', () => {
    expect(() => compileWasm(model.graph, {})).toThrow(/symbolic dim 'batch'.*--dim batch=N/);
  });

  it('fails at compile time with an UnsupportedOpError naming node and op (no fallback)', () => {
    const b = new GraphBuilder();
    // string ops have no wasm kernels (the backend has no string tensors)
    b.output(b.node('StringNormalizer', [b.input('x', 'string', [3])], { case_change_action: 'LOWER' }, 1, 'my_norm')[0]!);
    let err: unknown;
    try { compileWasm(b.build()); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UnsupportedOpError);
    expect((err as UnsupportedOpError).describe()).toMatch(/node 'my_norm' \(StringNormalizer\): op StringNormalizer has no wasm kernel/);
  });
});

describe('specialising on small integer inputs', () => {
  it('treats a shape input as a constant, records it, and rejects another value', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3]);
    const pads = b.input('pads', 'int64', [4]);
    b.output(b.op('Pad', [x, pads]));
    const g = b.build();
    const p = fromValues('int64', [4], [0n, 1n, 1n, 0n]);
    expect(() => compileWasm(g)).toThrow(/static shapes/);
    const a = compileWasm(g, { fixedInputs: { pads: p } });
    expect(a.manifest.inputs[1]).toMatchObject({ name: 'pads', fixed: ['0', '1', '1', '0'] });
    const s = await createSession({ wasm: a.wasm, manifest: a.manifest });
    const xv = randTensor([2, 3], 4);
    const out = await s.run({ x: toTensorValue(xv), pads: toTensorValue(p) });
    expect(out[g.outputs[0]!]!.dims).toEqual([3, 4]);
    expect(Array.from(out[g.outputs[0]!]!.data as Float32Array)).toEqual(Array.from((runGraph(g, [xv, p])[0] as Tensor).data as Float32Array));
    await expect(s.run({ x: toTensorValue(xv), pads: toTensorValue(fromValues('int64', [4], [1n, 1n, 1n, 0n])) })).rejects.toThrow(/fixed/);
  });
});
