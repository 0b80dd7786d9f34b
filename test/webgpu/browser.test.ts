// A WebGPU artifact in a real browser: headless Chromium (Debian's, driven by playwright-core, WebGPU enabled:
// SwiftShader without a GPU) loads runtime/webgpu (bundled by esbuild, as an app would) and the artifact's files
// over http://127.0.0.1, runs mnist on its test input, and the output is compared here with onnxruntime's
// expected output within 1e-4 of its largest magnitude.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { webgpuBackend } from '../../backends/webgpu/backend.js';
import { tensorError } from '../../compiler/compare.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../../ir/tensor.js';
import { compileFor } from '../../lowering/compile-for.js';
import { launchChromium, noBrowserReason, openReady, serve, tensorBody, type PageServer } from '../helpers/browser.js';
import { missingReason, sharedPath } from '../helpers/shared.js';

const mnist = sharedPath('models', 'mnist');
const why = noBrowserReason || (!mnist ? missingReason('models', 'mnist') : '');

const PAGE = `<!doctype html><meta charset="utf-8"><title>onnxc webgpu</title><script type="module">
import { createSession } from '/runtime.js';
window.runModel = async () => {
  if (!navigator.gpu) return { error: 'no navigator.gpu' };
  const manifest = await (await fetch('/manifest.json')).json();
  const weights = new Uint8Array(await (await fetch('/weights.bin')).arrayBuffer());
  const meta = await (await fetch('/input.json')).json();
  const data = new Float32Array(await (await fetch('/input.bin')).arrayBuffer());
  try {
    const session = await createSession({ manifest, weights });
    const out = await session.run({ [meta.input]: { type: 'float32', dims: meta.dims, data } });
    const o = out[session.outputNames[0]];
    return { dims: o.dims, data: Array.from(o.data) };
  } catch (e) { return { error: String(e) }; }
};
window.ready = true;
</script>`;

let server: PageServer | undefined, browser: Browser | undefined;
afterAll(async () => { await browser?.close(); server?.close(); });

describe.skipIf(why !== '')(`webgpu in headless Chromium${why ? ` (skipped: ${why})` : ''}`, () => {
  it('runs mnist compiled for webgpu and matches onnxruntime', async () => {
    const model = loadModel(join(mnist!, readdirSync(mnist!).find((f) => f.endsWith('.onnx'))!));
    const input = readValueFile(join(mnist!, 'test_data_set_0', 'input_0.pb')) as Tensor<'float32'>;
    const expected = readValueFile(join(mnist!, 'test_data_set_0', 'output_0.pb')) as Tensor<'float32'>;
    const name = model.graph.inputs[0]!;
    const { artifact } = compileFor(webgpuBackend, model.graph, { inputShapes: { [name]: input.dims }, source: 'mnist' }, { level: 3 });
    const bundle = await build({ entryPoints: ['runtime/webgpu/index.ts'], bundle: true, format: 'esm', write: false, platform: 'browser', target: 'es2022' });
    const files: Record<string, string | Uint8Array> = {
      '/': PAGE,
      '/runtime.js': bundle.outputFiles[0]!.text,
      '/manifest.json': JSON.stringify(artifact.manifest),
      '/weights.bin': artifact.weights,
      '/input.json': JSON.stringify({ input: name, dims: input.dims }),
      '/input.bin': tensorBody(input),
    };
    server = await serve((path) => files[path]);
    browser = await launchChromium({ webgpu: true });
    const page = await openReady(browser, server.base);
    const r = await page.evaluate(() => (globalThis as unknown as { runModel(): Promise<{ dims?: number[]; data?: number[]; error?: string }> }).runModel());
    expect(r.error).toBeUndefined();
    expect(r.dims).toEqual(expected.dims);
    const err = tensorError({ dtype: 'float32', dims: r.dims!, data: Float32Array.from(r.data!) }, expected);
    expect(err.maxAbs).toBeLessThanOrEqual(1e-4 * err.maxExpected);
  }, 300_000);
});
