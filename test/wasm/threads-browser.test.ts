// A threaded artifact (compile --threads 2) in headless Chromium through its shipped loader.js: on a cross-origin
// isolated page (COOP/COEP) and in a module Web Worker of that page it runs on 2 threads (Blob workers) with the
// 1-thread build's bits; on a page without isolation it runs on one thread, with session.threadsNote saying why.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileToDir } from '../../compiler/compile.js';
import { tinyCnn } from '../../models/tiny-cnn.js';
import { filesUnder, launchChromium, noBrowserReason, openReady, routes, serve, type PageServer } from '../helpers/browser.js';

// page and worker run the same function: both artifacts on one input, the outputs compared bit for bit
const RUNNER = `export async function runBoth() {
  const load = async (d) => (await import('/' + d + '/loader.js')).createSession(new URL('/' + d + '/', location.href));
  const [a, b] = [await load('t2'), await load('t1')];
  const spec = a.inputMetadata[0], n = spec.shape.reduce((x, y) => x * y, 1);
  const feeds = { [spec.name]: { type: 'float32', dims: spec.shape, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i)) } };
  const x = Object.values(await a.run(feeds))[0].data, y = Object.values(await b.run(feeds))[0].data;
  const r = { same: x.length === y.length && x.every((v, i) => Object.is(v, y[i])), threads: a.threads, note: a.threadsNote ?? null };
  await a.release();
  return r;
}`;
const WORKER = `import { runBoth } from '/runner.js';
self.onmessage = async () => { try { self.postMessage(await runBoth()); } catch (err) { self.postMessage({ error: String(err) }); } };`;
const PAGE = `<!doctype html><meta charset="utf-8"><title>onnxc threads</title><script type="module">
import { runBoth } from '/runner.js';
window.inPage = () => runBoth().catch((e) => ({ error: String(e) }));
window.inWorker = () => new Promise((resolve) => { const w = new Worker('/worker.js', { type: 'module' }); w.onmessage = (e) => { resolve(e.data); w.terminate(); }; w.postMessage(0); });
window.ready = true;
</script>`;

type Outcome = { same?: boolean; threads?: number; note?: string | null; error?: string };

describe.skipIf(noBrowserReason !== '')(`a threaded artifact in Chromium${noBrowserReason ? ` (skipped: ${noBrowserReason})` : ''}`, () => {
  let root: string, browser: Browser | undefined;
  const servers: PageServer[] = [];
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'onnxc-threads-browser-'));
    compileToDir(tinyCnn(), 'wasm', join(root, 't2'), { threads: 2, dims: { batch: 4 } });
    compileToDir(tinyCnn(), 'wasm', join(root, 't1'), { dims: { batch: 4 } });
    browser = await launchChromium();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    for (const s of servers) s.close();
    rmSync(root, { recursive: true, force: true });
  });

  const open = async (isolated: boolean): Promise<import('playwright-core').Page> => {
    const fixed: Record<string, string> = { '/': PAGE, '/runner.js': RUNNER, '/worker.js': WORKER };
    const s = await serve(routes((p) => fixed[p], filesUnder('/t1/', join(root, 't1')), filesUnder('/t2/', join(root, 't2'))), { isolated });
    servers.push(s);
    return openReady(browser!, s.base);
  };

  it('runs on 2 threads with the 1-thread bits on an isolated page and in its Web Worker', async () => {
    const page = await open(true);
    const inPage = await page.evaluate(() => (globalThis as unknown as { inPage(): Promise<Outcome> }).inPage());
    expect(inPage).toEqual({ same: true, threads: 2, note: null });
    const inWorker = await page.evaluate(() => (globalThis as unknown as { inWorker(): Promise<Outcome> }).inWorker());
    expect(inWorker).toEqual({ same: true, threads: 2, note: null });
  }, 120_000);

  it('runs on one thread, saying why, on a page that is not cross-origin isolated', async () => {
    const page = await open(false);
    const r = await page.evaluate(() => (globalThis as unknown as { inPage(): Promise<Outcome> }).inPage());
    expect(r).toMatchObject({ same: true, threads: 1 });
    expect(r.note).toMatch(/one thread.*cross-origin isolated/);
  }, 120_000);
});
