// The runtime's public types, import-free and declarations only: this text is also the body of the loader.d.ts
// written beside every artifact's loader.js (runtime/wasm/loader-source.ts), so keep it free of values.

/** The manifest written beside model.wasm (a structural copy of backends/wasm/abi.ts; test/wasm checks they agree). */
export interface WasmManifest {
  readonly format: 'onnxc-wasm/1';
  readonly model: string;
  readonly pages: number;
  readonly weights: { readonly offset: number; readonly bytes: number; readonly file?: string };
  readonly arena: { readonly offset: number; readonly bytes: number; readonly lowerBoundBytes: number; readonly totalBytes: number };
  readonly inputs: readonly IoSpec[];
  readonly outputs: readonly IoSpec[];
  /** [node, op] by kernel index, to name the node of a trap. */
  readonly kernels?: readonly (readonly [string, string])[];
  /** State pairs compiled for carrying (`carry` at compile time): the module also exports `run_swapped`, which
   *  reads each input from its output's slot and writes the output into the input's slot, so a session carrying
   *  these pairs alternates the two entries and the state is never copied. */
  readonly carry?: readonly { readonly input: string; readonly output: string }[];
  /** 'relaxed': built with `compile --simd relaxed`; createSession refuses it on an engine without relaxed SIMD. */
  readonly simd?: 'relaxed';
  /** Set when the model has sequence or optional inputs/outputs: every model input and output in order with its
   *  layout over `inputs`/`outputs` (which then list tensors such as `x[0]`, `x[1]`). */
  readonly values?: { readonly inputs: readonly { readonly name: string; readonly layout: ValueLayout }[]; readonly outputs: readonly { readonly name: string; readonly layout: ValueLayout }[] };
  /** Built with `compile --threads N`: createSession runs it on up to N threads (shared memory and workers), or on
   *  one where memory cannot be shared (then `session.threadsNote` says why). */
  readonly threads?: number;
  /** Dims given at run time (`compile --dim NAME=LO..HI`): inputs and outputs then carry `shape`, each dim a number
   *  or an expression over these (`seq`, `seq*seq+1`); `dims`/`bytes` are the top of the ranges. */
  readonly dims?: readonly DimRange[];
}
/** How a sequence or optional input/output is laid out as the module's tensors (`io`: a name in `inputs` or
 *  `outputs`): its structure was fixed at compile time (lowering/sequences.ts). */
export type ValueLayout =
  | { readonly kind: 'tensor'; readonly io: string }
  | { readonly kind: 'sequence'; readonly items: readonly ValueLayout[] }
  | { readonly kind: 'optional'; readonly value: ValueLayout | null };
export interface IoSpec { readonly name: string; readonly dtype: string; readonly dims: readonly number[]; readonly offset: number; readonly bytes: number; readonly fixed?: readonly string[]; readonly shape?: readonly (number | string)[] }
/** A dim given at run time within [min, max]; `global` is the module's exported i32 global that holds it. */
export interface DimRange { readonly name: string; readonly min: number; readonly max: number; readonly global: string }

export type TypedArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** A tensor as onnxruntime-web's InferenceSession gives them (outputs), and as it takes them (an ort.Tensor is one).
 *  `data` is the array type onnxruntime-web uses for `type` (float16/bfloat16 as their Uint16Array bits); the 4- and
 *  2-bit integers travel unpacked, one element per byte: int4/int2 as Int8Array, uint4/uint2 as Uint8Array, each
 *  element within the type's range (a feed outside it is refused). */
export interface TensorValue {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: TypedArray;
}

/** What run() accepts per input: a TensorValue, or `data` as a plain array of numbers (bigints for 64-bit
 *  integers), converted to the input's array type after every element is checked. */
export interface FeedTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: TypedArray | readonly (number | bigint | boolean)[];
}

/** A feed of any kind: a tensor, an array of them for a sequence input, null (or a value) for an optional one. */
export type FeedValue = FeedTensor | readonly FeedValue[] | null;

/** An output of any kind, as runValues() gives them: a tensor, an array for a sequence, null for an empty optional. */
export type RunValue = TensorValue | readonly RunValue[] | null;

/** An input or output as onnxruntime-web's `inputMetadata` describes it. */
export interface ValueMetadata {
  readonly name: string;
  readonly isTensor: true;
  readonly type: string;
  readonly shape: readonly number[];
}

/** An artifact already in memory (what `onnxc compile` writes, read by the caller). */
export interface ArtifactParts {
  readonly wasm: ArrayBufferView | ArrayBuffer;
  readonly manifest: WasmManifest;
  /** The weights side file, when manifest.weights.file is set. */
  readonly weights?: Uint8Array;
}

/** Where an artifact comes from: its folder's URL (or manifest.json's), its parts in memory, or model.wasm's bytes
 *  (then `options.manifest` is required, and `options.weights` when the weights are in a side file). */
export type ArtifactSource = string | URL | ArtifactParts | ArrayBuffer | ArrayBufferView;

export interface LoadProgress {
  readonly file: string;
  readonly loaded: number;
  /** From Content-Length or the manifest; absent when unknown. */
  readonly total?: number;
}

export interface SessionOptions {
  /** The manifest, when the source is model.wasm's bytes. */
  readonly manifest?: WasmManifest;
  /** Where weights.bin is (URL or path), or its bytes: for weights served from elsewhere (a CDN, a cache). */
  readonly weights?: string | URL | Uint8Array;
  /** Called as each file downloads (useful for large weights). */
  readonly onProgress?: (p: LoadProgress) => void;
  /** A fetch to use instead of globalThis.fetch. */
  readonly fetch?: (url: string) => Promise<Response>;
  /** For an artifact compiled with --threads N: run on at most this many threads (default N). */
  readonly threads?: number;
}

/** Why a run was refused or stopped. `feed`: a feed broke the manifest (name, dtype, dims, length, array kind).
 *  `index-out-of-range`: a kernel met an index outside its tensor. `busy`: a run is already in progress.
 *  `artifact`: the artifact itself is unusable (weights missing, bad manifest, session released). */
export type RuntimeErrorCode = 'feed' | 'index-out-of-range' | 'busy' | 'artifact' | 'kernel';

/** Options of one run. */
export interface RunOptions {
  /** State carried from call to call, input name -> output name (`{ h: 'hn', c: 'cn' }`): each such input takes
   *  the previous run's output and may be omitted from the feeds (the first run after creation or reset() needs
   *  it, checked as any feed; a feed given later replaces the carried value). The state stays in the module's
   *  memory: with an artifact compiled for these pairs (manifest `carry`) nothing is copied at all, otherwise
   *  the bytes move once inside linear memory. */
  readonly carry?: Readonly<Record<string, string>>;
}

/** A loaded model, shaped like onnxruntime-web's InferenceSession where the two meet. */
export interface Session {
  readonly manifest: WasmManifest;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueMetadata[];
  readonly outputMetadata: readonly ValueMetadata[];
  /** Run with one feed per input (no more, no fewer); every feed is checked before any byte is copied. Runs on one
   *  session are queued, never interleaved. Outputs are copies, safe to keep. */
  run(feeds: Readonly<Record<string, FeedValue>>, options?: RunOptions): Promise<Record<string, TensorValue>>;
  /** As run(), with sequence outputs as arrays and an empty optional as null (run() gives a model's sequence and
   *  optional outputs as their tensors, `y[0]`, `y[1]`..., the manifest's `outputs`). A sequence feed is an array
   *  of tensors of the length (and shapes) the module was compiled for; an optional feed is its value or null. */
  runValues(feeds: Readonly<Record<string, FeedValue>>, options?: RunOptions): Promise<Record<string, RunValue>>;
  /** Forget carried state: the next run takes every input from its feeds again. */
  reset(): void;
  /** Drop the instance and its memory (and end its worker threads); later runs are refused. */
  release(): Promise<void>;
  /** Threads its runs use (1 unless the artifact was compiled with --threads). */
  readonly threads: number;
  /** Why a threaded artifact runs on fewer threads than it was compiled for (no SharedArrayBuffer: the page is not
   *  cross-origin isolated; workers could not start; createSessionSync), or undefined. */
  readonly threadsNote?: string;
}
