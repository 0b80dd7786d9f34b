// The onnxc wasm runtime: instantiate a compiled module and run it with onnxruntime-web-shaped feeds and
// outputs ({ data, dims, type } keyed by name). Ships to devices: imports nothing of the compiler, no eval.

import { OnnxcRuntimeError } from './errors.js';
import { ARRAYS, checkFeeds } from './feeds.js';
import { dimGlobals, runDims, setDims } from './dims.js';
import { clearErrorRecord, kernelError } from './kernel-error.js';
import { gatherOutputs, spreadFeeds } from './sequence-values.js';
import { instantiateSingle, type ThreadPool } from './threads.js';
import type { ArtifactParts, FeedValue, IoSpec, RunOptions, RunValue, Session, TensorValue, TypedArray, ValueMetadata, WasmManifest } from './types.js';

export type { ArtifactParts, FeedTensor, FeedValue, RunValue, IoSpec, RunOptions, Session, TensorValue, TypedArray, ValueMetadata, WasmManifest } from './types.js';

// The WebAssembly JS API, typed here because the project's lib settings (ES2023 + node) do not declare it.
interface WasmMemory { readonly buffer: ArrayBuffer }
export interface WasmInstance { readonly exports: Readonly<Record<string, unknown>> }
interface WasmApi {
  Module: new (bytes: ArrayBufferView | ArrayBuffer) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
  instantiate(bytes: ArrayBufferView | ArrayBuffer, imports: object): Promise<{ instance: WasmInstance }>;
  validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
}
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A minimal module whose one function is f32x4.relaxed_madd on three v128 constants: valid only where the engine
 *  has relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd; current browsers and newer Node have it). */
const v128 = (): number[] => [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
const probeBody = [0x00, ...v128(), ...v128(), ...v128(), 0xfd, 0x85, 0x02, 0x0b];
export const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0, 0, 0,
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x0a, probeBody.length + 2, 0x01, probeBody.length, ...probeBody,
]);
export const hasRelaxedSimd = (): boolean => WA.validate(RELAXED_PROBE);

/** A relaxed-SIMD artifact on an engine without relaxed SIMD would fail with the engine's own CompileError. */
export function checkEngine(manifest: WasmManifest): void {
  if (manifest.simd !== 'relaxed' || hasRelaxedSimd()) return;
  throw new OnnxcRuntimeError(`onnxc: ${manifest.model} was compiled with --simd relaxed and this WebAssembly engine has no relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd); load the strict build instead`, 'artifact');
}

type View = { new (buffer: ArrayBuffer, byteOffset: number, length: number): TypedArray; readonly BYTES_PER_ELEMENT: number };
/** A carried state pair as the session uses it. */
interface CarryPair { readonly input: IoSpec; readonly output: IoSpec }

/** What the session remembers between carried runs: which pairs, and (for an artifact compiled for them) which
 *  entry runs next: 0 reads each state input from its own slot, 1 (`run_swapped`) from its output's. */
interface CarryState { readonly key: string; readonly parity: 0 | 1 }

/** Where `run_swapped` reads an input (role 'input') or writes an output: its pair partner's slot. */
function swappedSlot(pairs: readonly CarryPair[], spec: IoSpec, role: 'input' | 'output'): number {
  const p = pairs.find((q) => q[role] === spec);
  return p ? p[role === 'input' ? 'output' : 'input'].offset : spec.offset;
}

const metadata = (specs: WasmManifest['inputs']): ValueMetadata[] => specs.map((s) => ({ name: s.name, isTensor: true, type: s.dtype, shape: [...s.dims] }));

export class WasmSession implements Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueMetadata[];
  readonly outputMetadata: readonly ValueMetadata[];
  private memory: WasmMemory | undefined;
  private entry: (() => void) | undefined;
  /** The module's second entry, for artifacts compiled with state pairs (manifest.carry). */
  private swapped: (() => void) | undefined;
  /** Set after a run that carried state: the next run with the same pairs takes it. */
  private state: CarryState | undefined;
  /** Set while a run is inside the module: the arena holds one run's tensors at a time. */
  private running = false;
  /** The last queued run: run() chains onto it so runs on one session never interleave. */
  private tail: Promise<unknown> = Promise.resolve();
  /** A dynamic-dims artifact's dim globals (runtime/wasm/dims.ts), set from the feeds before each run. */
  private readonly dimGlobals: ReturnType<typeof dimGlobals>;
  /** A threaded artifact's workers (runtime/wasm/threads.ts). */
  private readonly pool: ThreadPool | undefined;
  readonly threads: number;
  readonly threadsNote?: string;

  constructor(readonly manifest: WasmManifest, instance: WasmInstance, weights?: Uint8Array, threaded?: { pool: ThreadPool; note?: string }) {
    this.pool = threaded?.pool;
    this.threads = threaded?.pool.threads ?? 1;
    if (threaded?.note) this.threadsNote = threaded.note;
    this.memory = instance.exports['memory'] as WasmMemory;
    this.entry = instance.exports['run'] as () => void;
    this.swapped = instance.exports['run_swapped'] as (() => void) | undefined;
    this.dimGlobals = dimGlobals(manifest, instance.exports);
    // a model with sequence or optional inputs/outputs is named as declared (`values`), not by its tensors
    this.inputNames = (manifest.values?.inputs ?? manifest.inputs).map((i) => i.name);
    this.outputNames = (manifest.values?.outputs ?? manifest.outputs).map((o) => o.name);
    this.inputMetadata = metadata(manifest.inputs);
    this.outputMetadata = metadata(manifest.outputs);
    if (manifest.weights.file) {
      if (!weights || weights.length !== manifest.weights.bytes) {
        throw new OnnxcRuntimeError(`onnxc: ${manifest.model}: weights file '${manifest.weights.file}' missing or of the wrong size (${weights?.length ?? 0} bytes, expected ${manifest.weights.bytes})`, 'artifact');
      }
      new Uint8Array(this.memory.buffer, manifest.weights.offset, weights.length).set(weights);
    }
  }

  /** Run with one feed per input (carried state inputs excepted, see RunOptions); resolves to outputs by name
   *  (copies, safe to keep across runs). Calls on one session are queued in call order. */
  run(feeds: Readonly<Record<string, FeedValue>>, options?: RunOptions): Promise<Record<string, TensorValue>> {
    const result = this.tail.then(() => this.runSync(feeds, options));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** As run(), with sequence outputs as arrays and empty optionals as null. */
  runValues(feeds: Readonly<Record<string, FeedValue>>, options?: RunOptions): Promise<Record<string, RunValue>> {
    return this.run(feeds, options).then((flat) => gatherOutputs(this.manifest, flat));
  }

  runValuesSync(feeds: Readonly<Record<string, FeedValue>>, options?: RunOptions): Record<string, RunValue> {
    return gatherOutputs(this.manifest, this.runSync(feeds, options));
  }

  /** Forget carried state: the next run takes every input from its feeds. */
  reset(): void {
    this.state = undefined;
  }

  runSync(given: Readonly<Record<string, FeedValue>>, options?: RunOptions): Record<string, TensorValue> {
    // sequence and optional feeds as the module's tensors (manifest `values`)
    const feeds = spreadFeeds(this.manifest, given);
    if (!this.memory || !this.entry) throw new OnnxcRuntimeError(`onnxc: ${this.manifest.model}: the session was released`, 'artifact');
    if (this.running) throw new OnnxcRuntimeError(`onnxc: ${this.manifest.model}: a run is already in progress on this session`, 'busy');
    const pairs = options?.carry === undefined ? undefined : this.carryPairs(options.carry);
    const key = pairs && JSON.stringify(pairs.map((p) => [p.input.name, p.output.name]).sort());
    const state = key !== undefined && this.state?.key === key ? this.state : undefined;
    // every feed is checked before any byte is written, so a refused run leaves the arena (and the state) as it was
    // a dynamic-dims artifact: this run's shapes, from the feeds' dims checked against the declared ranges
    const dims = runDims(this.manifest, feeds);
    const manifest = dims?.manifest ?? this.manifest;
    const checked = checkFeeds(manifest, feeds, state ? new Set(pairs!.map((p) => p.input.name)) : undefined);
    // compiled for exactly these pairs: alternate the two entries, the state never moves
    const pingPong = pairs !== undefined && this.swapped !== undefined && key === this.compiledKey();
    const parity = pingPong && state ? state.parity : 0;
    this.running = true;
    this.state = undefined;
    try {
      const buf = this.memory.buffer;
      const mem = new Uint8Array(buf);
      if (state && !pingPong) {
        // without the compiled pairs, the previous outputs are taken before any feed is written over them
        const fed = new Set(checked.map((c) => c.spec.name));
        const moved = pairs!.filter((p) => !fed.has(p.input.name)).map((p) => [p.input.offset, buf.slice(p.output.offset, p.output.offset + p.output.bytes)] as const);
        for (const [at, bytes] of moved) mem.set(new Uint8Array(bytes), at);
      }
      for (const { spec, bytes } of checked) if (bytes) mem.set(bytes, parity === 0 ? spec.offset : swappedSlot(pairs!, spec, 'input'));
      clearErrorRecord(buf);
      setDims(this.dimGlobals, dims);
      try { (parity === 1 ? this.swapped! : this.entry)(); } catch (e) { this.pool?.recover(); throw kernelError(this.memory.buffer, this.manifest, e); }
      const out: Record<string, TensorValue> = {};
      for (const spec of manifest.outputs) {
        const C = ARRAYS[spec.dtype] as unknown as View | undefined;
        if (!C) throw new OnnxcRuntimeError(`onnxc: ${this.manifest.model}: output '${spec.name}' has unsupported type ${spec.dtype}`, 'artifact', undefined, spec.name);
        const at = parity === 0 ? spec.offset : swappedSlot(pairs!, spec, 'output');
        // a threaded session's memory is shared: outputs are copied into ordinary buffers
        const bytes = buf instanceof ArrayBuffer ? buf.slice(at, at + spec.bytes) : new Uint8Array(buf, at, spec.bytes).slice().buffer;
        out[spec.name] = { type: spec.dtype, dims: [...spec.dims], data: new C(bytes, 0, spec.bytes / C.BYTES_PER_ELEMENT) };
      }
      if (key !== undefined) this.state = { key, parity: pingPong ? (parity === 0 ? 1 : 0) : 0 };
      return out;
    } finally {
      this.running = false;
    }
  }

  /** The pairs of a run's `carry` option, checked against the manifest (names, types, shapes). */
  private carryPairs(carry: unknown): CarryPair[] {
    const fail = (msg: string, io?: string): never => { throw new OnnxcRuntimeError(`onnxc: ${this.manifest.model}: carry: ${msg}`, 'feed', undefined, io); };
    if (typeof carry !== 'object' || carry === null || Array.isArray(carry)) return fail('must be an object of input name -> output name');
    const seen = new Set<string>();
    return Object.entries(carry as Record<string, unknown>).map(([i, o]) => {
      const input = this.manifest.inputs.find((s) => s.name === i);
      const output = this.manifest.outputs.find((s) => s.name === o);
      if (!input || input.fixed) return fail(`'${i}' is not an input of this model that takes values`, i);
      if (typeof o !== 'string' || !output) return fail(`'${String(o)}' (for '${i}') is not an output of this model`, i);
      if (seen.has(o)) return fail(`output '${o}' is carried into two inputs`, i);
      seen.add(o);
      if (input.dtype !== output.dtype || input.dims.join() !== output.dims.join()) {
        return fail(`input '${i}' is ${input.dtype}[${input.dims.join(',')}] but output '${o}' is ${output.dtype}[${output.dims.join(',')}]`, i);
      }
      return { input, output };
    });
  }

  private compiledKey(): string | undefined {
    const c = this.manifest.carry;
    return c && JSON.stringify(c.map((p) => [p.input, p.output]).sort());
  }

  /** Drop the instance and its memory (after queued runs finish); later runs are refused. */
  async release(): Promise<void> {
    await this.tail;
    this.memory = undefined;
    this.entry = undefined;
    await this.pool?.terminate();
  }
}

/** Instantiate asynchronously from parts in memory (createSession in load.ts also takes URLs and bytes). */
export async function createSessionFromParts(parts: ArtifactParts): Promise<WasmSession> {
  checkEngine(parts.manifest);
  if ((parts.manifest.threads ?? 1) > 1) return (await import('./load.js')).createSession(parts);
  const { instance } = await WA.instantiate(parts.wasm, {});
  return new WasmSession(parts.manifest, instance, parts.weights);
}

/** Instantiate synchronously (Node, workers): for tools that run a model inline. */
export function createSessionSync(parts: ArtifactParts): WasmSession {
  checkEngine(parts.manifest);
  if ((parts.manifest.threads ?? 1) > 1) {
    // workers start asynchronously: the synchronous path runs a threaded artifact on one thread
    const bytes = parts.wasm instanceof Uint8Array ? parts.wasm : new Uint8Array(ArrayBuffer.isView(parts.wasm) ? parts.wasm.buffer.slice(parts.wasm.byteOffset, parts.wasm.byteOffset + parts.wasm.byteLength) : parts.wasm);
    const { instance, pool } = instantiateSingle(parts.manifest, bytes);
    return new WasmSession(parts.manifest, instance, parts.weights, { pool, note: 'createSessionSync runs a threaded artifact on one thread (use createSession)' });
  }
  const instance = new WA.Instance(new WA.Module(parts.wasm), {});
  return new WasmSession(parts.manifest, instance, parts.weights);
}

export { createSession } from './load.js';
