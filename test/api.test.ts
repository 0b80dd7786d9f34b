// The programmatic API (`import … from 'onnxc'`, api/index.ts) on the bundled example: every entry point does what
// the README says, errors are the typed family, and optimize() writes portable ONNX.

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as onnxc from '../api/index.js';
import { buildExamples } from '../models/build-examples.js';
import { createSession } from '../runtime/wasm/index.js';
import type { Tensor } from '../ir/tensor.js';

const dir = mkdtempSync(join(tmpdir(), 'onnxc-api-'));
const path = buildExamples(dir)[0]!;
const input = onnxc.readTensor(join(dir, 'tiny_cnn', 'test_data_set_0', 'input_0.pb')) as Tensor<'float32'>;

describe('onnxc API', () => {
  it('loadModel takes a path or the bytes; inspect summarises', () => {
    const a = onnxc.loadModel(path), b = onnxc.loadModel(readFileSync(path), { source: 'tiny' });
    expect(onnxc.inspect(a).nodes).toBe(onnxc.inspect(b).nodes);
    expect(onnxc.inspect(a).inputs[0]).toEqual({ name: 'image', type: 'float32[batch,3,32,32]' });
    expect(() => onnxc.loadModel(new Uint8Array([1, 2, 3]))).toThrow(onnxc.OnnxImportError);
    expect(new onnxc.OnnxImportError('x')).toBeInstanceOf(onnxc.OnnxcError);
  });

  it('optimize is portable: no onnxc ops, no more nodes after export than before', () => {
    const model = onnxc.loadModel(path);
    const opt = onnxc.optimize(model, { level: 2 });
    const back = onnxc.loadModel(onnxc.toOnnx(opt));
    expect(onnxc.inspect(back).nodes).toBeLessThanOrEqual(onnxc.inspect(model).nodes);
    expect(Object.keys(onnxc.inspect(back).ops).filter((op) => op.startsWith('onnxc.'))).toEqual([]);
  });

  it('compile gives the artifact in memory; compileToDir writes the same files; the runtime runs it like run()', async () => {
    const model = onnxc.loadModel(path);
    const a = await onnxc.compile(model, { dims: { batch: 2 } });
    expect(Object.keys(a.files).sort()).toEqual(['loader.d.ts', 'loader.js', 'manifest.json', 'model.wasm']);
    const out = join(dir, 'art');
    await onnxc.compileToDir(model, out, { dims: { batch: 2 } });
    expect(readdirSync(out).sort()).toEqual(Object.keys(a.files).sort());
    const session = await createSession({ wasm: a.wasm, manifest: a.manifest });
    const got = (await session.run({ image: { type: 'float32', dims: input.dims, data: input.data } }))['probs']!;
    const [want] = (await onnxc.run(model, [input])) as Tensor<'float32'>[];
    Array.from(got.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(want!.data[i]!, 5));
    await expect(onnxc.compile(model, {})).rejects.toThrow(/--dim batch=N|symbolic dim 'batch'/);
  });

  it('diff reports per pass and renders as Markdown', async () => {
    const r = await onnxc.diff(onnxc.loadModel(path), { level: 2, dims: { batch: 1 } });
    expect(r.passes.length).toBeGreaterThan(0);
    expect(onnxc.formatDiff(r, 'md')).toContain('| pass | status |');
  });

  it('quantize gives a smaller standard ONNX model and a report', async () => {
    const model = onnxc.loadModel(path);
    const samples = [1].map((seed) => onnxc.randomModelInputs(model, { batch: 1 }, seed));
    const r = await onnxc.quantize(model, samples, { mode: 'weights-int8' });
    expect(r.report.bytesAfter).toBeLessThan(r.report.bytesBefore);
    expect(Object.keys(onnxc.inspect(onnxc.loadModel(r.bytes)).ops).filter((op) => op.startsWith('onnxc.'))).toEqual([]);
  });
});
