// The API's in-memory compile for WebGPU (`compile(model, { target: 'webgpu' })`): its manifest and weights run
// in runtime/webgpu and match the reference interpreter; `files` and compileToDir hold what `onnxc compile
// --target webgpu` writes (the folder reads back and runs the same). Unknown targets are a UsageError.

import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as onnxc from '../../api/index.js';
import { runGraph } from '../../backends/reference/interpreter.js';
import { readWebGpuArtifact } from '../../backends/webgpu/artifact.js';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSession } from '../../runtime/webgpu/session.js';
import { worstRelativeError } from '../helpers/worst-error.js';
import { randTensor } from '../wasm/helpers.js';
import { gpu, REQUIRE_WEBGPU, scoped, skipReason } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;

function mlp() {
  const b = new GraphBuilder('api_mlp');
  const x = b.input('x', 'float32', ['batch', 12]);
  const h = b.op('Relu', [b.op('Gemm', [x, b.weight('w1', randTensor([16, 12], 1)), b.weight('b1', randTensor([16], 2))], { transB: 1 })]);
  b.output(b.op('Softmax', [b.op('MatMul', [h, b.weight('w2', randTensor([16, 4], 3))])], { axis: -1 }));
  return b.model({ source: 'api_mlp' });
}

describe('onnxc.compile target webgpu (compile only)', () => {
  it('returns manifest, weights and the folder\'s files; an unknown target is a UsageError', async () => {
    const a = await onnxc.compile(mlp(), { target: 'webgpu', dims: { batch: 9 } });
    expect(a.manifest.format).toBe('onnxc-webgpu/1');
    expect(a.manifest.inputs[0]!.dims).toEqual([9, 12]);
    expect(Object.keys(a.files).sort()).toEqual(['loader.d.ts', 'loader.js', 'manifest.json', ...a.manifest.shaders.map((_, k) => `shader_${k}.wgsl`), 'weights.bin'].sort());
    expect(a.files['weights.bin']).toBe(a.weights);
    await expect(onnxc.compile(mlp(), { target: 'metal' as 'wasm', dims: { batch: 1 } })).rejects.toThrow(onnxc.UsageError);
  }, 120_000);
});

describe.skipIf(!run)(`onnxc.compile target webgpu, run${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('runs in runtime/webgpu and matches the reference, in memory and from compileToDir\'s folder', async () => {
    const model = mlp();
    const x = randTensor([9, 12], 7);
    const want = runGraph(model.graph, [x]) as Tensor[];
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-api-webgpu-'));
    const inMemory = await onnxc.compile(model, { target: 'webgpu', dims: { batch: 9 } });
    await onnxc.compileToDir(model, dir, { target: 'webgpu', dims: { batch: 9 } });
    expect(readdirSync(dir).sort()).toEqual(Object.keys(inMemory.files).sort());
    for (const art of [inMemory, readWebGpuArtifact(dir)]) {
      await scoped(async (device) => {
        const s = await createSession(art, { device });
        const out = await s.run({ x: { type: 'float32', dims: [9, 12], data: x.data } });
        s.release();
        const o = out[model.graph.outputs[0]!]!;
        expect(worstRelativeError([{ dtype: 'float32', dims: o.dims, data: o.data } as Tensor], want)).toBeLessThan(1e-5);
      });
    }
  }, 300_000);
});
