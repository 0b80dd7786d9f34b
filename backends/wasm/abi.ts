// The contract between a compiled module and the runtime (runtime/wasm keeps a structural copy of these types,
// since it imports no compiler code; test/wasm checks the two agree).
//
// Memory: [0, arena.offset) reserved | arena (inputs, intermediates, outputs, scratch) | weights. The module
// exports `memory` and `run()`; the runtime writes each input at its offset, calls run(), reads each output.

export const WASM_FORMAT = 'onnxc-wasm/1';

export interface WasmIoSpec {
  readonly name: string;
  readonly dtype: string;
  readonly dims: readonly number[];
  /** Byte offset in linear memory. */
  readonly offset: number;
  readonly bytes: number;
  /** Set for a small integer input the module was specialised on (a shape-like operand): the runtime checks the
   *  feed equals these values (decimal strings, exact for int64) and writes nothing. */
  readonly fixed?: readonly string[];
}

export interface WasmManifest {
  readonly format: typeof WASM_FORMAT;
  readonly model: string;
  /** Linear memory size in 64 KiB pages (fixed: the module never grows memory). */
  readonly pages: number;
  /** Weights region: embedded as an active data segment, or in `file` (copied to `offset` before the first run). */
  readonly weights: { readonly offset: number; readonly bytes: number; readonly file?: string };
  readonly arena: { readonly offset: number; readonly bytes: number; readonly lowerBoundBytes: number; readonly totalBytes: number };
  readonly inputs: readonly WasmIoSpec[];
  readonly outputs: readonly WasmIoSpec[];
}

/** Where the arena starts (low addresses stay unused so a null pointer never aliases a tensor). */
export const ARENA_BASE = 64;
