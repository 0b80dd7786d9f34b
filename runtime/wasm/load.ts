// createSession: load an artifact from its folder's URL (http(s) or file:), from its parts in memory, or from
// model.wasm's bytes, the way onnxruntime-web's InferenceSession.create takes a URL or a buffer. Compiles with
// WebAssembly.instantiateStreaming where the server says application/wasm; reports download progress.

import { OnnxcRuntimeError } from './errors.js';
import { WA, WasmSession, checkEngine, type WasmInstance } from './session.js';
import { instantiateThreaded } from './threads.js';
import type { ArtifactParts, ArtifactSource, SessionOptions, WasmManifest } from './types.js';

interface Streaming { instantiateStreaming?(r: Response | Promise<Response>, imports: object): Promise<{ instance: WasmInstance }> }

const isParts = (s: ArtifactSource): s is ArtifactParts => typeof s === 'object' && s !== null && 'wasm' in s && 'manifest' in s;


/** Where relative paths resolve: the page in a browser, the working folder in Node. */
function defaultBase(): string {
  const loc = (globalThis as { location?: { href: string } }).location;
  if (loc) return loc.href;
  const proc = (globalThis as { process?: { cwd(): string } }).process;
  return `file://${proc ? proc.cwd().replace(/\\/g, '/').replace(/^(?!\/)/, '/') : ''}/`;
}

/** The artifact's folder: a URL or path to the folder (with or without a trailing slash) or to its manifest.json. */
export function folderOf(source: string | URL): URL {
  const u = new URL(String(source), defaultBase());
  if (/\/manifest\.json$/.test(u.pathname)) return new URL('.', u);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u;
}

async function open(url: URL, opts: SessionOptions): Promise<Response | Uint8Array> {
  if (url.protocol === 'file:') {
    const fs = await import('node:fs/promises');
    try {
      return new Uint8Array(await fs.readFile(url));
    } catch (e) {
      throw new OnnxcRuntimeError(`onnxc: cannot read ${url.href}: ${(e as Error).message}`, 'artifact');
    }
  }
  const f = opts.fetch ?? ((u: string) => fetch(u));
  let r: Response;
  try {
    r = await f(url.href);
  } catch (e) {
    throw new OnnxcRuntimeError(`onnxc: cannot load ${url.href}: ${(e as Error).message}`, 'artifact');
  }
  if (!r.ok) throw new OnnxcRuntimeError(`onnxc: cannot load ${url.href}: HTTP ${r.status}`, 'artifact');
  return r;
}

/** A file's bytes, reporting progress chunk by chunk when the body streams. */
async function bytesOf(url: URL, opts: SessionOptions, total?: number): Promise<Uint8Array> {
  const r = await open(url, opts);
  const file = url.pathname.split('/').pop() ?? url.href;
  if (r instanceof Uint8Array) { opts.onProgress?.({ file, loaded: r.length, total: r.length }); return r; }
  const size = Number(r.headers.get('content-length')) || total;
  if (!opts.onProgress || !r.body) return new Uint8Array(await r.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = r.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    opts.onProgress({ file, loaded, ...(size ? { total: size } : {}) });
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

function parseManifest(bytes: Uint8Array, where: string): WasmManifest {
  let m: Partial<WasmManifest>;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes)) as Partial<WasmManifest>;
  } catch (e) {
    throw new OnnxcRuntimeError(`onnxc: ${where} is not JSON: ${(e as Error).message}`, 'artifact');
  }
  if (m?.format !== 'onnxc-wasm/1' || !Array.isArray(m.inputs) || !Array.isArray(m.outputs) || typeof m.weights !== 'object') {
    throw new OnnxcRuntimeError(`onnxc: ${where} is not an onnxc-wasm/1 manifest (format ${JSON.stringify(m?.format)})`, 'artifact');
  }
  return m as WasmManifest;
}

async function instantiate(wasm: URL | ArrayBufferView | ArrayBuffer, opts: SessionOptions): Promise<WasmInstance> {
  if (!(wasm instanceof URL)) return (await WA.instantiate(wasm, {})).instance;
  const r = await open(wasm, opts);
  const streaming = (WA as unknown as Streaming).instantiateStreaming;
  if (!(r instanceof Uint8Array) && streaming && !opts.onProgress && r.headers.get('content-type')?.startsWith('application/wasm')) {
    return (await streaming.call(WA, r, {})).instance;
  }
  const bytes = r instanceof Uint8Array ? r : new Uint8Array(await r.arrayBuffer());
  opts.onProgress?.({ file: 'model.wasm', loaded: bytes.length, total: bytes.length });
  return (await WA.instantiate(bytes, {})).instance;
}

async function weightsFor(manifest: WasmManifest, base: URL | undefined, opts: SessionOptions, given?: Uint8Array): Promise<Uint8Array | undefined> {
  if (!manifest.weights.file) return undefined;
  if (given) return given;
  if (opts.weights instanceof Uint8Array) return opts.weights;
  const url = opts.weights !== undefined ? new URL(String(opts.weights), base ?? defaultBase()) : base ? new URL(manifest.weights.file, base) : undefined;
  if (!url) throw new OnnxcRuntimeError(`onnxc: ${manifest.model}: the weights are in '${manifest.weights.file}': pass them as options.weights`, 'artifact');
  return bytesOf(url, opts, manifest.weights.bytes);
}

const threaded = (m: WasmManifest): boolean => (m.threads ?? 1) > 1;
const bytesIn = (b: ArrayBufferView | ArrayBuffer): Uint8Array => (b instanceof Uint8Array ? b : ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b));

/** A threaded artifact (compile --threads): workers on a shared memory, or one thread where that is unavailable. */
async function threadedSession(manifest: WasmManifest, wasm: Uint8Array, weights: Uint8Array | undefined, opts: SessionOptions): Promise<WasmSession> {
  const t = await instantiateThreaded(manifest, wasm, opts.threads);
  return new WasmSession(manifest, t.instance, weights, t);
}

/** Load an artifact and return a session (see types.ts: Session). */
export async function createSession(source: ArtifactSource, options: SessionOptions = {}): Promise<WasmSession> {
  if (typeof source === 'string' || source instanceof URL) {
    const base = folderOf(source);
    const manifest = options.manifest ?? parseManifest(await bytesOf(new URL('manifest.json', base), options), new URL('manifest.json', base).href);
    checkEngine(manifest);
    if (threaded(manifest)) {
      const [wasm, weights] = await Promise.all([bytesOf(new URL('model.wasm', base), options), weightsFor(manifest, base, options)]);
      return threadedSession(manifest, wasm, weights, options);
    }
    const [instance, weights] = await Promise.all([instantiate(new URL('model.wasm', base), options), weightsFor(manifest, base, options)]);
    return new WasmSession(manifest, instance, weights);
  }
  if (isParts(source)) {
    checkEngine(source.manifest);
    if (threaded(source.manifest)) return threadedSession(source.manifest, bytesIn(source.wasm), await weightsFor(source.manifest, undefined, options, source.weights), options);
    const instance = await instantiate(source.wasm, options);
    return new WasmSession(source.manifest, instance, await weightsFor(source.manifest, undefined, options, source.weights));
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    if (!options.manifest) throw new OnnxcRuntimeError('onnxc: createSession(bytes) needs options.manifest (the artifact\'s manifest.json)', 'artifact');
    checkEngine(options.manifest);
    if (threaded(options.manifest)) return threadedSession(options.manifest, bytesIn(source), await weightsFor(options.manifest, undefined, options), options);
    const instance = await instantiate(source, options);
    return new WasmSession(options.manifest, instance, await weightsFor(options.manifest, undefined, options));
  }
  throw new OnnxcRuntimeError(`onnxc: createSession takes a URL, {wasm, manifest, weights} or model.wasm's bytes`, 'artifact');
}
