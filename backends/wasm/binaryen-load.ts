// Loads Binaryen quickly. binaryen.js is one 15 MB ES module whose 10 MB wasm is embedded as a string literal, and
// V8 scans that literal twice (module compile, then the lazy compile of its factory): most of the ~1.3 s an
// `import('binaryen')` takes. The first load splits the file into its 180 KB JS glue and the wasm bytes and caches
// both (one file per install, checksummed); later loads run the glue on the cached bytes. The glue and the wasm are
// binaryen's own, unchanged, so the instance behaves (and emits) exactly like the imported one. Anything unexpected
// (an unrecognised binaryen.js, a bad cache file, an unwritable cache dir) falls back to a slower path that works.

import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInThisContext } from 'node:vm';
import type Binaryen from 'binaryen';

export type BinaryenApi = typeof Binaryen;

/** How an instance was obtained: from the cache file, split from binaryen.js now (cache written when possible),
 *  or by a plain `import('binaryen')` (cache off, or binaryen.js not in the expected shape). */
export interface BinaryenLoadInfo {
  readonly how: 'cache' | 'split' | 'import';
  /** The cache file used or written, when there is one. */
  readonly file?: string;
  /** Why the cache was not used (absent on a hit). */
  readonly reason?: string;
  /** Whether a `split` load wrote the cache file. */
  readonly wrote?: boolean;
}

export interface BinaryenLoadOptions {
  /** binaryen's index.js (default: resolved from this package). */
  readonly entry?: string;
  /** Cache folder; undefined: no cache (split every time). Default: cacheDir(process.env). */
  readonly cacheDir?: string | undefined;
}

const FORMAT = 'onnxc-binaryen-cache 2';
const IMPORT_ONLY = new Set(['off', '0', 'false', 'import']);

/** The cache folder: $ONNXC_CACHE_DIR (`off` disables the cache and the split: plain `import('binaryen')`), else
 *  $XDG_CACHE_HOME/onnxc, else %LOCALAPPDATA%/onnxc on Windows, else ~/.cache/onnxc. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | 'off' {
  const own = env.ONNXC_CACHE_DIR;
  if (own !== undefined && own !== '') return IMPORT_ONLY.has(own.toLowerCase()) ? 'off' : own;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'onnxc');
  if (process.platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'onnxc');
  return join(homedir(), '.cache', 'onnxc');
}

/** binaryen's index.js as this package resolves it, and its version. */
export function binaryenEntry(): { file: string; version: string } {
  const file = createRequire(import.meta.url).resolve('binaryen');
  let version = 'unknown';
  try { version = (JSON.parse(readFileSync(join(dirname(file), 'package.json'), 'utf8')) as { version?: string }).version ?? version; } catch { /* keep 'unknown' */ }
  return { file, version };
}

/** binaryen.js split into its glue, as the source of an async function (wasm bytes, module URL, import) -> the
 *  Binaryen object, and the raw template literal (backquotes included) holding the wasm. Undefined when the file
 *  is not in the shape this expects (then the caller imports it plainly). */
export function splitBinaryen(source: string): { glue: string; literal: string } | undefined {
  // the wasm is passed to a string-to-bytes helper as one template literal starting with the magic "\0asm"
  const open = source.indexOf('(`\\0asm');
  if (open < 0 || source.indexOf('(`\\0asm', open + 1) >= 0) return undefined;
  let callee = open;
  while (callee > 0 && /[\w$]/.test(source[callee - 1]!)) callee--;
  if (callee === open) return undefined;
  // the closing backquote is the first one not escaped (preceded by an even number of backslashes)
  let close = open + 2;
  for (;;) {
    close = source.indexOf('`', close);
    if (close < 0) return undefined;
    let k = close - 1;
    while (source.charCodeAt(k) === 92) k--;
    if ((close - 1 - k) % 2 === 0) break;
    close++;
  }
  if (source[close + 1] !== ')') return undefined;
  const literal = source.slice(open + 1, close + 1);
  // a substitution would make the literal something other than a constant string
  if (/(^|[^\\])(\\\\)*\$\{/.test(literal)) return undefined;
  let glue = source.slice(0, callee) + '__onnxcWasm' + source.slice(close + 2);
  const tail = /export\s*\{\s*([A-Za-z_$][\w$]*)\s+as\s+default\s*\}\s*;?\s*$/.exec(glue);
  if (!tail) return undefined;
  glue = glue.slice(0, tail.index) + `return ${tail[1]};`;
  glue = glue.replaceAll('import.meta.url', '__onnxcUrl').replace(/(?<![\w$.])import\s*\(/g, '__onnxcImport(');
  if (/(?<![\w$.])import\s*\.\s*meta|^\s*(import|export)\b/m.test(glue)) return undefined;
  return { glue: `(async function (__onnxcWasm, __onnxcUrl, __onnxcImport) {"use strict";\n${glue}\n})`, literal };
}

/** The bytes a raw template literal spells, one byte per character (what binaryen's helper computes for
 *  characters up to 0xFF; it has no others: checked). */
export function literalBytes(literal: string): Uint8Array {
  const text = (new Function(`return ${literal}`) as () => string)();
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\xff]/.test(text)) throw new Error('the embedded wasm has characters above 0xFF');
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

/** The cache file of one binaryen install, and the stamp (version, size, mtime of index.js) its contents must match. */
function cacheFile(dir: string, entry: string, version: string): { file: string; stamp: string } {
  const st = statSync(entry);
  const id = createHash('sha1').update(entry).digest('hex').slice(0, 16);
  return { file: join(dir, `binaryen-${id}.bin`), stamp: `${version} ${st.size} ${Math.trunc(st.mtimeMs)}` };
}

interface CacheHeader { format: string; stamp: string; glue: number; wasm: number; check: string }

/** The cache body's checksum: CRC-32 where zlib has it (Node >= 20.15; ~2 ms for 10 MB, against ~15 ms for SHA-1),
 *  else SHA-1. It guards against damage, not tampering: the cache folder is the user's own. */
function checksum(body: Uint8Array): string {
  const crc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  return crc32 ? `crc32:${crc32(body).toString(16)}` : `sha1:${createHash('sha1').update(body).digest('hex')}`;
}

/** The glue and wasm from a cache file; a string saying why not when it is absent, stale or damaged. */
export function readCache(file: string, stamp: string): { glue: string; wasm: Uint8Array } | string {
  let data: Buffer;
  try { data = readFileSync(file); } catch { return 'no cache file'; }
  const nl = data.indexOf(10);
  let h: CacheHeader;
  try { h = JSON.parse(data.toString('utf8', 0, nl < 0 ? 0 : nl)) as CacheHeader; } catch { return 'unreadable header'; }
  if (h.format !== FORMAT) return 'other format';
  if (h.stamp !== stamp) return 'stale (binaryen changed)';
  const body = data.subarray(nl + 1);
  if (body.length !== h.glue + h.wasm) return 'wrong length';
  if (checksum(body) !== h.check) return 'checksum mismatch';
  return { glue: body.toString('utf8', 0, h.glue), wasm: body.subarray(h.glue) };
}

/** Writes the cache file atomically (temporary file, then rename); false when the folder is not writable. */
export function writeCache(file: string, stamp: string, glue: string, wasm: Uint8Array): boolean {
  const g = Buffer.from(glue, 'utf8');
  const body = Buffer.concat([g, wasm]);
  const header: CacheHeader = { format: FORMAT, stamp, glue: g.length, wasm: wasm.length, check: checksum(body) };
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), body]));
    renameSync(tmp, file);
    return true;
  } catch {
    try { unlinkSync(tmp); } catch { /* never written */ }
    return false;
  }
}

/** Whether to compile Binaryen's wasm with Liftoff only (V8's baseline compiler, no TurboFan tier-up): a compile
 *  runs Binaryen for well under a second, too short for the optimised code to repay compiling it (on the 2-core
 *  machine: `onnxc compile` of mnist 1.9 -> 1.1 s CPU, mobilenet_v2 2.5 -> 1.9 s, gpt2_tiny 2.6 -> 2.1 s). Not when the process was started with its own wasm
 *  or Liftoff flags (they are left alone), nor with ONNXC_BINARYEN_TIERUP=1. */
function liftoffOnly(): boolean {
  if (process.env.ONNXC_BINARYEN_TIERUP === '1') return false;
  return ![...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => /wasm|liftoff|turbo/i.test(a));
}

/** Runs binaryen's glue on its wasm bytes: a fresh Binaryen instance. V8 fixes a module's tiers when it compiles
 *  it, so the Liftoff-only flag is set for Binaryen's compile and restored right after; modules compiled later
 *  (the artifacts `check` and `bench` run) get V8's defaults. */
async function runGlue(glue: string, wasm: Uint8Array, entry: string): Promise<BinaryenApi> {
  const factory = runInThisContext(glue, { filename: `${pathToFileURL(entry).href}#onnxc-glue` }) as
    (wasm: Uint8Array, url: string, load: (s: string) => Promise<unknown>) => Promise<BinaryenApi>;
  const baseline = liftoffOnly();
  // lazy validation too: these bytes are binaryen's own (checksummed when cached), so V8 checks each function
  // when it first compiles it instead of all 10 MB up front
  if (baseline) setFlagsFromString('--liftoff-only --wasm-lazy-validation');
  try {
    return await factory(wasm, pathToFileURL(entry).href, (s) => import(s));
  } finally {
    // --liftoff-only turned dynamic tiering off by implication: turn it back on for modules compiled later. Not
    // --wasm-tier-up: setting that again tiers Binaryen's module up after all (measured: mnist 1.1 -> 2.5 s CPU)
    if (baseline) setFlagsFromString('--no-liftoff-only --wasm-dynamic-tiering --no-wasm-lazy-validation');
  }
}

const plainImport = async (): Promise<BinaryenApi> => (await import('binaryen')).default;

/** A Binaryen instance, from the cache when it can (see the file comment), with how it was obtained. Each call
 *  makes a new instance: modules and expressions of one cannot be used with another. */
export async function loadBinaryen(opts: BinaryenLoadOptions = {}): Promise<{ binaryen: BinaryenApi; info: BinaryenLoadInfo }> {
  const dir = 'cacheDir' in opts ? opts.cacheDir : cacheDir();
  if (dir === 'off') return { binaryen: await plainImport(), info: { how: 'import', reason: 'cache off (ONNXC_CACHE_DIR)' } };
  let entry: string, version: string;
  if (opts.entry) ({ file: entry, version } = { file: opts.entry, version: 'given' });
  else ({ file: entry, version } = binaryenEntry());
  const where = dir === undefined ? undefined : cacheFile(dir, entry, version);
  let reason = 'no cache folder';
  if (where) {
    const hit = readCache(where.file, where.stamp);
    if (typeof hit !== 'string') {
      try {
        return { binaryen: await runGlue(hit.glue, hit.wasm, entry), info: { how: 'cache', file: where.file } };
      } catch (e) {
        reason = `cached glue failed: ${e instanceof Error ? e.message : String(e)}`;
      }
    } else reason = hit;
  }
  const parts = splitBinaryen(readFileSync(entry, 'utf8'));
  if (!parts) return { binaryen: await plainImport(), info: { how: 'import', reason: 'binaryen.js not in the expected shape' } };
  try {
    const wasm = literalBytes(parts.literal);
    // instantiate first: only a glue that ran is worth caching
    const binaryen = await runGlue(parts.glue, wasm, entry);
    const wrote = where ? writeCache(where.file, where.stamp, parts.glue, wasm) : false;
    return { binaryen, info: { how: 'split', reason, wrote, ...(where ? { file: where.file } : {}) } };
  } catch (e) {
    return { binaryen: await plainImport(), info: { how: 'import', reason: `split glue failed: ${e instanceof Error ? e.message : String(e)}` } };
  }
}

let shared: Promise<{ binaryen: BinaryenApi; info: BinaryenLoadInfo }> | undefined;

/** The process's one Binaryen instance (backends/wasm/binaryen.ts exports it). */
export function sharedBinaryen(): Promise<{ binaryen: BinaryenApi; info: BinaryenLoadInfo }> {
  shared ??= loadBinaryen();
  return shared;
}

/** Starts loading the shared instance now, for a caller about to import the compiler: V8 decodes Binaryen's wasm
 *  on a background thread while the main thread loads the compiler's modules. A failure surfaces where the
 *  instance is awaited (backends/wasm/binaryen.ts), not here. */
export function startBinaryen(): void {
  sharedBinaryen().catch(() => { /* reported by the awaiting import */ });
}
