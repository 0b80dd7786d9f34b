// The contract between a compiled module and the runtime (runtime/wasm keeps a structural copy of these types,
// since it imports no compiler code; test/wasm checks the two agree).
//
// Memory: [0, arena.offset) reserved | arena (inputs, intermediates, outputs, scratch) | weights. The module
// exports `memory` and `run()`; the runtime writes each input at its offset, calls run(), reads each output.

import type { IoLayouts } from '../../lowering/sequences.js';

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
  /** Set in a dynamic-dims module (manifest `dims`): each dim a number or a dim expression over the run-time dims
   *  (`seq`, `2*seq+1`, `seq*seq`: terms joined by '+', factors by '*'); `dims` and `bytes` are then the top of
   *  the ranges (the planned size) and a run's tensor is the prefix of that slot its shape needs. */
  readonly shape?: readonly (number | string)[];
}

/** A dim given at run time within [min, max] (`compile --dim NAME=LO..HI`); the runtime sets the exported mutable
 *  i32 global `global` to its value, read from the feeds' dims, before each run. */
export interface WasmDimRange { readonly name: string; readonly min: number; readonly max: number; readonly global: string }

export interface WasmManifest {
  readonly format: typeof WASM_FORMAT;
  readonly model: string;
  /** Linear memory size in 64 KiB pages (fixed: the module never grows memory). */
  readonly pages: number;
  /** Weights region: embedded as an active data segment, or in `file` (copied to `offset` before the first run). Stored
   *  compressed, it may start inside the arena or the dense weights it expands into on the first run (it avoids the
   *  inputs' slots; kernels/sparse-init.ts), so it is written once, before the first run, never again. */
  readonly weights: { readonly offset: number; readonly bytes: number; readonly file?: string };
  readonly arena: { readonly offset: number; readonly bytes: number; readonly lowerBoundBytes: number; readonly totalBytes: number };
  readonly inputs: readonly WasmIoSpec[];
  readonly outputs: readonly WasmIoSpec[];
  /** [node name, op] of each kernel, by the kernel index run() writes to the error record before calling it: how a
   *  trap is turned into an error naming the node. */
  readonly kernels?: readonly (readonly [string, string])[];
  /** State pairs compiled for carrying (ShapeOptions.carry): the module also exports `run_swapped`, in which each
   *  pair's input and output buffers trade places, so a session alternates the two entries instead of copying. */
  readonly carry?: readonly { readonly input: string; readonly output: string }[];
  /** 'relaxed': built with `compile --simd relaxed` (fused multiply-adds); only engines with relaxed SIMD load it. */
  readonly simd?: 'relaxed';
  /** Set when the model has sequence or optional inputs/outputs (lowered to tensors, lowering/sequences.ts): each
   *  model input and output in order with its layout over `inputs`/`outputs`, which list the tensors. */
  readonly values?: IoLayouts;
  /** Dims given at run time (a dynamic-dims module): inputs and outputs carry `shape`. */
  readonly dims?: readonly WasmDimRange[];
  /** [tensor, dense bytes, stored bytes, how it runs] of each weight stored sparse (a pruned layer): 'densified'
   *  is expanded into the dense region by run()'s first call (backends/wasm/kernels/sparse-init.ts), 'sparse-kernel'
   *  is read compressed by the sparse MatMul/Gemm kernel (kernels/sparse-matmul.ts). */
  readonly sparseWeights?: readonly (readonly [string, number, number, 'densified' | 'sparse-kernel'])[];
  /** Built with `compile --threads N`: the module imports a shared memory (`env.memory`) and exports `worker`;
   *  the runtime runs it on up to N threads (backends/wasm/parallel.ts), or on one where memory cannot be shared. */
  readonly threads?: number;
}

/** Where the arena starts (low addresses stay unused so a null pointer never aliases a tensor; the error record
 *  lives there). */
export const ARENA_BASE = 64;

/** The error record in [0, ARENA_BASE): byte offsets of its fields. run() writes `kernel` (i32) before each kernel
 *  call; a kernel that meets a bad index writes `code` (i32), `value` (i64, the index as read) and `size` (i64, the
 *  axis size) and traps; the runtime clears the record before a run and reads it after a trap. */
export const ERROR_RECORD = { code: 0, kernel: 4, value: 8, size: 16, bytes: 24 } as const;
/** Error record codes (0: no error recorded): `index`, outside [-size, size) (negatives count from the end);
 *  `position`, outside [0, size) (loss targets, sequence lengths); `loop`, a Loop ran `value` iterations, the limit
 *  `size`; `trips`, a Loop whose scan outputs were planned for `size` iterations stopped after `value`. */
export const ERROR_CODE = { index: 1, position: 2, loop: 3, trips: 4 } as const;

/** A threaded module's control words in [32, ARENA_BASE) (used atomically; backends/wasm/parallel-entries.ts):
 *  `job` (i64) is the published split kernel: high half its epoch ((run << 12) | slot of the kernel, 0xfff: quit),
 *  low half the next work item to claim; `done` counts its finished items; `abort` is set by a worker that trapped;
 *  `wake` counts publications (idle workers wait on it); `sleepers` counts the workers waiting there; `waiting` is
 *  set while the main thread sleeps on `done` (the worker finishing the last item wakes it). */
export const THREAD_CTRL = { job: 32, done: 40, abort: 44, wake: 48, sleepers: 52, waiting: 56 } as const;
