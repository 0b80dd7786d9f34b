// What the browser tests share: a loopback HTTP server answering from a route function, Debian's Chromium
// launched through playwright-core, and a page opened once its module script says it is ready.

import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** Why browser tests cannot run here, or '' when they can. */
export const noBrowserReason = existsSync(CHROMIUM) ? '' : `no Chromium at ${CHROMIUM} (set CHROMIUM; .ci/run installs Debian's chromium)`;

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream', '.wgsl': 'text/plain', '.ts': 'text/plain',
};

export function contentType(path: string): string {
  return path === '/' ? TYPES['.html']! : TYPES[extname(path)] ?? 'application/octet-stream';
}

/** A response body for a path, or undefined for 404. */
export type Route = (path: string) => string | Uint8Array | undefined;

/** Files of `dir` under the URL prefix `prefix` (e.g. '/model/'): plain names only, nothing outside dir. */
export function filesUnder(prefix: string, dir: string): Route {
  return (path) => {
    if (!path.startsWith(prefix)) return undefined;
    const name = path.slice(prefix.length);
    if (!/^[\w.-]+$/.test(name) || name.startsWith('.') || !existsSync(join(dir, name))) return undefined;
    return readFileSync(join(dir, name));
  };
}

/** The first route that answers. */
export function routes(...rs: Route[]): Route {
  return (path) => { for (const r of rs) { const b = r(path); if (b !== undefined) return b; } return undefined; };
}

export interface PageServer { readonly base: string; close(): void }

/** Serve `route` on 127.0.0.1 at a free port. `isolated` sends the COOP/COEP headers that make a page
 *  cross-origin isolated (what SharedArrayBuffer, and so wasm threads, need in a browser). */
export async function serve(route: Route, opts: { isolated?: boolean } = {}): Promise<PageServer> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const body = route(path);
    if (body === undefined) { res.writeHead(404).end(); return; }
    const headers: Record<string, string> = { 'content-type': contentType(path) };
    if (opts.isolated) { headers['cross-origin-opener-policy'] = 'same-origin'; headers['cross-origin-embedder-policy'] = 'require-corp'; }
    res.writeHead(200, headers).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

/** Headless Chromium; `webgpu` enables WebGPU (SwiftShader without a GPU). */
export function launchChromium(opts: { webgpu?: boolean } = {}): Promise<Browser> {
  const args = opts.webgpu ? ['--enable-unsafe-webgpu', '--no-sandbox']
    : ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/** A new page at `base`, once its script has set `window.ready`; page errors are collected into `errors`. */
export async function openReady(browser: Browser, base: string, errors: string[] = []): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
  return page;
}

/** A float32 tensor's bytes as a response body. */
export function tensorBody(t: { data: Float32Array }): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
