// The HTML reports (`onnxc diff --format html`, `onnxc bench --html`) open in headless Chromium as one
// self-contained file: no request beyond the file itself, no script errors, one bar per pass, one drift line per
// output, one latency bar per engine, and model-controlled names shown as text, never as markup.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../compiler/cli.js';
import { diffModel } from '../../compiler/diff.js';
import { diffHtml } from '../../compiler/report-html.js';
import { randomInputs } from '../../compiler/random-inputs.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { buildExamples } from '../../models/build-examples.js';
import { pipelineForLevel } from '../../passes/pipelines.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const hasBrowser = existsSync(CHROMIUM);
let dir: string, browser: Browser | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'onnxc-html-'));
  if (hasBrowser) {
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }
}, 120_000);
afterAll(async () => { await browser?.close(); rmSync(dir, { recursive: true, force: true }); });

/** Open a file; every request the page makes and every error it raises are returned with it. */
async function open(file: string): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await browser!.newPage();
  const requests: string[] = [], errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(pathToFileURL(file).href);
  return { page, requests, errors };
}

describe.skipIf(!hasBrowser)(`HTML reports in headless Chromium (${CHROMIUM}; skipped when absent)`, () => {
  it('diff --format html: node bars per pass, drift lines per output, names escaped, nothing fetched', async () => {
    const path = buildExamples(dir)[0]!;
    const model = loadModel(path);
    const report = await diffModel(model, { passes: pipelineForLevel(2), inputs: randomInputs(model.graph, { batch: 1 }, 1), ctx: { source: path, options: new Map() }, ort: false });
    // a hostile output name: markup in it must stay text
    const hostile = { ...report, passes: report.passes.map((p) => ({ ...p, outputs: p.outputs.map((d) => ({ ...d, name: '<img src=x onerror=alert(1)>' })) })) };
    const file = join(dir, 'diff.html');
    writeFileSync(file, diffHtml(hostile));
    const { page, requests, errors } = await open(file);
    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(errors).toEqual([]);
    expect(await page.locator('#nodes rect.nodes').count()).toBe(report.passes.length);
    expect(await page.locator('#drift polyline.drift').count()).toBe(1);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('body').innerText()).toContain('<img src=x onerror=alert(1)>');
    await page.close();
  });

  it('diff --format html from the CLI writes the same kind of file', async () => {
    const path = buildExamples(dir)[0]!;
    const chunks: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { chunks.push(String(s)); return true; });
    try {
      expect(await main(['diff', path, '--dim', 'batch=1', '--no-ort', '--format', 'html'])).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
    const html = chunks.join('');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('bench --html: one latency bar per engine, one size bar per engine with a size', async () => {
    const path = buildExamples(dir)[0]!;
    const file = join(dir, 'bench.html');
    vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await main(['bench', path, '--dim', 'batch=1', '--runs', '5', '--warmup', '1', '--ort', '--html', file])).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
    expect(readFileSync(file, 'utf8')).toContain('onnxruntime-node');
    const { page, requests, errors } = await open(file);
    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(errors).toEqual([]);
    expect(await page.locator('#latency rect.bar').count()).toBe(2);
    expect(await page.locator('#size rect.bar').count()).toBe(2);
    await page.close();
  });
});
