// The onnxc wasm runtime: instantiate a compiled module and run it with onnxruntime-web-shaped feeds and
// outputs ({ data, dims, type } keyed by name). Ships to devices: imports nothing of the compiler, no eval.

/** The manifest written beside model.wasm (a structural copy of backends/wasm/abi.ts). */
export interface WasmManifest {
  readonly format: 'onnxc-wasm/1';
  readonly model: string;
  readonly pages: number;
  readonly weights: { readonly offset: number; readonly bytes: number; readonly file?: string };
  readonly arena: { readonly offset: number; readonly bytes: number; readonly lowerBoundBytes: number; readonly totalBytes: number };
  readonly inputs: readonly IoSpec[];
  readonly outputs: readonly IoSpec[];
}
export interface IoSpec { readonly name: string; readonly dtype: string; readonly dims: readonly number[]; readonly offset: number; readonly bytes: number; readonly fixed?: readonly string[] }

export type TypedArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** A tensor as onnxruntime-web's InferenceSession takes and gives them. */
export interface TensorValue {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: TypedArray;
}

export interface ArtifactParts {
  readonly wasm: ArrayBufferView | ArrayBuffer;
  readonly manifest: WasmManifest;
  /** The weights side file, when manifest.weights.file is set. */
  readonly weights?: Uint8Array;
}

// The WebAssembly JS API, typed here because the project's lib settings (ES2023 + node) do not declare it.
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmInstance { readonly exports: Readonly<Record<string, unknown>> }
interface WasmApi {
  Module: new (bytes: ArrayBufferView | ArrayBuffer) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
  instantiate(bytes: ArrayBufferView | ArrayBuffer, imports: object): Promise<{ instance: WasmInstance }>;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type Ctor = { new (buffer: ArrayBuffer, byteOffset: number, length: number): TypedArray; readonly BYTES_PER_ELEMENT: number };
const ARRAYS: Readonly<Record<string, Ctor>> = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array, int16: Int16Array,
  uint16: Uint16Array, float16: Uint16Array, bfloat16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
};

export class WasmSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly memory: WasmMemory;
  private readonly entry: () => void;

  constructor(readonly manifest: WasmManifest, instance: WasmInstance, weights?: Uint8Array) {
    this.memory = instance.exports['memory'] as WasmMemory;
    this.entry = instance.exports['run'] as () => void;
    this.inputNames = manifest.inputs.map((i) => i.name);
    this.outputNames = manifest.outputs.map((o) => o.name);
    if (manifest.weights.file) {
      if (!weights || weights.length !== manifest.weights.bytes) throw new Error(`onnxc: ${manifest.model}: weights file '${manifest.weights.file}' missing or of the wrong size`);
      new Uint8Array(this.memory.buffer, manifest.weights.offset, weights.length).set(weights);
    }
  }

  /** Run with feeds by input name; resolves to outputs by name (copies, safe to keep across runs). */
  async run(feeds: Readonly<Record<string, TensorValue>>): Promise<Record<string, TensorValue>> {
    return this.runSync(feeds);
  }

  runSync(feeds: Readonly<Record<string, TensorValue>>): Record<string, TensorValue> {
    const buf = this.memory.buffer;
    for (const spec of this.manifest.inputs) {
      const f = feeds[spec.name];
      if (!f) throw new Error(`onnxc: ${this.manifest.model}: no feed for input '${spec.name}'`);
      if (f.type !== spec.dtype || f.dims.length !== spec.dims.length || f.dims.some((d, i) => d !== spec.dims[i])) {
        throw new Error(`onnxc: ${this.manifest.model}: input '${spec.name}' must be ${spec.dtype}[${spec.dims.join(',')}], got ${f.type}[${f.dims.join(',')}] (the module was compiled for these shapes)`);
      }
      if (spec.fixed) {
        // the module was specialised on this input's value; another value needs another compile
        if (f.data.length !== spec.fixed.length || Array.from(f.data as ArrayLike<number | bigint>, String).some((v, i) => v !== spec.fixed![i])) {
          throw new Error(`onnxc: ${this.manifest.model}: input '${spec.name}' was fixed to [${spec.fixed.join(',')}] at compile time`);
        }
        continue;
      }
      const src = new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength);
      if (src.length !== spec.bytes) throw new Error(`onnxc: ${this.manifest.model}: input '${spec.name}' has ${src.length} bytes, expected ${spec.bytes}`);
      new Uint8Array(buf, spec.offset, spec.bytes).set(src);
    }
    this.entry();
    const out: Record<string, TensorValue> = {};
    for (const spec of this.manifest.outputs) {
      const C = ARRAYS[spec.dtype];
      if (!C) throw new Error(`onnxc: ${this.manifest.model}: output '${spec.name}' has unsupported type ${spec.dtype}`);
      const bytes = buf.slice(spec.offset, spec.offset + spec.bytes);
      out[spec.name] = { type: spec.dtype, dims: [...spec.dims], data: new C(bytes, 0, spec.bytes / C.BYTES_PER_ELEMENT) };
    }
    return out;
  }
}

/** Instantiate asynchronously (the browser-friendly path). */
export async function createSession(parts: ArtifactParts): Promise<WasmSession> {
  const { instance } = await WA.instantiate(parts.wasm, {});
  return new WasmSession(parts.manifest, instance, parts.weights);
}

/** Instantiate synchronously (Node, workers): for tools that run a model inline. */
export function createSessionSync(parts: ArtifactParts): WasmSession {
  const instance = new WA.Instance(new WA.Module(parts.wasm), {});
  return new WasmSession(parts.manifest, instance, parts.weights);
}
