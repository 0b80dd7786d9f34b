// The WebGPU runtime (runtime/webgpu): an adapter must exist under CI (ONNXC_REQUIRE_WEBGPU=1, set by .ci/run),
// every feed is checked before a byte is written (OnnxcRuntimeError 'feed'), a bad artifact or a released session
// is an 'artifact' error, and a run returns each output once with its dims.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/builder.js';
import { createSession } from '../../runtime/webgpu/session.js';
import { OnnxcRuntimeError } from '../../runtime/wasm/errors.js';
import { randTensor } from '../wasm/helpers.js';
import { compileWebGpu, gpu, needDevice, REQUIRE_WEBGPU, scoped, skipReason } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;

describe('WebGPU adapter', () => {
  it.runIf(REQUIRE_WEBGPU)('is found (required under CI / ONNXC_REQUIRE_WEBGPU=1)', () => {
    expect(skipReason).toBe('');
    expect(gpu).toBeDefined();
  });
});

const errorOf = async (p: Promise<unknown>): Promise<OnnxcRuntimeError> => {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(OnnxcRuntimeError);
  return e as OnnxcRuntimeError;
};

describe.skipIf(!run)(`webgpu runtime${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  const b = new GraphBuilder('tiny');
  const x = b.input('x', 'float32', [2, 3]);
  b.output(b.op('Relu', [x]), b.op('Sigmoid', [x]));
  const g = b.build();
  const art = compileWebGpu(g, [randTensor([2, 3], 1)]);

  it('checks every feed before running', async () => {
    await scoped(async (device) => {
      const s = await createSession(art, { device });
      const good = { type: 'float32', dims: [2, 3], data: new Float32Array(6) };
      for (const [feeds, says] of [
        [{}, "input 'x' has no feed"],
        [{ x: good, y: good }, "'y' is not an input"],
        [{ x: { ...good, type: 'int32' } }, 'must be float32[2,3]'],
        [{ x: { ...good, dims: [3, 2] } }, 'the module was compiled for these shapes'],
        [{ x: { ...good, data: new Int32Array(6) } }, 'data must be a Float32Array'],
        [{ x: { ...good, data: new Float32Array(5) } }, 'data has 5 elements'],
      ] as const) {
        const e = await errorOf(s.run(feeds as Record<string, unknown>));
        expect(e.code).toBe('feed');
        expect(e.message).toContain(says);
      }
      const out = await s.run({ x: { ...good, data: Float32Array.from([-1, 0, 1, 2, -3, 4]) } });
      expect(Object.keys(out)).toEqual(s.outputNames);
      expect(Array.from(out[s.outputNames[0]!]!.data as Float32Array)).toEqual([0, 0, 1, 2, 0, 4]);
      expect(out[s.outputNames[1]!]!.dims).toEqual([2, 3]);
      s.release();
      expect((await errorOf(s.run({ x: good }))).code).toBe('artifact');
    });
  }, 120_000);

  it('takes feeds backed by a SharedArrayBuffer (copied before writeBuffer)', async () => {
    await scoped(async (device) => {
      const s = await createSession(art, { device });
      const data = new Float32Array(new SharedArrayBuffer(24));
      data.set([1, -2, 3, -4, 5, -6]);
      const out = await s.run({ x: { type: 'float32', dims: [2, 3], data } });
      expect(Array.from(out[s.outputNames[0]!]!.data as Float32Array)).toEqual([1, 0, 3, 0, 5, 0]);
      s.release();
    });
  }, 120_000);

  it('refuses an artifact that is not one, or whose weights are short', async () => {
    const device = needDevice();
    expect((await errorOf(createSession({ ...art, manifest: { ...art.manifest, format: 'x' as 'onnxc-webgpu/1' } }, { device }))).code).toBe('artifact');
    const big = { ...art, manifest: { ...art.manifest, weights: { bytes: 1024 } } };
    expect((await errorOf(createSession(big, { device }))).message).toContain('weights have');
  });
});

describe.skipIf(!run)(`webgpu artifact folder${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('writes manifest.json, weights.bin, the loader and the shaders; what it reads back runs the same', async () => {
    const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { readWebGpuArtifact, writeWebGpuArtifact } = await import('../../backends/webgpu/artifact.js');
    const b = new GraphBuilder('folder');
    const x = b.input('x', 'float32', [1, 2, 3, 3]);
    b.output(b.op('Conv', [x, b.weight('w', randTensor([4, 2, 1, 1], 2))]));
    const g = b.build(), xs = randTensor([1, 2, 3, 3], 1);
    const art = compileWebGpu(g, [xs]);
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-webgpu-'));
    try {
      writeWebGpuArtifact(dir, art);
      expect(readdirSync(dir).sort()).toEqual(['loader.d.ts', 'loader.js', 'manifest.json', 'shader_0.wgsl', 'weights.bin']);
      const back = readWebGpuArtifact(dir);
      expect(Array.from(back.weights)).toEqual(Array.from(art.weights));
      await scoped(async (device) => {
        const feeds = { x: { type: 'float32', dims: xs.dims, data: xs.data } };
        const [s1, s2] = [await createSession(art, { device }), await createSession(back, { device })];
        const y = g.outputs[0]!;
        expect(Array.from((await s2.run(feeds))[y]!.data as Float32Array)).toEqual(Array.from((await s1.run(feeds))[y]!.data as Float32Array));
        s1.release(); s2.release();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
