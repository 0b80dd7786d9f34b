// Loading a WebGPU artifact: from its folder's URL (http(s) or file:, as the loader beside it does by default) or
// from its parts in memory; manifest.json is checked to be one before weights.bin is fetched.

import { OnnxcRuntimeError } from '../wasm/errors.js';
import type { WebGpuArtifact, WebGpuManifest } from './types.js';

export type WebGpuSource = string | URL | WebGpuArtifact;

export interface LoadOptions {
  /** How to fetch http(s) URLs (default: the global fetch). */
  readonly fetch?: (url: string) => Promise<Response>;
}

const isArtifact = (s: WebGpuSource): s is WebGpuArtifact => typeof s === 'object' && s !== null && 'manifest' in s && 'weights' in s;

/** The artifact's folder: a URL or path to it (with or without a trailing slash) or to its manifest.json. */
function folderOf(source: string | URL): URL {
  const loc = (globalThis as { location?: { href: string } }).location;
  const proc = (globalThis as { process?: { cwd(): string } }).process;
  const base = loc ? loc.href : `file://${proc ? proc.cwd().replace(/\\/g, '/').replace(/^(?!\/)/, '/') : ''}/`;
  const u = new URL(String(source), base);
  if (/\/manifest\.json$/.test(u.pathname)) return new URL('.', u);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u;
}

async function bytesOf(url: URL, opts: LoadOptions): Promise<Uint8Array> {
  if (url.protocol === 'file:') {
    // a computed specifier: a browser bundle of the runtime (esbuild, vite) leaves it alone, and it runs only for file:
    const fsModule = 'node:fs/promises';
    const fs = await import(/* @vite-ignore */ fsModule) as typeof import('node:fs/promises');
    try {
      return new Uint8Array(await fs.readFile(url));
    } catch (e) {
      throw new OnnxcRuntimeError(`onnxc: cannot read ${url.href}: ${(e as Error).message}`, 'artifact');
    }
  }
  let r: Response;
  try {
    r = await (opts.fetch ?? ((u: string) => fetch(u)))(url.href);
  } catch (e) {
    throw new OnnxcRuntimeError(`onnxc: cannot load ${url.href}: ${(e as Error).message}`, 'artifact');
  }
  if (!r.ok) throw new OnnxcRuntimeError(`onnxc: cannot load ${url.href}: HTTP ${r.status}`, 'artifact');
  return new Uint8Array(await r.arrayBuffer());
}

/** The artifact's manifest and weights. */
export async function loadArtifact(source: WebGpuSource, opts: LoadOptions = {}): Promise<WebGpuArtifact> {
  if (isArtifact(source)) return source;
  const dir = folderOf(source);
  const where = new URL('manifest.json', dir);
  let m: Partial<WebGpuManifest>;
  try {
    m = JSON.parse(new TextDecoder().decode(await bytesOf(where, opts))) as Partial<WebGpuManifest>;
  } catch (e) {
    if (e instanceof OnnxcRuntimeError) throw e;
    throw new OnnxcRuntimeError(`onnxc: ${where.href} is not JSON: ${(e as Error).message}`, 'artifact');
  }
  if (m?.format !== 'onnxc-webgpu/1' || !Array.isArray(m.inputs) || !Array.isArray(m.outputs) || !Array.isArray(m.shaders) || typeof m.weights !== 'object') {
    throw new OnnxcRuntimeError(`onnxc: ${where.href} is not an onnxc-webgpu/1 manifest (format ${JSON.stringify(m?.format)})`, 'artifact');
  }
  const file = m.weights.file ?? 'weights.bin';
  if (!/^[\w.-]+$/.test(file)) throw new OnnxcRuntimeError(`onnxc: ${where.href}: weights file '${file}' must be a plain file name in the folder`, 'artifact');
  const weights = m.weights.bytes ? await bytesOf(new URL(file, dir), opts) : new Uint8Array(0);
  return { manifest: m as WebGpuManifest, weights };
}
