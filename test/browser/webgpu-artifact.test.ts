// A WebGPU artifact folder as `onnxc compile --target webgpu` writes it, loaded in headless Chromium (Debian's,
// driven by playwright-core, WebGPU on SwiftShader) through the folder's own loader.js over http: mnist on its test
// input, read back (run) and left on the GPU then read (runOnGpu), compared here with onnxruntime's expected output
// within 1e-4 of its largest magnitude.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { compileWebGpuToDir } from '../../backends/webgpu/artifact.js';
import { tensorError } from '../../compiler/compare.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../../ir/tensor.js';
import { missingReason, sharedPath } from '../helpers/shared.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const mnist = sharedPath('models', 'mnist');
const why = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (set CHROMIUM)` : !mnist ? missingReason('models', 'mnist') : '';

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

let server: Server | undefined, browser: Browser | undefined;
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
    const fixed: Record<string, [string, string | Uint8Array]> = {
      '/': ['text/html', PAGE],
      '/input.json': ['application/json', JSON.stringify({ input: name, dims: input.dims })],
      '/input.bin': ['application/octet-stream', new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength)],
    };
    const types: Record<string, string> = { js: 'text/javascript', json: 'application/json', bin: 'application/octet-stream', wgsl: 'text/plain', ts: 'text/plain' };
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const f = fixed[path];
      if (f) { res.writeHead(200, { 'content-type': f[0] }).end(f[1]); return; }
      const file = path.startsWith('/model/') ? path.slice('/model/'.length) : '';
      if (!file || !/^[\w.-]+$/.test(file) || !existsSync(join(dir, file))) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': types[file.split('.').pop()!] ?? 'application/octet-stream' }).end(readFileSync(join(dir, file)));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
    const page = await browser.newPage();
    await page.goto(base);
    await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
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
