// Running a threaded artifact (`compile --threads N`, manifest.threads): one shared memory, the main thread plus
// N-1 workers (worker_threads in Node, Web Workers in browsers), each instantiating the same module on it; the
// module synchronises itself (backends/wasm/parallel*.ts). Without SharedArrayBuffer (a page that is not
// cross-origin isolated) or workers, the same module runs on one thread, with a warning and `session.threadsNote`.

import { OnnxcRuntimeError } from './errors.js';
import type { WasmInstance } from './session.js';
import type { WasmManifest } from './types.js';
import { NODE_WORKER_SOURCE, WEB_WORKER_SOURCE } from './worker.js';

/** The control words (a structural copy of backends/wasm/abi.ts THREAD_CTRL; test/wasm checks they agree). */
export const THREAD_CTRL = { job: 32, done: 40, abort: 44, wake: 48, sleepers: 52, waiting: 56 } as const;
/** The job word's epoch that tells workers to return (backends/wasm/parallel-entries.ts QUIT_SLOT). */
const QUIT_EPOCH = 0xfff;

interface SharedMemory { readonly buffer: ArrayBuffer }
interface MemoryCtor { new (d: { initial: number; maximum: number; shared?: boolean }): SharedMemory }
interface WorkerLike { postMessage(m: unknown): void; terminate(): unknown; unref?(): void }
type Reply = { type: 'ready' | 'error' | 'quit' | 'trap'; message?: string };

/** How long workers may take to start (compile + instantiate) before the session runs on one thread instead. */
const START_TIMEOUT_MS = 30_000;

const g = globalThis as unknown as Record<string, unknown>;
/** The WebAssembly JS API (declared here as session.ts does, without importing it: session.ts imports this file). */
interface WasmThreadsApi {
  Memory: MemoryCtor;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<WasmInstance>;
}
const WA = (): WasmThreadsApi => g['WebAssembly'] as WasmThreadsApi;
const isNode = (): boolean => typeof (g['process'] as { versions?: { node?: string } } | undefined)?.versions?.node === 'string';

/** Why this engine cannot share memory between threads, or undefined when it can. */
export function sharedMemoryUnavailable(): string | undefined {
  if (typeof g['SharedArrayBuffer'] !== 'function' || g['crossOriginIsolated'] === false) {
    return 'SharedArrayBuffer is not available (a page must be cross-origin isolated: serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  if (!isNode() && typeof g['Worker'] !== 'function') return 'this context cannot start Web Workers';
  return undefined;
}

/** The module's memory import made unshared (the limits flag of the one memory import: 3 -> 1), so the threaded
 *  module instantiates on an ordinary memory; atomics on it are valid, and with one thread nothing waits. */
export function unsharedModule(bytes: Uint8Array): Uint8Array {
  const b = new Uint8Array(bytes);
  let p = 8;
  const leb = (): number => { let r = 0, s = 0, x; do { x = b[p++]!; r |= (x & 0x7f) << s; s += 7; } while (x & 0x80); return r >>> 0; };
  while (p < b.length) {
    const id = b[p++]!, size = leb(), end = p + size;
    if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        for (let k = 0; k < 2; k++) { const len = leb(); p += len; } // module and field names
        const kind = b[p++]!;
        if (kind === 2) { if (b[p] === 3) b[p] = 1; return b; }
        if (kind === 0) leb();
        else if (kind === 1) { p++; const f = b[p++]!; leb(); if (f & 1) leb(); }
        else if (kind === 3) p += 2;
        else break;
      }
    }
    p = end;
  }
  throw new OnnxcRuntimeError('onnxc: a threaded model.wasm without a memory import', 'artifact');
}

/** The workers of one session and what the session does with them. */
export class ThreadPool {
  constructor(private readonly memory: SharedMemory, private readonly workers: readonly WorkerLike[], readonly threads: number) {}

  private get i32(): Int32Array { return new Int32Array(this.memory.buffer, 0, 16); }

  /** After a trap out of run(): clear the abort a worker's trap set. Workers wait for the next published kernel, and
   *  a kernel's items are claimed only within its own epoch, so nothing else is left over. */
  recover(): void {
    Atomics.store(this.i32, THREAD_CTRL.abort / 4, 0);
  }

  /** Quit every worker (they return from the module) and end them. */
  async terminate(): Promise<void> {
    const i = this.i32;
    Atomics.store(new BigInt64Array(this.memory.buffer, THREAD_CTRL.job, 1), 0, BigInt(QUIT_EPOCH) << 32n);
    Atomics.add(i, THREAD_CTRL.wake / 4, 1);
    Atomics.notify(i, THREAD_CTRL.wake / 4);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** A threaded module instantiated for this engine: on `want` threads (at most manifest.threads) when memory can be
 *  shared and workers start, else on one with `note` saying why. */
export interface ThreadedInstance { readonly instance: WasmInstance; readonly pool: ThreadPool; readonly note?: string }

export async function instantiateThreaded(manifest: WasmManifest, bytes: Uint8Array, want?: number): Promise<ThreadedInstance> {
  const threads = Math.max(1, Math.min(manifest.threads ?? 1, Math.floor(want ?? manifest.threads ?? 1)));
  const pages = manifest.pages;
  const unavailable = sharedMemoryUnavailable();
  if (unavailable) return single(manifest, bytes, `onnxc: ${manifest.model} runs on one thread: ${unavailable}`);
  const memory = new (WA().Memory)({ initial: pages, maximum: pages, shared: true });
  const module = await WA().compile(bytes);
  const instance = await WA().instantiate(module, { env: { memory } });
  // a browser page's main thread may not block (Atomics.wait): it only spins; Node and workers may sleep
  if (isNode() || typeof g['WorkerGlobalScope'] !== 'undefined') (instance.exports['set_wait'] as (on: number) => void)(1);
  let workers: WorkerLike[] = [];
  let note: string | undefined;
  try {
    workers = await startWorkers(module, memory, threads - 1);
  } catch (e) {
    note = `onnxc: ${manifest.model} runs on one thread: its worker threads did not start (${(e as Error).message})`;
    warn(note);
  }
  return { instance, pool: new ThreadPool(memory, workers, workers.length + 1), ...(note ? { note } : {}) };
}

/** The threaded module on an ordinary memory, one thread (also what createSessionSync does). */
export function instantiateSingle(manifest: WasmManifest, bytes: Uint8Array): { instance: WasmInstance; pool: ThreadPool } {
  const memory = new (WA().Memory)({ initial: manifest.pages, maximum: manifest.pages });
  const instance = new (WA().Instance)(new (WA().Module)(unsharedModule(bytes)), { env: { memory } });
  return { instance, pool: new ThreadPool(memory, [], 1) };
}

function single(manifest: WasmManifest, bytes: Uint8Array, note: string): ThreadedInstance {
  warn(note);
  return { ...instantiateSingle(manifest, bytes), note };
}

const warned = new Set<string>();
function warn(note: string): void {
  if (warned.has(note)) return;
  warned.add(note);
  (g['console'] as { warn(m: string): void } | undefined)?.warn(note);
}

/** Start `n` workers on the module and memory; resolves when each has instantiated it. */
async function startWorkers(module: object, memory: SharedMemory, n: number): Promise<WorkerLike[]> {
  if (n === 0) return [];
  const { make, done } = await workerFactory();
  const workers: WorkerLike[] = [];
  try {
    await Promise.all(Array.from({ length: n }, (_, k) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${k + 1} did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      const w = make((r) => {
        if (r.type === 'ready') { clearTimeout(timer); resolve(); }
        else if (r.type === 'error') { clearTimeout(timer); reject(new Error(r.message)); }
      }, (e) => { clearTimeout(timer); reject(e); });
      workers.push(w);
      w.postMessage({ module, memory, tid: k + 1, ctrl: THREAD_CTRL });
    })));
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  } finally {
    done();
  }
  // a released or forgotten session never keeps a Node process alive
  for (const w of workers) w.unref?.();
  return workers;
}

type Factory = (onReply: (r: Reply) => void, onError: (e: Error) => void) => WorkerLike;

/** How to start a worker, and what to release once every worker has started (a browser's Blob URL). */
async function workerFactory(): Promise<{ make: Factory; done: () => void }> {
  if (isNode()) {
    const { Worker } = await import('node:worker_threads');
    const url = new URL(`data:text/javascript,${encodeURIComponent(NODE_WORKER_SOURCE)}`);
    const make: Factory = (onReply, onError) => {
      const w = new Worker(url);
      w.on('message', onReply);
      w.on('error', onError);
      return w;
    };
    return { make, done: () => {} };
  }
  const W = g['Worker'] as new (url: string) => WorkerLike & { onmessage: unknown; onerror: unknown };
  const B = g['Blob'] as new (parts: string[], o: { type: string }) => object;
  const U = g['URL'] as unknown as { createObjectURL(b: object): string; revokeObjectURL(u: string): void };
  const url = U.createObjectURL(new B([WEB_WORKER_SOURCE], { type: 'text/javascript' }));
  const make: Factory = (onReply, onError) => {
    const w = new W(url);
    w.onmessage = (e: { data: Reply }): void => onReply(e.data);
    w.onerror = (e: { message?: string }): void => onError(new Error(e.message ?? 'worker error'));
    return w;
  };
  return { make, done: () => U.revokeObjectURL(url) };
}
