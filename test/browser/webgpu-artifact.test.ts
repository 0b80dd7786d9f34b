// A WebGPU artifact folder as `onnxc compile --target webgpu` writes it, loaded in headless Chromium (Debian's,
// driven by playwright-core, WebGPU on SwiftShader) through the folder's own loader.js over http: mnist on its test
// input, read back (run) and left on the GPU then read (runOnGpu), compared here with onnxruntime's expected output
// within 1e-4 of its largest magnitude.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { compileWebGpuToDir } from '../../backends/webgpu/artifact.js';
import { tensorError } from '../../compiler/compare.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../../ir/tensor.js';
import { filesUnder, launchChromium, noBrowserReason, openReady, routes, serve, tensorBody, type PageServer } from '../helpers/browser.js';
import { missingReason, sharedPath } from '../helpers/shared.js';

const mnist = sharedPath('models', 'mnist');
const why = noBrowserReason || (!mnist ? missingReason('models', 'mnist') : '');

const PAGE = `<!doctype html><meta charset="utf-8"><title>onnxc webgpu artifact</title><script type="module">
import { createSession } from '/model/loader.js';
window.runModel = async () => {
  if (!navigator.gpu) return { error: 'no navigator.gpu' };
  const meta = await (await fetch('/input.json')).json();
  const data = new Float32Array(await (await fetch('/input.bin')).arrayBuffer());
  try {
    const session = await createSession(); // the folder loader.js was loaded from
    const feeds = { [meta.input]: { type: 'float32', dims: meta.dims, data } };
    const o = (await session.run(feeds))[session.outputNames[0]];
    const g = (await session.runOnGpu(feeds))[session.outputNames[0]];
    const back = await g.read();
    g.destroy();
    session.release();
    return { dims: o.dims, data: Array.from(o.data), gpuDims: back.dims, gpuData: Array.from(back.data) };
  } catch (e) { return { error: String(e) }; }
};
window.ready = true;
</script>`;

let server: PageServer | undefined, browser: Browser | undefined;
const dirs: string[] = [];
afterAll(async () => { await browser?.close(); server?.close(); for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe.skipIf(why !== '')(`webgpu artifact folder in headless Chromium${why ? ` (skipped: ${why})` : ''}`, () => {
  it('loads mnist through the artifact\'s loader.js and matches onnxruntime (read back and GPU-resident)', async () => {
    const model = loadModel(join(mnist!, readdirSync(mnist!).find((f) => f.endsWith('.onnx'))!));
    const input = readValueFile(join(mnist!, 'test_data_set_0', 'input_0.pb')) as Tensor<'float32'>;
    const expected = readValueFile(join(mnist!, 'test_data_set_0', 'output_0.pb')) as Tensor<'float32'>;
    const name = model.graph.inputs[0]!;
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-webgpu-browser-'));
    dirs.push(dir);
    const { files } = compileWebGpuToDir(model, dir, { inputShapes: { [name]: input.dims } });
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['manifest.json', 'weights.bin', 'loader.js', 'loader.d.ts']));
    const fixed: Record<string, string | Uint8Array> = {
      '/': PAGE,
      '/input.json': JSON.stringify({ input: name, dims: input.dims }),
      '/input.bin': tensorBody(input),
    };
    server = await serve(routes((path) => fixed[path], filesUnder('/model/', dir)));
    browser = await launchChromium({ webgpu: true });
    const page = await openReady(browser, server.base);
    type R = { dims?: number[]; data?: number[]; gpuDims?: number[]; gpuData?: number[]; error?: string };
    const r = await page.evaluate(() => (globalThis as unknown as { runModel(): Promise<R> }).runModel());
    expect(r.error).toBeUndefined();
    expect(r.dims).toEqual(expected.dims);
    const err = tensorError({ dtype: 'float32', dims: r.dims!, data: Float32Array.from(r.data!) }, expected);
    expect(err.maxAbs).toBeLessThanOrEqual(1e-4 * err.maxExpected);
    expect(r.gpuDims).toEqual(expected.dims);
    expect(r.gpuData).toEqual(r.data);
  }, 300_000);
});
