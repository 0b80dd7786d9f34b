// A compiled artifact in a real browser: headless Chromium (Debian's, driven by playwright-core) loads the
// artifact's loader.js over http://127.0.0.1 in a page and in a module Web Worker, runs it on the model's test
// input and the outputs are compared here with the expected ones (the reference interpreter for the bundled
// example; onnxruntime's for the shared mobilenet_v2), within 1e-4 of the output's largest magnitude.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileToDir } from '../../compiler/compile.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../../ir/tensor.js';
import { buildExamples } from '../../models/build-examples.js';
import { CHROMIUM, filesUnder, launchChromium, noBrowserReason, openReady, serve, tensorBody, type PageServer } from '../helpers/browser.js';
import { missingReason, sharedPath } from '../helpers/shared.js';

// the page and the worker run the same function: load the artifact under /a/NAME/, fetch the input, run
const RUNNER = `export async function runArtifact(name) {
  const { createSession } = await import('/a/' + name + '/loader.js');
  const meta = await (await fetch('/a/' + name + '/input.json')).json();
  const data = new Float32Array(await (await fetch('/a/' + name + '/input.bin')).arrayBuffer());
  const session = await createSession();
  const out = await session.run({ [meta.input]: { type: 'float32', dims: meta.dims, data } });
  const o = out[session.outputNames[0]];
  return { dims: o.dims, data: Array.from(o.data) };
}`;
const WORKER = `import { runArtifact } from '/runner.js';
self.onmessage = async (e) => { try { self.postMessage(await runArtifact(e.data)); } catch (err) { self.postMessage({ error: String(err) }); } };`;
const PAGE = `<!doctype html><meta charset="utf-8"><title>onnxc</title><script type="module">
import { runArtifact } from '/runner.js';
window.inPage = runArtifact;
window.inWorker = (name) => new Promise((resolve) => { const w = new Worker('/worker.js', { type: 'module' }); w.onmessage = (e) => { resolve(e.data); w.terminate(); }; w.postMessage(name); });
window.ready = true;
</script>`;

interface Case { name: string; dir: string; input: Tensor<'float32'>; inputName: string; expected: Tensor<'float32'> }
const cases = new Map<string, Case>();
let root: string, server: PageServer | undefined, browser: Browser | undefined;

/** The page, the runner and worker modules, and under /a/NAME/ each case's artifact files and its input. */
function route(path: string): string | Uint8Array | undefined {
  const fixed: Record<string, string> = { '/': PAGE, '/runner.js': RUNNER, '/worker.js': WORKER };
  if (fixed[path] !== undefined) return fixed[path];
  const m = /^\/a\/(\w+)\//.exec(path);
  const c = m ? cases.get(m[1]!) : undefined;
  if (!c) return undefined;
  const prefix = `/a/${c.name}/`;
  if (path === `${prefix}input.bin`) return tensorBody(c.input);
  if (path === `${prefix}input.json`) return JSON.stringify({ input: c.inputName, dims: c.input.dims });
  return filesUnder(prefix, c.dir)(path);
}

function addCase(name: string, modelPath: string, dataDir: string, expected?: Tensor<'float32'>): void {
  const model = loadModel(modelPath);
  const input = readValueFile(join(dataDir, 'input_0.pb')) as Tensor<'float32'>;
  const dir = join(root, name);
  compileToDir(model, 'wasm', dir, { inputShapes: { [model.graph.inputs[0]!]: input.dims } });
  cases.set(name, { name, dir, input, inputName: model.graph.inputs[0]!, expected: expected ?? (runGraph(model.graph, [input])[0] as Tensor<'float32'>) });
}

const hasBrowser = noBrowserReason === '';
const mobilenet = sharedPath('models', 'mobilenet_v2');

beforeAll(async () => {
  if (!hasBrowser) return;
  root = mkdtempSync(join(tmpdir(), 'onnxc-browser-'));
  const ex = buildExamples(join(root, 'examples'))[0]!;
  addCase('tiny_cnn', ex, join(root, 'examples', 'tiny_cnn', 'test_data_set_0'));
  if (mobilenet) {
    const data = join(mobilenet, 'test_data_set_0');
    addCase('mobilenet_v2', join(mobilenet, 'model.onnx'), data, readValueFile(join(data, 'output_0.pb')) as Tensor<'float32'>);
  }
  server = await serve(route);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function runIn(where: 'inPage' | 'inWorker', name: string): Promise<{ dims: number[]; data: number[]; error?: string }> {
  const errors: string[] = [];
  const page = await openReady(browser!, server!.base, errors);
  try {
    const r = await page.evaluate(([w, n]) => (globalThis as unknown as Record<string, (n: string) => Promise<unknown>>)[w]!(n), [where, name] as const);
    expect(errors).toEqual([]);
    return r as { dims: number[]; data: number[]; error?: string };
  } finally {
    await page.close();
  }
}

function expectClose(got: { dims: number[]; data: number[]; error?: string }, c: Case): void {
  expect(got.error).toBeUndefined();
  expect(got.dims).toEqual(c.expected.dims);
  const want = c.expected.data;
  const scale = Math.max(...Array.from(want, Math.abs));
  const err = Math.max(...got.data.map((v, i) => Math.abs(v - want[i]!)));
  expect(err / scale, `max abs error ${err} (|max| ${scale})`).toBeLessThanOrEqual(1e-4);
}

describe.skipIf(!hasBrowser)(`an artifact in headless Chromium (${CHROMIUM}; skipped when absent: .ci/run installs Debian's chromium)`, () => {
  it.each(['inPage', 'inWorker'] as const)('the bundled example runs %s and matches the reference', async (where) => {
    expectClose(await runIn(where, 'tiny_cnn'), cases.get('tiny_cnn')!);
  });

  it.skipIf(!mobilenet).each(['inPage', 'inWorker'] as const)(`mobilenet_v2 runs %s and matches onnxruntime's outputs within 1e-4${mobilenet ? '' : ` (${missingReason('models', 'mobilenet_v2')})`}`, async (where) => {
    expectClose(await runIn(where, 'mobilenet_v2'), cases.get('mobilenet_v2')!);
  });
});
