// The onnxc wasm runtime: instantiate a compiled module and run it with onnxruntime-web-shaped feeds and
// outputs ({ data, dims, type } keyed by name). Ships to devices: imports nothing of the compiler, no eval.

import { OnnxcRuntimeError } from './errors.js';
import { ARRAYS, checkFeeds } from './feeds.js';
import { clearErrorRecord, kernelError } from './kernel-error.js';
import type { ArtifactParts, FeedTensor, Session, TensorValue, TypedArray, ValueMetadata, WasmManifest } from './types.js';

export type { ArtifactParts, FeedTensor, IoSpec, Session, TensorValue, TypedArray, ValueMetadata, WasmManifest } from './types.js';

// The WebAssembly JS API, typed here because the project's lib settings (ES2023 + node) do not declare it.
interface WasmMemory { readonly buffer: ArrayBuffer }
export interface WasmInstance { readonly exports: Readonly<Record<string, unknown>> }
interface WasmApi {
  Module: new (bytes: ArrayBufferView | ArrayBuffer) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
  instantiate(bytes: ArrayBufferView | ArrayBuffer, imports: object): Promise<{ instance: WasmInstance }>;
}
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type View = { new (buffer: ArrayBuffer, byteOffset: number, length: number): TypedArray; readonly BYTES_PER_ELEMENT: number };
const metadata = (specs: WasmManifest['inputs']): ValueMetadata[] => specs.map((s) => ({ name: s.name, isTensor: true, type: s.dtype, shape: [...s.dims] }));

export class WasmSession implements Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueMetadata[];
  readonly outputMetadata: readonly ValueMetadata[];
  private memory: WasmMemory | undefined;
  private entry: (() => void) | undefined;
  /** Set while a run is inside the module: the arena holds one run's tensors at a time. */
  private running = false;
  /** The last queued run: run() chains onto it so runs on one session never interleave. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly manifest: WasmManifest, instance: WasmInstance, weights?: Uint8Array) {
    this.memory = instance.exports['memory'] as WasmMemory;
    this.entry = instance.exports['run'] as () => void;
    this.inputNames = manifest.inputs.map((i) => i.name);
    this.outputNames = manifest.outputs.map((o) => o.name);
    this.inputMetadata = metadata(manifest.inputs);
    this.outputMetadata = metadata(manifest.outputs);
    if (manifest.weights.file) {
      if (!weights || weights.length !== manifest.weights.bytes) {
        throw new OnnxcRuntimeError(`onnxc: ${manifest.model}: weights file '${manifest.weights.file}' missing or of the wrong size (${weights?.length ?? 0} bytes, expected ${manifest.weights.bytes})`, 'artifact');
      }
      new Uint8Array(this.memory.buffer, manifest.weights.offset, weights.length).set(weights);
    }
  }

  /** Run with one feed per input; resolves to outputs by name (copies, safe to keep across runs). Calls on one
   *  session are queued in call order. */
  run(feeds: Readonly<Record<string, FeedTensor>>): Promise<Record<string, TensorValue>> {
    const result = this.tail.then(() => this.runSync(feeds));
    this.tail = result.catch(() => undefined);
    return result;
  }

  runSync(feeds: Readonly<Record<string, FeedTensor>>): Record<string, TensorValue> {
    if (!this.memory || !this.entry) throw new OnnxcRuntimeError(`onnxc: ${this.manifest.model}: the session was released`, 'artifact');
    if (this.running) throw new OnnxcRuntimeError(`onnxc: ${this.manifest.model}: a run is already in progress on this session`, 'busy');
    // every feed is checked before any byte is written, so a refused run leaves the arena as it was
    const checked = checkFeeds(this.manifest, feeds);
    this.running = true;
    try {
      const buf = this.memory.buffer;
      for (const { spec, bytes } of checked) if (bytes) new Uint8Array(buf, spec.offset, spec.bytes).set(bytes);
      clearErrorRecord(buf);
      try { this.entry(); } catch (e) { throw kernelError(this.memory.buffer, this.manifest, e); }
      const out: Record<string, TensorValue> = {};
      for (const spec of this.manifest.outputs) {
        const C = ARRAYS[spec.dtype] as unknown as View | undefined;
        if (!C) throw new OnnxcRuntimeError(`onnxc: ${this.manifest.model}: output '${spec.name}' has unsupported type ${spec.dtype}`, 'artifact', undefined, spec.name);
        const bytes = buf.slice(spec.offset, spec.offset + spec.bytes);
        out[spec.name] = { type: spec.dtype, dims: [...spec.dims], data: new C(bytes, 0, spec.bytes / C.BYTES_PER_ELEMENT) };
      }
      return out;
    } finally {
      this.running = false;
    }
  }

  /** Drop the instance and its memory (after queued runs finish); later runs are refused. */
  async release(): Promise<void> {
    await this.tail;
    this.memory = undefined;
    this.entry = undefined;
  }
}

/** Instantiate asynchronously from parts in memory (createSession in load.ts also takes URLs and bytes). */
export async function createSessionFromParts(parts: ArtifactParts): Promise<WasmSession> {
  const { instance } = await WA.instantiate(parts.wasm, {});
  return new WasmSession(parts.manifest, instance, parts.weights);
}

/** Instantiate synchronously (Node, workers): for tools that run a model inline. */
export function createSessionSync(parts: ArtifactParts): WasmSession {
  const instance = new WA.Instance(new WA.Module(parts.wasm), {});
  return new WasmSession(parts.manifest, instance, parts.weights);
}

export { createSession } from './load.js';
